//! `provision status`: per stream, the checkpoint and the last run, and the token's expiry.

use chrono::{DateTime, Utc};
use contract::checkpoint::Checkpoint;
use contract::summary::FailureReason;
use serde::Serialize;

use super::gcloud::{GcloudError, LOG_WINDOW_DAYS};
use super::logs::{parse_run, summary_filter};
use super::{Gcloud, RunRecord};
use crate::config::{Account, Config};

/// One stream's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamStatus {
    /// The account, in a deployment of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Stream name.
    pub stream: String,
    /// Whether its checkpoint exists.
    pub has_checkpoint: bool,
    /// Why an existing checkpoint cannot be used (invalid, or written by a newer collector).
    pub checkpoint_error: Option<String>,
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
    /// Outcome of this stream in the last run (its `kind`).
    pub last_run_outcome: Option<String>,
    /// Why it failed, when it did.
    pub last_run_reason: Option<FailureReason>,
    /// Events of this stream in the last run.
    pub last_run_events: Option<u64>,
}

/// The deployment's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Per stream.
    pub streams: Vec<StreamStatus>,
    /// The newest run summary logged in the last [`LOG_WINDOW_DAYS`] days, if any.
    pub last_run: Option<RunRecord>,
    /// The token's expiry as the last run read it.
    pub token_expires_at: Option<String>,
    /// Days left.
    pub token_days_left: Option<i64>,
    /// The deployed collector's `VERSION (COMMIT)`, as its last run reported it.
    pub collector_version: Option<String>,
    /// This provisioner's `VERSION (COMMIT)`.
    pub provisioner_version: String,
    /// Set when the deployed collector's version differs from this provisioner's: what to do.
    pub version_warning: Option<String>,
}

/// A warning when the collector reporting `deployed` is another release than this provisioner.
fn version_warning(deployed: Option<&str>) -> Option<String> {
    let deployed = deployed?.split_whitespace().next()?;
    (deployed != buildinfo::VERSION).then(|| {
        format!(
            "the deployed collector is {deployed}, this provision is {}: roll it out with \
             `provision deploy --version {}`, or run provision {deployed} against this deployment",
            buildinfo::VERSION,
            buildinfo::VERSION
        )
    })
}

impl Status {
    /// Whether some checkpoint exists but cannot be used.
    pub fn has_checkpoint_errors(&self) -> bool {
        self.streams.iter().any(|s| s.checkpoint_error.is_some())
    }
}

fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - at).num_seconds()
}

/// Reads the state of every stream of `accounts` (all of the config's, or the one `--account`
/// names). A gcloud failure (a missing permission on the bucket or the logs) is an error, never
/// "no checkpoint" or "no run".
pub fn status(
    config: &Config,
    accounts: &[Account],
    gcloud: &Gcloud,
    now: DateTime<Utc>,
) -> Result<Status, GcloudError> {
    let last_run = gcloud
        .logs(&summary_filter(config, None), 1)?
        .first()
        .and_then(parse_run);
    let mut streams = Vec::new();
    for (account, stream) in accounts
        .iter()
        .flat_map(|a| a.streams.iter().map(move |s| (a, *s)))
    {
        let name = stream.name().to_owned();
        let key = account.checkpoint_key(config, stream);
        let text = gcloud.cat(&format!("gs://{}/{key}", config.bucket.name))?;
        let (checkpoint, checkpoint_error) = match &text {
            None => (None, None),
            Some(text) => match Checkpoint::parse(&key, text.as_bytes()) {
                Ok(checkpoint) => (Some(checkpoint), None),
                Err(e) => (None, Some(e.to_string())),
            },
        };
        let run = last_run
            .as_ref()
            .and_then(|r| r.stream_of(account.name.as_ref(), stream));
        streams.push(StreamStatus {
            account: account.name.as_ref().map(ToString::to_string),
            has_checkpoint: text.is_some(),
            checkpoint_error,
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
            last_run_outcome: run.map(|r| r.outcome.kind().to_owned()),
            last_run_reason: run.and_then(|r| r.outcome.failure()).map(|f| f.reason),
            last_run_events: run.map(|r| r.events),
            stream: name,
        });
    }
    let token_expires_at = last_run
        .as_ref()
        .and_then(|r| r.line.summary.token_expires_at);
    let token_days_left = token_expires_at.map(|t| (t - now).num_days());
    let token_expires_at =
        token_expires_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    let collector_version = last_run
        .as_ref()
        .and_then(|r| r.line.collector_version.clone());
    Ok(Status {
        streams,
        version_warning: version_warning(collector_version.as_deref()),
        collector_version,
        provisioner_version: buildinfo::LONG.to_owned(),
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
    // With several accounts, each row starts with its account.
    let width = status
        .streams
        .iter()
        .filter_map(|s| s.account.as_ref().map(String::len))
        .max()
        .map(|w| w.max("account".len()));
    let account = |name: &str| width.map_or(String::new(), |w| format!("{name:<w$} "));
    let mut out = format!(
        "{}{:<15} {:>12} {:>13} {:>11} {:>10} {:<14} {}\n",
        account("account"),
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
            "{}{:<15} {:>12} {:>13} {:>11} {:>10} {:<14} {}\n",
            account(s.account.as_deref().unwrap_or_default()),
            s.stream,
            match (s.has_checkpoint, &s.checkpoint_error) {
                (true, None) => s.events_total.to_string(),
                (true, Some(_)) => "unreadable".into(),
                (false, _) => "no checkpoint".into(),
            },
            human_age(s.newest_event_age_seconds),
            human_age(s.cursor_age_seconds),
            s.last_run_events.map_or("-".into(), |e| e.to_string()),
            s.last_run_outcome.as_deref().unwrap_or("-"),
            s.pending_intent.as_deref().unwrap_or("none"),
        ));
    }
    for s in &status.streams {
        if let Some(error) = &s.checkpoint_error {
            let whose = match &s.account {
                Some(account) => format!("{account} {}", s.stream),
                None => s.stream.clone(),
            };
            out.push_str(&format!("{whose} checkpoint: {error}\n"));
        }
    }
    match &status.last_run {
        Some(run) => out.push_str(&format!(
            "last run: {} ({})\n",
            run.timestamp,
            if run.ok() { "ok" } else { "with failures" }
        )),
        None => out.push_str(&format!(
            "last run: none logged in the last {LOG_WINDOW_DAYS} days; run `provision verify`\n"
        )),
    }
    match (&status.token_expires_at, status.token_days_left) {
        (Some(at), Some(days)) => {
            out.push_str(&format!("token expires: {at} ({days} days left)\n"))
        }
        _ => out.push_str("token expires: never, or not reported\n"),
    }
    out.push_str(&format!(
        "collector: {} (provision {})\n",
        status
            .collector_version
            .as_deref()
            .unwrap_or("not reported by the last run"),
        status.provisioner_version
    ));
    if let Some(warning) = &status.version_warning {
        out.push_str(&format!("warning: {warning}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_collector_release_is_warned_about_with_the_way_to_match() {
        assert_eq!(version_warning(None), None);
        assert_eq!(version_warning(Some(buildinfo::LONG)), None);
        let own = format!("{} (0123456789ab)", buildinfo::VERSION);
        assert_eq!(
            version_warning(Some(&own)),
            None,
            "another commit of this release"
        );
        let warning = version_warning(Some("0.0.9 (0123456789ab)")).unwrap();
        assert!(
            warning.contains("the deployed collector is 0.0.9")
                && warning.contains(&format!(
                    "provision deploy --version {}",
                    buildinfo::VERSION
                )),
            "{warning}"
        );
    }
}
