//! One stream's drain, and the exactly-once protocol it follows.
//!
//! Every batch goes through three conditional writes:
//! 1. **record** the intent in the checkpoint (`ifGenerationMatch` = the loaded generation): the
//!    batch's start position, the cursor after it, its object name, event count and hash;
//! 2. **create** the data object (`ifGenerationMatch=0`);
//! 3. **commit**: position = the intent's next cursor, intent cleared (`ifGenerationMatch`).
//!
//! A crash between any two steps leaves a checkpoint that says exactly what to do next: with an
//! intent whose object exists, commit it; with an intent whose object is missing, refetch the first
//! `events` events after `start` (the log after a cursor only grows at its end, so they are the same
//! events), check their hash, create the object, commit. An intent is never changed once recorded,
//! so every run that completes it writes the same bytes under the same name and commits the same
//! cursor. A 412 on any checkpoint write means another run moved first: reload and continue from
//! what it wrote. Recording the count and hash matters: a run that simply refetched and wrote
//! whatever came back could meet more events than the recorded batch and commit a cursor past
//! events that are not in the object a racing run created.

use bytes::Bytes;
use chrono::Utc;
use tokio::time::Instant;

use super::naming::{digest, object_name};
use super::{Outcome, Pipeline, Start, StreamPlan, StreamSummary};
use crate::checkpoint::{Checkpoint, CheckpointLoadError, CheckpointStore, Intent, Loaded};
use crate::onepassword::{ApiError, Position};
use crate::storage::{Precondition, StorageError};

const NDJSON: &str = "application/x-ndjson";

/// Why a drain stopped early.
#[derive(Debug, thiserror::Error)]
enum DrainError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointLoadError),
    #[error(
        "the events after {start} are no longer the ones recorded in the checkpoint's intent \
         (expected {expected_events} events with hash {expected_hash}, found {found_events} with \
         hash {found_hash}); nothing was written. Inspect the checkpoint {key} before deleting its \
         intent"
    )]
    Diverged {
        start: String,
        key: String,
        expected_events: u64,
        expected_hash: String,
        found_events: u64,
        found_hash: String,
    },
}

impl DrainError {
    fn outcome(&self) -> Outcome {
        let message = self.to_string();
        if let DrainError::Api(api) = self
            && let Some(resets_at) = api.resume_at()
        {
            return Outcome::RateLimited {
                resets_at,
                reason: message,
            };
        }
        let transient = match self {
            DrainError::Api(e) => e.is_transient(),
            DrainError::Storage(e) | DrainError::Checkpoint(CheckpointLoadError::Storage(e)) => {
                matches!(
                    e,
                    StorageError::Transient { .. } | StorageError::PreconditionFailed { .. }
                )
            }
            DrainError::Checkpoint(CheckpointLoadError::Format(_))
            | DrainError::Diverged { .. } => false,
        };
        if transient {
            Outcome::Transient(message)
        } else {
            Outcome::Permanent(message)
        }
    }
}

/// A batch fetched from the API, as NDJSON.
struct Batch {
    data: Vec<u8>,
    events: u64,
    next_cursor: String,
    has_more: bool,
    newest: Option<chrono::DateTime<Utc>>,
    pages: u64,
}

pub(super) struct Drain<'a> {
    pipeline: &'a Pipeline,
    plan: &'a StreamPlan,
    checkpoints: &'a CheckpointStore,
    deadline: Instant,
    summary: StreamSummary,
}

impl<'a> Drain<'a> {
    pub fn new(
        pipeline: &'a Pipeline,
        plan: &'a StreamPlan,
        checkpoints: &'a CheckpointStore,
        deadline: Instant,
    ) -> Self {
        Self {
            pipeline,
            plan,
            checkpoints,
            deadline,
            summary: StreamSummary::new(plan.stream),
        }
    }

    pub async fn run(mut self) -> StreamSummary {
        self.summary.outcome = match self.drain().await {
            Ok(outcome) => outcome,
            Err(error) => error.outcome(),
        };
        if let Some(newest) = self.summary.newest_event_at {
            self.summary.newest_event_age_seconds = Some((Utc::now() - newest).num_seconds());
        }
        self.summary
    }

    fn initial_position(&self) -> Position {
        let limit = self.pipeline.limits.page_size;
        match self.plan.start {
            Start::Lookback(lookback) => Position::Reset {
                start_time: Utc::now() - lookback,
                end_time: None,
                limit,
            },
            Start::Window { start, end } => Position::Reset {
                start_time: start,
                end_time: Some(end),
                limit,
            },
        }
    }

    async fn drain(&mut self) -> Result<Outcome, DrainError> {
        let mut loaded = self.checkpoints.load().await?;
        let mut events_this_run = 0u64;
        let mut prefetched: Option<(Position, Batch)> = None;
        loop {
            let generation = loaded.generation;
            let mut checkpoint = match loaded.checkpoint.take() {
                Some(checkpoint) => checkpoint,
                None => {
                    Checkpoint::new(self.plan.stream.name(), self.initial_position(), Utc::now())
                }
            };

            // Every state on storage is consistent, so stopping here is always safe.
            if self.pipeline.stopping() {
                return Ok(Outcome::Stopped);
            }
            if Instant::now() >= self.deadline {
                return Ok(Outcome::Budget);
            }

            if let Some(intent) = checkpoint.intent.clone() {
                tracing::info!(stream = %self.plan.stream, object = %intent.object, events = intent.events, "completing a recorded batch");
                loaded = match self.complete(checkpoint, generation, &intent).await {
                    Ok(next) => {
                        events_this_run += intent.events;
                        self.summary.events += intent.events;
                        next
                    }
                    Err(DrainError::Storage(StorageError::PreconditionFailed { .. })) => {
                        self.checkpoints.load().await?
                    }
                    Err(e) => return Err(e),
                };
                continue;
            }

            if events_this_run >= self.pipeline.limits.max_records {
                return Ok(Outcome::MaxRecords);
            }

            let batch = match prefetched.take() {
                Some((position, batch)) if position == checkpoint.position => batch,
                _ => self.fetch(&checkpoint.position, None).await?,
            };
            self.summary.pages += batch.pages;
            if batch.events == 0 {
                if checkpoint.position.cursor() != Some(batch.next_cursor.as_str()) {
                    checkpoint.position = Position::Cursor(batch.next_cursor);
                    checkpoint.updated_at = Utc::now();
                    match self.checkpoints.save(&checkpoint, generation).await {
                        Ok(_) => {}
                        Err(StorageError::PreconditionFailed { .. }) => {
                            loaded = self.checkpoints.load().await?;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                return Ok(Outcome::Drained);
            }

            let now = Utc::now();
            let start = checkpoint.position.clone();
            let intent = Intent {
                object: object_name(&self.plan.prefix, self.plan.stream, &start, now),
                start,
                next_cursor: batch.next_cursor.clone(),
                events: batch.events,
                bytes: batch.data.len() as u64,
                xxh3: digest(&batch.data),
                recorded_at: now,
            };
            checkpoint.intent = Some(intent.clone());
            checkpoint.updated_at = now;
            let recorded = match self.checkpoints.save(&checkpoint, generation).await {
                Ok(recorded) => recorded,
                Err(StorageError::PreconditionFailed { .. }) => {
                    loaded = self.checkpoints.load().await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(newest) = batch.newest {
                checkpoint.stats.newest_event_at = Some(newest);
            }

            // Create and commit this batch while the next one is fetched: reading ahead changes no
            // state, and the read-ahead is used only if the checkpoint then stands where it starts.
            let next_position = Position::Cursor(batch.next_cursor.clone());
            let read_ahead = batch.has_more
                && !self.pipeline.stopping()
                && Instant::now() < self.deadline
                && events_this_run + batch.events < self.pipeline.limits.max_records;
            let has_more = batch.has_more;
            let newest = batch.newest;
            let write = async {
                let created = self.create_object(&intent, batch.data).await?;
                Ok::<_, DrainError>((created, self.commit(checkpoint, recorded, &intent).await))
            };
            let ahead = async {
                if read_ahead {
                    Some(self.fetch(&next_position, None).await)
                } else {
                    None
                }
            };
            let (written, ahead) = tokio::join!(write, ahead);
            let (created, committed) = written?;
            if created {
                self.summary.objects += 1;
                self.summary.bytes += intent.bytes;
            }
            loaded = match committed {
                Ok(next) => {
                    events_this_run += intent.events;
                    self.summary.events += intent.events;
                    if newest.is_some() {
                        self.summary.newest_event_at = newest;
                    }
                    next
                }
                Err(StorageError::PreconditionFailed { .. }) => self.checkpoints.load().await?,
                Err(e) => return Err(e.into()),
            };
            match ahead {
                Some(Ok(batch)) => prefetched = Some((next_position, batch)),
                Some(Err(e)) => return Err(e),
                None => {}
            }
            if !has_more {
                return Ok(Outcome::Drained);
            }
        }
    }

    /// Finishes a recorded intent: creates its object if missing (from a verified refetch), then
    /// commits its cursor.
    async fn complete(
        &mut self,
        checkpoint: Checkpoint,
        generation: Option<i64>,
        intent: &Intent,
    ) -> Result<Loaded, DrainError> {
        // A checkpoint holding an intent was read from storage, so it has a generation.
        let generation = generation.ok_or_else(|| StorageError::PreconditionFailed {
            name: self.checkpoints.key().to_owned(),
        })?;
        if self.pipeline.store.read(&intent.object).await?.is_none() {
            let batch = self.fetch(&intent.start, Some(intent.events)).await?;
            let found_hash = digest(&batch.data);
            if batch.events != intent.events || found_hash != intent.xxh3 {
                return Err(DrainError::Diverged {
                    start: serde_json::to_string(&intent.start).unwrap_or_default(),
                    key: self.checkpoints.key().to_owned(),
                    expected_events: intent.events,
                    expected_hash: intent.xxh3.clone(),
                    found_events: batch.events,
                    found_hash,
                });
            }
            self.summary.pages += batch.pages;
            if self.create_object(intent, batch.data).await? {
                self.summary.objects += 1;
                self.summary.bytes += intent.bytes;
            }
        }
        Ok(self.commit(checkpoint, generation, intent).await?)
    }

    /// Creates the intent's object; `false` when another run completing the same intent already
    /// had (with the same bytes).
    async fn create_object(&self, intent: &Intent, data: Vec<u8>) -> Result<bool, DrainError> {
        let data = Bytes::from(data);
        match self
            .pipeline
            .store
            .write(&intent.object, data, NDJSON, Precondition::DoesNotExist)
            .await
        {
            Ok(_) => Ok(true),
            Err(StorageError::PreconditionFailed { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn commit(
        &self,
        mut checkpoint: Checkpoint,
        generation: i64,
        intent: &Intent,
    ) -> Result<Loaded, StorageError> {
        let now = Utc::now();
        checkpoint.position = Position::Cursor(intent.next_cursor.clone());
        checkpoint.intent = None;
        checkpoint.updated_at = now;
        checkpoint.stats.events_total += intent.events;
        checkpoint.stats.objects_total += 1;
        checkpoint.stats.last_commit_at = Some(now);
        let generation = self.checkpoints.save(&checkpoint, Some(generation)).await?;
        Ok(Loaded {
            checkpoint: Some(checkpoint),
            generation: Some(generation),
        })
    }

    /// Fetches whole pages from `start` into NDJSON until the batch is full or the stream has no
    /// more; with `exactly`, stops at that many events (truncating the last page) instead.
    async fn fetch(&self, start: &Position, exactly: Option<u64>) -> Result<Batch, DrainError> {
        let limits = self.pipeline.limits;
        let mut data = Vec::with_capacity(limits.batch_max_bytes.min(1 << 20));
        let mut position = start.clone();
        let mut events = 0u64;
        let mut pages = 0u64;
        loop {
            let page = self
                .pipeline
                .client
                .page(self.plan.stream, &position, self.deadline)
                .await?;
            pages += 1;
            let wanted = exactly.map_or(page.len() as u64, |n| (n - events).min(page.len() as u64));
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
