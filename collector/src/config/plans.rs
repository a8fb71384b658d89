//! What to collect and where it goes: the streams (`STREAMS`, or an account's), each stream's
//! object prefix (the SecOps feed's folder; an account's folder below it), its checkpoint
//! (`STATE_PREFIX/STREAM.json` or `STATE_KEY` for audit events; an account's in its own folder) and
//! where it starts (`LOOKBACK_HOURS`). Checkpoints never lie under a feed prefix, and no feed prefix
//! lies inside another.

use contract::env::{self, DEFAULT_STATE_PREFIX, STATE_KEY, STATE_PREFIX};
use contract::{AccountName, Stream};

use super::problems::{Reader, shown};
use crate::pipeline::{Start, StreamPlan};

/// The streams `variable` names (audit events by default), each once.
pub(super) fn streams(r: &mut Reader<'_>, variable: &str) -> Vec<Stream> {
    let mut streams = Vec::new();
    let list = r.get(variable).unwrap_or("auditevents").to_owned();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match name.parse::<Stream>() {
            Ok(stream) if streams.contains(&stream) => {
                r.problem(variable, format!("{} is listed twice", shown(name)))
            }
            Ok(stream) => streams.push(stream),
            Err(_) => r.problem(
                variable,
                format!(
                    "unknown stream {} (expected auditevents, signinattempts or itemusages)",
                    shown(name)
                ),
            ),
        }
    }
    if streams.is_empty() && !r.has_problem(variable) {
        r.problem(
            variable,
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

/// Where objects and checkpoints go, for every account alike.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    /// The checkpoints' folder, without slashes at its ends.
    pub state_prefix: String,
    /// `STATE_KEY`: the audit events checkpoint of a single-account deployment.
    audit_key: Option<String>,
    /// Each stream's feed prefix.
    prefixes: Vec<(Stream, String)>,
}

impl Layout {
    /// The layout for `streams` (every stream any account collects).
    pub fn read(r: &mut Reader<'_>, streams: &[Stream]) -> Layout {
        let state_prefix = r
            .get(STATE_PREFIX)
            .map(str::to_owned)
            .and_then(|value| r.object_path(STATE_PREFIX, &value, true))
            .unwrap_or_else(|| DEFAULT_STATE_PREFIX.trim_end_matches('/').to_owned());
        let audit_key = r
            .get(STATE_KEY)
            .map(str::to_owned)
            .and_then(|value| r.object_path(STATE_KEY, &value, false));
        let prefixes = Stream::ALL
            .into_iter()
            .filter(|stream| streams.contains(stream))
            .map(|stream| {
                let variable = env::prefix_variable(stream);
                let prefix = r
                    .get(variable)
                    .map(str::to_owned)
                    .and_then(|value| r.object_path(variable, &value, true))
                    .unwrap_or_else(|| env::default_prefix(stream).to_owned());
                (stream, prefix)
            })
            .collect();
        Layout {
            state_prefix,
            audit_key,
            prefixes,
        }
    }

    fn prefix(&self, stream: Stream) -> String {
        self.prefixes
            .iter()
            .find(|(s, _)| *s == stream)
            .map_or_else(
                || env::default_prefix(stream).to_owned(),
                |(_, p)| p.clone(),
            )
    }

    /// The plans of `account`'s `streams` (`None`: the one account of a single-account
    /// deployment, whose objects and checkpoints have no account folder).
    pub fn plans(
        &self,
        account: Option<&AccountName>,
        streams: &[Stream],
        lookback_hours: i64,
    ) -> Vec<StreamPlan> {
        streams
            .iter()
            .map(|&stream| {
                let prefix = self.prefix(stream);
                let (prefix, checkpoint_key) = match account {
                    None => (
                        prefix,
                        match (&self.audit_key, stream) {
                            (Some(key), Stream::AuditEvents) => key.clone(),
                            _ => contract::checkpoint::key(&self.state_prefix, stream),
                        },
                    ),
                    Some(account) => (
                        contract::checkpoint::account_prefix(&prefix, account),
                        contract::checkpoint::account_key(&self.state_prefix, account, stream),
                    ),
                };
                StreamPlan {
                    stream,
                    prefix,
                    checkpoint_key,
                    start: Start::Lookback(chrono::Duration::hours(lookback_hours)),
                }
            })
            .collect()
    }

    /// Records a problem for every checkpoint under a feed prefix and every feed prefix inside
    /// another.
    pub fn check(&self, r: &mut Reader<'_>, plans: &[&StreamPlan]) {
        for plan in plans {
            for (_, prefix) in &self.prefixes {
                if under(&plan.checkpoint_key, prefix) {
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
                            shown(prefix)
                        ),
                    );
                }
            }
        }
        for (stream, prefix) in &self.prefixes {
            for (other, other_prefix) in &self.prefixes {
                if stream != other && under(prefix, other_prefix) {
                    r.problem(
                        "GCS_PREFIX",
                        format!(
                            "the {stream} prefix {} lies inside the {other} prefix {}; each stream needs its own folder for its own SecOps feed",
                            shown(prefix),
                            shown(other_prefix)
                        ),
                    );
                }
            }
        }
    }
}
