//! Opaque cursors: base64url of a small JSON naming the stream, position, page size and window end.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::stream::Stream;

/// What a cursor encodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CursorState {
    /// Stream path segment.
    pub s: String,
    /// Index of the next event to serve.
    pub p: usize,
    /// Page size.
    pub l: usize,
    /// Exclusive window end, Unix nanoseconds, if the ResetCursor had an `end_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<i64>,
}

impl CursorState {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("cursor state always serializes");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor for `stream`; `None` if it is garbage or belongs to another stream.
    pub fn decode(cursor: &str, stream: Stream) -> Option<CursorState> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let state: CursorState = serde_json::from_slice(&bytes).ok()?;
        (state.s == stream.path_segment() && (1..=1000).contains(&state.l)).then_some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let state = CursorState {
            s: "auditevents".into(),
            p: 7,
            l: 100,
            e: None,
        };
        let encoded = state.encode();
        assert_eq!(
            CursorState::decode(&encoded, Stream::AuditEvents),
            Some(state)
        );
        assert_eq!(CursorState::decode(&encoded, Stream::ItemUsages), None);
        assert_eq!(
            CursorState::decode("not a cursor", Stream::AuditEvents),
            None
        );
    }
}
