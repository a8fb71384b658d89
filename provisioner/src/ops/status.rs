//! `provision status`: per stream, the checkpoint and the last run, and the token's expiry.

use chrono::{DateTime, Utc};
use collector::checkpoint::Checkpoint;
use serde::Serialize;

use super::logs::{parse_run, summary_filter};
use super::{Gcloud, RunRecord};
use crate::config::Config;
use crate::runner::StepError;

/// One stream's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamStatus {
    /// Stream name.
    pub stream: String,
    /// Whether its checkpoint exists.
    pub has_checkpoint: bool,
    /// Events committed since the checkpoint was created.
    pub events_total: u64,
    /// Last commit of a batch with events.
    pub last_commit_at: Option<String>,
    /// Age of the newest committed event, seconds.
    pub newest_event_age_seconds: Option<i64>,
    /// Age of the checkpoint's last write, seconds.
    pub cursor_age_seconds: Option<i64>,
    /// The data object of a batch recorded but not committed, if any.
    pub pending_intent: Option<String>,
    /// Outcome of this stream in the last run.
    pub last_run_outcome: Option<String>,
    /// Events of this stream in the last run.
    pub last_run_events: Option<u64>,
}

/// The deployment's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Per stream.
    pub streams: Vec<StreamStatus>,
    /// The last run summary, if one was logged in the last week.
    pub last_run: Option<RunRecord>,
    /// The token's expiry as the last run read it.
    pub token_expires_at: Option<String>,
    /// Days left.
    pub token_days_left: Option<i64>,
}

fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - at).num_seconds()
}

/// Reads the state of every configured stream.
pub fn status(config: &Config, gcloud: &Gcloud, now: DateTime<Utc>) -> Result<Status, StepError> {
    let last_run = gcloud
        .logs(&summary_filter(config, None), 1)?
        .first()
        .and_then(parse_run);
    let state = config.checkpoint_prefix.trim_matches('/');
    let streams = config
        .stream_prefixes()
        .into_iter()
        .map(|(stream, _)| {
            let key = if stream == "auditevents" {
                config.state_key()
            } else {
                format!("{state}/{stream}.json")
            };
            let checkpoint = gcloud
                .cat(&format!("gs://{}/{key}", config.bucket.name))
                .and_then(|text| Checkpoint::parse(&key, text.as_bytes()).ok());
            let run = last_run
                .as_ref()
                .and_then(|r| r.streams.iter().find(|s| s.stream == stream));
            StreamStatus {
                has_checkpoint: checkpoint.is_some(),
                events_total: checkpoint.as_ref().map_or(0, |c| c.stats.events_total),
                last_commit_at: checkpoint
                    .as_ref()
                    .and_then(|c| c.stats.last_commit_at)
                    .map(|t| t.to_rfc3339()),
                newest_event_age_seconds: checkpoint
                    .as_ref()
                    .and_then(|c| c.stats.newest_event_at)
                    .map(|t| age(t, now)),
                cursor_age_seconds: checkpoint.as_ref().map(|c| age(c.updated_at, now)),
                pending_intent: checkpoint
                    .as_ref()
                    .and_then(|c| c.intent.as_ref())
                    .map(|i| i.object.clone()),
                last_run_outcome: run.map(|r| r.outcome.clone()),
                last_run_events: run.map(|r| r.events),
                stream,
            }
        })
        .collect();
    let token_expires_at = last_run.as_ref().and_then(|r| r.token_expires_at.clone());
    let token_days_left = token_expires_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (t.to_utc() - now).num_days());
    Ok(Status {
        streams,
        last_run,
        token_expires_at,
        token_days_left,
    })
}

fn human_age(seconds: Option<i64>) -> String {
    match seconds {
        None => "-".into(),
        Some(s) if s < 120 => format!("{s} s"),
        Some(s) if s < 7200 => format!("{} min", s / 60),
        Some(s) if s < 172_800 => format!("{} h", s / 3600),
        Some(s) => format!("{} d", s / 86_400),
    }
}

/// The status as a table.
pub fn to_text(status: &Status) -> String {
    let mut out = format!(
        "{:<15} {:>12} {:>13} {:>11} {:>10} {:<14} {}\n",
        "stream",
        "events total",
        "newest event",
        "cursor age",
        "last run",
        "outcome",
        "pending batch"
    );
    for s in &status.streams {
        out.push_str(&format!(
            "{:<15} {:>12} {:>13} {:>11} {:>10} {:<14} {}\n",
            s.stream,
            if s.has_checkpoint {
                s.events_total.to_string()
            } else {
                "no checkpoint".into()
            },
            human_age(s.newest_event_age_seconds),
            human_age(s.cursor_age_seconds),
            s.last_run_events.map_or("-".into(), |e| e.to_string()),
            s.last_run_outcome.as_deref().unwrap_or("-"),
            s.pending_intent.as_deref().unwrap_or("none"),
        ));
    }
    match &status.last_run {
        Some(run) => out.push_str(&format!(
            "last run: {} ({})\n",
            run.timestamp,
            if run.ok { "ok" } else { "with failures" }
        )),
        None => out.push_str("last run: none logged in the last week; run `provision verify`\n"),
    }
    match (&status.token_expires_at, status.token_days_left) {
        (Some(at), Some(days)) => {
            out.push_str(&format!("token expires: {at} ({days} days left)\n"))
        }
        _ => out.push_str("token expires: never, or not reported\n"),
    }
    out
}
