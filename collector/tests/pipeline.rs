//! The pipeline over the in-memory storage double and the Events API simulator: the exactly-once
//! protocol step by step, crashes between steps, races, transient failures and stop conditions.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use collector::checkpoint::Checkpoint;
use collector::pipeline::{FailureReason, Limits, Outcome, Pipeline};
use collector::storage::{MemoryFault, MemoryStore};
use onepassword_events::Position;
use opsim::{Fault, SimConfig, Simulator, TokenGrant};

const TOKEN: &str = "pipeline-test-token";
use support::in_process::{self, KEY};

async fn simulator(events: usize) -> Simulator {
    in_process::simulator(TOKEN, events).await
}

fn limits(page_size: u16, batch: usize) -> Limits {
    in_process::limits(page_size, batch, 3)
}

fn pipeline(sim: &Simulator, store: Arc<MemoryStore>, limits: Limits) -> Pipeline {
    in_process::pipeline(sim, TOKEN, store, limits, 5)
}

async fn checkpoint(store: &Arc<MemoryStore>) -> Checkpoint {
    in_process::checkpoint(store.clone()).await
}

/// Every line of every data object, in object-name order.
fn landed(store: &MemoryStore) -> Vec<String> {
    store
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

/// Asserts the store holds every simulator event exactly once, byte-identical.
fn assert_exactly_once(sim: &Simulator, store: &MemoryStore) {
    let expected: Vec<String> = sim
        .events(opsim::Stream::AuditEvents)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    let mut got = landed(store);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for line in &got {
        *counts.entry(line.as_str()).or_default() += 1;
    }
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "{} duplicated lines",
        duplicated.len()
    );
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(got.len(), want.len(), "lost or extra events");
    assert_eq!(got, want, "every event byte-identical");
}

#[tokio::test]
async fn drains_everything_once_in_batches_and_saves_the_cursor() {
    let sim = simulator(2_345).await;
    let store = Arc::new(MemoryStore::new());
    let summary = pipeline(&sim, store.clone(), limits(100, 500)).run().await;
    let stream = &summary.streams[0];
    assert_eq!(stream.outcome, Outcome::Drained);
    assert_eq!(stream.events, 2_345);
    assert_eq!(stream.objects, 5, "500-event batches");
    assert!(stream.newest_event_age_seconds.is_some());
    assert_exactly_once(&sim, &store);
    let cp = checkpoint(&store).await;
    assert!(cp.intent.is_none());
    assert!(matches!(cp.position, Position::Cursor(_)));
    assert_eq!(cp.stats.events_total, 2_345);
    // Each object holds a contiguous run of the log, in the API's order.
    let log: Vec<String> = sim
        .events(opsim::Stream::AuditEvents)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    for (name, data) in store
        .objects()
        .into_iter()
        .filter(|(n, _)| n.starts_with("feed/"))
    {
        let lines: Vec<String> = String::from_utf8(data.to_vec())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let first = log.iter().position(|raw| *raw == lines[0]).unwrap();
        assert_eq!(lines, log[first..first + lines.len()], "{name}");
    }

    // Nothing new: the next run writes nothing and keeps the cursor.
    let writes = store.writes();
    let again = pipeline(&sim, store.clone(), limits(100, 500)).run().await;
    assert_eq!(
        (again.streams[0].events, again.streams[0].outcome.clone()),
        (0, Outcome::Drained)
    );
    assert_eq!(
        store.writes(),
        writes,
        "an empty page with an unchanged cursor writes nothing"
    );

    // New events after the saved cursor are collected next time, once.
    sim.append(opsim::Stream::AuditEvents, 77);
    let more = pipeline(&sim, store.clone(), limits(100, 500)).run().await;
    assert_eq!(more.streams[0].events, 77);
    assert_exactly_once(&sim, &store);
}

#[tokio::test]
async fn a_crash_after_any_step_loses_and_duplicates_nothing() {
    // Crash points: before/after recording the intent, before/after creating the object, before/after
    // committing. A failed write that was not applied is a crash before the step; an applied write
    // that reports failure is a crash after it.
    let faults = [
        MemoryFault::FailWrite(KEY.into()),
        MemoryFault::ApplyThenFailWrite(KEY.into()),
        MemoryFault::FailWrite("feed/".into()),
        MemoryFault::ApplyThenFailWrite("feed/".into()),
        MemoryFault::FailRead(KEY.into()),
    ];
    for fault in faults {
        let sim = simulator(1_000).await;
        let store = Arc::new(MemoryStore::new());
        // First let a few batches land, then crash somewhere in the middle of the stream.
        for _ in 0..3 {
            store.inject(fault.clone());
            let summary = pipeline(&sim, store.clone(), limits(100, 150)).run().await;
            assert!(
                matches!(summary.streams[0].outcome, Outcome::Transient(_)),
                "{fault:?}: {:?}",
                summary.streams[0].outcome
            );
        }
        let summary = pipeline(&sim, store.clone(), limits(100, 150)).run().await;
        assert_eq!(summary.streams[0].outcome, Outcome::Drained, "{fault:?}");
        assert_exactly_once(&sim, &store);
        assert!(checkpoint(&store).await.intent.is_none());
    }
}

#[tokio::test]
async fn recovery_refetches_exactly_the_recorded_batch_even_after_new_events() {
    let sim = simulator(250).await;
    let store = Arc::new(MemoryStore::new());
    // The intent is recorded, then the process dies before the object is created.
    store.inject(MemoryFault::FailWrite("feed/".into()));
    let first = pipeline(&sim, store.clone(), limits(1000, 5000))
        .run()
        .await;
    assert!(matches!(first.streams[0].outcome, Outcome::Transient(_)));
    let pending = checkpoint(&store)
        .await
        .intent
        .expect("an intent is recorded");
    assert_eq!(pending.events, 250);
    // More events arrive: the recovered batch must still hold exactly the recorded 250.
    sim.append(opsim::Stream::AuditEvents, 40);
    let second = pipeline(&sim, store.clone(), limits(1000, 5000))
        .run()
        .await;
    assert_eq!(second.streams[0].outcome, Outcome::Drained);
    assert_eq!(
        store
            .get(&pending.object)
            .unwrap()
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        250
    );
    assert_exactly_once(&sim, &store);
}

#[tokio::test]
async fn concurrent_runs_on_one_store_write_every_event_once() {
    let sim = simulator(3_000).await;
    let store = Arc::new(MemoryStore::new());
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let p = pipeline(&sim, store.clone(), limits(100, 200));
        tasks.push(tokio::spawn(async move { p.run().await }));
    }
    for task in tasks {
        let summary = task.await.unwrap();
        assert!(!summary.has_permanent_failure(), "{summary:?}");
    }
    // A racing run may stop on a transient error; a final run finishes whatever is left.
    pipeline(&sim, store.clone(), limits(100, 200)).run().await;
    assert_exactly_once(&sim, &store);
}

#[tokio::test]
async fn transient_api_errors_are_retried_and_permanent_ones_stop() {
    let sim = simulator(300).await;
    for fault in [
        Fault::TooManyRequests { retry_after: None },
        Fault::ServerError(503),
        Fault::CutBody,
        Fault::MalformedJson,
    ] {
        sim.push_fault(fault);
    }
    let store = Arc::new(MemoryStore::new());
    let summary = pipeline(&sim, store.clone(), limits(100, 100)).run().await;
    assert_eq!(summary.streams[0].outcome, Outcome::Drained);
    assert_exactly_once(&sim, &store);

    // Retries exhausted: transient, state consistent, next run continues.
    let sim = simulator(300).await;
    for _ in 0..5 {
        sim.push_fault(Fault::ServerError(502));
    }
    let store = Arc::new(MemoryStore::new());
    let summary = pipeline(&sim, store.clone(), limits(100, 100)).run().await;
    match &summary.streams[0].outcome {
        Outcome::Transient(failure) => {
            assert_eq!(failure.reason, FailureReason::ApiUnavailable, "{failure:?}")
        }
        other => panic!("expected a transient failure, got {other:?}"),
    }
    assert!(summary.has_transient_failure());
    let summary = pipeline(&sim, store.clone(), limits(100, 100)).run().await;
    assert_eq!(summary.streams[0].outcome, Outcome::Drained);
    assert_exactly_once(&sim, &store);
}

/// The failure of the only stream of `summary`, which must be permanent.
fn permanent(summary: &collector::pipeline::RunSummary) -> &collector::pipeline::Failure {
    match &summary.streams[0].outcome {
        Outcome::Permanent(failure) => failure,
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_without_the_streams_feature_is_diagnosed_as_such_and_writes_nothing() {
    let sim = Simulator::start(SimConfig::new(1).with_token(TokenGrant {
        token: TOKEN.into(),
        features: vec![opsim::Stream::ItemUsages],
        expires_at: None,
    }))
    .await
    .unwrap();
    let store = Arc::new(MemoryStore::new());
    let summary = pipeline(&sim, store.clone(), limits(100, 100)).run().await;
    let failure = permanent(&summary);
    assert_eq!(failure.reason, FailureReason::FeatureMissing, "{failure:?}");
    assert!(
        failure.detail.contains("401") && failure.detail.contains("new token"),
        "{failure:?}"
    );
    assert!(
        !failure.detail.contains(TOKEN),
        "the token never appears in messages"
    );
    assert_eq!(store.writes(), 0);
}

#[tokio::test]
async fn a_token_the_api_does_not_know_is_refused() {
    // The simulator knows only another token: introspection refuses this one too.
    let sim = Simulator::start(
        SimConfig::new(1)
            .with_events(opsim::Stream::AuditEvents, 10)
            .with_token(TokenGrant::all_features("another-token")),
    )
    .await
    .unwrap();
    let store = Arc::new(MemoryStore::new());
    let summary = pipeline(&sim, store.clone(), limits(100, 100)).run().await;
    let failure = permanent(&summary);
    assert_eq!(failure.reason, FailureReason::TokenRefused, "{failure:?}");
    assert!(summary.has_permanent_failure() && !summary.ok());
    assert_eq!(store.writes(), 0);
}

#[tokio::test]
async fn max_records_and_the_budget_stop_with_the_checkpoint_saved() {
    let sim = simulator(1_000).await;
    let store = Arc::new(MemoryStore::new());
    let mut l = limits(100, 100);
    l.max_records = 250;
    let summary = pipeline(&sim, store.clone(), l).run().await;
    assert_eq!(summary.streams[0].outcome, Outcome::MaxRecords);
    assert_eq!(
        summary.streams[0].events, 300,
        "whole batches: stops at the first batch boundary past 250"
    );
    assert_eq!(checkpoint(&store).await.stats.events_total, 300);

    let mut l = limits(100, 100);
    l.budget = Duration::ZERO;
    let summary = pipeline(&sim, store.clone(), l).run().await;
    assert_eq!(summary.streams[0].outcome, Outcome::Budget);
    assert_eq!(summary.streams[0].events, 0);

    let summary = pipeline(&sim, store.clone(), limits(100, 100)).run().await;
    assert_eq!(summary.streams[0].events, 700);
    assert_exactly_once(&sim, &store);
}

// A stop that comes while a batch is written is read_ahead.rs's
// `a_stop_while_writing_discards_the_batches_read_ahead`.
#[tokio::test]
async fn a_stop_requested_before_a_run_writes_nothing_and_loses_nothing() {
    let sim = simulator(500).await;
    let store = Arc::new(MemoryStore::new());
    let p = pipeline(&sim, store.clone(), limits(100, 100));
    p.stop_flag()
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let summary = p.run().await;
    assert_eq!(summary.streams[0].outcome, Outcome::Stopped);
    assert_eq!(store.writes(), 0, "no checkpoint, no object");
    assert_eq!(sim.request_count(), 0, "nothing fetched");
    let rest = pipeline(&sim, store.clone(), limits(100, 100)).run().await;
    assert_eq!(rest.streams[0].events, 500);
}

#[tokio::test]
async fn an_empty_stream_saves_the_first_cursor_so_the_next_run_continues_from_it() {
    let sim = simulator(0).await;
    let store = Arc::new(MemoryStore::new());
    let summary = pipeline(&sim, store.clone(), limits(100, 100)).run().await;
    assert_eq!(summary.streams[0].outcome, Outcome::Drained);
    assert!(matches!(
        checkpoint(&store).await.position,
        Position::Cursor(_)
    ));
    sim.append(opsim::Stream::AuditEvents, 5);
    let next = pipeline(&sim, store.clone(), limits(100, 100)).run().await;
    assert_eq!(next.streams[0].events, 5);
    assert_exactly_once(&sim, &store);
}
