//! Fetching one batch: whole pages from a position, concatenated into NDJSON with every item's
//! exact bytes.

use tokio::time::Instant;

use std::sync::Arc;

use super::Limits;
use super::buffers::BufferPool;
use super::idle::Clock;
use onepassword_events::{ApiError, Client, Position, Stream};

/// A batch fetched from the API, as NDJSON, with the position it starts at.
#[derive(Debug)]
pub(super) struct Batch {
    /// Where the batch starts: it may be recorded only while the checkpoint stands here.
    pub start: Position,
    /// The items, one per line, exactly as the API sent them.
    pub data: Vec<u8>,
    /// Number of items.
    pub events: u64,
    /// The cursor after the batch's last page.
    pub next_cursor: String,
    /// Whether the last page said more events may be available.
    pub has_more: bool,
    /// Timestamp of the newest event, when the batch ends with a whole page that has one.
    pub newest: Option<chrono::DateTime<chrono::Utc>>,
    /// Pages requested.
    pub pages: u64,
}

impl Batch {
    /// The position right after this batch.
    pub fn next_position(&self) -> Position {
        Position::Cursor(self.next_cursor.clone())
    }
}

/// Fetches batches of one stream; cheap to clone into the read-ahead task.
#[derive(Debug, Clone)]
pub(super) struct Fetcher {
    pub client: Client,
    pub stream: Stream,
    pub limits: Limits,
    /// No retry waits past this instant.
    pub deadline: Instant,
    /// Where batch buffers come from (and go back to once written).
    pub buffers: Arc<BufferPool>,
    /// Where the time between a response and the next request is recorded.
    pub clock: Clock,
}

impl Fetcher {
    /// Fetches whole pages from `start` into NDJSON until the batch is full or the stream has no
    /// more; with `exactly`, stops at that many events (truncating the last page) instead.
    pub async fn batch(&self, start: &Position, exactly: Option<u64>) -> Result<Batch, ApiError> {
        let limits = self.limits;
        let mut data = self.buffers.take();
        let mut position = start.clone();
        let mut events = 0u64;
        let mut pages = 0u64;
        loop {
            self.clock.requesting();
            let page = self
                .client
                .page(self.stream, &position, self.deadline)
                .await?;
            self.clock.responded();
            pages += 1;
            let wanted = exactly.map_or(page.len() as u64, |n| (n - events).min(page.len() as u64));
            if pages == 1 {
                // Size the batch once from its first page instead of doubling (and copying) it.
                let page_bytes: usize = page.items().map(|item| item.len() + 1).sum();
                let expected = match exactly {
                    Some(n) => n as usize,
                    None => limits.batch_max_events,
                };
                let batch_pages = expected.div_ceil(page.len().max(1));
                let estimate = (page_bytes * batch_pages).saturating_add(page_bytes / 8);
                // `reserve` counts from the length (0 here) and keeps a reused buffer as it is.
                data.reserve(estimate.min(limits.batch_max_bytes + page_bytes));
            }
            for item in page.items().take(wanted as usize) {
                data.extend_from_slice(item);
                data.push(b'\n');
            }
            events += wanted;
            let newest = if wanted as usize == page.len() {
                page.newest_timestamp()
            } else {
                None
            };
            let done = match exactly {
                Some(n) => events >= n || page.is_empty() || !page.has_more,
                None => {
                    page.is_empty()
                        || !page.has_more
                        || events as usize >= limits.batch_max_events
                        || data.len() >= limits.batch_max_bytes
                }
            };
            if done {
                return Ok(Batch {
                    start: start.clone(),
                    data,
                    events,
                    next_cursor: page.cursor,
                    has_more: page.has_more,
                    newest,
                    pages,
                });
            }
            position = Position::Cursor(page.cursor);
        }
    }
}
