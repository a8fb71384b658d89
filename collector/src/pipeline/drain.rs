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
//!
//! The protocol is a state machine: its states are the types in `states.rs` (what storage holds
//! for the batch in hand), its transitions the functions in `transitions.rs`, one per way out of
//! a state; [`Drain::drain`] only steps from one to the next.

mod states;
#[cfg(test)]
mod tests;
mod transitions;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use chrono::Utc;
use tokio::time::Instant;

use super::buffers::BufferPool;
use super::fetch::{Batch, Fetcher};
use super::idle::Clock;
use super::naming::{digest, object_name};
use super::read_ahead::ReadAhead;
use super::{FailureReason, Limits, Outcome, Start, StreamPlan, StreamSummary};
use crate::checkpoint::{Checkpoint, CheckpointLoadError, CheckpointStore, Intent};
use crate::storage::{Generation, ObjectStore, Precondition, StorageError};
use onepassword_events::{ApiError, Client, Position};
use states::State;

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

pub(super) struct Drain<'a> {
    plan: &'a StreamPlan,
    store: Arc<dyn ObjectStore>,
    checkpoints: CheckpointStore,
    fetcher: Fetcher,
    limits: Limits,
    stop: Arc<AtomicBool>,
    deadline: Instant,
    summary: StreamSummary,
    /// Batches fetched ahead, in order, from where the checkpoint stood when they were asked for.
    ahead: Option<ReadAhead>,
    /// Events this run committed.
    events_this_run: u64,
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
            ahead: None,
            events_this_run: 0,
        }
    }

    pub async fn run(mut self) -> StreamSummary {
        let started = Instant::now();
        self.summary.outcome = match self.drain().await {
            Ok(outcome) => outcome,
            Err(error) => self.outcome_of(error).await,
        };
        self.fetcher.clock.report(self.plan.stream);
        if let Some(newest) = self.summary.newest_event_at {
            self.summary.newest_event_age_seconds = Some((Utc::now() - newest).num_seconds());
        }
        // The newest event known: this run's, else the one the checkpoint recorded.
        self.summary.newest_known_event_at = self
            .summary
            .newest_event_at
            .max(self.summary.newest_known_event_at);
        self.summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
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

    /// Steps through the protocol's states until one ends the drain; each step is one
    /// transition (`transitions.rs`), and every state in between is consistent on storage.
    async fn drain(&mut self) -> Result<Outcome, DrainError> {
        let loaded = self.checkpoints.load().await?;
        self.summary.newest_known_event_at =
            loaded.checkpoint().and_then(|c| c.stats.newest_event_at);
        let mut state = State::Loaded(loaded, None);
        loop {
            state = match state {
                // Every state on storage is consistent, so stopping here is always safe.
                State::Loaded(loaded, in_hand) => match self.must_stop() {
                    Some(outcome) => State::Done(outcome),
                    None => self.settle(loaded, in_hand),
                },
                State::AtRest(at) => self.fetch(at).await?,
                State::Fetched(fetched) if fetched.batch.events == 0 => {
                    self.catch_up(fetched).await?
                }
                State::Fetched(fetched) => self.record(fetched).await?,
                State::Recorded(recorded) => State::Created(self.create(recorded).await?),
                State::Created(created) => self.commit(created).await?,
                State::Unfinished(unfinished) => self.look_for_object(unfinished).await?,
                State::IntentWithoutObject(unfinished) => {
                    State::ObjectWithoutCommit(self.restore_object(unfinished).await?)
                }
                State::ObjectWithoutCommit(unfinished) => self.finish(unfinished).await?,
                State::Done(outcome) => return Ok(outcome),
            };
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

    /// Creates the intent's object and counts it; `false` when another run completing the same
    /// intent already had (with the same bytes: a 412 on the object).
    async fn create_object(&mut self, intent: &Intent, data: Vec<u8>) -> Result<bool, DrainError> {
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
            Ok(_) => {
                self.summary.objects += 1;
                self.summary.bytes += intent.bytes;
                Ok(true)
            }
            Err(StorageError::PreconditionFailed { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Commits `intent` (its object exists): position := its cursor. With `next`, the same write
    /// records the next batch's intent, which starts at that cursor: the state the two writes
    /// would leave one after the other, without the moment between them.
    async fn save_commit(
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
