//! What a page request looks like on the wire: the stream's endpoint and the position as the
//! request body (a ResetCursor or a cursor).

use chrono::SecondsFormat;

use crate::{Position, Stream};

/// The endpoint path of `stream`, e.g. `/api/v2/auditevents`.
pub fn endpoint(stream: Stream) -> String {
    format!("/api/v2/{}", stream.name())
}

/// The request body for `position`. Times keep their fraction (a backfill window from
/// `--start 2026-10-01T00:00:00.5Z` starts there, not half a second earlier).
pub fn body(position: &Position) -> String {
    match position {
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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    #[test]
    fn bodies_and_endpoints() {
        assert_eq!(endpoint(Stream::SignInAttempts), "/api/v2/signinattempts");
        assert_eq!(body(&Position::Cursor("abc".into())), r#"{"cursor":"abc"}"#);
        let start = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let reset = Position::Reset {
            start_time: start,
            end_time: None,
            limit: 1000,
        };
        assert_eq!(
            body(&reset),
            r#"{"limit":1000,"start_time":"2026-01-02T03:04:05Z"}"#
        );
        let window = Position::Reset {
            start_time: start + chrono::Duration::nanoseconds(250_000_000),
            end_time: Some(start + chrono::Duration::nanoseconds(1_000_000_007)),
            limit: 10,
        };
        assert_eq!(
            body(&window),
            r#"{"end_time":"2026-01-02T03:04:06.000000007Z","limit":10,"start_time":"2026-01-02T03:04:05.250Z"}"#
        );
    }
}
