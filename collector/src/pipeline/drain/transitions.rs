//! The exactly-once drain's transitions: one function per way out of each state in `states.rs`,
//! each making at most one storage write (a precondition conflict on a checkpoint write always
//! leads back to [`State::Loaded`] through [`Drain::reload`]).

use chrono::Utc;

use super::super::fetch::Batch;
use super::super::read_ahead::{Ahead, End, InFlight, ReadAhead};
use super::states::{AtRest, Created, Fetched, InHand, Recorded, State, Unfinished};
use super::{Drain, DrainError};
use crate::checkpoint::{Checkpoint, Intent, Loaded};
use crate::pipeline::Outcome;
use crate::pipeline::naming::digest;
use onepassword_events::Position;

/// A checkpoint write's result: written, or another run (or this run's own earlier attempt)
/// wrote first and this is what it left.
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per checkpoint write; boxing would only add an allocation"
)]
pub(super) enum Saved<T> {
    Done(T),
    Conflict(Loaded),
}

impl Drain<'_> {
    /// **reload** (a 412 on a checkpoint write → [`State::Loaded`]): the write's result, with a
    /// precondition conflict turned into what the winner left, loaded again.
    pub(super) async fn reload<T>(
        &self,
        result: Result<T, impl Into<DrainError>>,
    ) -> Result<Saved<T>, DrainError> {
        match result.map_err(Into::into) {
            Ok(value) => Ok(Saved::Done(value)),
            Err(error) if error.is_conflict() => {
                Ok(Saved::Conflict(self.checkpoints.load().await?))
            }
            Err(error) => Err(error),
        }
    }

    /// **settle** ([`State::Loaded`] → [`State::AtRest`] or [`State::Unfinished`]): a checkpoint
    /// without an intent (or none at all: a new one at the stream's start) is where the next batch
    /// starts; one with an intent must be completed first, with this run's own bytes when the
    /// intent is the one this run tried to record.
    pub(super) fn settle(&self, loaded: Loaded, in_hand: Option<InHand>) -> State {
        match loaded {
            Loaded::Absent => State::AtRest(AtRest {
                checkpoint: Checkpoint::new(
                    self.plan.stream.name(),
                    self.initial_position(),
                    Utc::now(),
                ),
                generation: None,
            }),
            Loaded::Stored {
                checkpoint,
                generation,
            } => match checkpoint.intent.clone() {
                None => State::AtRest(AtRest {
                    checkpoint,
                    generation: Some(generation),
                }),
                Some(intent) => {
                    tracing::info!(stream = %self.plan.stream, object = %intent.object, events = intent.events, "completing a recorded batch");
                    let in_hand = in_hand
                        .filter(|mine| same_batch(&mine.intent, &intent))
                        .map(|mine| mine.data);
                    State::Unfinished(Unfinished {
                        checkpoint,
                        generation,
                        intent,
                        in_hand,
                    })
                }
            },
        }
    }

    /// **fetch** ([`State::AtRest`] → [`State::Fetched`]): the next batch from where the
    /// checkpoint stands, from the read-ahead when it continues from there (otherwise reading
    /// starts again from there). Ends the drain at `MAX_RECORDS`, on a stop that came while the
    /// batch was fetched (nothing is recorded yet), or when the read-ahead ended.
    pub(super) async fn fetch(&mut self, at: AtRest) -> Result<State, DrainError> {
        let max_records = self.limits.max_records;
        if self.events_this_run >= max_records {
            return Ok(State::Done(Outcome::MaxRecords));
        }
        let mut reader = match self.ahead.take() {
            Some(reader) if reader.continues_from(&at.checkpoint.position) => reader,
            _ => ReadAhead::start(
                self.fetcher.clone(),
                at.checkpoint.position.clone(),
                self.limits.batches_in_flight,
                max_records - self.events_this_run,
                self.stop.clone(),
            ),
        };
        let next = reader.next().await;
        self.ahead = Some(reader);
        let (batch, in_flight) = match next {
            Ahead::Batch(batch, in_flight) => (batch, in_flight),
            Ahead::Failed(error) => return Err(error.into()),
            Ahead::Ended(End::Stopped) => return Ok(State::Done(Outcome::Stopped)),
            Ahead::Ended(End::Budget) => return Ok(State::Done(Outcome::Budget)),
            Ahead::Ended(End::MaxRecords) => return Ok(State::Done(Outcome::MaxRecords)),
            Ahead::Gone => return Err(DrainError::ReadAheadGone),
        };
        if batch.start != at.checkpoint.position {
            // Never expected (the read-ahead was chosen for this position); read again from it.
            self.ahead = None;
            return Ok(State::Loaded(at.into_loaded(), None));
        }
        if let Some(outcome) = self.must_stop() {
            return Ok(State::Done(outcome));
        }
        self.summary.pages += batch.pages;
        Ok(State::Fetched(Fetched {
            at,
            batch,
            in_flight,
        }))
    }

    /// **catch_up** (an empty [`State::Fetched`] → [`State::Done`]): no events after the
    /// checkpoint; saves the API's newer cursor, if it moved, so the next run starts from it.
    pub(super) async fn catch_up(&self, fetched: Fetched) -> Result<State, DrainError> {
        let Fetched {
            at: AtRest {
                mut checkpoint,
                generation,
            },
            batch,
            ..
        } = fetched;
        if checkpoint.position.cursor() == Some(batch.next_cursor.as_str()) {
            return Ok(State::Done(Outcome::Drained));
        }
        checkpoint.position = Position::Cursor(batch.next_cursor);
        checkpoint.updated_at = Utc::now();
        let saved = self.checkpoints.save(&checkpoint, generation).await;
        Ok(match self.reload(saved).await? {
            Saved::Done(_) => State::Done(Outcome::Drained),
            Saved::Conflict(reloaded) => State::Loaded(reloaded, None),
        })
    }

    /// **record** ([`State::Fetched`] → [`State::Recorded`], write 1): the batch's intent into
    /// the checkpoint, matching the generation it was fetched from. On a conflict the batch's
    /// bytes stay in hand, in case the reloaded intent is this very one.
    pub(super) async fn record(&self, fetched: Fetched) -> Result<State, DrainError> {
        let Fetched {
            at: AtRest {
                mut checkpoint,
                generation,
            },
            batch,
            in_flight,
        } = fetched;
        let intent = self.intent_for(&batch);
        checkpoint.intent = Some(intent.clone());
        checkpoint.updated_at = intent.recorded_at;
        let saved = self.checkpoints.save(&checkpoint, generation).await;
        Ok(match self.reload(saved).await? {
            Saved::Done(generation) => State::Recorded(Recorded::of(
                checkpoint, generation, intent, batch, in_flight,
            )),
            Saved::Conflict(reloaded) => State::Loaded(
                reloaded,
                Some(InHand {
                    intent,
                    data: batch.data,
                }),
            ),
        })
    }

    /// **create** ([`State::Recorded`] → [`State::Created`], write 2): the intent's object,
    /// create-only; a 412 on it means another run completing the same intent created it first,
    /// with the same bytes.
    pub(super) async fn create(&mut self, recorded: Recorded) -> Result<Created, DrainError> {
        let Recorded {
            mut checkpoint,
            generation,
            intent,
            data,
            newest,
            has_more,
            in_flight,
        } = recorded;
        if let Some(newest) = newest {
            checkpoint.stats.newest_event_at = Some(newest);
        }
        self.create_object(&intent, data).await?;
        Ok(Created {
            checkpoint,
            generation,
            intent,
            newest,
            has_more,
            in_flight,
        })
    }

    /// **commit** ([`State::Created`] → [`State::Loaded`], or [`State::Recorded`] for the next
    /// batch, write 3): position := the intent's cursor, intent cleared; when the next batch is
    /// already read ahead and the run may record it, the same write records its intent (the state
    /// the two writes would leave one after the other). Ends the drain after the stream's last
    /// batch.
    pub(super) async fn commit(&mut self, created: Created) -> Result<State, DrainError> {
        let Created {
            checkpoint,
            generation,
            intent,
            newest,
            has_more,
            in_flight,
        } = created;
        let next = self.next_to_record(&intent, has_more);
        let next_intent = next.as_ref().map(|(_, _, intent)| intent.clone());
        let committed = self
            .save_commit(checkpoint, generation, &intent, next_intent)
            .await;
        let (loaded, in_hand) = match self.reload(committed).await? {
            Saved::Done((checkpoint, generation)) => {
                self.count_committed(&intent);
                if newest.is_some() {
                    self.summary.newest_event_at = newest;
                }
                if let Some((batch, next_in_flight, intent)) = next {
                    self.summary.pages += batch.pages;
                    return Ok(State::Recorded(Recorded::of(
                        checkpoint,
                        generation,
                        intent,
                        batch,
                        next_in_flight,
                    )));
                }
                (
                    Loaded::Stored {
                        checkpoint,
                        generation,
                    },
                    None,
                )
            }
            Saved::Conflict(reloaded) => (
                reloaded,
                next.map(|(batch, _, intent)| InHand {
                    intent,
                    data: batch.data,
                }),
            ),
        };
        // The slot is free once the batch is committed (or another run moved the checkpoint).
        drop(in_flight);
        if !has_more {
            return Ok(State::Done(Outcome::Drained));
        }
        Ok(State::Loaded(loaded, in_hand))
    }

    /// The batch to record in the same write as a commit: the next one, if the read-ahead already
    /// has it, it starts at the committed cursor, and the run may record another batch.
    fn next_to_record(
        &mut self,
        intent: &Intent,
        has_more: bool,
    ) -> Option<(Batch, InFlight, Intent)> {
        if !has_more
            || self.events_this_run + intent.events >= self.limits.max_records
            || self.must_stop().is_some()
        {
            return None;
        }
        let (batch, in_flight) = self.ahead.as_mut().and_then(ReadAhead::ready)?;
        if batch.start.cursor() != Some(intent.next_cursor.as_str()) {
            return None;
        }
        let next = self.intent_for(&batch);
        Some((batch, in_flight, next))
    }

    /// **look_for_object** ([`State::Unfinished`] → [`State::IntentWithoutObject`] or
    /// [`State::ObjectWithoutCommit`]): whether the intent's object exists.
    pub(super) async fn look_for_object(
        &self,
        unfinished: Unfinished,
    ) -> Result<State, DrainError> {
        Ok(match self.store.read(&unfinished.intent.object).await? {
            None => State::IntentWithoutObject(unfinished),
            Some(_) => State::ObjectWithoutCommit(unfinished),
        })
    }

    /// **restore_object** ([`State::IntentWithoutObject`] → [`State::ObjectWithoutCommit`]):
    /// creates the object from this run's own bytes of the intent, or else from the first
    /// `events` events after its start, refetched and checked against its count and hash.
    pub(super) async fn restore_object(
        &mut self,
        mut unfinished: Unfinished,
    ) -> Result<Unfinished, DrainError> {
        let data = match unfinished.in_hand.take() {
            Some(data) => data,
            None => self.refetch(&unfinished.intent).await?,
        };
        self.create_object(&unfinished.intent, data).await?;
        Ok(unfinished)
    }

    /// The intent's events fetched again, if they are still the recorded ones (count and hash).
    async fn refetch(&mut self, intent: &Intent) -> Result<Vec<u8>, DrainError> {
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
        Ok(batch.data)
    }

    /// **finish** ([`State::ObjectWithoutCommit`] → [`State::Loaded`], write 3): commits the
    /// intent's cursor.
    pub(super) async fn finish(&mut self, unfinished: Unfinished) -> Result<State, DrainError> {
        let Unfinished {
            checkpoint,
            generation,
            intent,
            ..
        } = unfinished;
        let committed = self
            .save_commit(checkpoint, generation, &intent, None)
            .await;
        Ok(match self.reload(committed).await? {
            Saved::Done((checkpoint, generation)) => {
                self.count_committed(&intent);
                State::Loaded(
                    Loaded::Stored {
                        checkpoint,
                        generation,
                    },
                    None,
                )
            }
            Saved::Conflict(reloaded) => State::Loaded(reloaded, None),
        })
    }

    fn count_committed(&mut self, intent: &Intent) {
        self.events_this_run += intent.events;
        self.summary.events += intent.events;
    }
}

/// Whether two intents describe the same batch (the same start, object and bytes).
fn same_batch(a: &Intent, b: &Intent) -> bool {
    a.start == b.start && a.object == b.object && a.events == b.events && a.xxh3 == b.xxh3
}
