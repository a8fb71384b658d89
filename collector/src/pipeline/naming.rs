//! Data object names: `PREFIX/YYYY/MM/DD/STREAM_YYYYMMDDTHHMMSSZ_HASH.ndjson`.
//!
//! The date folders keep listings small; SecOps GCS V2 feeds read every object below the feed's
//! URI, folders included. The hash is of the batch's start position, so two batches never share a
//! name; the whole name is chosen once, recorded in the intent, and reused by every run that
//! completes that intent.

use chrono::{DateTime, Utc};
use xxhash_rust::xxh3::xxh3_128;

use onepassword_events::{Position, Stream};

/// The hex XXH3-128 of `data`.
pub fn digest(data: &[u8]) -> String {
    format!("{:032x}", xxh3_128(data))
}

/// The name of the data object for a batch of `stream` starting at `start`, recorded at `now`.
pub fn object_name(prefix: &str, stream: Stream, start: &Position, now: DateTime<Utc>) -> String {
    let start_json = serde_json::to_vec(start).expect("positions always serialize");
    let hash = &digest(&start_json)[..16];
    let prefix = prefix.trim_matches('/');
    let folder = now.format("%Y/%m/%d");
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    if prefix.is_empty() {
        format!("{folder}/{stream}_{stamp}_{hash}.ndjson")
    } else {
        format!("{prefix}/{folder}/{stream}_{stamp}_{hash}.ndjson")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dated_and_distinct_per_start() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T04:05:06Z")
            .unwrap()
            .to_utc();
        let a = object_name(
            "onepassword-audit/",
            Stream::AuditEvents,
            &Position::Cursor("a".into()),
            now,
        );
        let b = object_name(
            "onepassword-audit",
            Stream::AuditEvents,
            &Position::Cursor("b".into()),
            now,
        );
        assert!(
            a.starts_with("onepassword-audit/2026/11/25/auditevents_20261125T040506Z_"),
            "{a}"
        );
        assert!(a.ends_with(".ndjson"));
        assert_ne!(a, b);
        assert_eq!(
            a,
            object_name(
                "onepassword-audit",
                Stream::AuditEvents,
                &Position::Cursor("a".into()),
                now
            )
        );
    }
}
