//! The run summary: what one collection run did, per stream, with a typed reason for every failure.
//! The collector logs it in its one `collector run summary` line per run (as `summary`, beside the
//! top-level fields the alert policies read); `provision verify`, `status` and `set-token` read it
//! back with these same types.
//!
//! ```json
//! {"message": "collector run summary", "ok": false, "events": 0, "duration_ms": 812,
//!  "token_days_left": 40, "collector_version": "0.1.0 (0123456789ab)",
//!  "summary": {"streams": [{"stream": "auditevents", "events": 0, "pages": 1, "objects": 0,
//!               "bytes": 0, "newest_event_at": null, "newest_event_age_seconds": null,
//!               "outcome": {"kind": "permanent", "reason": "token_refused", "detail": "…"}}],
//!              "duration_ms": 812, "token_expires_at": "…", "token_fingerprint": "sha256:…"}}
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AccountName, Stream};

/// The message of the collector's one summary log line per run (the alert policies, `verify`,
/// `status` and `set-token` filter on it).
pub const SUMMARY_MESSAGE: &str = "collector run summary";

/// The message of the ERROR line a collector logs when it refuses to start (its `reason` field
/// says why, as a [`FailureReason`]).
pub const CANNOT_START_MESSAGE: &str = "collector cannot start";

/// The message of the INFO line a collector of several accounts logs for each account after a run
/// (fields `account` and `ok`), which the per-account success metric counts.
pub const ACCOUNT_SUMMARY_MESSAGE: &str = "collector account summary";

/// The message of the INFO line the collector logs for each stream (of each account) after a run:
/// the fields of [`StreamLine`], which the dashboard's log-based metrics extract.
pub const STREAM_SUMMARY_MESSAGE: &str = "collector stream summary";

/// The top-level fields of the summary line that alert policies and log filters name.
pub mod fields {
    /// On ERROR and account summary lines: the account's name, in a deployment of several.
    pub const ACCOUNT: &str = "account";
    /// The account whose token `token_days_left` is about, in a deployment of several.
    pub const TOKEN_ACCOUNT: &str = "token_account";
    /// `true` when every stream finished cleanly (the success metric counts these lines).
    pub const OK: &str = "ok";
    /// Days until the bearer token expires, -1 when it does not (the expiry alert reads it).
    pub const TOKEN_DAYS_LEFT: &str = "token_days_left";
    /// The collector's `VERSION (COMMIT)`.
    pub const COLLECTOR_VERSION: &str = "collector_version";
    /// The [`super::RunSummary`] itself, embedded as JSON.
    pub const SUMMARY: &str = "summary";
    /// On ERROR lines: the [`super::FailureReason`], snake_case.
    pub const REASON: &str = "reason";
    /// On stream summary lines: the stream's name.
    pub const STREAM: &str = "stream";
    /// On stream summary lines: events committed by the run (summary line: by every stream).
    pub const EVENTS: &str = "events";
    /// On stream summary lines: `ok`, or the [`super::FailureReason`] of a failed stream.
    pub const OUTCOME: &str = "outcome";
    /// On stream summary lines: the age of the newest event known for the stream, in seconds.
    pub const NEWEST_EVENT_AGE_SECONDS: &str = "newest_event_age_seconds";
    /// Wall time in milliseconds (summary line: the run; stream summary line: the stream's drain).
    pub const DURATION_MS: &str = "duration_ms";
}

/// Why a stream (or the collector itself) failed: a closed set, so diagnosis never reads message
/// text. Spelled snake_case in JSON; a reason a newer collector adds reads as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// 1Password refused the bearer token (401: expired, revoked or wrong).
    TokenRefused,
    /// The token is valid but lacks this stream's feature.
    FeatureMissing,
    /// 1Password kept answering 429 beyond the retries and the run's budget.
    RateLimited,
    /// 1Password kept failing (5xx, timeouts, cut connections, malformed pages).
    ApiUnavailable,
    /// 1Password rejected the request itself (400 or another 4xx).
    ApiRejected,
    /// Storage refused the collector's identity (401/403): a missing role on the bucket.
    StorageDenied,
    /// The bucket (or the local folder) does not exist.
    StorageNotFound,
    /// Storage kept failing, or other runs kept moving the checkpoint first.
    StorageUnavailable,
    /// The checkpoint is not valid JSON of a checkpoint, or a newer collector wrote it.
    CheckpointUnreadable,
    /// A recorded batch's events are no longer the ones the API returns (count or hash differ).
    DivergedIntent,
    /// The collector refused its settings.
    InvalidConfiguration,
    /// A fault inside the collector (a task that died); the next run retries.
    Internal,
    /// A reason this reader does not know (written by a newer collector).
    #[serde(other)]
    Unknown,
}

impl FailureReason {
    /// Whether only an operator can fix it (the next run would fail the same way).
    pub fn needs_operator(self) -> bool {
        match self {
            FailureReason::TokenRefused
            | FailureReason::FeatureMissing
            | FailureReason::ApiRejected
            | FailureReason::StorageDenied
            | FailureReason::StorageNotFound
            | FailureReason::CheckpointUnreadable
            | FailureReason::DivergedIntent
            | FailureReason::InvalidConfiguration
            | FailureReason::Unknown => true,
            FailureReason::RateLimited
            | FailureReason::ApiUnavailable
            | FailureReason::StorageUnavailable
            | FailureReason::Internal => false,
        }
    }

    /// The snake_case spelling, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::TokenRefused => "token_refused",
            FailureReason::FeatureMissing => "feature_missing",
            FailureReason::RateLimited => "rate_limited",
            FailureReason::ApiUnavailable => "api_unavailable",
            FailureReason::ApiRejected => "api_rejected",
            FailureReason::StorageDenied => "storage_denied",
            FailureReason::StorageNotFound => "storage_not_found",
            FailureReason::StorageUnavailable => "storage_unavailable",
            FailureReason::CheckpointUnreadable => "checkpoint_unreadable",
            FailureReason::DivergedIntent => "diverged_intent",
            FailureReason::InvalidConfiguration => "invalid_configuration",
            FailureReason::Internal => "internal",
            FailureReason::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure: its reason, and the message that says what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Why, from the closed set.
    pub reason: FailureReason,
    /// The error's message, for a person.
    pub detail: String,
}

/// How a stream's drain ended (`kind` in JSON, snake_case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
    /// `resets_at` continues. A clean stop, not a failure.
    RateLimited {
        /// When requests can resume.
        resets_at: DateTime<Utc>,
        /// What was spent and when it resets.
        detail: String,
    },
    /// A failure that may pass; the next run retries from the saved checkpoint.
    Transient(Failure),
    /// A failure an operator must fix (token, permissions, configuration).
    Permanent(Failure),
    /// A kind this reader does not know (written by a newer collector).
    #[serde(other)]
    Unknown,
}

impl Outcome {
    /// The outcome of a failure: permanent when only an operator can fix its reason.
    pub fn failed(reason: FailureReason, detail: impl Into<String>) -> Outcome {
        let failure = Failure {
            reason,
            detail: detail.into(),
        };
        if reason.needs_operator() {
            Outcome::Permanent(failure)
        } else {
            Outcome::Transient(failure)
        }
    }

    /// The failure, if the drain failed.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Transient(failure) | Outcome::Permanent(failure) => Some(failure),
            _ => None,
        }
    }

    /// The `kind` as JSON spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Drained => "drained",
            Outcome::MaxRecords => "max_records",
            Outcome::Budget => "budget",
            Outcome::Stopped => "stopped",
            Outcome::RateLimited { .. } => "rate_limited",
            Outcome::Transient(_) => "transient",
            Outcome::Permanent(_) => "permanent",
            Outcome::Unknown => "unknown",
        }
    }
}

/// One stream's part of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSummary {
    /// The account, in a deployment of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountName>,
    /// The stream.
    pub stream: Stream,
    /// Events committed by this run.
    pub events: u64,
    /// Pages fetched.
    #[serde(default)]
    pub pages: u64,
    /// Data objects this run created.
    #[serde(default)]
    pub objects: u64,
    /// Bytes in those objects.
    #[serde(default)]
    pub bytes: u64,
    /// Timestamp of the newest event committed by this run.
    #[serde(default)]
    pub newest_event_at: Option<DateTime<Utc>>,
    /// Its age in seconds when the run ended.
    #[serde(default)]
    pub newest_event_age_seconds: Option<i64>,
    /// The newest event known for the stream: committed by this run, or else by an earlier one
    /// (the checkpoint's record of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_known_event_at: Option<DateTime<Utc>>,
    /// Wall time of the stream's drain, milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
    /// How the drain ended.
    pub outcome: Outcome,
}

impl StreamSummary {
    /// An empty summary for `stream`.
    pub fn new(stream: Stream) -> Self {
        Self {
            account: None,
            stream,
            events: 0,
            pages: 0,
            objects: 0,
            bytes: 0,
            newest_event_at: None,
            newest_event_age_seconds: None,
            newest_known_event_at: None,
            duration_ms: 0,
            outcome: Outcome::Drained,
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Per stream, in configured order.
    pub streams: Vec<StreamSummary>,
    /// Wall time of the run, milliseconds.
    pub duration_ms: u64,
    /// The bearer token's expiry, when it is a JWT with `exp`.
    #[serde(default)]
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Which token the run used (`sha256:` and 16 hex digits of the token's SHA-256), so
    /// `provision set-token` can confirm a run with the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_fingerprint: Option<String>,
    /// Per account, in a deployment of several (then the token fields above are those of the
    /// token that expires first, and `streams` name their account).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountSummary>,
}

/// One account's part of a run, in a deployment of several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    /// The account.
    pub account: AccountName,
    /// Its token's expiry, when it is a JWT with `exp`.
    #[serde(default)]
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Which token it used (`sha256:` and 16 hex digits).
    #[serde(default)]
    pub token_fingerprint: Option<String>,
    /// Whether every stream of the account finished cleanly.
    pub ok: bool,
    /// Whether every stream of the account got through its backlog (drained, or stopped by a
    /// failure or a spent rate limit); an unfinished account goes first in the next run.
    pub finished: bool,
}

impl RunSummary {
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

    /// Whether every stream finished cleanly (the line's `ok`).
    pub fn ok(&self) -> bool {
        !self.has_permanent_failure() && !self.has_transient_failure()
    }

    /// Total events committed.
    pub fn events(&self) -> u64 {
        self.streams.iter().map(|s| s.events).sum()
    }

    /// `account`'s streams (`None`: the streams of a deployment of one account).
    pub fn streams_of<'a>(
        &'a self,
        account: Option<&'a AccountName>,
    ) -> impl Iterator<Item = &'a StreamSummary> + 'a {
        self.streams
            .iter()
            .filter(move |s| s.account.as_ref() == account)
    }

    /// `account`'s part, in a deployment of several.
    pub fn account(&self, account: &AccountName) -> Option<&AccountSummary> {
        self.accounts.iter().find(|a| &a.account == account)
    }
}

/// What a stream's outcome counts as on its stream summary line: `ok` for a clean stop (drained,
/// limits, budget, shutdown, a spent rate limit), else the failure's reason.
pub fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Transient(failure) | Outcome::Permanent(failure) => failure.reason.as_str(),
        Outcome::Unknown => FailureReason::Unknown.as_str(),
        Outcome::Drained
        | Outcome::MaxRecords
        | Outcome::Budget
        | Outcome::Stopped
        | Outcome::RateLimited { .. } => OUTCOME_OK,
    }
}

/// The `outcome` of a stream that finished cleanly.
pub const OUTCOME_OK: &str = "ok";

/// The stream summary line's JSON payload (`jsonPayload`): one per stream per run, the fields the
/// dashboard's log-based metrics extract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamLine {
    /// [`STREAM_SUMMARY_MESSAGE`].
    pub message: String,
    /// The account, in a deployment of several (absent with one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountName>,
    /// The stream.
    pub stream: Stream,
    /// Events committed by the run.
    pub events: u64,
    /// [`OUTCOME_OK`] or the failure's reason ([`outcome_label`]).
    pub outcome: String,
    /// Age of the newest event known for the stream, seconds (absent while none is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_event_age_seconds: Option<i64>,
    /// Wall time of the stream's drain, milliseconds.
    pub duration_ms: u64,
}

/// The summary line's JSON payload as Cloud Logging keeps it (`jsonPayload`): the fields readers
/// use. Unknown fields are ignored, so the collector may log more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryLine {
    /// [`SUMMARY_MESSAGE`].
    pub message: String,
    /// Whether every stream finished cleanly.
    pub ok: bool,
    /// Days until the token expires, -1 when it does not.
    pub token_days_left: i64,
    /// The collector's `VERSION (COMMIT)` (absent from collectors before 0.1.0).
    #[serde(default)]
    pub collector_version: Option<String>,
    /// The account whose token `token_days_left` is about, in a deployment of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_account: Option<AccountName>,
    /// The run.
    pub summary: RunSummary,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_keep_their_shape_and_unknown_values_still_read() {
        let permanent = Outcome::failed(FailureReason::TokenRefused, "401");
        assert_eq!(
            serde_json::to_value(&permanent).unwrap(),
            serde_json::json!({"kind": "permanent", "reason": "token_refused", "detail": "401"})
        );
        let transient = Outcome::failed(FailureReason::ApiUnavailable, "502");
        assert_eq!(transient.kind(), "transient");
        assert_eq!(
            serde_json::to_value(Outcome::Drained).unwrap(),
            serde_json::json!({"kind": "drained"})
        );
        let newer: Outcome = serde_json::from_value(
            serde_json::json!({"kind": "permanent", "reason": "quantum_flux", "detail": "x"}),
        )
        .unwrap();
        assert_eq!(newer.failure().unwrap().reason, FailureReason::Unknown);
        let newer_kind: Outcome =
            serde_json::from_value(serde_json::json!({"kind": "paused_for_tea"})).unwrap();
        assert_eq!(newer_kind, Outcome::Unknown);
    }

    #[test]
    fn every_reason_is_spelled_as_json_spells_it() {
        for reason in crate::every_variant!(
            FailureReason: TokenRefused,
            FeatureMissing,
            RateLimited,
            ApiUnavailable,
            ApiRejected,
            StorageDenied,
            StorageNotFound,
            StorageUnavailable,
            CheckpointUnreadable,
            DivergedIntent,
            InvalidConfiguration,
            Internal,
            Unknown,
        ) {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::Value::from(reason.as_str())
            );
            let outcome = Outcome::failed(reason, "d");
            assert_eq!(
                matches!(outcome, Outcome::Permanent(_)),
                reason.needs_operator()
            );
        }
    }

    #[test]
    fn a_summary_round_trips_and_judges_itself() {
        let mut failed = StreamSummary::new(Stream::ItemUsages);
        failed.outcome = Outcome::failed(FailureReason::StorageDenied, "403");
        let mut good = StreamSummary::new(Stream::AuditEvents);
        good.events = 7;
        let summary = RunSummary {
            streams: vec![good, failed],
            duration_ms: 5,
            token_expires_at: None,
            token_fingerprint: Some("sha256:0011223344556677".into()),
            accounts: Vec::new(),
        };
        let json = serde_json::to_value(&summary).unwrap();
        assert!(
            json.get("accounts").is_none() && json["streams"][0].get("account").is_none(),
            "a deployment of one account logs what it logged before accounts: {json}"
        );
        let back: RunSummary =
            serde_json::from_str(&serde_json::to_string(&summary).unwrap()).unwrap();
        assert_eq!(back, summary);
        assert!(back.has_permanent_failure() && !back.has_transient_failure() && !back.ok());
        assert_eq!(back.events(), 7);
    }
}
