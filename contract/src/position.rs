//! Where a pull starts: a ResetCursor (first run, backfill) or a saved cursor, as the checkpoint
//! keeps it (the client sends it as the request body).

use chrono::{DateTime, Utc};
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
    fn serialized_form() {
        let cursor = Position::Cursor("abc".into());
        assert_eq!(
            serde_json::to_string(&cursor).unwrap(),
            r#"{"cursor":"abc"}"#
        );
        assert_eq!(cursor.cursor(), Some("abc"));
        let start = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let reset = Position::Reset {
            start_time: start,
            end_time: None,
            limit: 1000,
        };
        assert_eq!(
            serde_json::to_string(&reset).unwrap(),
            r#"{"reset":{"start_time":"2026-01-02T03:04:05Z","limit":1000}}"#
        );
        let round: Position =
            serde_json::from_str(&serde_json::to_string(&reset).unwrap()).unwrap();
        assert_eq!(round, reset);
        assert_eq!(reset.cursor(), None);
    }
}
