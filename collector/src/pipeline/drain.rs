//! One stream's drain, and the exactly-once protocol it follows.
//!
//! Every batch goes through three conditional writes:
//! 1. **record** the intent in the checkpoint (`ifGenerationMatch` = the loaded generation): the
//!    batch's start position, the cursor after it, its object name, event count and hash;
//! 2. **create** the data object (`ifGenerationMatch=0`);
//! 3. **commit**: position = the intent's next cursor, intent cleared (`ifGenerationMatch`).
//!
//! When the next batch is already read ahead, step 3 of one batch and step 1 of the next are one
//! write (position = the committed cursor, where the next batch starts; intent = the next batch's):
//! the state the two writes leave one after the other, without the moment between them.
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
//!
//! The drain is the only writer, one batch at a time; a read-ahead task (`read_ahead.rs`) fetches the
//! next batches meanwhile. A batch read ahead is recorded only if the checkpoint stands exactly where
//! it starts (the generation-matched record proves it still does); otherwise reading starts again
//! from where it stands. A stop is checked before every record and discards what was read ahead.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use chrono::Utc;
use tokio::time::Instant;

use super::buffers::BufferPool;
use super::fetch::{Batch, Fetcher};
use super::idle::Clock;
use super::naming::{digest, object_name};
use super::read_ahead::{Ahead, End, ReadAhead};
use super::{FailureReason, Limits, Outcome, Start, StreamPlan, StreamSummary};
use crate::checkpoint::{Checkpoint, CheckpointLoadError, CheckpointStore, Intent, Loaded};
use crate::onepassword::{ApiError, Client, Position};
use crate::storage::{Generation, ObjectStore, Precondition, StorageError};

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
    #[error("the task reading batches ahead ended unexpectedly; nothing unrecorded was written")]
    ReadAheadGone,
}

impl DrainError {
    /// The failure's reason. A refused token is [`FailureReason::TokenRefused`] here; the drain
    /// asks the API whether it is the stream's feature that is missing instead.
    fn reason(&self) -> FailureReason {
        match self {
            DrainError::Api(error) => match error {
                ApiError::Unauthorized { .. } => FailureReason::TokenRefused,
                ApiError::Rejected { .. } => FailureReason::ApiRejected,
                ApiError::RateLimited { .. } => FailureReason::RateLimited,
                ApiError::InvalidToken { .. } => FailureReason::InvalidConfiguration,
                ApiError::Unavailable { .. } => FailureReason::ApiUnavailable,
            },
            DrainError::Storage(error)
            | DrainError::Checkpoint(CheckpointLoadError::Storage(error)) => match error {
                // Other runs kept moving the checkpoint first, or storage kept failing.
                StorageError::PreconditionFailed { .. } | StorageError::Transient { .. } => {
                    FailureReason::StorageUnavailable
                }
                StorageError::Denied { .. } => FailureReason::StorageDenied,
                StorageError::NotFound { .. } => FailureReason::StorageNotFound,
                StorageError::Invalid { .. } => FailureReason::InvalidConfiguration,
            },
            DrainError::Checkpoint(CheckpointLoadError::Format(_)) => {
                FailureReason::CheckpointUnreadable
            }
            DrainError::Diverged { .. } => FailureReason::DivergedIntent,
            DrainError::ReadAheadGone => FailureReason::Internal,
        }
    }

    /// Whether another run wrote the checkpoint first (a 412 on a checkpoint write: data objects
    /// take theirs as "already written").
    fn is_conflict(&self) -> bool {
        matches!(
            self,
            DrainError::Storage(StorageError::PreconditionFailed { .. })
        )
    }
}

/// What a drain works with, handed over by the pipeline.
pub(super) struct Parts<'a> {
    /// The stream, its prefix, its checkpoint and its start.
    pub plan: &'a StreamPlan,
    /// The Events API.
    pub client: &'a Client,
    /// Where objects and the checkpoint go.
    pub store: Arc<dyn ObjectStore>,
    /// Sizes and budgets.
    pub limits: Limits,
    /// Set on SIGTERM: stop after the current batch.
    pub stop: Arc<AtomicBool>,
    /// No batch starts and no retry waits past it.
    pub deadline: Instant,
}

/// A checkpoint write's result: written, or another run wrote first and this is what it left.
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per checkpoint write; boxing would only add an allocation"
)]
enum Written<T> {
    Done(T),
    Conflict(Loaded),
}

pub(super) struct Drain<'a> {
    plan: &'a StreamPlan,
    store: Arc<dyn ObjectStore>,
    checkpoints: CheckpointStore,
    fetcher: Fetcher,
    limits: Limits,
    stop: Arc<AtomicBool>,
    deadline: Instant,
    summary: StreamSummary,
}

impl<'a> Drain<'a> {
    pub fn new(parts: Parts<'a>) -> Self {
        let Parts {
            plan,
            client,
            store,
            limits,
            stop,
            deadline,
        } = parts;
        Self {
            plan,
            checkpoints: CheckpointStore::new(store.clone(), plan.checkpoint_key.clone()),
            store,
            fetcher: Fetcher {
                client: client.clone(),
                stream: plan.stream,
                limits,
                deadline,
                buffers: Arc::new(BufferPool::new(limits.batches_in_flight)),
                clock: Clock::new(),
            },
            limits,
            stop,
            deadline,
            summary: StreamSummary::new(plan.stream),
        }
    }

    pub async fn run(mut self) -> StreamSummary {
        self.summary.outcome = match self.drain().await {
            Ok(outcome) => outcome,
            Err(error) => self.outcome_of(error).await,
        };
        self.fetcher.clock.report(self.plan.stream);
        if let Some(newest) = self.summary.newest_event_at {
            self.summary.newest_event_age_seconds = Some((Utc::now() - newest).num_seconds());
        }
        self.summary
    }

    /// The outcome of a failed drain: a spent rate limit is a clean stop; a refused token is
    /// diagnosed by asking the API what the token may read.
    async fn outcome_of(&self, error: DrainError) -> Outcome {
        let detail = error.to_string();
        if let DrainError::Api(ApiError::RateLimited { resets_at, .. }) = error {
            return Outcome::RateLimited { resets_at, detail };
        }
        let mut reason = error.reason();
        if let DrainError::Api(ApiError::Unauthorized { .. }) = error {
            reason = self.diagnose_refusal().await;
        }
        Outcome::failed(reason, detail)
    }

    /// Why the API refused the token for this stream: if the token itself still introspects, it
    /// lacks the stream's feature; otherwise it is expired, revoked or wrong.
    async fn diagnose_refusal(&self) -> FailureReason {
        match self.fetcher.client.introspect().await {
            Ok(token) if !token.features.iter().any(|f| f == self.plan.stream.name()) => {
                FailureReason::FeatureMissing
            }
            _ => FailureReason::TokenRefused,
        }
    }

    fn initial_position(&self) -> Position {
        let limit = self.limits.page_size;
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

    /// Why the run must not record another batch now, if it must not.
    fn must_stop(&self) -> Option<Outcome> {
        if self.stop.load(Ordering::SeqCst) {
            Some(Outcome::Stopped)
        } else if Instant::now() >= self.deadline {
            Some(Outcome::Budget)
        } else {
            None
        }
    }

    /// A checkpoint write's result, with a conflict (another run wrote first) turned into what
    /// that run left, reloaded.
    async fn or_reload<T>(
        &self,
        result: Result<T, impl Into<DrainError>>,
    ) -> Result<Written<T>, DrainError> {
        match result.map_err(Into::into) {
            Ok(value) => Ok(Written::Done(value)),
            Err(error) if error.is_conflict() => {
                Ok(Written::Conflict(self.checkpoints.load().await?))
            }
            Err(error) => Err(error),
        }
    }

    async fn drain(&mut self) -> Result<Outcome, DrainError> {
        let mut loaded = self.checkpoints.load().await?;
        let mut events_this_run = 0u64;
        // Batches fetched ahead, in order, from where the checkpoint stood when they were asked for.
        let mut ahead: Option<ReadAhead> = None;
        // The batch whose intent this run tried to record when the write reported a conflict: if
        // the reloaded intent is that one (the write landed, its answer was lost), its bytes are
        // still here and need no refetch.
        let mut in_hand: Option<(Intent, Vec<u8>)> = None;
        loop {
            // Every state on storage is consistent, so stopping here is always safe.
            if let Some(outcome) = self.must_stop() {
                return Ok(outcome);
            }

            let (mut checkpoint, generation) = match loaded {
                Loaded::Absent => (
                    Checkpoint::new(self.plan.stream.name(), self.initial_position(), Utc::now()),
                    None,
                ),
                Loaded::Stored {
                    checkpoint,
                    generation,
                } => match checkpoint.intent.clone() {
                    None => (checkpoint, Some(generation)),
                    Some(intent) => {
                        tracing::info!(stream = %self.plan.stream, object = %intent.object, events = intent.events, "completing a recorded batch");
                        let data = in_hand
                            .take()
                            .filter(|(mine, _)| same_batch(mine, &intent))
                            .map(|(_, data)| data);
                        let completed = self.complete(checkpoint, generation, &intent, data).await;
                        loaded = match self.or_reload(completed).await? {
                            Written::Done(next) => {
                                events_this_run += intent.events;
                                self.summary.events += intent.events;
                                next
                            }
                            Written::Conflict(reloaded) => reloaded,
                        };
                        continue;
                    }
                },
            };
            in_hand = None;

            let max_records = self.limits.max_records;
            if events_this_run >= max_records {
                return Ok(Outcome::MaxRecords);
            }

            // A batch fetched ahead is used only if the checkpoint stands where it starts; anywhere
            // else (another run moved it), reading starts again from where it stands.
            let mut reader = match ahead.take() {
                Some(reader) if reader.continues_from(&checkpoint.position) => reader,
                _ => ReadAhead::start(
                    self.fetcher.clone(),
                    checkpoint.position.clone(),
                    self.limits.batches_in_flight,
                    max_records - events_this_run,
                    self.stop.clone(),
                ),
            };
            let next = reader.next().await;
            ahead = Some(reader);
            let (batch, in_flight) = match next {
                Ahead::Batch(batch, in_flight) => (batch, in_flight),
                Ahead::Failed(error) => return Err(error.into()),
                Ahead::Ended(End::Stopped) => return Ok(Outcome::Stopped),
                Ahead::Ended(End::Budget) => return Ok(Outcome::Budget),
                Ahead::Ended(End::MaxRecords) => return Ok(Outcome::MaxRecords),
                Ahead::Gone => return Err(DrainError::ReadAheadGone),
            };
            if batch.start != checkpoint.position {
                // Never expected (the read-ahead was chosen for this position); read again from it.
                ahead = None;
                loaded = match generation {
                    Some(generation) => Loaded::Stored {
                        checkpoint,
                        generation,
                    },
                    None => Loaded::Absent,
                };
                continue;
            }
            // A stop that came while the batch was fetched discards it: nothing is recorded yet.
            if let Some(outcome) = self.must_stop() {
                return Ok(outcome);
            }
            self.summary.pages += batch.pages;
            if batch.events == 0 {
                if checkpoint.position.cursor() != Some(batch.next_cursor.as_str()) {
                    checkpoint.position = Position::Cursor(batch.next_cursor);
                    checkpoint.updated_at = Utc::now();
                    let saved = self.checkpoints.save(&checkpoint, generation).await;
                    if let Written::Conflict(reloaded) = self.or_reload(saved).await? {
                        loaded = reloaded;
                        continue;
                    }
                }
                return Ok(Outcome::Drained);
            }

            // 1. record
            let mut intent = self.intent_for(&batch);
            checkpoint.intent = Some(intent.clone());
            checkpoint.updated_at = intent.recorded_at;
            let saved = self.checkpoints.save(&checkpoint, generation).await;
            let mut recorded = match self.or_reload(saved).await? {
                Written::Done(recorded) => recorded,
                Written::Conflict(reloaded) => {
                    in_hand = Some((intent, batch.data));
                    loaded = reloaded;
                    continue;
                }
            };
            let (mut data, mut newest, mut has_more) = (batch.data, batch.newest, batch.has_more);
            // Held until the batch is committed: it bounds the batches in flight.
            let mut _in_flight = in_flight;
            loop {
                if let Some(newest) = newest {
                    checkpoint.stats.newest_event_at = Some(newest);
                }
                // 2. create; meanwhile the read-ahead task keeps fetching.
                if self.create_object(&intent, data).await? {
                    self.summary.objects += 1;
                    self.summary.bytes += intent.bytes;
                }
                // 3. commit, in the same write as recording the next batch when it is already
                // here and the run may record it.
                let next = if has_more
                    && events_this_run + intent.events < max_records
                    && self.must_stop().is_none()
                {
                    ahead.as_mut().and_then(ReadAhead::ready)
                } else {
                    None
                };
                let next = next
                    .filter(|(next, _)| next.start.cursor() == Some(intent.next_cursor.as_str()));
                let next_intent = next.as_ref().map(|(next, _)| self.intent_for(next));
                let committed = self
                    .commit(checkpoint, recorded, &intent, next_intent.clone())
                    .await;
                match self.or_reload(committed).await? {
                    Written::Done((saved, generation)) => {
                        events_this_run += intent.events;
                        self.summary.events += intent.events;
                        if newest.is_some() {
                            self.summary.newest_event_at = newest;
                        }
                        if let (Some((next, in_flight)), Some(next_intent)) = (next, next_intent) {
                            self.summary.pages += next.pages;
                            checkpoint = saved;
                            recorded = generation;
                            intent = next_intent;
                            (data, newest, has_more) = (next.data, next.newest, next.has_more);
                            _in_flight = in_flight;
                            continue;
                        }
                        loaded = Loaded::Stored {
                            checkpoint: saved,
                            generation,
                        };
                    }
                    Written::Conflict(reloaded) => {
                        if let (Some((next, _)), Some(next_intent)) = (next, next_intent) {
                            in_hand = Some((next_intent, next.data));
                        }
                        loaded = reloaded;
                    }
                }
                break;
            }
            if !has_more {
                return Ok(Outcome::Drained);
            }
        }
    }

    /// The intent recording `batch`, as of now.
    fn intent_for(&self, batch: &Batch) -> Intent {
        let now = Utc::now();
        Intent {
            object: object_name(&self.plan.prefix, self.plan.stream, &batch.start, now),
            start: batch.start.clone(),
            next_cursor: batch.next_cursor.clone(),
            events: batch.events,
            bytes: batch.data.len() as u64,
            xxh3: digest(&batch.data),
            recorded_at: now,
        }
    }

    /// Finishes a recorded intent: creates its object if missing (from a verified refetch), then
    /// commits its cursor.
    async fn complete(
        &mut self,
        checkpoint: Checkpoint,
        generation: Generation,
        intent: &Intent,
        in_hand: Option<Vec<u8>>,
    ) -> Result<Loaded, DrainError> {
        if self.store.read(&intent.object).await?.is_none() {
            let data = match in_hand {
                // This run's own batch, whose hash and count made the intent.
                Some(data) => data,
                None => {
                    let batch = self
                        .fetcher
                        .batch(&intent.start, Some(intent.events))
                        .await?;
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
                    batch.data
                }
            };
            if self.create_object(intent, data).await? {
                self.summary.objects += 1;
                self.summary.bytes += intent.bytes;
            }
        }
        let (checkpoint, generation) = self.commit(checkpoint, generation, intent, None).await?;
        Ok(Loaded::Stored {
            checkpoint,
            generation,
        })
    }

    /// Creates the intent's object; `false` when another run completing the same intent already
    /// had (with the same bytes).
    async fn create_object(&self, intent: &Intent, data: Vec<u8>) -> Result<bool, DrainError> {
        let data = Bytes::from(data);
        let written = self
            .store
            .write(
                &intent.object,
                data.clone(),
                NDJSON,
                Precondition::DoesNotExist,
            )
            .await;
        // Reuse the buffer only when nothing else holds it (a store keeping the bytes, such as
        // the in-memory one, keeps them to itself).
        if let Ok(unique) = data.try_into_mut() {
            self.fetcher.buffers.give(unique.into());
        }
        match written {
            Ok(_) => Ok(true),
            Err(StorageError::PreconditionFailed { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Commits `intent` (its object exists): position := its cursor. With `next`, the same write
    /// records the next batch's intent, which starts at that cursor: the state the two writes
    /// would leave one after the other, without the moment between them.
    async fn commit(
        &self,
        mut checkpoint: Checkpoint,
        generation: Generation,
        intent: &Intent,
        next: Option<Intent>,
    ) -> Result<(Checkpoint, Generation), StorageError> {
        let now = Utc::now();
        checkpoint.position = Position::Cursor(intent.next_cursor.clone());
        checkpoint.intent = next;
        checkpoint.updated_at = now;
        checkpoint.stats.events_total += intent.events;
        checkpoint.stats.objects_total += 1;
        checkpoint.stats.last_commit_at = Some(now);
        let generation = self.checkpoints.save(&checkpoint, Some(generation)).await?;
        Ok((checkpoint, generation))
    }
}

/// Whether two intents describe the same batch (the same start, object and bytes).
fn same_batch(a: &Intent, b: &Intent) -> bool {
    a.start == b.start && a.object == b.object && a.events == b.events && a.xxh3 == b.xxh3
}
