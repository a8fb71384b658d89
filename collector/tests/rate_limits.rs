//! The Events API's rate limits through the real binary: 429s without `Retry-After` are waited
//! out past the retry limit, an HTTP-date `Retry-After` is honoured, and a spent hourly budget
//! stops the run cleanly, checkpoint saved, saying when it resets.

mod support;

use std::time::Duration;

use opsim::{Fault, RateLimits, RetryAfter, SimConfig, Stream};
use support::{CHECKPOINT, World, log_lines, summary};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_429s_without_retry_after_are_waited_out_not_counted_as_failures() {
    let world = World::new(120).await;
    for _ in 0..6 {
        world
            .sim
            .push_fault(Fault::TooManyRequests { retry_after: None });
    }
    let output = world.run_once(&[("RETRY_MAX_ATTEMPTS", "2"), ("PAGE_SIZE", "50")]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(summary(&output)["events"], 120);
    world.assert_exactly_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_given_as_an_http_date_is_honoured() {
    let world = World::new(30).await;
    world
        .sim
        .push_fault(Fault::TooManyRequestsUntil(Duration::from_millis(1500)));
    let output = world.run_once(&[]);
    assert_eq!(output.status.code(), Some(0));
    let line = summary(&output);
    // The date is rounded up to a whole second ahead: the run waited at least a second for it,
    // where backoff alone (RETRY_BASE_MILLIS=5) would have retried at once.
    assert!(line["duration_ms"].as_u64().unwrap() >= 1000, "{line}");
    world.assert_exactly_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_hourly_budget_stops_the_run_cleanly_and_says_when_it_resets() {
    let world = World::with(
        SimConfig::new(5)
            .with_events(Stream::AuditEvents, 100)
            .with_rate_limits(RateLimits {
                per_minute: 600,
                per_hour: 4,
            })
            .with_retry_after(RetryAfter::HttpDate),
    )
    .await;
    let small = [("PAGE_SIZE", "10"), ("BATCH_MAX_EVENTS", "10")];
    let output = world.run_once(&small);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let line = summary(&output);
    let stream = &line["summary"]["streams"][0];
    assert_eq!(stream["outcome"]["kind"], "rate_limited", "{line}");
    let resets_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(stream["outcome"]["resets_at"].clone()).unwrap();
    let ahead = resets_at - chrono::Utc::now();
    assert!(ahead > chrono::Duration::minutes(55), "{ahead}");
    let reason = stream["outcome"]["detail"].as_str().unwrap();
    assert!(
        reason.contains("hourly request limit (30,000)") && reason.contains("checkpoint saved"),
        "{reason}"
    );
    let warning = log_lines(&output.stdout)
        .into_iter()
        .find(|l| l["severity"] == "WARNING" && l["resets_at"].is_string())
        .expect("a WARNING saying when the limit resets");
    assert_eq!(warning["stream"], "auditevents");
    assert!(
        log_lines(&output.stdout)
            .iter()
            .all(|l| l["severity"] != "ERROR")
    );

    // What the four requests brought is committed, once, with the checkpoint after it.
    let committed = line["events"].as_u64().unwrap() as usize;
    assert!(committed > 0 && committed < 100, "{committed}");
    let log = world.sim.events(Stream::AuditEvents);
    let mut landed = world.landed().await;
    let mut expected: Vec<String> = log[..committed].iter().map(|e| e.raw.clone()).collect();
    landed.sort_unstable();
    expected.sort_unstable();
    assert_eq!(landed.len(), committed);
    assert!(landed == expected, "the committed events, each once");
    let checkpoint = world.gcs.object(support::BUCKET, CHECKPOINT).await.unwrap();
    let checkpoint: serde_json::Value = serde_json::from_slice(&checkpoint).unwrap();
    assert!(checkpoint["intent"].is_null(), "{checkpoint}");
    assert_eq!(checkpoint["stats"]["events_total"], committed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retry_after_the_run_waits_until_its_budget_ends_then_stops_cleanly() {
    let world = World::with(
        SimConfig::new(6)
            .with_events(Stream::AuditEvents, 100)
            .with_rate_limits(RateLimits {
                per_minute: 600,
                per_hour: 3,
            })
            .with_retry_after(RetryAfter::Omitted),
    )
    .await;
    let started = std::time::Instant::now();
    let output = world.run_once(&[
        ("PAGE_SIZE", "10"),
        ("BATCH_MAX_EVENTS", "10"),
        ("RUN_BUDGET_SECONDS", "5"),
        ("RETRY_MAX_ATTEMPTS", "2"),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "it waited through its budget"
    );
    assert!(
        world.sim.request_count() > 3 + 2,
        "more 429s than RETRY_MAX_ATTEMPTS"
    );
    let line = summary(&output);
    let outcome = &line["summary"]["streams"][0]["outcome"];
    assert_eq!(outcome["kind"], "rate_limited", "{line}");
    let reason = outcome["detail"].as_str().unwrap();
    assert!(
        reason.contains("requests can resume by"),
        "an upper bound, not a promise: {reason}"
    );
    let committed = line["events"].as_u64().unwrap() as usize;
    assert_eq!(world.landed().await.len(), committed);
}
