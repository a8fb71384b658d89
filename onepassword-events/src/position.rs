//! Where a pull starts: a ResetCursor (first run, backfill) or a saved cursor.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// A position in a stream, as kept in the checkpoint and sent as a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Continue from a cursor the API returned.
    Cursor(String),
    /// Start over at `start_time` (and stop at `end_time`, if any) with pages of `limit` events.
    Reset {
        /// Earliest event time.
        start_time: DateTime<Utc>,
        /// Latest event time (exclusive), for bounded windows such as a backfill.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_time: Option<DateTime<Utc>>,
        /// Page size, 1..=1000.
        limit: u16,
    },
}

impl Position {
    /// The request body for this position. Times keep their fraction (a backfill window from
    /// `--start 2026-10-01T00:00:00.5Z` starts there, not half a second earlier).
    pub fn request_body(&self) -> String {
        match self {
            Position::Cursor(cursor) => serde_json::json!({ "cursor": cursor }).to_string(),
            Position::Reset {
                start_time,
                end_time,
                limit,
            } => {
                let mut body = serde_json::json!({
                    "limit": limit,
                    "start_time": start_time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                });
                if let Some(end) = end_time {
                    body["end_time"] = end.to_rfc3339_opts(SecondsFormat::AutoSi, true).into();
                }
                body.to_string()
            }
        }
    }

    /// The cursor, if this position is one.
    pub fn cursor(&self) -> Option<&str> {
        match self {
            Position::Cursor(cursor) => Some(cursor),
            Position::Reset { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_serialized_form() {
        let cursor = Position::Cursor("abc".into());
        assert_eq!(cursor.request_body(), r#"{"cursor":"abc"}"#);
        assert_eq!(
            serde_json::to_string(&cursor).unwrap(),
            r#"{"cursor":"abc"}"#
        );
        let start = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let reset = Position::Reset {
            start_time: start,
            end_time: None,
            limit: 1000,
        };
        assert_eq!(
            reset.request_body(),
            r#"{"limit":1000,"start_time":"2026-01-02T03:04:05Z"}"#
        );
        let round: Position =
            serde_json::from_str(&serde_json::to_string(&reset).unwrap()).unwrap();
        assert_eq!(round, reset);
        let window = Position::Reset {
            start_time: start + chrono::Duration::nanoseconds(250_000_000),
            end_time: Some(start + chrono::Duration::nanoseconds(1_000_000_007)),
            limit: 10,
        };
        assert_eq!(
            window.request_body(),
            r#"{"end_time":"2026-01-02T03:04:06.000000007Z","limit":10,"start_time":"2026-01-02T03:04:05.250Z"}"#
        );
    }
}
