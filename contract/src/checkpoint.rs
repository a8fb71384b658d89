//! The checkpoint's JSON format, version 1, and how older or newer versions are treated.
//!
//! ```json
//! {"version":1,"stream":"auditevents",
//!  "position":{"cursor":"…"} | {"reset":{"start_time":"…","limit":1000}},
//!  "intent":null | {"start":<position>,"next_cursor":"…","object":"prefix/…ndjson",
//!                   "events":1000,"bytes":812345,"xxh3":"…","recorded_at":"…"},
//!  "updated_at":"…","stats":{…}}
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AccountName, Position, Stream};

/// The checkpoint object of `stream` in the folder `state_prefix` (`STATE_PREFIX/STREAM.json`;
/// a `/` at either end of the folder is ignored). Audit events may be given another name with
/// `STATE_KEY` (the guide's single state file); the default is this one.
pub fn key(state_prefix: &str, stream: Stream) -> String {
    let folder = state_prefix.trim_matches('/');
    if folder.is_empty() {
        format!("{stream}.json")
    } else {
        format!("{folder}/{stream}.json")
    }
}

/// The checkpoint object of `account`'s `stream` (`STATE_PREFIX/ACCOUNT/STREAM.json`) in a
/// deployment that collects several accounts.
pub fn account_key(state_prefix: &str, account: &AccountName, stream: Stream) -> String {
    let folder = state_prefix.trim_matches('/');
    if folder.is_empty() {
        format!("{account}/{stream}.json")
    } else {
        format!("{folder}/{account}/{stream}.json")
    }
}

/// The folder of `account`'s objects of a stream whose feed reads `prefix`
/// (`PREFIX/ACCOUNT`), in a deployment that collects several accounts.
pub fn account_prefix(prefix: &str, account: &AccountName) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        account.to_string()
    } else {
        format!("{prefix}/{account}")
    }
}

/// The format version this collector writes and reads.
pub const CURRENT_VERSION: u32 = 1;

/// A stream's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub version: u32,
    /// The stream's name.
    pub stream: String,
    /// Where the next batch starts.
    pub position: Position,
    /// A batch recorded but not yet committed: finish it before anything else.
    pub intent: Option<Intent>,
    /// Last write of this checkpoint.
    pub updated_at: DateTime<Utc>,
    /// Running totals, for `provision status`.
    #[serde(default)]
    pub stats: CheckpointStats,
}

/// A batch between "recorded" and "committed". Never changed once recorded: every run that completes
/// it writes the same bytes under the same name and commits the same cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// Where the batch starts.
    pub start: Position,
    /// The cursor after the batch's last event.
    pub next_cursor: String,
    /// The data object's name.
    pub object: String,
    /// The number of events: the first `events` events after `start`.
    pub events: u64,
    /// The object's size.
    pub bytes: u64,
    /// XXH3-128 of the object's bytes, hex (a consistency check of refetched events).
    pub xxh3: String,
    /// When the intent was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// Totals kept across runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointStats {
    /// Events committed since the checkpoint was created.
    #[serde(default)]
    pub events_total: u64,
    /// Data objects committed.
    #[serde(default)]
    pub objects_total: u64,
    /// Last commit of a batch with events.
    #[serde(default)]
    pub last_commit_at: Option<DateTime<Utc>>,
    /// Timestamp of the newest event committed.
    #[serde(default)]
    pub newest_event_at: Option<DateTime<Utc>>,
}

/// A checkpoint that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not the JSON of a checkpoint.
    #[error(
        "checkpoint {key} is not valid: {reason}; restore it from the bucket's object versions or delete it to start over from LOOKBACK_HOURS"
    )]
    Invalid {
        /// Object name.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// Written by a newer collector.
    #[error(
        "checkpoint {key} has format version {found}, newer than this collector's {CURRENT_VERSION}; deploy the newer collector"
    )]
    TooNew {
        /// Object name.
        key: String,
        /// The version found.
        found: u32,
    },
}

impl Checkpoint {
    /// A fresh checkpoint at `position`.
    pub fn new(stream: &str, position: Position, now: DateTime<Utc>) -> Self {
        Self {
            version: CURRENT_VERSION,
            stream: stream.to_owned(),
            position,
            intent: None,
            updated_at: now,
            stats: CheckpointStats::default(),
        }
    }

    /// Parses a stored checkpoint.
    pub fn parse(key: &str, bytes: &[u8]) -> Result<Self, FormatError> {
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let invalid = |reason: String| FormatError::Invalid {
            key: key.to_owned(),
            reason,
        };
        let versioned: Versioned =
            serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        if versioned.version > CURRENT_VERSION {
            return Err(FormatError::TooNew {
                key: key.to_owned(),
                found: versioned.version,
            });
        }
        if versioned.version == 0 {
            return Err(invalid("version 0 is not a checkpoint version".into()));
        }
        serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))
    }

    /// The stored form.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("checkpoints always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sit_in_their_folder_named_by_stream() {
        assert_eq!(
            key("onepassword-secops-state/", Stream::AuditEvents),
            "onepassword-secops-state/auditevents.json"
        );
        assert_eq!(key("/a/b", Stream::ItemUsages), "a/b/itemusages.json");
        assert_eq!(key("", Stream::SignInAttempts), "signinattempts.json");
        let acme = AccountName::new("acme").unwrap();
        assert_eq!(
            account_key("onepassword-secops-state/", &acme, Stream::ItemUsages),
            "onepassword-secops-state/acme/itemusages.json"
        );
        assert_eq!(
            account_prefix("onepassword-audit/", &acme),
            "onepassword-audit/acme"
        );
    }

    #[test]
    fn round_trip_and_version_checks() {
        let now = Utc::now();
        let mut checkpoint = Checkpoint::new("auditevents", Position::Cursor("c".into()), now);
        checkpoint.intent = Some(Intent {
            start: Position::Cursor("c".into()),
            next_cursor: "d".into(),
            object: "p/o.ndjson".into(),
            events: 3,
            bytes: 30,
            xxh3: "00".into(),
            recorded_at: now,
        });
        let bytes = checkpoint.to_bytes();
        assert_eq!(Checkpoint::parse("k", &bytes).unwrap(), checkpoint);
        let newer = String::from_utf8(bytes)
            .unwrap()
            .replace("\"version\": 1", "\"version\": 2");
        assert!(matches!(
            Checkpoint::parse("k", newer.as_bytes()),
            Err(FormatError::TooNew { found: 2, .. })
        ));
        assert!(matches!(
            Checkpoint::parse("k", b"{}"),
            Err(FormatError::Invalid { .. })
        ));
    }
}
