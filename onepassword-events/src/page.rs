//! One page of events: the response body as received, with the byte range of every item in it, so
//! items are passed on exactly as 1Password sent them and never re-serialized. `"items":null` (how
//! the service's Go encoder writes an empty page) is an empty page.

use std::ops::Range;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

/// A parsed page. Items are slices of the original body.
#[derive(Debug, Clone)]
pub struct Page {
    body: Bytes,
    items: Vec<Range<usize>>,
    /// The cursor to continue from.
    pub cursor: String,
    /// Whether more events may be available right now.
    pub has_more: bool,
}

#[derive(Deserialize)]
struct Wire<'a> {
    cursor: String,
    #[serde(default)]
    has_more: bool,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Stamp<'a> {
    #[serde(borrow)]
    timestamp: Option<&'a str>,
}

impl Page {
    /// Parses a response body; an error names what was wrong with it.
    pub fn parse(body: Bytes) -> Result<Page, String> {
        let wire: Wire<'_> =
            serde_json::from_slice(&body).map_err(|e| format!("malformed page: {e}"))?;
        let base = body.as_ptr() as usize;
        let items = wire
            .items
            .unwrap_or_default()
            .iter()
            .map(|raw| {
                let start = raw.get().as_ptr() as usize - base;
                start..start + raw.get().len()
            })
            .collect();
        Ok(Page {
            cursor: wire.cursor,
            has_more: wire.has_more,
            items,
            body,
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the page has no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The raw bytes of each item, in order.
    pub fn items(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.items.iter().map(|range| &self.body[range.clone()])
    }

    /// The `timestamp` of the page's last item, if it has one that parses.
    pub fn newest_timestamp(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let last = self.items().last()?;
        let stamp: Stamp<'_> = serde_json::from_slice(last).ok()?;
        chrono::DateTime::parse_from_rfc3339(stamp.timestamp?)
            .ok()
            .map(|t| t.to_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_exact_bytes() {
        let body = br#"{"cursor":"c1","has_more":true,"items":[ {"uuid":"A","x":"caf\u00e9 \/"} ,{"uuid":"B","timestamp":"2026-01-01T00:00:00.5Z"}]}"#;
        let page = Page::parse(Bytes::from_static(body)).unwrap();
        assert_eq!(page.cursor, "c1");
        assert!(page.has_more);
        let items: Vec<&[u8]> = page.items().collect();
        assert_eq!(items[0], br#"{"uuid":"A","x":"caf\u00e9 \/"}"#);
        assert_eq!(
            items[1],
            br#"{"uuid":"B","timestamp":"2026-01-01T00:00:00.5Z"}"#
        );
        assert_eq!(
            page.newest_timestamp().unwrap().timestamp_subsec_millis(),
            500
        );
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(Page::parse(Bytes::from_static(b"{\"cursor\":\"c\",\"has_more\":tru")).is_err());
        assert!(
            Page::parse(Bytes::from_static(b"{\"items\":[]}")).is_err(),
            "a page needs a cursor"
        );
        let empty = Page::parse(Bytes::from_static(
            br#"{"cursor":"c","has_more":false,"items":[]}"#,
        ))
        .unwrap();
        assert!(empty.is_empty());
        assert!(empty.newest_timestamp().is_none());
        let null = Page::parse(Bytes::from_static(
            br#"{"cursor":"c","has_more":false,"items":null}"#,
        ))
        .unwrap();
        assert!(null.is_empty() && !null.has_more);
    }

    #[test]
    fn timestamps_with_trimmed_absent_or_offset_fractions() {
        for (stamp, nanos) in [
            ("2021-08-11T14:28:03Z", 0),
            ("2021-08-30T18:57:42.484Z", 484_000_000),
            ("2022-10-24T21:16:52.827288935Z", 827_288_935),
            ("2020-06-11T16:32:50-03:00", 0),
        ] {
            let body =
                format!(r#"{{"cursor":"c","has_more":false,"items":[{{"timestamp":"{stamp}"}}]}}"#);
            let page = Page::parse(Bytes::from(body)).unwrap();
            assert_eq!(
                page.newest_timestamp().unwrap().timestamp_subsec_nanos(),
                nanos,
                "{stamp}"
            );
        }
    }
}
