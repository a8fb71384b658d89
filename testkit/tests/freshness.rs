//! The freshness driver end to end on a short schedule: ticks through the Pub/Sub emulator's push
//! to the real collector, every appended event found once, and latencies bounded by the schedule.

use std::time::Duration;

use opsim::{AppendRate, Stream};
use testkit::{FreshnessPlan, cargo_bin, run_freshness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_found_once_within_a_period_and_a_run() {
    let plan = FreshnessPlan {
        collector: cargo_bin("collector", "collector"),
        interval: Duration::from_secs(3),
        compression: 1,
        ticks: 4,
        rate: AppendRate::per_second(4.0).unwrap(),
        streams: vec![Stream::AuditEvents, Stream::ItemUsages],
        page_delay: Duration::from_millis(20),
    };
    let report = run_freshness(&plan).await.unwrap();
    assert!(report.appended >= 2 * 4 * 6, "{report}");
    assert_eq!(report.found, report.appended, "{report}");
    assert_eq!(
        (report.lost, report.duplicated, report.unexpected),
        (0, 0, 0)
    );
    assert_eq!(report.runs, 4, "{report}");
    let latency = report.latency.unwrap();
    let run = report.run.unwrap();
    // An event waits at most one period for its tick, then the run.
    assert!(latency.max < 3.0 + run.max + 0.5, "{report}");
    assert!(latency.p50 > 0.0 && run.p50 > 0.0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_scales_the_wait_only() {
    let plan = FreshnessPlan {
        collector: cargo_bin("collector", "collector"),
        interval: Duration::from_secs(3),
        compression: 20,
        ticks: 3,
        rate: AppendRate::per_second(0.2).unwrap(),
        streams: vec![Stream::SignInAttempts],
        page_delay: Duration::ZERO,
    };
    let report = run_freshness(&plan).await.unwrap();
    assert_eq!(report.schedule_seconds, 60.0);
    // 0.2 a second of schedule, appended 20 times faster: 4 a real second.
    assert!(report.appended >= 4 * 5, "{report}");
    assert_eq!(
        (report.found, report.lost, report.duplicated),
        (report.appended, 0, 0)
    );
    let latency = report.latency.unwrap();
    // Waits of up to 3 s real stand for up to 60 s.
    assert!(
        latency.max > 3.0 && latency.max < 60.0 + report.run.unwrap().max + 1.0,
        "{report}"
    );
}
