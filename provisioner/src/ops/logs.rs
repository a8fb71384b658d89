//! Reading the collector's run summaries and errors back from Cloud Logging, with the contract's
//! own types: a summary line is a [`SummaryLine`], an ERROR line carries a [`FailureReason`].

use contract::AccountName;
use contract::summary::{FailureReason, SummaryLine};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// A logged run summary: when Cloud Logging received it, and the line itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    /// When it was logged.
    pub timestamp: String,
    /// The summary line's payload, as the collector wrote it.
    #[serde(flatten)]
    pub line: SummaryLine,
}

impl RunRecord {
    /// Whether every stream finished cleanly.
    pub fn ok(&self) -> bool {
        self.line.ok
    }

    /// Which token the run used for `account` (`None`: the one account of a deployment of one),
    /// if logged (`onepassword_events::secret::Secret::fingerprint`).
    pub fn token_fingerprint_of(&self, account: Option<&AccountName>) -> Option<&str> {
        match account {
            None => self.line.summary.token_fingerprint.as_deref(),
            Some(name) => self
                .line
                .summary
                .account(name)?
                .token_fingerprint
                .as_deref(),
        }
    }

    /// Whether every stream of `account` (`None`: every stream of the run) finished cleanly.
    pub fn ok_for(&self, account: Option<&AccountName>) -> bool {
        match account {
            None => self.line.ok,
            Some(name) => self.line.summary.account(name).is_some_and(|a| a.ok),
        }
    }

    /// `account`'s `stream` part of the run (`None`: the one account's), if the run collected it.
    pub fn stream_of<'a>(
        &'a self,
        account: Option<&'a AccountName>,
        stream: contract::Stream,
    ) -> Option<&'a contract::summary::StreamSummary> {
        self.line
            .summary
            .streams_of(account)
            .find(|s| s.stream == stream)
    }
}

/// An ERROR line the collector logged: its message, its reason (absent from lines that are not
/// the collector's own, such as Cloud Run's), and its error text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorRecord {
    /// The line's message (or text payload).
    pub message: String,
    /// The collector's reason, when the line is one of its own.
    pub reason: Option<FailureReason>,
    /// The error's text.
    pub error: String,
}

impl ErrorRecord {
    /// Whether this is the collector refusing to start.
    pub fn is_cannot_start(&self) -> bool {
        self.message == contract::summary::CANNOT_START_MESSAGE
    }

    /// The line as one text.
    pub fn text(&self) -> String {
        if self.error.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.message, self.error)
        }
    }
}

/// The filter of the collector's log lines (every service's).
pub fn collector_filter(config: &Config) -> String {
    crate::render::collector_logs(config)
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

/// Parses a log entry holding a run summary; `None` when it is not one this provisioner can
/// read (not a summary line, or a shape from an incompatible collector).
pub fn parse_run(entry: &serde_json::Value) -> Option<RunRecord> {
    let line = SummaryLine::deserialize(&entry["jsonPayload"]).ok()?;
    Some(RunRecord {
        timestamp: entry["timestamp"].as_str().unwrap_or_default().to_owned(),
        line,
    })
}

/// Parses an ERROR log entry: the collector's JSON line, or any other payload as text.
pub fn parse_error(entry: &serde_json::Value) -> ErrorRecord {
    let payload = &entry["jsonPayload"];
    ErrorRecord {
        message: payload["message"]
            .as_str()
            .or(entry["textPayload"].as_str())
            .unwrap_or_default()
            .to_owned(),
        reason: payload
            .get(contract::summary::fields::REASON)
            .and_then(|r| FailureReason::deserialize(r).ok()),
        error: payload["error"].as_str().unwrap_or_default().to_owned(),
    }
}
