//! `provision status`: per account and stream, the checkpoint, the last runs and the freshness
//! against the schedule ([`super::freshness`]), and the token's expiry.

use chrono::{DateTime, Utc};
use contract::checkpoint::Checkpoint;
use contract::summary::FailureReason;
use serde::Serialize;

use super::freshness::{self, Freshness, StreamRun};
use super::gcloud::{GcloudError, LOG_WINDOW_DAYS};
use super::logs::{parse_run, summary_filter};
use super::{Gcloud, RunRecord};
use crate::config::{Account, Config};

/// How many run summaries status reads (newest first), to find each stream's last successful run.
pub const RUNS_READ: u32 = 50;

/// How many of a stream's runs it shows.
pub const RUNS_SHOWN: usize = 5;

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
    /// This stream's last runs, newest first (at most [`RUNS_SHOWN`]).
    pub recent_runs: Vec<StreamRun>,
    /// When this stream's newest successful run was logged, among the last [`RUNS_READ`] runs.
    pub last_success_at: Option<String>,
    /// Its age, seconds.
    pub last_success_age_seconds: Option<i64>,
    /// Fresh, late (missed N runs) or stale, against the schedule.
    pub freshness: Freshness,
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
    /// The schedule's longest gap between two runs, seconds.
    pub schedule_interval_seconds: u64,
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
    let entries = gcloud.logs(&summary_filter(config, None), RUNS_READ)?;
    let mut checkpoints = Vec::new();
    for (account, stream) in accounts
        .iter()
        .flat_map(|a| a.streams.iter().map(move |s| (a, *s)))
    {
        let key = account.checkpoint_key(config, stream);
        checkpoints.push(gcloud.cat(&format!("gs://{}/{key}", config.bucket.name))?);
    }
    Ok(assemble(config, accounts, &entries, &checkpoints, now))
}

/// The status from what was read: `entries`, the run summaries' log entries newest first (as
/// `gcloud logging read --order desc --format json` gives them), and `checkpoints`, each stream's
/// checkpoint text (`None`: no object) in the order of `accounts` and their streams, at `now`.
pub fn assemble(
    config: &Config,
    accounts: &[Account],
    entries: &[serde_json::Value],
    checkpoints: &[Option<String>],
    now: DateTime<Utc>,
) -> Status {
    let runs: Vec<RunRecord> = entries.iter().filter_map(parse_run).collect();
    let last_run = runs.first().cloned();
    let interval = crate::config::longest_interval_seconds(&config.schedule.cron);
    let mut streams = Vec::new();
    for ((account, stream), text) in accounts
        .iter()
        .flat_map(|a| a.streams.iter().map(move |s| (a, *s)))
        .zip(checkpoints)
    {
        let name = stream.name().to_owned();
        let key = account.checkpoint_key(config, stream);
        let (checkpoint, checkpoint_error) = match text {
            None => (None, None),
            Some(text) => match Checkpoint::parse(&key, text.as_bytes()) {
                Ok(checkpoint) => (Some(checkpoint), None),
                Err(e) => (None, Some(e.to_string())),
            },
        };
        let run = last_run
            .as_ref()
            .and_then(|r| r.stream_of(account.name.as_ref(), stream));
        let history = freshness::history(&runs, account.name.as_ref(), stream);
        let last_success = history.iter().find(|r| r.ok);
        let last_success_age = last_success.and_then(|r| r.age_at(now));
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
            last_success_at: last_success.map(|r| r.at.clone()),
            last_success_age_seconds: last_success_age,
            freshness: freshness::judge(&config.schedule.cron, last_success_age),
            recent_runs: history.into_iter().take(RUNS_SHOWN).collect(),
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
    Status {
        streams,
        version_warning: version_warning(collector_version.as_deref()),
        collector_version,
        provisioner_version: buildinfo::LONG.to_owned(),
        last_run,
        token_expires_at,
        token_days_left,
        schedule_interval_seconds: interval,
    }
}

/// An age for a person: `42 s`, `17 min`, `5 h`, `3 d`, or `-`.
pub fn human_age(seconds: Option<i64>) -> String {
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
    out.push_str(&format!(
        "\nfreshness against the schedule (runs at most {} apart):\n{}{:<15} {:>12}  {:<30} {}\n",
        human_age(i64::try_from(status.schedule_interval_seconds).ok()),
        account("account"),
        "stream",
        "last success",
        "freshness",
        "last runs, newest first (time UTC, outcome, events)"
    ));
    for s in &status.streams {
        let runs = if s.recent_runs.is_empty() {
            "none logged".to_owned()
        } else {
            s.recent_runs
                .iter()
                .map(|r| {
                    let at = r.at.get(5..16).unwrap_or(&r.at).replace('T', " ");
                    format!("{at} {} {}", r.outcome, r.events)
                })
                .collect::<Vec<_>>()
                .join(" | ")
        };
        out.push_str(&format!(
            "{}{:<15} {:>12}  {:<30} {}\n",
            account(s.account.as_deref().unwrap_or_default()),
            s.stream,
            human_age(s.last_success_age_seconds),
            s.freshness.describe(),
            runs
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
