//! `verify`, `status` and `set-token` against the local cloud: the real collector behind the real
//! Pub/Sub emulator's push subscription, writing to fake-gcs-server, read back by the real
//! `gcloud storage`; only Cloud Logging and Cloud Scheduler are simulated (testkit's gcloud shim),
//! and every other gcloud call passes gcloud's own parser. Each verdict is produced by the cloud
//! itself: a token the simulator refuses, a token without the feature, a bucket the collector may
//! not write, a configuration the collector refuses, a run that never happens.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use opsim::{Fault, FaultPlan, SimConfig, Simulator, Stream, TokenGrant};
use testkit::{Access, Deployment, LocalCloud, Reply};

const TOKEN: &str = "local-cloud-token";

fn collector_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| testkit::cargo_bin("collector", "collector"))
}

fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal.yaml");
    std::fs::copy(source, dir.path().join("onepassword-secops.yaml")).unwrap();
    dir
}

struct World {
    cloud: LocalCloud,
    sim: Simulator,
    dir: tempfile::TempDir,
}

impl World {
    async fn new(sim: SimConfig) -> World {
        // Built (once) before anything is timed.
        tokio::task::spawn_blocking(collector_bin).await.unwrap();
        let sim = Simulator::start(sim).await.unwrap();
        let cloud = LocalCloud::start(Deployment::default()).await;
        World {
            cloud,
            sim,
            dir: config_dir(),
        }
    }

    /// A simulator with `events` audit events that accepts [`TOKEN`] for every stream.
    async fn with_events(events: usize) -> World {
        World::new(
            SimConfig::new(21)
                .with_events(Stream::AuditEvents, events)
                .with_token(TokenGrant::all_features(TOKEN)),
        )
        .await
    }

    async fn start_collector(&self, token: &str, extra: &[(&str, &str)]) {
        self.cloud
            .start_collector(collector_bin(), &self.sim.base_url(), token, extra)
            .await;
    }

    /// Runs `provision args…` with the shim first on PATH (blocking: call through `provision`).
    fn provision_blocking(
        path: std::ffi::OsString,
        dir: &Path,
        args: &[&str],
        token: Option<&str>,
    ) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_provision"));
        command
            .args(args)
            .current_dir(dir)
            .env("PATH", path)
            .stdin(Stdio::null());
        match token {
            Some(token) => command.env("OP_BEARER_TOKEN", token),
            None => command.env_remove("OP_BEARER_TOKEN"),
        };
        command.output().unwrap()
    }

    fn provision(
        &self,
        args: &[&str],
        token: Option<&str>,
    ) -> impl std::future::Future<Output = Output> + 'static {
        let path = self.cloud.path_env();
        let dir = self.dir.path().to_path_buf();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let token = token.map(str::to_owned);
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                World::provision_blocking(path, &dir, &args, token.as_deref())
            })
            .await
            .unwrap()
        }
    }

    async fn verify(&self, timeout: u64) -> (Output, serde_json::Value) {
        let timeout = timeout.to_string();
        let out = self
            .provision(
                &[
                    "verify",
                    "--format",
                    "json",
                    "--timeout",
                    &timeout,
                    "--poll",
                    "1",
                ],
                None,
            )
            .await;
        let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out, json)
    }

    fn summaries(&self) -> Vec<serde_json::Value> {
        self.cloud
            .collector_stdout()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l["message"] == "collector run summary")
            .collect()
    }

    /// Publishes a trigger as Cloud Scheduler does and waits for the run's summary.
    async fn trigger_and_wait(&self) -> serde_json::Value {
        let before = self.summaries().len();
        self.cloud
            .pubsub()
            .publish_empty(self.cloud.topic())
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let summaries = self.summaries();
            if summaries.len() > before {
                return summaries[before].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no run within 60 s: {}",
                self.cloud.collector_stdout()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn refused_calls(cloud: &LocalCloud) -> Vec<Vec<String>> {
    cloud
        .calls()
        .into_iter()
        .filter(|c| c.served == "refused")
        .map(|c| c.args)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_lists_exactly_the_objects_the_forced_run_created() {
    let w = World::with_events(150).await;
    w.start_collector(TOKEN, &[("PAGE_SIZE", "50"), ("BATCH_MAX_EVENTS", "50")])
        .await;
    // An earlier run's objects must not count as the forced run's.
    w.trigger_and_wait().await;
    let bucket = &w.cloud.deployment().bucket;
    let before = w.cloud.gcs().list(bucket, "onepassword-audit/").await;
    assert_eq!(before.len(), 3, "{before:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    w.sim.append(Stream::AuditEvents, 100);

    let (out, json) = w.verify(60).await;
    assert!(out.status.success(), "{}\n{json:#}", stderr(&out));
    let stream = &json["streams"][0];
    assert_eq!(stream["verdict"], "ok", "{json:#}");
    assert_eq!(stream["events"], 100);
    let after = w.cloud.gcs().list(bucket, "onepassword-audit/").await;
    let mut expected: Vec<String> = after.into_iter().filter(|n| !before.contains(n)).collect();
    expected.sort();
    let mut listed: Vec<String> = stream["new_objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(expected.len(), 2, "the forced run wrote two batches");
    assert_eq!(
        listed, expected,
        "gcloud storage listed what the run created"
    );
    assert!(refused_calls(&w.cloud).is_empty());
    let calls = w.cloud.calls();
    assert!(calls.iter().any(|c| c.served == "scheduler"));
    assert!(calls.iter().any(|c| c.served == "storage"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_says_ok_no_events_for_a_quiet_account() {
    let w = World::with_events(40).await;
    w.start_collector(TOKEN, &[]).await;
    w.trigger_and_wait().await;
    // Object names carry the second they were created in, and so does the listing's filter.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (out, json) = w.verify(60).await;
    assert!(out.status.success(), "{}\n{json:#}", stderr(&out));
    let stream = &json["streams"][0];
    assert_eq!(stream["verdict"], "ok-no-events", "{json:#}");
    assert!(
        stream["diagnosis"]
            .as_str()
            .unwrap()
            .contains("checkpoint last written"),
        "{json:#}"
    );
    assert_eq!(stream["new_objects"], serde_json::json!([]));
}

async fn failing_verdict(w: &World, timeout: u64) -> serde_json::Value {
    let (out, json) = w.verify(timeout).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failing pipeline exits 1: {}\n{json:#}",
        stderr(&out)
    );
    assert_eq!(json["ok"], false);
    assert!(refused_calls(&w.cloud).is_empty());
    json["streams"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_says_token_refused_when_the_simulator_revokes_the_token() {
    let w = World::with_events(10).await;
    // The simulator accepts only TOKEN: this one is revoked.
    w.start_collector("a-revoked-token", &[]).await;
    let stream = failing_verdict(&w, 60).await;
    assert_eq!(stream["verdict"], "token-refused", "{stream:#}");
    assert!(
        stream["next_step"]
            .as_str()
            .unwrap()
            .contains("provision set-token")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_says_token_missing_feature_for_a_token_without_audit_events() {
    let w = World::new(
        SimConfig::new(22)
            .with_events(Stream::AuditEvents, 10)
            .with_token(TokenGrant {
                token: TOKEN.into(),
                features: vec![Stream::ItemUsages],
                expires_at: None,
            }),
    )
    .await;
    w.start_collector(TOKEN, &[]).await;
    let stream = failing_verdict(&w, 60).await;
    assert_eq!(stream["verdict"], "token-missing-feature", "{stream:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_says_rate_limited_when_the_api_keeps_answering_429() {
    let faults = vec![Fault::TooManyRequests { retry_after: None }; 400];
    let w = World::new(
        SimConfig::new(23)
            .with_events(Stream::AuditEvents, 10)
            .with_token(TokenGrant::all_features(TOKEN))
            .with_faults(FaultPlan::queue(faults)),
    )
    .await;
    // The collector waits out 429s within its run's budget, then stops cleanly with the
    // checkpoint saved: a short budget ends the run within verify's wait.
    w.start_collector(TOKEN, &[("RUN_BUDGET_SECONDS", "15")])
        .await;
    let stream = failing_verdict(&w, 60).await;
    assert_eq!(stream["verdict"], "rate-limited", "{stream:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_says_interrupted_when_the_api_keeps_failing() {
    let faults = vec![Fault::ServerError(502); 400];
    let w = World::new(
        SimConfig::new(24)
            .with_events(Stream::AuditEvents, 10)
            .with_token(TokenGrant::all_features(TOKEN))
            .with_faults(FaultPlan::queue(faults)),
    )
    .await;
    w.start_collector(TOKEN, &[]).await;
    let stream = failing_verdict(&w, 60).await;
    assert_eq!(stream["verdict"], "interrupted", "{stream:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_says_permission_denied_for_a_bucket_the_collector_cannot_write() {
    let w = World::with_events(10).await;
    w.cloud.set_collector_access(Access::ReadOnly);
    w.start_collector(TOKEN, &[]).await;
    let stream = failing_verdict(&w, 60).await;
    assert_eq!(stream["verdict"], "permission-denied", "{stream:#}");
    assert!(
        stream["next_step"]
            .as_str()
            .unwrap()
            .contains("roles/storage.objectUser"),
        "{stream:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_says_invalid_configuration_when_the_collector_cannot_start() {
    let w = World::with_events(10).await;
    // Cloud Run starts an instance for the pushed trigger; this one refuses its settings.
    let verify = w.verify(60);
    let cold_start = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !w.cloud.calls().iter().any(|c| c.served == "scheduler") {
            assert!(Instant::now() < deadline, "verify never forced a run");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        w.start_collector(TOKEN, &[("PAGE_SIZE", "5000")]).await;
    };
    let ((out, json), ()) = tokio::join!(verify, cold_start);
    assert_eq!(out.status.code(), Some(1), "{}\n{json:#}", stderr(&out));
    let stream = &json["streams"][0];
    assert_eq!(stream["verdict"], "invalid-configuration", "{json:#}");
    assert!(
        stream["diagnosis"].as_str().unwrap().contains("PAGE_SIZE"),
        "{json:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_says_no_run_when_no_run_ever_happens() {
    let w = World::with_events(10).await;
    // No collector answers the push subscription.
    let stream = failing_verdict(&w, 6).await;
    assert_eq!(stream["verdict"], "no-run", "{stream:#}");
    assert!(
        stream["next_step"]
            .as_str()
            .unwrap()
            .contains("onepassword-audit-trigger-push")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_the_last_week_and_shows_the_newest_run() {
    let w = World::with_events(100).await;
    w.start_collector(TOKEN, &[]).await;
    w.trigger_and_wait().await;
    w.sim.append(Stream::AuditEvents, 40);
    w.trigger_and_wait().await;
    // Both runs happened three days ago: beyond gcloud's default one-day window, inside the week.
    w.cloud.age_logs(Duration::from_secs(3 * 86_400));
    let out = w.provision(&["status", "--format", "json"], None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stream = &status["streams"][0];
    assert_eq!(
        status["last_run"]["summary"]["streams"][0]["events"], 40,
        "{status:#}"
    );
    assert_eq!(stream["last_run_events"], 40);
    assert_eq!(stream["last_run_outcome"], "drained");
    assert_eq!(stream["events_total"], 140);
    assert_eq!(stream["has_checkpoint"], true);
    // The running collector reports its version; it is this provisioner's release.
    assert!(
        status["collector_version"]
            .as_str()
            .is_some_and(|v| v.starts_with(&format!("{} (", env!("CARGO_PKG_VERSION")))),
        "{status:#}"
    );
    assert_eq!(status["version_warning"], serde_json::Value::Null);
    let text = w.provision(&["status"], None).await;
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(
        table.contains("auditevents") && table.contains("140"),
        "{table}"
    );
    assert!(table.contains("(ok)"), "{table}");

    // Eight days ago is outside the week status reads, and it says so.
    w.cloud.age_logs(Duration::from_secs(5 * 86_400));
    let out = w.provision(&["status"], None).await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("last run: none logged in the last 7 days"),
        "{table}"
    );
    assert!(refused_calls(&w.cloud).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_verify_report_a_permission_error_not_a_missing_checkpoint() {
    let w = World::with_events(20).await;
    w.start_collector(TOKEN, &[]).await;
    w.trigger_and_wait().await;
    w.cloud.set_operator_access(Access::None);
    let out = w.provision(&["status"], None).await;
    assert_eq!(out.status.code(), Some(1));
    let error = stderr(&out);
    assert!(error.contains("permission denied"), "{error}");
    assert!(error.contains("storage.objects.get"), "{error}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("no checkpoint"));

    w.sim.append(Stream::AuditEvents, 5);
    let (out, _) = w.verify(60).await;
    assert_eq!(out.status.code(), Some(1));
    let error = stderr(&out);
    assert!(
        error.contains("permission denied") && error.contains("storage.objects.list"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_a_checkpoint_it_cannot_read() {
    let w = World::with_events(5).await;
    let bucket = &w.cloud.deployment().bucket;
    let newer = r#"{"version":2,"stream":"auditevents","position":{"cursor":"x"},"intent":null,"updated_at":"2026-11-25T00:00:00Z"}"#;
    w.cloud
        .gcs()
        .put(
            bucket,
            "onepassword-secops-state/auditevents.json",
            newer.as_bytes(),
        )
        .await;
    let out = w.provision(&["status"], None).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("unreadable"), "{table}");
    assert!(
        table.contains("format version 2, newer than this collector's 1"),
        "{table}"
    );
    w.cloud
        .gcs()
        .put(
            bucket,
            "onepassword-secops-state/auditevents.json",
            b"{not json",
        )
        .await;
    let out = w.provision(&["status", "--format", "json"], None).await;
    assert_eq!(out.status.code(), Some(1));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        status["streams"][0]["checkpoint_error"]
            .as_str()
            .unwrap()
            .contains("is not valid"),
        "{status:#}"
    );
}

fn jwt_without_expiry(integration: &str) -> String {
    opsim::mint_token(&opsim::TokenClaims {
        aud: vec!["events.1password.com".into()],
        sub: integration.into(),
        iss: "com.1password.b5".into(),
        iat: 1_700_000_000,
        exp: None,
        jti: integration.to_lowercase(),
        features: vec!["auditevents".into()],
        account_uuid: "account".into(),
    })
}

async fn rotation_world() -> (World, String, String) {
    let old = jwt_without_expiry("OLD");
    let new = jwt_without_expiry("NEW");
    let w = World::new(
        SimConfig::new(25)
            .with_events(Stream::AuditEvents, 30)
            .with_token(TokenGrant::all_features(old.clone()))
            .with_token(TokenGrant::all_features(new.clone())),
    )
    .await;
    w.cloud.on(
        &["versions", "list"],
        vec![Reply::ok(
            "projects/123/secrets/onepassword-events-token/versions/1\n",
        )],
    );
    (w, old, new)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_token_does_not_take_a_run_with_the_old_token_as_confirmation() {
    let (w, old, new) = rotation_world().await;
    // A warm instance keeps the token it read at start: runs succeed, with the old token.
    w.start_collector(&old, &[]).await;
    let base = w.sim.base_url();
    let out = w
        .provision(
            &[
                "set-token",
                "--api-base",
                &base,
                "--timeout",
                "8",
                "--poll",
                "1",
                "--format",
                "json",
            ],
            Some(&new),
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rotation: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotation["collector_confirmed"], false);
    assert!(rotation["runs_with_another_token"].as_u64().unwrap() >= 1);
    assert!(stderr(&out).contains("still used the previous token"));
    assert!(
        w.summaries().iter().any(|s| s["ok"] == true),
        "the old token's run did succeed"
    );
    let calls = w.cloud.calls();
    assert!(
        !calls.iter().any(|c| c.args.contains(&"disable".to_owned())),
        "old versions stay enabled"
    );
    assert!(refused_calls(&w.cloud).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_token_confirms_a_run_with_the_new_token_then_disables_old_versions() {
    let (w, _old, new) = rotation_world().await;
    // Scaled to zero: the trigger starts an instance, which reads the newest secret version.
    let base = w.sim.base_url();
    let rotate = w.provision(
        &[
            "set-token",
            "--api-base",
            &base,
            "--timeout",
            "60",
            "--poll",
            "1",
            "--format",
            "json",
        ],
        Some(&new),
    );
    let cold_start = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        let stored = loop {
            if let Some(add) = w.cloud.calls().into_iter().find(|c| {
                c.args
                    .starts_with(&["secrets".into(), "versions".into(), "add".into()])
            }) {
                break add.stdin;
            }
            assert!(
                Instant::now() < deadline,
                "set-token never stored the token"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        w.start_collector(stored.trim(), &[]).await;
    };
    let (out, ()) = tokio::join!(rotate, cold_start);
    assert!(
        out.status.success(),
        "{}\ncollector:\n{}\ncalls: {:#?}",
        stderr(&out),
        w.cloud.collector_stdout(),
        w.cloud.calls()
    );
    let rotation: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotation["collector_confirmed"], true, "{rotation:#}");
    assert_eq!(rotation["disabled_versions"], serde_json::json!(["1"]));
    let fingerprint = onepassword_events::secret::Secret::new(new.clone()).fingerprint();
    assert!(
        w.summaries()
            .iter()
            .any(|s| s["ok"] == true && s["summary"]["token_fingerprint"] == fingerprint.as_str())
    );
    let calls = w.cloud.calls();
    let position = |prefix: &[&str]| {
        calls
            .iter()
            .position(|c| {
                c.args
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .starts_with(prefix)
            })
            .unwrap_or_else(|| panic!("no call {prefix:?}"))
    };
    let add = position(&["secrets", "versions", "add"]);
    let run = position(&["scheduler", "jobs", "run"]);
    let disable = position(&["secrets", "versions", "disable", "1"]);
    assert!(add < run && run < disable, "{calls:#?}");
    assert_eq!(
        calls[add].stdin.trim(),
        new,
        "the token travels on standard input"
    );
    assert!(
        calls
            .iter()
            .all(|c| c.args.iter().all(|a| !a.contains(&new))),
        "never in an argument"
    );
    assert!(refused_calls(&w.cloud).is_empty());
}

/// Two accounts in one deployment: `acme` (the world's simulator, [`TOKEN`]) and `globex` (its own
/// simulator, which knows only `globex_token`); the config lists both.
struct Accounts {
    world: World,
    globex: Simulator,
}

const GLOBEX_TOKEN: &str = "globex-current-token";

impl Accounts {
    async fn new() -> Accounts {
        let world = World::with_events(40).await;
        let config = world.dir.path().join("onepassword-secops.yaml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str("accounts:\n  - name: acme\n  - name: globex\n");
        std::fs::write(&config, text).unwrap();
        let globex = Simulator::start(
            SimConfig::new(31)
                .with_events(Stream::AuditEvents, 25)
                .with_token(TokenGrant::all_features(GLOBEX_TOKEN)),
        )
        .await
        .unwrap();
        Accounts { world, globex }
    }

    /// The collector of both accounts, globex with `globex_token`.
    async fn start_collector(&self, globex_token: &str) {
        let (acme, globex) = (self.world.sim.base_url(), self.globex.base_url());
        self.world
            .cloud
            .start_collector_for_accounts(
                collector_bin(),
                &[("acme", &acme, TOKEN), ("globex", &globex, globex_token)],
                &[],
            )
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_status_judge_each_account_on_its_own() {
    let a = Accounts::new().await;
    // globex's token was revoked: its API refuses it; acme's works.
    a.start_collector("globex-revoked-token").await;
    let w = &a.world;
    let (out, json) = w.verify(60).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let streams = json["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2, "{json:#}");
    assert_eq!(streams[0]["account"], "acme");
    assert_eq!(streams[0]["verdict"], "ok", "{json:#}");
    assert_eq!(streams[0]["events"], 40);
    let objects = streams[0]["new_objects"].as_array().unwrap();
    assert!(
        !objects.is_empty()
            && objects
                .iter()
                .all(|o| o.as_str().unwrap().starts_with("onepassword-audit/acme/")),
        "acme's objects in its folder: {objects:?}"
    );
    assert_eq!(streams[1]["account"], "globex");
    assert_eq!(streams[1]["verdict"], "token-refused", "{json:#}");
    assert!(
        streams[1]["next_step"]
            .as_str()
            .unwrap()
            .contains("provision set-token --account globex"),
        "{json:#}"
    );

    // Only acme: it works, so verify passes.
    let out = w
        .provision(
            &[
                "verify",
                "--account",
                "acme",
                "--format",
                "json",
                "--timeout",
                "60",
                "--poll",
                "1",
            ],
            None,
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["streams"].as_array().unwrap().len(), 1);
    assert_eq!(json["streams"][0]["account"], "acme");

    let out = w.provision(&["status", "--format", "json"], None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let acme = &status["streams"][0];
    assert_eq!(acme["account"], "acme");
    assert_eq!(acme["events_total"], 40, "{status:#}");
    assert_eq!(acme["last_run_outcome"], "drained");
    let globex = &status["streams"][1];
    assert_eq!(globex["account"], "globex");
    assert_eq!(globex["has_checkpoint"], false, "{status:#}");
    assert_eq!(globex["last_run_reason"], "token_refused");
    let text = w.provision(&["status"], None).await;
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(
        table.starts_with("account ") && table.contains("\nglobex  auditevents"),
        "{table}"
    );
    let unknown = w.provision(&["status", "--account", "initech"], None).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown)
            .contains("--account \"initech\" is not in the config's accounts (acme, globex)"),
        "{}",
        stderr(&unknown)
    );
    assert!(refused_calls(&w.cloud).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_token_of_one_account_rotates_its_secret_and_confirms_by_its_runs() {
    let a = Accounts::new().await;
    let w = &a.world;
    w.cloud.on(
        &["versions", "list", "onepassword-events-token-globex"],
        vec![Reply::ok(
            "projects/123/secrets/onepassword-events-token-globex/versions/3\n",
        )],
    );
    let base = a.globex.base_url();
    let rotate = w.provision(
        &[
            "set-token",
            "--account",
            "globex",
            "--api-base",
            &base,
            "--timeout",
            "60",
            "--poll",
            "1",
            "--format",
            "json",
        ],
        Some(GLOBEX_TOKEN),
    );
    // Scaled to zero: the trigger starts an instance, which reads each account's newest version.
    let cold_start = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        let stored = loop {
            if let Some(add) = w.cloud.calls().into_iter().find(|c| {
                c.args
                    .starts_with(&["secrets".into(), "versions".into(), "add".into()])
            }) {
                assert_eq!(add.args[3], "onepassword-events-token-globex", "{add:?}");
                break add.stdin;
            }
            assert!(
                Instant::now() < deadline,
                "set-token never stored the token"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        a.start_collector(stored.trim()).await;
    };
    let (out, ()) = tokio::join!(rotate, cold_start);
    assert!(
        out.status.success(),
        "{}\ncollector:\n{}",
        stderr(&out),
        w.cloud.collector_stdout()
    );
    let rotation: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotation["account"], "globex");
    assert_eq!(rotation["collector_confirmed"], true, "{rotation:#}");
    assert_eq!(rotation["disabled_versions"], serde_json::json!(["3"]));
    let calls = w.cloud.calls();
    let disable = calls
        .iter()
        .find(|c| c.args.contains(&"disable".to_owned()))
        .unwrap();
    assert!(
        disable
            .args
            .windows(2)
            .any(|p| p == ["--secret", "onepassword-events-token-globex"]),
        "{disable:?}"
    );
    // The confirming run's globex part used the new token.
    let fingerprint = onepassword_events::secret::Secret::new(GLOBEX_TOKEN).fingerprint();
    assert!(w.summaries().iter().any(|s| {
        s["summary"]["accounts"].as_array().is_some_and(|accounts| {
            accounts.iter().any(|a| {
                a["account"] == "globex"
                    && a["ok"] == true
                    && a["token_fingerprint"] == fingerprint.as_str()
            })
        })
    }));
    assert!(refused_calls(&w.cloud).is_empty());
}
