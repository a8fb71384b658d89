//! What to collect and where it goes: the streams (`STREAMS`), each stream's object prefix (the
//! SecOps feed's folder), its checkpoint (`STATE_PREFIX/STREAM.json`, or `STATE_KEY` for audit
//! events) and where it starts (`LOOKBACK_HOURS`). Checkpoints never lie under a feed prefix, and no
//! feed prefix lies inside another.

use contract::Stream;
use contract::env::{self, DEFAULT_STATE_PREFIX, LOOKBACK_HOURS, STATE_KEY, STATE_PREFIX, STREAMS};

use super::problems::{Reader, shown};
use crate::pipeline::{Start, StreamPlan};

/// The streams `STREAMS` names (audit events by default), each once.
pub(super) fn streams(r: &mut Reader<'_>) -> Vec<Stream> {
    let mut streams = Vec::new();
    let list = r.get(STREAMS).unwrap_or("auditevents").to_owned();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match name.parse::<Stream>() {
            Ok(stream) if streams.contains(&stream) => {
                r.problem(STREAMS, format!("{} is listed twice", shown(name)))
            }
            Ok(stream) => streams.push(stream),
            Err(_) => r.problem(
                STREAMS,
                format!(
                    "unknown stream {} (expected auditevents, signinattempts or itemusages)",
                    shown(name)
                ),
            ),
        }
    }
    if streams.is_empty() && !r.has_problem(STREAMS) {
        r.problem(
            STREAMS,
            "names no stream; use a comma list of auditevents, signinattempts, itemusages",
        );
    }
    streams
}

/// Whether object `key` lies in the folder `prefix` (an empty prefix holds everything).
fn under(key: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_matches('/');
    prefix.is_empty() || key == prefix || key.starts_with(&format!("{prefix}/"))
}

/// The plan of each of `streams`, checked for checkpoints under a feed prefix and for feed
/// prefixes inside one another.
pub(super) fn plans(r: &mut Reader<'_>, streams: &[Stream]) -> Vec<StreamPlan> {
    let state_prefix = r
        .get(STATE_PREFIX)
        .map(str::to_owned)
        .and_then(|value| r.object_path(STATE_PREFIX, &value, true))
        .unwrap_or_else(|| DEFAULT_STATE_PREFIX.trim_end_matches('/').to_owned());
    let audit_key = r
        .get(STATE_KEY)
        .map(str::to_owned)
        .and_then(|value| r.object_path(STATE_KEY, &value, false));
    let lookback_hours = r.number(&LOOKBACK_HOURS);
    let plans: Vec<StreamPlan> = streams
        .iter()
        .map(|&stream| {
            let variable = env::prefix_variable(stream);
            let prefix = r
                .get(variable)
                .map(str::to_owned)
                .and_then(|value| r.object_path(variable, &value, true))
                .unwrap_or_else(|| env::default_prefix(stream).to_owned());
            let checkpoint_key = match (&audit_key, stream) {
                (Some(key), Stream::AuditEvents) => key.clone(),
                _ => contract::checkpoint::key(&state_prefix, stream),
            };
            StreamPlan {
                stream,
                prefix,
                checkpoint_key,
                start: Start::Lookback(chrono::Duration::hours(lookback_hours)),
            }
        })
        .collect();
    for plan in &plans {
        for other in &plans {
            if under(&plan.checkpoint_key, &other.prefix) {
                let variable = if plan.stream == Stream::AuditEvents && r.is_set(STATE_KEY) {
                    STATE_KEY
                } else {
                    STATE_PREFIX
                };
                r.problem(
                    variable,
                    format!(
                        "checkpoint {} lies under the feed prefix {}, so SecOps would ingest it as a log; put checkpoints outside every feed prefix (default {DEFAULT_STATE_PREFIX})",
                        shown(&plan.checkpoint_key),
                        shown(&other.prefix)
                    ),
                );
            }
            if plan.stream != other.stream && under(&plan.prefix, &other.prefix) {
                r.problem(
                    "GCS_PREFIX",
                    format!(
                        "the {} prefix {} lies inside the {} prefix {}; each stream needs its own folder for its own SecOps feed",
                        plan.stream,
                        shown(&plan.prefix),
                        other.stream,
                        shown(&other.prefix)
                    ),
                );
            }
        }
    }
    plans
}
