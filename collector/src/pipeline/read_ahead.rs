//! Read-ahead: a task that keeps fetching consecutive batches while the writer records, creates
//! and commits earlier ones, at most a configured number of batches in flight.
//!
//! Reading changes no state, so the task may run as far ahead as memory allows; every batch it
//! hands over carries its start position, and the writer records it only if the checkpoint then
//! stands exactly there. Dropping the read-ahead aborts the task and discards every batch not yet
//! recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::fetch::{Batch, Fetcher};
use super::idle::Wait;
use onepassword_events::{ApiError, Position};

/// Why the read-ahead stopped fetching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// The stop flag was set (SIGTERM).
    Stopped,
    /// The run's time budget is spent.
    Budget,
    /// It fetched as many events as the run may still write (MAX_RECORDS).
    MaxRecords,
}

/// What the read-ahead hands the writer, in order.
#[derive(Debug)]
pub(super) enum Ahead {
    /// The next batch, holding one in-flight slot until dropped.
    Batch(Batch, InFlight),
    /// Fetching failed; nothing after it comes.
    Failed(ApiError),
    /// Fetching ended early; nothing after it comes.
    Ended(End),
    /// The task died (it panicked): nothing after it comes.
    Gone,
}

/// One of the slots bounding the batches in flight, released when dropped.
#[derive(Debug)]
pub(super) struct InFlight(#[allow(dead_code)] OwnedSemaphorePermit);

/// A running read-ahead from one position.
#[derive(Debug)]
pub(super) struct ReadAhead {
    next_start: Position,
    done: bool,
    peeked: Option<Ahead>,
    rx: mpsc::Receiver<Ahead>,
    task: JoinHandle<()>,
}

impl ReadAhead {
    /// Starts fetching batches from `start`, holding at most `in_flight` batches (fetching, queued
    /// or being written), and stopping once `max_events` events are fetched.
    pub fn start(
        fetcher: Fetcher,
        start: Position,
        in_flight: usize,
        max_events: u64,
        stop: Arc<AtomicBool>,
    ) -> ReadAhead {
        let in_flight = in_flight.max(1);
        let (tx, rx) = mpsc::channel(in_flight);
        let slots = Arc::new(Semaphore::new(in_flight));
        let from = start.clone();
        fetcher.clock.waits_on(Wait::Restart);
        let task = tokio::spawn(async move {
            let mut position = from;
            let mut fetched = 0u64;
            loop {
                // The slot first: memory stays bounded however far ahead the writer lags.
                fetcher.clock.waits_on(Wait::Slot);
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let end = if stop.load(Ordering::SeqCst) {
                    Some(End::Stopped)
                } else if Instant::now() >= fetcher.deadline {
                    Some(End::Budget)
                } else if fetched >= max_events {
                    Some(End::MaxRecords)
                } else {
                    None
                };
                if let Some(end) = end {
                    let _ = tx.send(Ahead::Ended(end)).await;
                    return;
                }
                match fetcher.batch(&position, None).await {
                    Ok(batch) => {
                        let last = batch.events == 0 || !batch.has_more;
                        fetched += batch.events;
                        position = batch.next_position();
                        fetcher.clock.waits_on(Wait::Handover);
                        if tx.send(Ahead::Batch(batch, InFlight(slot))).await.is_err() || last {
                            return;
                        }
                    }
                    Err(error) => {
                        let _ = tx.send(Ahead::Failed(error)).await;
                        return;
                    }
                }
            }
        });
        ReadAhead {
            next_start: start,
            done: false,
            peeked: None,
            rx,
            task,
        }
    }

    /// Whether its next batch starts at `position` (so the writer may go on with it).
    pub fn continues_from(&self, position: &Position) -> bool {
        !self.done && self.next_start == *position
    }

    /// The next batch (or why there is none), in order. After the stream's last batch, a failure
    /// or an end, it hands over nothing more.
    pub async fn next(&mut self) -> Ahead {
        let ahead = match self.peeked.take() {
            Some(ahead) => ahead,
            None => self.rx.recv().await.unwrap_or(Ahead::Gone),
        };
        match &ahead {
            Ahead::Batch(batch, _) => {
                self.next_start = batch.next_position();
                self.done = batch.events == 0 || !batch.has_more;
            }
            Ahead::Failed(_) | Ahead::Ended(_) | Ahead::Gone => self.done = true,
        }
        ahead
    }

    /// The next batch if it is already here and holds events; without waiting. Anything else
    /// that is here (an empty batch, a failure, an end) waits for [`ReadAhead::next`].
    pub fn ready(&mut self) -> Option<(Batch, InFlight)> {
        if self.done || self.peeked.is_some() {
            return None;
        }
        match self.rx.try_recv() {
            Ok(Ahead::Batch(batch, in_flight)) if batch.events > 0 => {
                self.next_start = batch.next_position();
                self.done = !batch.has_more;
                Some((batch, in_flight))
            }
            Ok(other) => {
                self.peeked = Some(other);
                None
            }
            // Nothing yet; or the task is gone, which `next` reports.
            Err(_) => None,
        }
    }
}

#[cfg(test)]
impl ReadAhead {
    /// Whether something (a batch, most likely) waits to be handed over.
    pub fn has_ready(&self) -> bool {
        self.peeked.is_some() || !self.rx.is_empty()
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}
