//! The trigger path through the real Pub/Sub emulator: a push subscription to `collector serve`, and
//! `{}` published as Cloud Scheduler does. The envelope, the redelivery after a 503 and the
//! acknowledgement after a 200 are the emulator's own (the hand-written CloudEvent request of the
//! binary mode stays in `binary.rs`).

use std::time::{Duration, Instant};

use opsim::{Fault, FaultPlan, SimConfig, Simulator, Stream, TokenGrant};
use testkit::{Deployment, LocalCloud};

const TOKEN: &str = "pubsub-push-test-token";

async fn simulator(events: usize, faults: FaultPlan) -> Simulator {
    Simulator::start(
        SimConfig::new(12)
            .with_events(Stream::AuditEvents, events)
            .with_token(TokenGrant::all_features(TOKEN))
            .with_faults(faults),
    )
    .await
    .unwrap()
}

fn lines(cloud: &LocalCloud, message: &str) -> Vec<serde_json::Value> {
    cloud
        .collector_stdout()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == message)
        .collect()
}

async fn wait_for(cloud: &LocalCloud, what: &str, done: impl Fn(&LocalCloud) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(cloud) {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 60 s; collector output:\n{}",
            cloud.collector_stdout()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn landed(cloud: &LocalCloud) -> Vec<String> {
    let bucket = &cloud.deployment().bucket;
    let mut lines = Vec::new();
    for name in cloud.gcs().list(bucket, "onepassword-audit/").await {
        let data = cloud.gcs().object(bucket, &name).await.unwrap();
        lines.extend(String::from_utf8(data).unwrap().lines().map(str::to_owned));
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_trigger_is_pushed_run_and_acknowledged_once() {
    let sim = simulator(300, FaultPlan::none()).await;
    let cloud = LocalCloud::start(Deployment::default()).await;
    cloud
        .start_collector(
            std::path::Path::new(env!("CARGO_BIN_EXE_collector")),
            &sim.base_url(),
            TOKEN,
            &[("PAGE_SIZE", "100")],
        )
        .await;
    assert!(cloud.collector_running(), "{}", cloud.collector_stdout());
    let id = cloud.pubsub().publish_empty(cloud.topic()).await.unwrap();
    wait_for(&cloud, "a run summary", |c| {
        !lines(c, "collector run summary").is_empty()
    })
    .await;
    let triggered = lines(&cloud, "run triggered");
    assert_eq!(triggered[0]["trigger"], "push", "{triggered:?}");
    assert_eq!(triggered[0]["id"], id.as_str());
    let summary = &lines(&cloud, "collector run summary")[0];
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["summary"]["streams"][0]["events"], 300);
    let expected: Vec<String> = sim
        .events(Stream::AuditEvents)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    assert_eq!(landed(&cloud).await, expected, "every event once, in order");
    // One stream summary line per stream per run, with the fields the dashboard's metrics read.
    let streams = lines(&cloud, contract::summary::STREAM_SUMMARY_MESSAGE);
    assert_eq!(streams.len(), 1, "{streams:?}");
    let line: contract::summary::StreamLine = serde_json::from_value(streams[0].clone()).unwrap();
    assert_eq!(
        (
            line.stream,
            line.events,
            line.outcome.as_str(),
            line.account.clone()
        ),
        (contract::Stream::AuditEvents, 300, "ok", None)
    );
    assert!(
        line.newest_event_age_seconds.is_some_and(|age| age >= 0),
        "{line:?}"
    );
    // A 200 acknowledges: the emulator does not deliver the message again.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(lines(&cloud, "run triggered").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_is_redelivered_by_the_emulator_until_a_run_succeeds() {
    // Every request of the first run fails (RETRY_MAX_ATTEMPTS=3 in the local cloud), so the run
    // ends transient and answers 503; the emulator pushes the same message again.
    let faults = FaultPlan::queue(vec![Fault::ServerError(503); 4]);
    let sim = simulator(120, faults).await;
    let cloud = LocalCloud::start(Deployment::default()).await;
    cloud
        .start_collector(
            std::path::Path::new(env!("CARGO_BIN_EXE_collector")),
            &sim.base_url(),
            TOKEN,
            &[],
        )
        .await;
    let id = cloud.pubsub().publish_empty(cloud.topic()).await.unwrap();
    wait_for(&cloud, "a successful run", |c| {
        lines(c, "collector run summary")
            .iter()
            .any(|s| s["ok"] == true)
    })
    .await;
    let summaries = lines(&cloud, "collector run summary");
    assert!(summaries.len() >= 2, "{summaries:?}");
    assert_eq!(summaries[0]["ok"], false);
    assert_eq!(
        summaries[0]["summary"]["streams"][0]["outcome"]["kind"],
        "transient"
    );
    assert_eq!(summaries.last().unwrap()["ok"], true);
    // The failed run's stream line carries the failure's reason as its outcome (the dashboard's
    // runs by outcome and failures by reason), the successful one `ok`.
    let streams = lines(&cloud, contract::summary::STREAM_SUMMARY_MESSAGE);
    assert_eq!(streams.len(), summaries.len(), "{streams:?}");
    assert_eq!(
        streams[0]["outcome"],
        summaries[0]["summary"]["streams"][0]["outcome"]["reason"]
    );
    assert_ne!(streams[0]["outcome"], "ok");
    assert_eq!(streams.last().unwrap()["outcome"], "ok");
    assert_eq!(streams.last().unwrap()["events"], 120);
    let triggered = lines(&cloud, "run triggered");
    assert!(
        triggered.iter().all(|t| t["id"] == id.as_str()),
        "one message, delivered again: {triggered:?}"
    );
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        lines(&cloud, "run triggered").len(),
        summaries.len(),
        "no delivery after the 200"
    );
    let expected: Vec<String> = sim
        .events(Stream::AuditEvents)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    assert_eq!(landed(&cloud).await, expected);
}
