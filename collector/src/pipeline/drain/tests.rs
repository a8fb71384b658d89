//! One test per transition of the drain's state machine, recoveries included, over the in-memory
//! store and the Events API simulator.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use opsim::{SimConfig, Simulator, TokenGrant};
use tokio::time::Instant;

use super::states::{AtRest, Created, Fetched, InHand, Recorded, State, Unfinished};
use super::{Drain, DrainError, Parts};
use crate::checkpoint::{Checkpoint, CheckpointStore, Loaded};
use crate::pipeline::{Limits, Outcome, Start, StreamPlan};
use crate::storage::{Generation, MemoryStore, ObjectStore, Precondition, StorageError};
use onepassword_events::secret::Secret;
use onepassword_events::{Client, ClientOptions, Position, RetryPolicy, Stream};

const TOKEN: &str = "drain-test-token";
const KEY: &str = "state/auditevents.json";
/// Events per page and per batch: a batch is two pages.
const PAGE: u16 = 10;
const BATCH: u64 = 20;

struct Fixture {
    sim: Simulator,
    store: Arc<dyn ObjectStore>,
    plan: StreamPlan,
    client: Client,
    stop: Arc<AtomicBool>,
}

impl Fixture {
    async fn new(events: usize) -> Fixture {
        Fixture::with_store(events, Arc::new(MemoryStore::new())).await
    }

    async fn with_store(events: usize, store: Arc<dyn ObjectStore>) -> Fixture {
        let sim = Simulator::start(
            SimConfig::new(8)
                .with_token(TokenGrant::all_features(TOKEN))
                .with_events(opsim::Stream::AuditEvents, events),
        )
        .await
        .unwrap();
        let client = Client::new(
            sim.base_url().parse().unwrap(),
            Secret::new(TOKEN),
            ClientOptions {
                timeout: Duration::from_secs(5),
                retry: RetryPolicy {
                    max_attempts: 2,
                    base: Duration::from_millis(5),
                    cap: Duration::from_millis(20),
                },
            },
        )
        .unwrap();
        let plan = StreamPlan {
            stream: Stream::AuditEvents,
            prefix: "feed".into(),
            checkpoint_key: KEY.into(),
            start: Start::Lookback(chrono::Duration::hours(24)),
        };
        Fixture {
            sim,
            store,
            plan,
            client,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    fn drain(&self) -> Drain<'_> {
        Drain::new(Parts {
            plan: &self.plan,
            client: &self.client,
            store: self.store.clone(),
            limits: Limits {
                max_records: u64::MAX,
                page_size: PAGE,
                batch_max_events: BATCH as usize,
                batch_max_bytes: 8 << 20,
                budget: Duration::from_secs(60),
                batches_in_flight: 3,
            },
            stop: self.stop.clone(),
            deadline: Instant::now() + Duration::from_secs(60),
        })
    }

    fn checkpoints(&self) -> CheckpointStore {
        CheckpointStore::new(self.store.clone(), KEY)
    }

    async fn stored(&self) -> (Checkpoint, Generation) {
        match self.checkpoints().load().await.unwrap() {
            Loaded::Stored {
                checkpoint,
                generation,
            } => (checkpoint, generation),
            Loaded::Absent => panic!("no checkpoint stored"),
        }
    }

    async fn object(&self, name: &str) -> Option<Bytes> {
        self.store.read(name).await.unwrap().map(|(data, _)| data)
    }

    /// Another run writes the checkpoint (moving its generation on), as a racing run would.
    async fn another_run_writes_the_checkpoint(&self) -> Checkpoint {
        let (mut checkpoint, generation) = self.stored().await;
        checkpoint.updated_at = chrono::Utc::now();
        self.checkpoints()
            .save(&checkpoint, Some(generation))
            .await
            .unwrap();
        checkpoint
    }
}

// Walking the normal path, one transition at a time.

async fn at_rest(drain: &Drain<'_>) -> AtRest {
    let loaded = drain.checkpoints.load().await.unwrap();
    match drain.settle(loaded, None) {
        State::AtRest(at) => at,
        other => panic!("expected AtRest, got {other:?}"),
    }
}

async fn fetched(drain: &mut Drain<'_>) -> Fetched {
    let at = at_rest(drain).await;
    match drain.fetch(at).await.unwrap() {
        State::Fetched(fetched) => fetched,
        other => panic!("expected Fetched, got {other:?}"),
    }
}

async fn recorded(drain: &mut Drain<'_>) -> Recorded {
    let fetched = fetched(drain).await;
    match drain.record(fetched).await.unwrap() {
        State::Recorded(recorded) => recorded,
        other => panic!("expected Recorded, got {other:?}"),
    }
}

async fn created(drain: &mut Drain<'_>) -> Created {
    let recorded = recorded(drain).await;
    drain.create(recorded).await.unwrap()
}

/// The checkpoint's intent, left unfinished (a run stopped after recording it), as the next run
/// finds it.
async fn unfinished(drain: &Drain<'_>) -> Unfinished {
    let loaded = drain.checkpoints.load().await.unwrap();
    match drain.settle(loaded, None) {
        State::Unfinished(unfinished) => unfinished,
        other => panic!("expected Unfinished, got {other:?}"),
    }
}

/// Waits until the read-ahead would hand its next batch over without waiting.
async fn wait_for_read_ahead(drain: &Drain<'_>) {
    let started = Instant::now();
    while !drain.ahead.as_ref().is_some_and(|ahead| ahead.has_ready()) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no batch read ahead"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn settle_starts_at_the_stream_start_resumes_a_position_or_completes_an_intent() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    // No checkpoint: a new one at the lookback, which the first write must create.
    let at = at_rest(&drain).await;
    assert_eq!(at.generation, None);
    assert!(matches!(at.checkpoint.position, Position::Reset { .. }));
    // A recorded intent: completed first, without bytes in hand.
    let recorded = recorded(&mut drain).await;
    let data = recorded.data.clone();
    let loaded = drain.checkpoints.load().await.unwrap();
    let State::Unfinished(found) = drain.settle(loaded, None) else {
        panic!("an intent must be completed first");
    };
    assert_eq!(found.intent, recorded.intent);
    assert!(found.in_hand.is_none());
    // This run's own bytes of that very intent are used; another batch's are not.
    let mine = InHand {
        intent: recorded.intent.clone(),
        data: data.clone(),
    };
    let loaded = drain.checkpoints.load().await.unwrap();
    let State::Unfinished(found) = drain.settle(loaded, Some(mine)) else {
        panic!("an intent must be completed first");
    };
    assert_eq!(found.in_hand, Some(data.clone()));
    let mut other = recorded.intent.clone();
    other.xxh3 = "another batch".into();
    let loaded = drain.checkpoints.load().await.unwrap();
    let State::Unfinished(found) = drain.settle(
        loaded,
        Some(InHand {
            intent: other,
            data,
        }),
    ) else {
        panic!("an intent must be completed first");
    };
    assert!(found.in_hand.is_none());
    // A committed checkpoint: the next batch starts at its position.
    let created = drain.create(recorded).await.unwrap();
    drain.ahead = None;
    let State::Loaded(loaded, None) = drain.commit(created).await.unwrap() else {
        panic!("a commit with nothing read ahead leaves a checkpoint to load");
    };
    let generation = loaded.generation();
    let position = loaded.checkpoint().unwrap().position.clone();
    let State::AtRest(at) = drain.settle(loaded, None) else {
        panic!("a committed checkpoint is at rest");
    };
    assert_eq!(
        (at.generation, at.checkpoint.position),
        (generation, position)
    );
}

#[tokio::test]
async fn fetch_hands_over_the_batch_starting_where_the_checkpoint_stands_and_writes_nothing() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    let at = at_rest(&drain).await;
    let position = at.checkpoint.position.clone();
    let State::Fetched(fetched) = drain.fetch(at).await.unwrap() else {
        panic!("expected a batch");
    };
    assert_eq!(fetched.batch.start, position);
    assert_eq!(fetched.batch.events, BATCH);
    assert_eq!(drain.summary.pages, 2);
    assert!(
        fixture
            .checkpoints()
            .load()
            .await
            .unwrap()
            .checkpoint()
            .is_none()
    );
}

#[tokio::test]
async fn fetch_ends_the_drain_on_a_stop_and_at_max_records() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    drain.events_this_run = drain.limits.max_records;
    let at = at_rest(&drain).await;
    assert!(matches!(
        drain.fetch(at).await.unwrap(),
        State::Done(Outcome::MaxRecords)
    ));
    let mut drain = fixture.drain();
    fixture.stop.store(true, Ordering::SeqCst);
    let at = at_rest(&drain).await;
    assert!(matches!(
        drain.fetch(at).await.unwrap(),
        State::Done(Outcome::Stopped)
    ));
    assert_eq!(drain.summary.pages, 0, "nothing fetched after the stop");
}

#[tokio::test]
async fn record_writes_the_intent_at_the_generation_the_batch_was_fetched_from() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    let recorded = recorded(&mut drain).await;
    let (stored, generation) = fixture.stored().await;
    assert_eq!(generation, recorded.generation);
    assert_eq!(stored.intent.as_ref(), Some(&recorded.intent));
    assert!(
        matches!(stored.position, Position::Reset { .. }),
        "not moved yet"
    );
    assert_eq!(recorded.intent.events, BATCH);
    assert_eq!(recorded.intent.bytes, recorded.data.len() as u64);
    assert!(fixture.object(&recorded.intent.object).await.is_none());
}

#[tokio::test]
async fn record_after_another_run_moved_the_checkpoint_reloads_with_the_bytes_in_hand() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    // A first batch committed, so the checkpoint exists; then another run writes it.
    let created = created(&mut drain).await;
    drain.ahead = None;
    drain.commit(created).await.unwrap();
    let fetched = fetched(&mut drain).await;
    let data = fetched.batch.data.clone();
    let theirs = fixture.another_run_writes_the_checkpoint().await;
    let State::Loaded(Loaded::Stored { checkpoint, .. }, Some(in_hand)) =
        drain.record(fetched).await.unwrap()
    else {
        panic!("a 412 on the intent write reloads");
    };
    assert_eq!(checkpoint, theirs, "what the other run left");
    assert_eq!(in_hand.data, data);
    assert_eq!(
        fixture.stored().await.0,
        theirs,
        "nothing of this run written"
    );
}

#[tokio::test]
async fn create_writes_the_object_with_the_batch_bytes() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    let recorded = recorded(&mut drain).await;
    let data = recorded.data.clone();
    let created = drain.create(recorded).await.unwrap();
    assert_eq!(fixture.object(&created.intent.object).await.unwrap(), data);
    assert_eq!(drain.summary.objects, 1);
    assert_eq!(drain.summary.bytes, data.len() as u64);
    assert_eq!(
        fixture.stored().await.0.intent,
        Some(created.intent),
        "not committed yet"
    );
}

#[tokio::test]
async fn create_meeting_the_object_already_created_takes_it_as_written() {
    // A 412 on the object: another run completing the same intent created it first.
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    let recorded = recorded(&mut drain).await;
    let theirs = Bytes::from(recorded.data.clone());
    fixture
        .store
        .write(
            &recorded.intent.object,
            theirs.clone(),
            "application/x-ndjson",
            Precondition::DoesNotExist,
        )
        .await
        .unwrap();
    let created = drain.create(recorded).await.unwrap();
    assert_eq!(
        fixture.object(&created.intent.object).await.unwrap(),
        theirs
    );
    assert_eq!(drain.summary.objects, 0, "this run created nothing");
}

#[tokio::test]
async fn commit_moves_the_position_to_the_intents_cursor_and_clears_the_intent() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    let created = created(&mut drain).await;
    let intent = created.intent.clone();
    drain.ahead = None;
    let State::Loaded(
        Loaded::Stored {
            checkpoint,
            generation,
        },
        None,
    ) = drain.commit(created).await.unwrap()
    else {
        panic!("a commit with nothing read ahead leaves a checkpoint to load");
    };
    assert_eq!(fixture.stored().await, (checkpoint.clone(), generation));
    assert_eq!(checkpoint.position, Position::Cursor(intent.next_cursor));
    assert_eq!(checkpoint.intent, None);
    assert_eq!(checkpoint.stats.events_total, BATCH);
    assert_eq!(
        (drain.summary.events, drain.events_this_run),
        (BATCH, BATCH)
    );
}

#[tokio::test]
async fn commit_records_the_next_batch_in_the_same_write_when_it_is_read_ahead() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    let created = created(&mut drain).await;
    let committed_cursor = created.intent.next_cursor.clone();
    wait_for_read_ahead(&drain).await;
    let (_, object_generation) = fixture
        .store
        .read(&created.intent.object)
        .await
        .unwrap()
        .unwrap();
    let State::Recorded(next) = drain.commit(created).await.unwrap() else {
        panic!("the next batch is recorded by the commit");
    };
    // Generations count every write: one write since the object's.
    assert_eq!(next.generation, object_generation + 1, "one write");
    assert_eq!(
        next.intent.start,
        Position::Cursor(committed_cursor.clone())
    );
    let (stored, generation) = fixture.stored().await;
    assert_eq!(generation, next.generation);
    assert_eq!(stored.position, Position::Cursor(committed_cursor));
    assert_eq!(stored.intent, Some(next.intent));
    assert_eq!(drain.summary.pages, 4, "both batches' pages");
}

#[tokio::test]
async fn commit_after_another_run_moved_the_checkpoint_reloads_with_the_next_batch_in_hand() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    let created = created(&mut drain).await;
    wait_for_read_ahead(&drain).await;
    let theirs = fixture.another_run_writes_the_checkpoint().await;
    let State::Loaded(Loaded::Stored { checkpoint, .. }, Some(in_hand)) =
        drain.commit(created).await.unwrap()
    else {
        panic!("a 412 on the commit reloads, keeping the next batch");
    };
    assert_eq!(checkpoint, theirs);
    assert_eq!(in_hand.intent.events, BATCH);
    assert_eq!(drain.summary.events, 0, "nothing committed by this run");
}

#[tokio::test]
async fn commit_of_the_streams_last_batch_ends_the_drain() {
    let fixture = Fixture::new(15).await;
    let mut drain = fixture.drain();
    let created = created(&mut drain).await;
    assert!(!created.has_more);
    assert!(matches!(
        drain.commit(created).await.unwrap(),
        State::Done(Outcome::Drained)
    ));
    assert_eq!(fixture.stored().await.0.stats.events_total, 15);
}

#[tokio::test]
async fn catch_up_saves_the_newer_cursor_of_an_empty_batch_and_ends() {
    let fixture = Fixture::new(0).await;
    let mut drain = fixture.drain();
    let fetched = fetched(&mut drain).await;
    assert_eq!(fetched.batch.events, 0);
    let cursor = fetched.batch.next_cursor.clone();
    assert!(matches!(
        drain.catch_up(fetched).await.unwrap(),
        State::Done(Outcome::Drained)
    ));
    let (stored, _) = fixture.stored().await;
    assert_eq!(stored.position, Position::Cursor(cursor));
    assert_eq!(stored.intent, None);
}

#[tokio::test]
async fn look_for_object_tells_an_intent_without_object_from_an_object_without_commit() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    // A run stopped between record and create.
    let recorded = recorded(&mut drain).await;
    let data = Bytes::from(recorded.data.clone());
    let State::IntentWithoutObject(found) = drain
        .look_for_object(unfinished(&drain).await)
        .await
        .unwrap()
    else {
        panic!("no object yet");
    };
    assert_eq!(found.intent, recorded.intent);
    // A run stopped between create and commit.
    fixture
        .store
        .write(
            &recorded.intent.object,
            data,
            "application/x-ndjson",
            Precondition::DoesNotExist,
        )
        .await
        .unwrap();
    assert!(matches!(
        drain
            .look_for_object(unfinished(&drain).await)
            .await
            .unwrap(),
        State::ObjectWithoutCommit(_)
    ));
}

#[tokio::test]
async fn restore_object_refetches_the_recorded_events_and_checks_them() {
    let fixture = Fixture::new(100).await;
    let mut crashed = fixture.drain();
    let recorded = recorded(&mut crashed).await;
    let data = recorded.data.clone();
    drop(crashed);
    // Events arriving since do not belong to the recorded batch.
    fixture.sim.append(opsim::Stream::AuditEvents, 30);
    let mut drain = fixture.drain();
    let requests = fixture.sim.request_count();
    let restored = drain
        .restore_object(unfinished(&drain).await)
        .await
        .unwrap();
    assert!(fixture.sim.request_count() > requests, "refetched");
    assert_eq!(fixture.object(&restored.intent.object).await.unwrap(), data);
    assert_eq!((drain.summary.objects, drain.summary.pages), (1, 2));
}

#[tokio::test]
async fn restore_object_refuses_events_that_are_not_the_recorded_ones() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    let recorded = recorded(&mut drain).await;
    let mut unfinished = unfinished(&drain).await;
    unfinished.intent.xxh3 = "0".repeat(32);
    let error = drain.restore_object(unfinished).await.unwrap_err();
    assert!(matches!(error, DrainError::Diverged { .. }), "{error}");
    assert!(fixture.object(&recorded.intent.object).await.is_none());
}

#[tokio::test]
async fn finish_commits_the_recovered_intent() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    let created = created(&mut drain).await;
    let intent = created.intent.clone();
    drop(created);
    let State::ObjectWithoutCommit(unfinished) = drain
        .look_for_object(unfinished(&drain).await)
        .await
        .unwrap()
    else {
        panic!("the object exists");
    };
    let State::Loaded(Loaded::Stored { checkpoint, .. }, None) =
        drain.finish(unfinished).await.unwrap()
    else {
        panic!("a commit leaves a checkpoint to load");
    };
    assert_eq!(checkpoint.position, Position::Cursor(intent.next_cursor));
    assert_eq!(checkpoint.intent, None);
    assert_eq!(drain.summary.events, BATCH);
}

#[tokio::test]
async fn finish_after_another_run_committed_the_intent_reloads() {
    let fixture = Fixture::new(100).await;
    let mut drain = fixture.drain();
    let created = created(&mut drain).await;
    drop(created);
    let unfinished = unfinished(&drain).await;
    // The other run completes the same intent first.
    let mut racer = fixture.drain();
    let theirs = racer.finish(clone_of(&unfinished)).await.unwrap();
    let State::Loaded(theirs, None) = theirs else {
        panic!("the racer commits");
    };
    let State::Loaded(reloaded, None) = drain.finish(unfinished).await.unwrap() else {
        panic!("a 412 on the commit reloads");
    };
    assert_eq!(reloaded.checkpoint(), theirs.checkpoint());
    assert_eq!(drain.summary.events, 0, "committed by the other run");
}

fn clone_of(unfinished: &Unfinished) -> Unfinished {
    Unfinished {
        checkpoint: unfinished.checkpoint.clone(),
        generation: unfinished.generation,
        intent: unfinished.intent.clone(),
        in_hand: unfinished.in_hand.clone(),
    }
}

/// A store whose next checkpoint write lands but is answered with a 412, as when the client
/// retried a write whose first attempt landed (its answer lost): the retry meets its own write.
#[derive(Debug, Default)]
struct OwnWriteConflicts {
    inner: MemoryStore,
    armed: AtomicBool,
}

#[async_trait]
impl ObjectStore for OwnWriteConflicts {
    async fn read(&self, name: &str) -> Result<Option<(Bytes, Generation)>, StorageError> {
        self.inner.read(name).await
    }

    async fn write(
        &self,
        name: &str,
        data: Bytes,
        content_type: &str,
        precondition: Precondition,
    ) -> Result<Generation, StorageError> {
        let generation = self
            .inner
            .write(name, data, content_type, precondition)
            .await?;
        if name == KEY && self.armed.swap(false, Ordering::SeqCst) {
            return Err(StorageError::PreconditionFailed {
                name: name.to_owned(),
            });
        }
        Ok(generation)
    }
}

#[tokio::test]
async fn a_412_on_this_runs_own_retried_intent_write_completes_it_with_the_bytes_in_hand() {
    let store = Arc::new(OwnWriteConflicts::default());
    let fixture = Fixture::with_store(100, store.clone()).await;
    let mut drain = fixture.drain();
    let fetched = fetched(&mut drain).await;
    let data = fetched.batch.data.clone();
    store.armed.store(true, Ordering::SeqCst);
    let State::Loaded(loaded, in_hand) = drain.record(fetched).await.unwrap() else {
        panic!("a 412 on the intent write reloads");
    };
    let State::Unfinished(unfinished) = drain.settle(loaded, in_hand) else {
        panic!("the reloaded checkpoint holds this run's own intent");
    };
    assert_eq!(unfinished.in_hand.as_deref(), Some(data.as_slice()));
    let State::IntentWithoutObject(unfinished) = drain.look_for_object(unfinished).await.unwrap()
    else {
        panic!("no object yet");
    };
    let requests = fixture.sim.request_count();
    let restored = drain.restore_object(unfinished).await.unwrap();
    assert_eq!(fixture.sim.request_count(), requests, "no refetch");
    assert_eq!(fixture.object(&restored.intent.object).await.unwrap(), data);
    let next_cursor = restored.intent.next_cursor.clone();
    let State::Loaded(Loaded::Stored { checkpoint, .. }, None) =
        drain.finish(restored).await.unwrap()
    else {
        panic!("committed");
    };
    assert_eq!(checkpoint.position, Position::Cursor(next_cursor));
}

// The stream summary's view of freshness (the dashboard's newest event age).

#[tokio::test]
async fn a_run_with_nothing_new_still_knows_the_newest_event_from_the_checkpoint() {
    let fixture = Fixture::new(15).await;
    let first = fixture.drain().run().await;
    assert_eq!(first.events, 15);
    let newest = first.newest_event_at.expect("the run committed events");
    assert_eq!(first.newest_known_event_at, Some(newest));
    assert_eq!(fixture.stored().await.0.stats.newest_event_at, Some(newest));

    let second = fixture.drain().run().await;
    assert_eq!((second.events, second.newest_event_at), (0, None));
    assert_eq!(
        second.newest_known_event_at,
        Some(newest),
        "a run that collects nothing reports the newest event the checkpoint recorded"
    );
    assert!(matches!(second.outcome, Outcome::Drained));
}
