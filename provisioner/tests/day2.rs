//! `verify`, `status` and `set-token` end to end, with a recording `gcloud` stand-in answering
//! realistic canned output for the success path and every failure class.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use contract::Stream;
use contract::summary::{FailureReason, Outcome, RunSummary, StreamSummary, SummaryLine};
use testkit::{Reply, StandIns};

fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal.yaml");
    std::fs::copy(source, dir.path().join("onepassword-secops.yaml")).unwrap();
    dir
}

fn provision(dir: &Path, s: &StandIns, args: &[&str], token: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provision"));
    command
        .args(args)
        .current_dir(dir)
        .env("PATH", s.path_env())
        .stdin(Stdio::null());
    match token {
        Some(token) => command.env("OP_BEARER_TOKEN", token),
        None => command.env_remove("OP_BEARER_TOKEN"),
    };
    command.output().unwrap()
}

/// A `gcloud logging read --format json` answer holding one run summary, built from the
/// contract's own types as the collector builds its line.
fn summary(ok: bool, streams: &[(Stream, u64, Outcome)], token_expires_at: Option<&str>) -> String {
    let streams = streams
        .iter()
        .map(|(stream, events, outcome)| StreamSummary {
            events: *events,
            pages: 1,
            objects: u64::from(*events > 0),
            bytes: events * 800,
            newest_event_age_seconds: Some(42),
            outcome: outcome.clone(),
            ..StreamSummary::new(*stream)
        })
        .collect();
    let line = SummaryLine {
        message: contract::SUMMARY_MESSAGE.into(),
        ok,
        token_days_left: -1,
        collector_version: None,
        token_account: None,
        summary: RunSummary {
            streams,
            duration_ms: 812,
            token_expires_at: token_expires_at
                .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc()),
            token_fingerprint: None,
            accounts: Vec::new(),
        },
    };
    serde_json::json!([{
        "insertId": "abc123",
        "logName": "projects/acme-secops-prod/logs/run.googleapis.com%2Fstdout",
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": "onepassword-audit-collector", "location": "us-central1"}},
        "severity": "INFO",
        "timestamp": "2026-11-25T05:00:03.123456Z",
        "jsonPayload": line,
    }])
    .to_string()
}

/// `answer` with the run's `token_fingerprint` set to `token`'s, as the collector logs it.
fn fingerprinted(answer: &str, token: &str) -> String {
    let mut entries: serde_json::Value = serde_json::from_str(answer).unwrap();
    entries[0]["jsonPayload"]["summary"]["token_fingerprint"] =
        onepassword_events::secret::Secret::new(token)
            .fingerprint()
            .into();
    entries.to_string()
}

/// Runs `provision verify` against the stand-in. A summary arrives on a later poll, so the wait
/// for it is generous (the stand-in's real gcloud parse check is slow on a loaded machine); only
/// a run that never comes waits it out, and [`verify_without_run`] keeps that short.
fn verify_with(
    summary_replies: Vec<Reply>,
    error_reply: Reply,
    extra: impl FnOnce(&mut StandIns),
) -> (Output, StandIns, serde_json::Value) {
    verify_waiting("120", summary_replies, error_reply, extra)
}

/// `provision verify` when no run summary ever comes: it waits 2 s.
fn verify_without_run(error_reply: Reply) -> (Output, StandIns, serde_json::Value) {
    verify_waiting("2", vec![Reply::ok("[]")], error_reply, |_| {})
}

fn verify_waiting(
    timeout: &str,
    summary_replies: Vec<Reply>,
    error_reply: Reply,
    extra: impl FnOnce(&mut StandIns),
) -> (Output, StandIns, serde_json::Value) {
    let dir = config_dir();
    let mut s = StandIns::new();
    s.record_env(&["OP_BEARER_TOKEN"]);
    s.on_seq("gcloud", &["logging", "read", "--limit 1"], summary_replies);
    s.on("gcloud", &["logging", "read", "--limit 10"], error_reply);
    s.on(
        "gcloud",
        &["objects", "list"],
        Reply::ok(
            "onepassword-audit/2026/11/25/auditevents_20261125T050003Z_0123456789abcdef.ndjson\n",
        ),
    );
    extra(&mut s);
    s.add("gcloud");
    let out = provision(
        dir.path(),
        &s,
        &[
            "verify",
            "--format",
            "json",
            "--timeout",
            timeout,
            "--poll",
            "1",
        ],
        None,
    );
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, s, json)
}

#[test]
fn verify_passes_when_a_forced_run_collects_events() {
    let (out, s, json) = verify_with(
        vec![
            Reply::ok("[]"),
            Reply::ok(summary(
                true,
                &[(Stream::AuditEvents, 120, Outcome::Drained)],
                None,
            )),
        ],
        Reply::ok("[]"),
        |_| {},
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let calls = s.calls();
    assert_eq!(
        calls[0].args,
        [
            "scheduler",
            "jobs",
            "run",
            "onepassword-audit-collector-hourly",
            "--location",
            "us-central1",
            "--project",
            "acme-secops-prod"
        ]
    );
    let filter = &calls[1].args[2];
    assert!(
        filter.contains("resource.labels.service_name=\"onepassword-audit-collector\"")
            && filter.contains("collector run summary"),
        "{filter}"
    );
    assert_eq!(json["ok"], true);
    assert_eq!(json["streams"][0]["verdict"], "ok");
    assert_eq!(json["streams"][0]["events"], 120);
    assert_eq!(
        json["streams"][0]["new_objects"][0],
        "onepassword-audit/2026/11/25/auditevents_20261125T050003Z_0123456789abcdef.ndjson"
    );
}

fn failing(outcome: Outcome) -> serde_json::Value {
    let (out, _, json) = verify_with(
        vec![Reply::ok(summary(
            false,
            &[(Stream::AuditEvents, 0, outcome)],
            None,
        ))],
        Reply::ok("[]"),
        |_| {},
    );
    assert_eq!(out.status.code(), Some(1), "a failing pipeline exits 1");
    json["streams"][0].clone()
}

#[test]
fn verify_diagnoses_each_failure_class_by_its_reason_not_its_text() {
    // The same detail for every reason: the verdict comes from the reason alone.
    let detail = "the collector's message, which verify does not read";
    let cases = [
        (
            FailureReason::TokenRefused,
            "token-refused",
            "provision set-token",
        ),
        (
            FailureReason::FeatureMissing,
            "token-missing-feature",
            "auditevents events selected",
        ),
        (
            FailureReason::RateLimited,
            "rate-limited",
            "nothing is lost",
        ),
        (
            FailureReason::StorageDenied,
            "permission-denied",
            "onepassword-audit-collector-sa@acme-secops-prod.iam.gserviceaccount.com roles/storage.objectUser",
        ),
        (
            FailureReason::InvalidConfiguration,
            "invalid-configuration",
            "provision apply",
        ),
        (
            FailureReason::ApiUnavailable,
            "interrupted",
            "nothing is lost",
        ),
        (
            FailureReason::StorageUnavailable,
            "interrupted",
            "Pub/Sub redelivers",
        ),
        (FailureReason::DivergedIntent, "failed", "act on the error"),
        (FailureReason::StorageNotFound, "failed", "provision apply"),
        (FailureReason::Unknown, "failed", "act on the error"),
    ];
    for (reason, verdict, step) in cases {
        let stream = failing(Outcome::failed(reason, detail));
        assert_eq!(stream["verdict"], verdict, "{reason}: {stream:#}");
        assert!(
            stream["next_step"].as_str().unwrap().contains(step),
            "{reason}: {stream:#}"
        );
        assert!(
            stream["diagnosis"].as_str().unwrap().contains(detail),
            "the diagnosis quotes the collector's message: {stream:#}"
        );
    }
    let paused = failing(Outcome::RateLimited {
        resets_at: chrono::Utc::now(),
        detail: detail.into(),
    });
    assert_eq!(paused["verdict"], "rate-limited");
    assert!(
        paused["diagnosis"]
            .as_str()
            .unwrap()
            .contains("stopped cleanly")
    );
    let newer = failing(Outcome::Unknown);
    assert_eq!(newer["verdict"], "failed");
    assert!(
        newer["next_step"]
            .as_str()
            .unwrap()
            .contains("newer than this provision")
    );
}

/// An ERROR line as the collector logs it when it refuses to start.
fn cannot_start(reason: FailureReason, error: &str) -> String {
    serde_json::json!([{
        "severity": "ERROR", "timestamp": "2026-11-25T05:00:01Z",
        "jsonPayload": {
            "message": contract::summary::CANNOT_START_MESSAGE,
            contract::summary::fields::REASON: reason,
            "error": error,
        },
    }])
    .to_string()
}

#[test]
fn verify_reports_a_collector_that_cannot_start() {
    let error = cannot_start(
        FailureReason::InvalidConfiguration,
        "invalid configuration:\n  - PAGE_SIZE: \"5000\" is not a whole number in 1..=1000",
    );
    let (out, _, json) = verify_with(vec![Reply::ok("[]")], Reply::ok(error), |_| {});
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["streams"][0]["verdict"], "invalid-configuration");
    assert!(
        json["streams"][0]["diagnosis"]
            .as_str()
            .unwrap()
            .contains("PAGE_SIZE")
    );
    assert!(
        json["errors"][0]
            .as_str()
            .unwrap()
            .contains("collector cannot start")
    );

    // A token whose claims lack the stream's feature: refused at start-up, by reason.
    let error = cannot_start(
        FailureReason::FeatureMissing,
        "STREAMS: names auditevents, but …",
    );
    let (_, _, json) = verify_with(vec![Reply::ok("[]")], Reply::ok(error), |_| {});
    assert_eq!(json["streams"][0]["verdict"], "token-missing-feature");
}

#[test]
fn verify_reports_no_run_at_all() {
    let (out, _, json) = verify_without_run(Reply::ok("[]"));
    assert_eq!(out.status.code(), Some(1));
    let stream = &json["streams"][0];
    assert_eq!(stream["verdict"], "no-run");
    let next = stream["next_step"].as_str().unwrap();
    for needle in [
        "gcloud scheduler jobs describe onepassword-audit-collector-hourly",
        "onepassword-audit-trigger-push",
        "roles/run.invoker",
        "dead-letter",
    ] {
        assert!(next.contains(needle), "{needle} in {next}");
    }
}

#[test]
fn verify_explains_a_run_without_events() {
    let checkpoint = r#"{"version":1,"stream":"auditevents","position":{"cursor":"abc"},"intent":null,"updated_at":"2026-11-25T04:00:02Z","stats":{"events_total":9000}}"#;
    let (out, _, json) = verify_with(
        vec![Reply::ok(summary(
            true,
            &[(Stream::AuditEvents, 0, Outcome::Drained)],
            None,
        ))],
        Reply::ok("[]"),
        |s| {
            s.on("gcloud", &["storage", "cat"], Reply::ok(checkpoint));
        },
    );
    assert!(out.status.success(), "a quiet account is not a failure");
    let stream = &json["streams"][0];
    assert_eq!(stream["verdict"], "ok-no-events");
    let diagnosis = stream["diagnosis"].as_str().unwrap();
    assert!(
        diagnosis.contains("2026-11-25T04:00:02Z") && diagnosis.contains("24 hours"),
        "{diagnosis}"
    );
}

#[test]
fn status_shows_checkpoints_last_run_and_token_expiry() {
    let dir = config_dir();
    let mut s = StandIns::new();
    let checkpoint = serde_json::json!({
        "version": 1, "stream": "auditevents", "position": {"cursor": "abc"},
        "intent": {"start": {"cursor": "abc"}, "next_cursor": "def", "object": "onepassword-audit/2026/11/25/auditevents_x.ndjson",
                   "events": 10, "bytes": 8000, "xxh3": "00", "recorded_at": "2026-11-25T04:59:00Z"},
        "updated_at": "2026-11-25T04:59:00Z",
        "stats": {"events_total": 123456, "objects_total": 30, "last_commit_at": "2026-11-25T04:00:02Z", "newest_event_at": "2026-11-25T03:58:00Z"},
    });
    s.on(
        "gcloud",
        &[
            "storage",
            "cat",
            "gs://onepassword-audit-secops-logs/onepassword-secops-state/auditevents.json",
        ],
        Reply::ok(checkpoint.to_string()),
    );
    s.on(
        "gcloud",
        &["logging", "read"],
        Reply::ok(summary(
            true,
            &[(Stream::AuditEvents, 57, Outcome::Drained)],
            Some("2026-12-20T00:00:00Z"),
        )),
    );
    let json_out = provision(dir.path(), &s, &["status", "--format", "json"], None);
    assert!(
        json_out.status.success(),
        "{}",
        String::from_utf8_lossy(&json_out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&json_out.stdout).unwrap();
    let stream = &status["streams"][0];
    assert_eq!(stream["events_total"], 123456);
    assert_eq!(
        stream["pending_intent"],
        "onepassword-audit/2026/11/25/auditevents_x.ndjson"
    );
    assert_eq!(stream["last_run_events"], 57);
    assert_eq!(stream["last_run_outcome"], "drained");
    assert_eq!(status["token_expires_at"], "2026-12-20T00:00:00Z");
    assert!(status["token_days_left"].is_i64());
    let text = provision(dir.path(), &s, &["status"], None);
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(
        table.contains("auditevents")
            && table.contains("123456")
            && table.contains("token expires: 2026-12-20"),
        "{table}"
    );
}

async fn simulator_with(features: Vec<opsim::Stream>, exp: i64) -> (opsim::Simulator, String) {
    let token = opsim::mint_token(&opsim::TokenClaims {
        aud: vec![
            "com.1password.streamingservice".into(),
            "events.1password.com".into(),
        ],
        sub: "I".into(),
        iss: "com.1password.b5".into(),
        iat: 1_700_000_000,
        exp: Some(exp),
        features: features.iter().map(|f| f.to_string()).collect(),
        account_uuid: "A".into(),
        jti: "I".into(),
    });
    let sim = opsim::Simulator::start(opsim::SimConfig::new(8).with_token(opsim::TokenGrant {
        token: token.clone(),
        features,
        expires_at: None,
    }))
    .await
    .unwrap();
    (sim, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_token_adds_a_version_on_stdin_confirms_a_run_then_disables_the_old_ones() {
    let exp = chrono::Utc::now().timestamp() + 90 * 86_400;
    let expiry = chrono::DateTime::from_timestamp(exp, 0)
        .unwrap()
        .to_rfc3339();
    let (sim, token) = simulator_with(vec![opsim::Stream::AuditEvents], exp).await;
    let base = sim.base_url();
    let (out, calls) = tokio::task::spawn_blocking(move || {
        let dir = config_dir();
        let mut s = StandIns::new();
        s.record_env(&["OP_BEARER_TOKEN"]);
        s.on("gcloud", &["versions", "list"], Reply::ok("projects/123/secrets/onepassword-events-token/versions/2\nprojects/123/secrets/onepassword-events-token/versions/1\n"));
        let logged = summary(true, &[(Stream::AuditEvents, 3, Outcome::Drained)], Some(&expiry));
        s.on("gcloud", &["logging", "read"], Reply::ok(fingerprinted(&logged, &token)));
        s.add("gcloud");
        let out = provision(dir.path(), &s, &["set-token", "--api-base", &base, "--timeout", "2", "--poll", "1", "--format", "json"], Some(&token));
        (out, s.calls())
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = calls
        .iter()
        .map(|c| format!("{} {}", c.program, c.args.join(" ")))
        .collect();
    let add = lines
        .iter()
        .position(|l| l.starts_with("gcloud secrets versions add onepassword-events-token"))
        .unwrap();
    let run = lines
        .iter()
        .position(|l| l.starts_with("gcloud scheduler jobs run"))
        .unwrap();
    let disable2 = lines
        .iter()
        .position(|l| {
            l.starts_with("gcloud secrets versions disable 2 --secret onepassword-events-token")
        })
        .unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("gcloud secrets versions disable 1 "))
    );
    assert!(
        add < run && run < disable2,
        "add, confirm, then disable: {lines:#?}"
    );
    let token_text = String::from_utf8_lossy(&out.stdout);
    let rotation: serde_json::Value = serde_json::from_str(&token_text).unwrap();
    assert_eq!(rotation["collector_confirmed"], true);
    assert_eq!(rotation["token"]["days_left"], 89);
    assert_eq!(calls[add].stdin.len(), calls[add].stdin.trim().len());
    for call in &calls {
        assert!(!call.env.contains_key("OP_BEARER_TOKEN"));
        assert!(
            call.args
                .iter()
                .all(|a| !a.contains(&call.stdin) || call.stdin.is_empty())
        );
    }
    assert!(!calls[add].stdin.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_token_refuses_a_token_without_a_configured_stream_and_keeps_old_versions_without_a_good_run()
 {
    let exp = chrono::Utc::now().timestamp() + 30 * 86_400;
    let (sim, token) = simulator_with(vec![opsim::Stream::ItemUsages], exp).await;
    let base = sim.base_url();
    let (refused, refused_calls) = {
        let (base, token) = (base.clone(), token.clone());
        tokio::task::spawn_blocking(move || {
            let dir = config_dir();
            let mut s = StandIns::new();
            s.add("gcloud");
            let out = provision(
                dir.path(),
                &s,
                &["set-token", "--api-base", &base],
                Some(&token),
            );
            (out, s.calls())
        })
        .await
        .unwrap()
    };
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot read auditevents"));
    assert!(refused_calls.is_empty(), "nothing is stored");

    let (good_sim, good) = simulator_with(vec![opsim::Stream::AuditEvents], exp).await;
    let base = good_sim.base_url();
    let (out, calls) = tokio::task::spawn_blocking(move || {
        let dir = config_dir();
        let mut s = StandIns::new();
        s.on(
            "gcloud",
            &["versions", "list"],
            Reply::ok("projects/123/secrets/onepassword-events-token/versions/4\n"),
        );
        s.on(
            "gcloud",
            &["logging", "read"],
            Reply::ok(summary(
                false,
                &[(
                    Stream::AuditEvents,
                    0,
                    Outcome::failed(FailureReason::TokenRefused, "401"),
                )],
                None,
            )),
        );
        s.add("gcloud");
        let out = provision(
            dir.path(),
            &s,
            &[
                "set-token",
                "--api-base",
                &base,
                "--timeout",
                "1",
                "--poll",
                "1",
            ],
            Some(&good),
        );
        (out, s.calls())
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("old versions (4) stay enabled"));
    assert!(!calls.iter().any(|c| c.args.contains(&"disable".to_owned())));
    drop(sim);
}
