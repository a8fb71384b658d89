//! Reading ahead, over the simulator and an in-memory store the test can hold back: fetching goes on
//! while a batch is written, never holds more than BATCHES_IN_FLIGHT batches, stops fetching at
//! MAX_RECORDS, a stop discards what was read ahead, and a conflict on the run's own landed intent
//! reuses the batch in hand instead of fetching it again.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use collector::checkpoint::Checkpoint;
use collector::pipeline::{Limits, Outcome, Pipeline};
use collector::storage::{Generation, MemoryStore, ObjectStore, Precondition, StorageError};
use onepassword_events::Position;
use opsim::Simulator;
use tokio::sync::Semaphore;

const TOKEN: &str = "read-ahead-test-token";
use support::in_process::{self, KEY};

async fn simulator(events: usize) -> Simulator {
    in_process::simulator(TOKEN, events).await
}

fn limits(page_size: u16, batch: usize, in_flight: usize) -> Limits {
    in_process::limits(page_size, batch, in_flight)
}

fn pipeline(sim: &Simulator, store: Arc<HeldStore>, limits: Limits) -> Pipeline {
    in_process::pipeline(sim, TOKEN, store, limits, 3)
}

async fn checkpoint(store: &Arc<HeldStore>) -> Checkpoint {
    in_process::checkpoint(store.clone()).await
}

/// A memory store whose data-object writes wait for the test to let them through, and whose first
/// intent-recording write can be applied and then reported as a conflict (what the GCS client
/// reports when its retry of a write that had landed meets its own new generation).
#[derive(Debug)]
struct HeldStore {
    inner: MemoryStore,
    data_writes: Semaphore,
    conflict_after_recording: AtomicBool,
}

impl HeldStore {
    fn new(hold_data: bool) -> Arc<HeldStore> {
        Arc::new(HeldStore {
            inner: MemoryStore::new(),
            data_writes: Semaphore::new(if hold_data { 0 } else { Semaphore::MAX_PERMITS }),
            conflict_after_recording: AtomicBool::new(false),
        })
    }

    fn release(&self) {
        self.data_writes.add_permits(1_000_000);
    }
}

#[async_trait]
impl ObjectStore for HeldStore {
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
        if name.starts_with("feed/") {
            self.data_writes.acquire().await.unwrap().forget();
        }
        let records_intent = name == KEY
            && serde_json::from_slice::<serde_json::Value>(&data)
                .is_ok_and(|c| !c["intent"].is_null());
        let generation = self
            .inner
            .write(name, data, content_type, precondition)
            .await?;
        if records_intent && self.conflict_after_recording.swap(false, Ordering::SeqCst) {
            return Err(StorageError::PreconditionFailed {
                name: name.to_owned(),
            });
        }
        Ok(generation)
    }
}

/// Waits until the simulator has seen no new request for 300 ms; returns the count.
async fn settled_requests(sim: &Simulator) -> u64 {
    let mut last = sim.request_count();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = sim.request_count();
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("requests never settled ({last})");
}

fn landed(store: &HeldStore) -> Vec<String> {
    store
        .inner
        .objects()
        .into_iter()
        .filter(|(name, _)| name.starts_with("feed/"))
        .flat_map(|(_, data)| {
            String::from_utf8(data.to_vec())
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn assert_exactly_once(sim: &Simulator, store: &HeldStore) {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for event in sim.events(opsim::Stream::AuditEvents) {
        *counts.entry(event.raw).or_default() += 1;
    }
    for line in landed(store) {
        *counts.entry(line).or_default() -= 1;
    }
    let lost = counts.values().filter(|n| **n > 0).count();
    let extra = counts.values().filter(|n| **n < 0).count();
    assert_eq!(
        (lost, extra),
        (0, 0),
        "{lost} lost, {extra} duplicated or altered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetching_goes_on_while_a_write_waits_up_to_the_batches_in_flight() {
    for in_flight in [1usize, 3] {
        let sim = simulator(3_000).await;
        let store = HeldStore::new(true);
        // Two pages per batch; the first object's write is held back.
        let p = pipeline(&sim, store.clone(), limits(100, 200, in_flight));
        let run = tokio::spawn(async move { p.run().await });
        let requests = settled_requests(&sim).await;
        assert_eq!(
            requests,
            2 * in_flight as u64,
            "with {in_flight} in flight: the batch being written and those read ahead, no more"
        );
        store.release();
        let summary = run.await.unwrap();
        assert_eq!(summary.streams[0].outcome, Outcome::Drained);
        assert_eq!(summary.streams[0].events, 3_000);
        assert_exactly_once(&sim, &store);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_writing_discards_the_batches_read_ahead() {
    let sim = simulator(1_000).await;
    let store = HeldStore::new(true);
    let p = pipeline(&sim, store.clone(), limits(100, 200, 3));
    let stop = p.stop_flag();
    let run = tokio::spawn(async move { p.run().await });
    // The first batch is recorded and its object held back; two more are read ahead.
    assert_eq!(settled_requests(&sim).await, 6);
    let recorded = checkpoint(&store).await;
    let intent = recorded.intent.expect("the first batch is recorded");
    assert_eq!(intent.events, 200);
    stop.store(true, Ordering::SeqCst);
    store.release();
    let summary = run.await.unwrap();
    assert_eq!(summary.streams[0].outcome, Outcome::Stopped);
    assert_eq!(
        summary.streams[0].events, 200,
        "only the recorded batch is written"
    );
    assert_eq!(landed(&store).len(), 200);
    let committed = checkpoint(&store).await;
    assert!(committed.intent.is_none());
    assert_eq!(committed.position, Position::Cursor(intent.next_cursor));

    let rest = pipeline(&sim, store.clone(), limits(100, 200, 3))
        .run()
        .await;
    assert_eq!(rest.streams[0].events, 800);
    assert_exactly_once(&sim, &store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetching_stops_at_the_last_batch_max_records_lets_the_run_write() {
    let sim = simulator(1_000).await;
    let store = HeldStore::new(false);
    let mut l = limits(100, 100, 4);
    l.max_records = 250;
    let summary = pipeline(&sim, store.clone(), l).run().await;
    assert_eq!(summary.streams[0].outcome, Outcome::MaxRecords);
    assert_eq!(summary.streams[0].events, 300);
    assert_eq!(
        sim.request_count(),
        3,
        "no page past the third batch is fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_on_its_own_landed_intent_uses_the_batch_in_hand() {
    let sim = simulator(300).await;
    let store = HeldStore::new(false);
    store.conflict_after_recording.store(true, Ordering::SeqCst);
    let summary = pipeline(&sim, store.clone(), limits(100, 1000, 3))
        .run()
        .await;
    assert_eq!(summary.streams[0].outcome, Outcome::Drained);
    assert_eq!(summary.streams[0].events, 300);
    assert!(!store.conflict_after_recording.load(Ordering::SeqCst));
    // The three pages once (a refetch would ask for them again), then one page from the committed
    // cursor, as after completing any recorded batch, finding nothing more.
    assert_eq!(
        sim.request_count(),
        4,
        "the batch in hand completes the reloaded intent, no refetch"
    );
    assert!(checkpoint(&store).await.intent.is_none());
    assert_exactly_once(&sim, &store);
}

#[test]
fn batches_in_flight_is_a_setting_from_1_to_8_defaulting_to_3() {
    use collector::config::{Settings, VARIABLES, Vars};
    assert!(
        VARIABLES.contains(&"BATCHES_IN_FLIGHT"),
        "read from the environment"
    );
    let vars = |in_flight: Option<&str>| -> Vars {
        let mut v: Vars = [
            ("OP_API_BASE", "https://events.1password.com"),
            ("OP_BEARER_TOKEN", "tok-123"),
            ("GCS_BUCKET", "onepassword-audit-secops-logs"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if let Some(n) = in_flight {
            v.insert("BATCHES_IN_FLIGHT".into(), n.into());
        }
        v
    };
    let limits = |v: Vars| Settings::from_vars(&v).unwrap().limits;
    assert_eq!(limits(vars(None)).batches_in_flight, 3);
    assert_eq!(limits(vars(Some("1"))).batches_in_flight, 1);
    assert_eq!(limits(vars(Some("8"))).batches_in_flight, 8);
    for bad in ["0", "9", "two"] {
        let problems = Settings::from_vars(&vars(Some(bad))).unwrap_err().0;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].variable, "BATCHES_IN_FLIGHT");
        assert!(
            problems[0].message.contains("1..=8"),
            "{}",
            problems[0].message
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_already_read_ahead_is_recorded_in_the_same_write_that_commits_the_last() {
    let sim = simulator(1_000).await;
    let store = HeldStore::new(true);
    // Five batches; all of them fit in flight, so all are read ahead while the first object waits.
    let p = pipeline(&sim, store.clone(), limits(100, 200, 8));
    let run = tokio::spawn(async move { p.run().await });
    assert_eq!(settled_requests(&sim).await, 10, "every page read ahead");
    store.release();
    let summary = run.await.unwrap();
    assert_eq!(summary.streams[0].outcome, Outcome::Drained);
    assert_eq!(summary.streams[0].events, 1_000);
    assert_eq!(summary.streams[0].pages, 10);
    // Record the first; then four writes that each commit one batch and record the next; then the
    // last commit: 6 checkpoint writes for 5 batches instead of 10, plus the 5 objects.
    assert_eq!(store.inner.writes(), 6 + 5);
    let committed = checkpoint(&store).await;
    assert!(committed.intent.is_none());
    assert_eq!(committed.stats.events_total, 1_000);
    assert_eq!(committed.stats.objects_total, 5);
    assert_exactly_once(&sim, &store);
}
