//! Reading the collector's run summaries and errors back from Cloud Logging.

use contract::Stream;
use serde::Serialize;

use crate::config::Config;

/// One stream's part of a logged run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamRecord {
    /// Stream name.
    pub stream: String,
    /// Events collected.
    pub events: u64,
    /// Objects written.
    pub objects: u64,
    /// `drained`, `max_records`, `budget`, `stopped`, `transient` or `permanent`.
    pub outcome: String,
    /// The failure's text, if any.
    pub detail: Option<String>,
    /// Age of the newest event collected, seconds.
    pub newest_event_age_seconds: Option<i64>,
}

/// A logged run summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    /// When it was logged.
    pub timestamp: String,
    /// Whether every stream finished cleanly.
    pub ok: bool,
    /// The token's expiry the run read, if any.
    pub token_expires_at: Option<String>,
    /// Which token the run used (`onepassword_events::secret::Secret::fingerprint`), if logged.
    pub token_fingerprint: Option<String>,
    /// The collector's `VERSION (COMMIT)`, if logged (collectors before 0.1.0 did not).
    pub collector_version: Option<String>,
    /// Per stream.
    pub streams: Vec<StreamRecord>,
}

/// The filter of the collector's log lines.
pub fn collector_filter(config: &Config) -> String {
    format!(
        "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"{}\"",
        config.collector.service_name
    )
}

/// The filter of run summaries, optionally only those at or after `since`.
pub fn summary_filter(config: &Config, since: Option<&str>) -> String {
    let mut filter = format!(
        "{} AND jsonPayload.message=\"{}\"",
        collector_filter(config),
        contract::SUMMARY_MESSAGE
    );
    if let Some(since) = since {
        filter.push_str(&format!(" AND timestamp>=\"{since}\""));
    }
    filter
}

/// The object name of `stream`'s checkpoint.
pub fn checkpoint_key(config: &Config, stream: Stream) -> String {
    if stream == Stream::AuditEvents {
        config.state_key()
    } else {
        format!(
            "{}/{stream}.json",
            config.checkpoint_prefix.trim_matches('/')
        )
    }
}

/// Parses a log entry holding a run summary.
pub fn parse_run(entry: &serde_json::Value) -> Option<RunRecord> {
    let payload = &entry["jsonPayload"];
    let summary = &payload["summary"];
    let streams = summary["streams"]
        .as_array()?
        .iter()
        .map(|s| StreamRecord {
            stream: s["stream"].as_str().unwrap_or_default().to_owned(),
            events: s["events"].as_u64().unwrap_or(0),
            objects: s["objects"].as_u64().unwrap_or(0),
            outcome: s["outcome"]["kind"]
                .as_str()
                .unwrap_or("unknown")
                .to_owned(),
            // A string, or an object with a `reason` (a rate-limited stop also names its reset).
            detail: s["outcome"]["detail"]
                .as_str()
                .or_else(|| s["outcome"]["detail"]["reason"].as_str())
                .map(str::to_owned),
            newest_event_age_seconds: s["newest_event_age_seconds"].as_i64(),
        })
        .collect();
    Some(RunRecord {
        timestamp: entry["timestamp"].as_str().unwrap_or_default().to_owned(),
        ok: payload["ok"].as_bool().unwrap_or(false),
        token_expires_at: summary["token_expires_at"].as_str().map(str::to_owned),
        token_fingerprint: summary["token_fingerprint"].as_str().map(str::to_owned),
        collector_version: payload["collector_version"].as_str().map(str::to_owned),
        streams,
    })
}
