//! What a run did, per stream, for the one summary log line and for the trigger's HTTP status.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::onepassword::Stream;

/// How a stream's drain ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing more to fetch right now.
    Drained,
    /// MAX_RECORDS reached; the rest waits for the next run.
    MaxRecords,
    /// The run's time budget ran out; the rest waits for the next run.
    Budget,
    /// Shutdown was requested (SIGTERM); the current batch was finished first.
    Stopped,
    /// The Events API's request limit is spent; the checkpoint is saved and the next run after
    /// `resets_at` continues.
    RateLimited {
        /// When requests can resume.
        resets_at: DateTime<Utc>,
        /// What was spent and when it resets.
        reason: String,
    },
    /// A failure that may pass; the next run retries from the saved checkpoint.
    Transient(String),
    /// A failure an operator must fix (token, permissions, configuration).
    Permanent(String),
}

/// One stream's part of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamSummary {
    /// The stream.
    #[serde(serialize_with = "as_name")]
    pub stream: Stream,
    /// Events committed by this run.
    pub events: u64,
    /// Pages fetched.
    pub pages: u64,
    /// Data objects this run created.
    pub objects: u64,
    /// Bytes in those objects.
    pub bytes: u64,
    /// Timestamp of the newest event committed by this run.
    pub newest_event_at: Option<DateTime<Utc>>,
    /// Its age in seconds when the run ended.
    pub newest_event_age_seconds: Option<i64>,
    /// How the drain ended.
    pub outcome: Outcome,
}

fn as_name<S: serde::Serializer>(stream: &Stream, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(stream.name())
}

impl StreamSummary {
    /// An empty summary for `stream`.
    pub fn new(stream: Stream) -> Self {
        Self {
            stream,
            events: 0,
            pages: 0,
            objects: 0,
            bytes: 0,
            newest_event_at: None,
            newest_event_age_seconds: None,
            outcome: Outcome::Drained,
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Per stream, in configured order.
    pub streams: Vec<StreamSummary>,
    /// Wall time of the run, milliseconds.
    pub duration_ms: u64,
    /// The bearer token's expiry, when it is a JWT with `exp`.
    pub token_expires_at: Option<DateTime<Utc>>,
}

impl RunSummary {
    /// A summary of `streams` that took `duration`.
    pub fn new(
        streams: Vec<StreamSummary>,
        duration: Duration,
        token_expires_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            streams,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            token_expires_at,
        }
    }

    /// Whether a stream failed in a way only an operator can fix.
    pub fn has_permanent_failure(&self) -> bool {
        self.streams
            .iter()
            .any(|s| matches!(s.outcome, Outcome::Permanent(_)))
    }

    /// Whether a stream failed in a way the next run may get past.
    pub fn has_transient_failure(&self) -> bool {
        self.streams
            .iter()
            .any(|s| matches!(s.outcome, Outcome::Transient(_)))
    }

    /// Total events committed.
    pub fn events(&self) -> u64 {
        self.streams.iter().map(|s| s.events).sum()
    }
}
