//! The real collector binary against the Events API simulator and a real fake-gcs-server.

mod support;

use std::io::{BufRead as _, BufReader};
use std::time::Duration;

use opsim::Stream;
use support::{BUCKET, CHECKPOINT, PREFIX, TOKEN, World, log_lines, summary};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_lands_every_event_byte_identical_with_the_checkpoint_outside_the_feed() {
    let world = World::new(1_234).await;
    let output = world.run_once(&[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    world.assert_exactly_once().await;

    let line = summary(&output);
    assert_eq!(line["severity"], "INFO");
    assert_eq!(line["summary"]["streams"][0]["stream"], "auditevents");
    assert_eq!(line["summary"]["streams"][0]["events"], 1_234);
    assert_eq!(line["summary"]["streams"][0]["outcome"]["kind"], "drained");
    assert!(line["summary"]["streams"][0]["newest_event_age_seconds"].is_i64());
    assert!(line["summary"]["duration_ms"].is_u64());
    assert_eq!(line["ok"], true);
    assert_eq!(
        line["token_days_left"], -1,
        "a token that is not a JWT has no expiry"
    );

    let checkpoint: serde_json::Value =
        serde_json::from_slice(&world.gcs.object(BUCKET, CHECKPOINT).await.unwrap()).unwrap();
    assert_eq!(checkpoint["version"], 1);
    assert!(checkpoint["position"]["cursor"].is_string());
    assert!(checkpoint["intent"].is_null());
    assert!(
        world
            .gcs
            .list(BUCKET, "")
            .await
            .iter()
            .all(|n| n == CHECKPOINT || n.starts_with(&format!("{PREFIX}/")))
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains(TOKEN),
        "the token is never logged"
    );

    // A second run with nothing new writes nothing.
    let before = world.gcs.list(BUCKET, "").await;
    assert!(world.run_once(&[]).status.success());
    assert_eq!(world.gcs.list(BUCKET, "").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_a_cycle_per_push_or_cloudevent_and_refuses_malformed_triggers() {
    let world = World::new(600).await;
    let port = testkit::free_port();
    let mut child = world.spawn(&["serve"], &[("PORT", &port.to_string())]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let ready = support::healthy(port).await;
    assert!(ready, "the service answers /healthz");

    let push = serde_json::json!({
        "message": {"data": "e30=", "attributes": {}, "messageId": "1", "publishTime": "2026-11-25T00:00:00Z"},
        "subscription": "projects/p/subscriptions/onepassword-audit-trigger"
    });
    let response = http.post(&base).json(&push).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["streams"][0]["events"], 600);

    world.sim.append(Stream::AuditEvents, 25);
    let response = http
        .post(&base)
        .header("ce-id", "2")
        .header("ce-source", "//pubsub.googleapis.com/projects/p/topics/onepassword-audit-trigger")
        .header("ce-specversion", "1.0")
        .header("ce-type", "google.cloud.pubsub.topic.v1.messagePublished")
        .json(&serde_json::json!({"message": {"data": "e30=", "messageId": "2"}, "subscription": "s"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["streams"][0]["events"], 25);

    let bad = http.post(&base).body("{\"hello\":1}").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("no \"message\""));

    // SIGTERM: the service exits cleanly.
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let stdout = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(stdout.contains("shutdown requested"));
    world.assert_exactly_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_an_error_for_the_operator_and_acknowledged_by_serve() {
    let world = World::new(10).await;
    let output = world.run_once(&[("OP_BEARER_TOKEN", "revoked-token")]);
    assert_eq!(output.status.code(), Some(2));
    let errors: Vec<_> = log_lines(&output.stdout)
        .into_iter()
        .filter(|l| l["severity"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "one ERROR line");
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains("issue a new token")
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("revoked-token"));
    assert!(
        world.gcs.list(BUCKET, "").await.is_empty(),
        "nothing written"
    );

    let port = testkit::free_port();
    let mut child = world.spawn(
        &["serve"],
        &[
            ("PORT", &port.to_string()),
            ("OP_BEARER_TOKEN", "revoked-token"),
        ],
    );
    let http = reqwest::Client::new();
    let push =
        serde_json::json!({"message": {"data": "e30=", "messageId": "9"}, "subscription": "s"});
    let mut status = None;
    for _ in 0..200 {
        if let Ok(r) = http
            .post(format!("http://127.0.0.1:{port}/"))
            .json(&push)
            .send()
            .await
        {
            status = Some(r.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        status,
        Some(200),
        "a permanent failure is acknowledged so Pub/Sub does not retry forever"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_answer_503_so_pubsub_redelivers() {
    let world = World::new(10).await;
    for _ in 0..3 {
        world.sim.push_fault(opsim::Fault::ServerError(503));
    }
    let port = testkit::free_port();
    let mut child = world.spawn(
        &["serve"],
        &[("PORT", &port.to_string()), ("RETRY_MAX_ATTEMPTS", "3")],
    );
    let http = reqwest::Client::new();
    let push =
        serde_json::json!({"message": {"data": "e30=", "messageId": "9"}, "subscription": "s"});
    let mut statuses = Vec::new();
    for _ in 0..200 {
        if let Ok(r) = http
            .post(format!("http://127.0.0.1:{port}/"))
            .json(&push)
            .send()
            .await
        {
            statuses.push(r.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    statuses.push(
        http.post(format!("http://127.0.0.1:{port}/"))
            .json(&push)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(statuses, [503, 200]);
    world.assert_exactly_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_configuration_lists_every_problem_and_exits_2() {
    let world = World::new(1).await;
    let output = world.run_once(&[
        ("PAGE_SIZE", "5000"),
        ("OP_API_BASE", "not a url"),
        ("STATE_KEY", "onepassword-audit/state.json"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in ["PAGE_SIZE", "OP_API_BASE", "STATE_KEY", "1..=1000"] {
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }
    assert!(!stderr.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_folder_sink_has_the_bucket_layout() {
    let world = World::new(700).await;
    let dir = tempfile::tempdir().unwrap();
    let sink = format!("file://{}", dir.path().display());
    let output = world
        .collector(&["run-once"])
        .env_remove("GCS_BUCKET")
        .env("SINK_URL", &sink)
        .env("BATCH_MAX_EVENTS", "300")
        .env("PAGE_SIZE", "100")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut files = Vec::new();
    let mut stack = vec![dir.path().join(PREFIX)];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(path).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path)
            } else {
                files.push(path)
            }
        }
    }
    assert_eq!(files.len(), 3, "300-event batches: 300 + 300 + 100");
    let mut lines: Vec<String> = files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut log: Vec<String> = world
        .sim
        .events(Stream::AuditEvents)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    lines.sort();
    log.sort();
    assert_eq!(lines, log);
    assert!(dir.path().join(CHECKPOINT).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_state_continues_the_guides_cursor_without_gap_or_duplicate() {
    let world = World::new(500).await;
    // The Python function had collected the first 200 events and saved its cursor.
    let page: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v2/auditevents", world.sim.base_url()))
        .bearer_auth(TOKEN)
        .body(r#"{"limit":200,"start_time":"2000-01-01T00:00:00Z"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let state = serde_json::json!({"cursor_auditevents": page["cursor"], "last_run": "2026-11-24T00:00:00+00:00"});
    world
        .gcs
        .put(BUCKET, "legacy/state.json", state.to_string().as_bytes())
        .await;

    let import = world
        .collector(&[
            "import-state",
            "--from",
            &format!("gs://{BUCKET}/legacy/state.json"),
        ])
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let again = world
        .collector(&[
            "import-state",
            "--from",
            &format!("gs://{BUCKET}/legacy/state.json"),
        ])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));

    let output = world.run_once(&[]);
    assert!(output.status.success());
    assert_eq!(summary(&output)["summary"]["streams"][0]["events"], 300);
    let landed = world.landed().await;
    let log: Vec<String> = world
        .sim
        .events(Stream::AuditEvents)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    let mut landed_sorted = landed.clone();
    landed_sorted.sort();
    let mut expected = log[200..].to_vec();
    expected.sort();
    assert_eq!(landed_sorted, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_collects_a_window_once_without_touching_the_live_cursor() {
    let world = World::new(1_000).await;
    assert!(world.run_once(&[]).status.success());
    let live_before = world.gcs.object(BUCKET, CHECKPOINT).await.unwrap();
    let log = world.sim.events(Stream::AuditEvents);
    let start = log[100]
        .timestamp
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let end = log[400]
        .timestamp
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let backfill = |world: &World| {
        world
            .collector(&["run-once", "--backfill", "--start", &start, "--end", &end])
            .output()
            .unwrap()
    };
    for attempt in 0..2 {
        let output = backfill(&world);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
        let events = summary(&output)["summary"]["streams"][0]["events"]
            .as_u64()
            .unwrap();
        assert_eq!(
            events,
            if attempt == 0 { 300 } else { 0 },
            "the second run of the same window adds nothing"
        );
    }
    let mut lines = Vec::new();
    for name in world.gcs.list(BUCKET, &format!("{PREFIX}/backfill/")).await {
        lines.extend(
            String::from_utf8(world.gcs.object(BUCKET, &name).await.unwrap())
                .unwrap()
                .lines()
                .map(str::to_owned),
        );
    }
    let expected: Vec<String> = log[100..400].iter().map(|e| e.raw.clone()).collect();
    lines.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "exactly the window, once");
    assert_eq!(
        world.gcs.object(BUCKET, CHECKPOINT).await.unwrap(),
        live_before,
        "the live checkpoint is byte-identical"
    );
    assert_eq!(
        world
            .gcs
            .list(BUCKET, "onepassword-secops-state/backfill/")
            .await
            .len(),
        1
    );

    let bad = world
        .collector(&["run-once", "--backfill", "--start", &end, "--end", &start])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("must be after --start"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_current_batch_then_exits() {
    let world = World::new(2_000).await;
    // Every page takes 150 ms, so the run is mid-way when SIGTERM arrives.
    world.sim.set_faults(opsim::FaultPlan::random(
        1,
        1.0,
        vec![opsim::Fault::Slow(Duration::from_millis(150))],
    ));
    let port = testkit::free_port();
    let mut child = world.spawn(
        &["serve"],
        &[
            ("PORT", &port.to_string()),
            ("PAGE_SIZE", "100"),
            ("BATCH_MAX_EVENTS", "100"),
        ],
    );
    assert!(support::healthy(port).await, "the service answers /healthz");
    let http = reqwest::Client::new();
    let push =
        serde_json::json!({"message": {"data": "e30=", "messageId": "1"}, "subscription": "s"});
    let trigger = tokio::spawn({
        let http = http.clone();
        async move {
            http.post(format!("http://127.0.0.1:{port}/"))
                .json(&push)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let summary = trigger.await.unwrap();
    assert_eq!(
        summary["streams"][0]["outcome"]["kind"], "stopped",
        "{summary}"
    );
    let collected = summary["streams"][0]["events"].as_u64().unwrap();
    assert!(
        collected > 0 && collected < 2_000,
        "stopped mid-way after whole batches: {collected}"
    );
    assert_eq!(collected % 100, 0, "only whole batches");
    assert!(child.wait().unwrap().success());
    let checkpoint: serde_json::Value =
        serde_json::from_slice(&world.gcs.object(BUCKET, CHECKPOINT).await.unwrap()).unwrap();
    assert!(
        checkpoint["intent"].is_null(),
        "the current batch was committed before exiting"
    );
    world.sim.set_faults(opsim::FaultPlan::none());
    assert!(world.run_once(&[]).status.success());
    world.assert_exactly_once().await;
}
