//! A tick that arrives while a run is in progress, through the real Pub/Sub emulator's push: the
//! collector answers 200 at once (acknowledged, so never redelivered, where a 429 or 503 would pile
//! up redeliveries), logs that the tick is folded into the running run (its id and elapsed time),
//! and the running run goes on alone: one run, every event exactly once.

use std::time::{Duration, Instant};

use opsim::{SimConfig, Simulator, Stream, TokenGrant};
use testkit::{Deployment, LocalCloud};

const TOKEN: &str = "overlapping-ticks-test-token";
/// The push subscription's acknowledgement deadline in this test (the deployment's is 600 s): a
/// push left unacknowledged would be delivered again within it.
const ACK_DEADLINE_SECONDS: u64 = 10;

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
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Replaces the local cloud's push subscription by one with a short acknowledgement deadline.
async fn short_deadline_subscription(cloud: &LocalCloud) {
    let name = format!("{}-push", cloud.topic());
    let pubsub = cloud.pubsub();
    pubsub.delete_subscription_blocking(&name);
    let url = format!(
        "http://{}/v1/projects/{}/subscriptions/{name}",
        pubsub.host(),
        pubsub.project()
    );
    let body = serde_json::json!({
        "topic": format!("projects/{}/topics/{}", pubsub.project(), cloud.topic()),
        "pushConfig": {"pushEndpoint": cloud.collector_url()},
        "ackDeadlineSeconds": ACK_DEADLINE_SECONDS,
    });
    let response = reqwest::Client::new()
        .put(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_during_a_run_are_acknowledged_and_folded_into_it() {
    // Three pages of 100 events, each answered 2 s late: a run of about 6 s.
    let sim = Simulator::start(
        SimConfig::new(31)
            .with_events(Stream::AuditEvents, 300)
            .with_token(TokenGrant::all_features(TOKEN))
            .with_page_delay(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let cloud = LocalCloud::start(Deployment::default()).await;
    short_deadline_subscription(&cloud).await;
    cloud
        .start_collector(
            std::path::Path::new(env!("CARGO_BIN_EXE_collector")),
            &sim.base_url(),
            TOKEN,
            &[("PAGE_SIZE", "100")],
        )
        .await;
    assert!(cloud.collector_running(), "{}", cloud.collector_stdout());

    let first = cloud.pubsub().publish_empty(cloud.topic()).await.unwrap();
    wait_for(&cloud, "the first run", |c| {
        !lines(c, "run triggered").is_empty()
    })
    .await;
    let second = cloud.pubsub().publish_empty(cloud.topic()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let third = cloud.pubsub().publish_empty(cloud.topic()).await.unwrap();
    wait_for(&cloud, "both ticks folded", |c| {
        lines(c, "a run is in progress; this tick is folded into it").len() >= 2
    })
    .await;
    // The answer itself, asked directly while the run still goes on: 200 at once.
    let asked = Instant::now();
    let answer = reqwest::Client::new()
        .post(cloud.collector_url())
        .body(r#"{"message":{"data":"e30=","messageId":"direct-tick"},"subscription":"s"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    let text = answer.text().await.unwrap();
    assert!(text.contains(&format!("run {first}")), "{text}");
    assert!(
        lines(&cloud, "collector run summary").is_empty(),
        "the run was still going: the ticks overlapped it"
    );

    wait_for(&cloud, "the run's summary", |c| {
        !lines(c, "collector run summary").is_empty()
    })
    .await;
    // Past the acknowledgement deadline: a push that was not acknowledged would be back by now.
    tokio::time::sleep(Duration::from_secs(ACK_DEADLINE_SECONDS + 4)).await;

    let triggered = lines(&cloud, "run triggered");
    assert_eq!(triggered.len(), 1, "one run: {triggered:?}");
    assert_eq!(triggered[0]["id"], first.as_str());
    assert_eq!(triggered[0]["run_id"], first.as_str());
    let folded = lines(&cloud, "a run is in progress; this tick is folded into it");
    let folded_ids: Vec<&str> = folded.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(
        folded_ids,
        [second.as_str(), third.as_str(), "direct-tick"],
        "each tick once, none redelivered: {folded:?}"
    );
    for line in &folded {
        assert_eq!(line["severity"], "INFO", "{line}");
        assert_eq!(line["run_id"], first.as_str(), "{line}");
        let elapsed = line["elapsed_ms"].as_u64().unwrap();
        assert!(elapsed > 0 && elapsed < 10_000, "{line}");
    }
    assert!(
        folded[1]["elapsed_ms"].as_u64() > folded[0]["elapsed_ms"].as_u64(),
        "{folded:?}"
    );
    let summaries = lines(&cloud, "collector run summary");
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert_eq!(summaries[0]["ok"], true);
    assert_eq!(summaries[0]["summary"]["streams"][0]["events"], 300);

    let bucket = &cloud.deployment().bucket;
    let mut landed = Vec::new();
    for name in cloud.gcs().list(bucket, "onepassword-audit/").await {
        let data = cloud.gcs().object(bucket, &name).await.unwrap();
        landed.extend(String::from_utf8(data).unwrap().lines().map(str::to_owned));
    }
    let expected: Vec<String> = sim
        .events(Stream::AuditEvents)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    assert_eq!(landed, expected, "every event exactly once, in order");
}
