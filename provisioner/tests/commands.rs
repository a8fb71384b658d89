//! `plan`, `apply`, `destroy`, `check-token`, `feed-instructions` and `render --check` end to end,
//! with recording stand-ins for `terraform` and `gcloud` on PATH (the real binaries stay the
//! default) and the Events API simulator.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use support::{config_dir, provision, stand_ins, summary};
use testkit::{Call, Reply, StandIns};

const TOKEN: &str = "provision-test-token-value";

fn assert_token_only_on_stdin(calls: &[Call]) {
    for call in calls {
        assert!(
            !call.args.iter().any(|a| a.contains(TOKEN)),
            "token in argv of {call:?}"
        );
        assert!(
            !call.env.values().any(|v| v.contains(TOKEN)),
            "token in env of {call:?}"
        );
        assert!(
            !call.env.contains_key("OP_BEARER_TOKEN"),
            "OP_BEARER_TOKEN passed to {}",
            call.program
        );
    }
}

/// `gcloud` answers as in an empty project: every describe fails (so the script creates
/// everything), except the service URL lookup.
fn nothing_exists_yet(s: &mut StandIns) {
    s.on(
        "gcloud",
        &["describe", "--format"],
        Reply::ok("https://collector-abc-uc.a.run.app\n"),
    );
    s.on("gcloud", &["describe"], Reply::fail(1, "NOT_FOUND\n"));
}

#[test]
fn terraform_apply_runs_the_exact_steps_with_the_token_on_stdin_only() {
    let dir = config_dir("minimal");
    let s = stand_ins();
    let out = provision(
        dir.path(),
        &s,
        &["apply", "--build"],
        Some(&format!("{TOKEN}\n")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = support::without_preflight(s.calls());
    assert_eq!(
        summary(&calls, dir.path()),
        [
            "[deploy/terraform] terraform init -input=false",
            "[deploy/terraform] terraform apply -input=false -auto-approve -target=module.onepassword_secops.google_project_service.required -target=module.onepassword_secops.google_project_service.resource_manager -target=module.onepassword_secops.google_secret_manager_secret.token -target=module.onepassword_secops.google_secret_manager_secret_iam_member.collector_reads_token -target=module.onepassword_secops.google_artifact_registry_repository.collector -target=module.onepassword_secops.google_artifact_registry_repository.releases",
            "[deploy] gcloud secrets versions add onepassword-events-token --project acme-secops-prod --data-file=-",
            "[] gcloud builds submit --project acme-secops-prod --tag us-central1-docker.pkg.dev/acme-secops-prod/onepassword-secops/collector:latest .",
            "[deploy/terraform] terraform apply -input=false -auto-approve",
        ]
    );
    assert_eq!(
        calls[2].stdin, TOKEN,
        "the token reaches gcloud on stdin, trimmed"
    );
    assert!(
        calls
            .iter()
            .all(|c| c.stdin.is_empty() || c.program == "gcloud")
    );
    assert_eq!(
        calls[0].env.get("TF_IN_AUTOMATION").map(String::as_str),
        Some("1")
    );
    assert_token_only_on_stdin(&calls);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[1/5] terraform init")
            && stderr.contains("[5/5] done: create everything else"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("gs://onepassword-audit-secops-logs/onepassword-audit/"),
        "ends with the feed instructions"
    );
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    // The rendered files are on disk and carry no token.
    for file in [
        "deploy/terraform/main.tf",
        "deploy/terraform/modules/onepassword-secops/main.tf",
    ] {
        assert!(
            !std::fs::read_to_string(dir.path().join(file))
                .unwrap()
                .contains(TOKEN)
        );
    }
}

#[test]
fn the_token_can_come_from_the_environment_and_is_not_passed_on() {
    let dir = config_dir("minimal");
    let s = stand_ins();
    let out = Command::new(env!("CARGO_BIN_EXE_provision"))
        .args(["apply", "--build"])
        .current_dir(dir.path())
        .env("PATH", s.path_env())
        .env("OP_BEARER_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = support::without_preflight(s.calls());
    assert_eq!(calls[2].stdin, TOKEN);
    assert_token_only_on_stdin(&calls);
}

#[test]
fn a_failing_step_stops_the_run_and_is_named() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    s.on(
        "gcloud",
        &["secrets", "versions add"],
        Reply::fail(
            1,
            "ERROR: (gcloud.secrets.versions.add) PERMISSION_DENIED\n",
        ),
    );
    let out = provision(dir.path(), &s, &["apply", "--build"], Some(TOKEN));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("step 3/5 \"store the bearer token in Secret Manager\" failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("PERMISSION_DENIED"),
        "the tool's own output streams through: {stderr}"
    );
    assert_eq!(
        support::without_preflight(s.calls()).len(),
        3,
        "nothing runs after the failed step"
    );
}

#[test]
fn a_missing_token_is_refused_before_anything_runs() {
    let dir = config_dir("minimal");
    let s = stand_ins();
    let out = provision(dir.path(), &s, &["apply"], Some(""));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no bearer token"));
    assert!(support::without_preflight(s.calls()).is_empty());
}

#[test]
fn plan_and_destroy_with_terraform() {
    let dir = config_dir("full");
    let s = stand_ins();
    assert!(provision(dir.path(), &s, &["plan"], None).status.success());
    assert!(
        provision(dir.path(), &s, &["destroy"], None)
            .status
            .success()
    );
    assert_eq!(
        summary(&support::without_preflight(s.calls()), dir.path()),
        [
            "[deploy/terraform] terraform init -input=false",
            "[deploy/terraform] terraform plan -input=false -out=tfplan",
            "[deploy/terraform] terraform init -input=false",
            "[deploy/terraform] terraform state list",
            "[deploy/terraform] terraform destroy -input=false -auto-approve",
        ]
    );
}

#[test]
fn gcloud_engine_runs_the_rendered_script_against_gcloud() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    nothing_exists_yet(&mut s);
    let out = provision(
        dir.path(),
        &s,
        &["apply", "--engine", "gcloud", "--build"],
        Some(TOKEN),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = support::without_preflight(s.calls());
    assert_token_only_on_stdin(&calls);
    let lines: Vec<String> = calls
        .iter()
        .map(|c| format!("{} {}", c.program, c.args.join(" ")))
        .collect();
    let position = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {lines:#?}"))
    };
    let created_secret = position("gcloud secrets create onepassword-events-token");
    let token = position("gcloud secrets versions add onepassword-events-token");
    let deployed = position("gcloud run deploy onepassword-audit-collector --image");
    assert!(
        created_secret < token && token < deployed,
        "secret, then its version, then the service"
    );
    assert_eq!(calls[token].stdin, TOKEN);
    for needle in [
        "gcloud storage buckets create gs://onepassword-audit-secops-logs",
        "--public-access-prevention",
        "gcloud iam service-accounts create onepassword-audit-collector-sa",
        "gcloud storage buckets add-iam-policy-binding gs://onepassword-audit-secops-logs",
        "--no-allow-unauthenticated",
        "--ingress internal",
        "--set-secrets OP_BEARER_TOKEN=onepassword-events-token:latest",
        "gcloud run services add-iam-policy-binding onepassword-audit-collector",
        "gcloud pubsub subscriptions create onepassword-audit-trigger-push",
        "--ack-deadline 600",
        "--dead-letter-topic onepassword-audit-trigger-dead-letter",
        "gcloud scheduler jobs create pubsub onepassword-audit-collector-hourly",
    ] {
        position(needle);
    }
    assert!(!lines.iter().any(|l| l.contains("|| true")));
}

#[test]
fn gcloud_engine_updates_what_exists_and_keeps_the_deployed_image() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    s.on(
        "gcloud",
        &["describe", "--format"],
        Reply::ok("https://collector-abc-uc.a.run.app\n"),
    );
    s.on("gcloud", &["describe"], Reply::ok("name: exists\n"));
    s.on(
        "gcloud",
        &["dashboards", "list"],
        Reply::ok("projects/acme-secops-prod/dashboards/7\n"),
    );
    let out = provision(
        dir.path(),
        &s,
        &["apply", "--engine", "gcloud", "--keep-token", "--build"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = s
        .calls()
        .iter()
        .map(|c| format!("{} {}", c.program, c.args.join(" ")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("gcloud run services update onepassword-audit-collector"))
    );
    assert!(
        !lines.iter().any(|l| l.contains("--image")),
        "an existing service keeps its image"
    );
    assert!(
        !lines.iter().any(|l| l.contains(" create ")),
        "nothing is created twice: {lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("secrets versions add")),
        "--keep-token adds no version"
    );
}

#[test]
fn render_check_fails_on_drift() {
    let dir = config_dir("minimal");
    let s = stand_ins();
    assert!(
        provision(dir.path(), &s, &["render"], None)
            .status
            .success()
    );
    let ok = provision(dir.path(), &s, &["render", "--check"], None);
    assert!(ok.status.success());
    let main = dir.path().join("deploy/terraform/main.tf");
    std::fs::write(
        &main,
        std::fs::read_to_string(&main)
            .unwrap()
            .replace("us-central1", "us-east1"),
    )
    .unwrap();
    let drift = provision(dir.path(), &s, &["render", "--check"], None);
    assert_eq!(drift.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&drift.stdout).contains("+  region  = \"us-central1\""));
    assert!(String::from_utf8_lossy(&drift.stderr).contains("differ from a fresh render"));
}

#[test]
fn init_writes_a_starter_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let s = stand_ins();
    assert!(provision(dir.path(), &s, &["init"], None).status.success());
    assert!(
        provision(dir.path(), &s, &["render", "--out", "x"], None)
            .status
            .success()
    );
    let again = provision(dir.path(), &s, &["init"], None);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
}

#[test]
fn feed_instructions_as_text_and_json() {
    let dir = config_dir("full");
    let s = stand_ins();
    let text = provision(dir.path(), &s, &["feed-instructions"], None);
    assert!(String::from_utf8_lossy(&text.stdout).contains("Google Cloud Storage V2"));
    let json = provision(
        dir.path(),
        &s,
        &["feed-instructions", "--format", "json"],
        None,
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["feeds"].as_array().unwrap().len(), 3);
    assert_eq!(value["feeds"][0]["log_type_id"], "ONEPASSWORD_AUDIT_EVENTS");
    assert_eq!(
        value["feeds"][1]["bucket_url"],
        "gs://acme-onepassword-events/onepassword/signins/"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_token_reports_features_expiry_and_missing_streams() {
    let exp = chrono::Utc::now().timestamp() + 30 * 86_400 + 3600;
    let claims = opsim::TokenClaims {
        exp: Some(exp),
        ..opsim::TokenClaims::new("events.1password.com", &["auditevents"], 1_700_000_000)
    };
    let token = opsim::mint_token(&claims);
    let sim = opsim::Simulator::start(opsim::SimConfig::new(4).with_token(opsim::TokenGrant {
        token: token.clone(),
        features: vec![opsim::Stream::AuditEvents],
        expires_at: None,
    }))
    .await
    .unwrap();
    let base = sim.base_url();
    let minimal = config_dir("minimal");
    let full = config_dir("full");
    let (ok, missing) = tokio::task::spawn_blocking(move || {
        let s = stand_ins();
        let run = |dir: &Path| {
            let mut child = Command::new(env!("CARGO_BIN_EXE_provision"))
                .args([
                    "check-token",
                    "--config",
                    "onepassword-secops.yaml",
                    "--api-base",
                    &base,
                    "--format",
                    "json",
                ])
                .current_dir(dir)
                .env("PATH", s.path_env())
                .env("OP_BEARER_TOKEN", &token)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let _ = child.stdin.take();
            child.wait_with_output().unwrap()
        };
        (run(minimal.path()), run(full.path()))
    })
    .await
    .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(report["features"], serde_json::json!(["auditevents"]));
    assert_eq!(report["days_left"], 30);
    assert_eq!(report["integration_uuid"], claims.sub.as_str());
    assert_eq!(report["account_uuid"], claims.account_uuid.as_str());
    assert_eq!(report["token_features"], serde_json::json!(["auditevents"]));
    assert_eq!(report["token_events_api"], "https://events.1password.com");
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("signinattempts, itemusages"), "{stderr}");
}

#[test]
fn deploy_builds_with_cloud_build_tags_with_the_commit_and_rolls_the_service() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    s.on("git", &["rev-parse"], Reply::ok("0123456789ab\n"));
    s.on(
        "gcloud",
        &["services", "describe"],
        Reply::ok("onepassword-audit-collector-00007-xyz\n"),
    );
    s.on(
        "gcloud",
        &["images", "describe"],
        Reply::ok("sha256:feedface\n"),
    );
    let out = provision(
        dir.path(),
        &s,
        &["deploy", "--build", "--format", "json"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let image =
        "us-central1-docker.pkg.dev/acme-secops-prod/onepassword-secops/collector:0123456789ab";
    let calls: Vec<String> = s
        .calls()
        .iter()
        .map(|c| format!("{} {}", c.program, c.args.join(" ")))
        .collect();
    assert_eq!(
        calls,
        [
            "git rev-parse --short=12 HEAD".to_owned(),
            format!("gcloud builds submit --project acme-secops-prod --tag {image} ."),
            format!("gcloud run deploy onepassword-audit-collector --image {image} --project acme-secops-prod --region us-central1 --quiet"),
            "gcloud run services describe onepassword-audit-collector --project acme-secops-prod --region us-central1 --format value(status.latestReadyRevisionName)".to_owned(),
            format!("gcloud artifacts docker images describe {image} --format value(image_summary.digest)"),
        ]
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["revision"], "onepassword-audit-collector-00007-xyz");
    assert_eq!(result["digest"], "sha256:feedface");
}

#[test]
fn a_failed_build_or_rollout_is_reported_by_name() {
    for (needle, step) in [
        ("builds", "build and push the collector image"),
        ("deploy", "roll the Cloud Run service"),
    ] {
        let dir = config_dir("minimal");
        let mut s = stand_ins();
        s.on("gcloud", &[needle], Reply::fail(1, "ERROR: failed\n"));
        let out = provision(
            dir.path(),
            &s,
            &["deploy", "--build", "--tag", "v1.2.3"],
            None,
        );
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(step) && stderr.contains("failed"),
            "{stderr}"
        );
    }
}

#[test]
fn gcloud_engine_grants_the_secops_service_account_read_on_the_bucket_only() {
    let dir = config_dir("full");
    let mut s = stand_ins();
    nothing_exists_yet(&mut s);
    let out = provision(
        dir.path(),
        &s,
        &["apply", "--engine", "gcloud", "--keep-token", "--build"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let grant = "gcloud storage buckets add-iam-policy-binding gs://acme-onepassword-events --project acme-secops-prod --member serviceAccount:chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com --role roles/storage.objectViewer";
    let lines: Vec<String> = s
        .calls()
        .iter()
        .map(|c| format!("{} {}", c.program, c.args.join(" ")))
        .collect();
    assert!(lines.iter().any(|l| l == grant), "{lines:#?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("granted roles/storage.objectViewer"),
        "{stdout}"
    );
    assert!(
        stdout.contains("SIEM Settings > Feeds"),
        "the gcloud engine cannot create feeds: {stdout}"
    );
}

#[test]
fn gcloud_engine_creates_the_alerting_metric_channels_and_policies() {
    let dir = config_dir("full");
    let mut s = stand_ins();
    nothing_exists_yet(&mut s);
    s.on("gcloud", &["channels", "list"], Reply::ok(""));
    s.on(
        "gcloud",
        &["channels", "create"],
        Reply::ok("projects/acme-secops-prod/notificationChannels/555\n"),
    );
    s.on("gcloud", &["policies", "list"], Reply::ok(""));
    let out = provision(
        dir.path(),
        &s,
        &["apply", "--engine", "gcloud", "--keep-token", "--build"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = support::without_preflight(s.calls());
    let lines: Vec<String> = calls
        .iter()
        .map(|c| format!("{} {}", c.program, c.args.join(" ")))
        .collect();
    let enabled = lines
        .iter()
        .position(|l| {
            l == "gcloud services enable logging.googleapis.com monitoring.googleapis.com --project acme-secops-prod"
        })
        .expect("alerting enables the Logging and Monitoring APIs");
    let metric = lines
        .iter()
        .position(|l| {
            l.starts_with("gcloud logging metrics create op-events-collector-successful-runs")
        })
        .expect("the metric is created");
    assert!(enabled < metric);
    assert!(
        lines.iter().any(|l| l.contains("channels create")
            && l.contains("email_address=secops-oncall@acme.example"))
    );
    let policies: Vec<serde_json::Value> = calls
        .iter()
        .filter(|c| c.args.iter().any(|a| a == "create") && c.args.iter().any(|a| a == "policies"))
        .map(|c| {
            serde_json::from_str(c.files.values().next().expect("the policy file"))
                .expect("policy JSON")
        })
        .collect();
    assert_eq!(policies.len(), 3);
    for policy in &policies {
        assert_eq!(
            policy["notificationChannels"],
            serde_json::json!([
                "projects/acme-secops-prod/notificationChannels/1234567890",
                "projects/acme-secops-prod/notificationChannels/555"
            ])
        );
    }
    assert_eq!(
        policies[0]["conditions"][0]["conditionAbsent"]["duration"], "1800s",
        "twice the 15-minute schedule"
    );
    assert!(
        policies[2]["conditions"][0]["conditionMatchedLog"]["filter"]
            .as_str()
            .unwrap()
            .contains("token_days_left<=14")
    );
}

#[test]
fn gcloud_engine_plan_checks_the_script_and_destroy_removes_all_but_the_bucket_newest_first() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    s.on("gcloud", &["describe"], Reply::ok("name: exists\n"));
    let plan = provision(dir.path(), &s, &["plan", "--engine", "gcloud"], None);
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    assert!(
        support::without_preflight(s.calls()).is_empty(),
        "plan with gcloud only checks the script's syntax"
    );
    assert!(String::from_utf8_lossy(&plan.stderr).contains("[1/1] check the gcloud script"));
    // The plan ends with the monthly cost estimate, as `provision cost` prints it.
    let stdout = String::from_utf8_lossy(&plan.stdout);
    let cost = provision(dir.path(), &s, &["cost"], None);
    assert!(cost.status.success());
    let estimate = String::from_utf8_lossy(&cost.stdout);
    assert!(
        estimate.starts_with("Monthly cost estimate for "),
        "{estimate}"
    );
    assert!(stdout.ends_with(estimate.as_ref()), "{stdout}");

    s.on(
        "gcloud",
        &["dashboards", "list"],
        Reply::ok("projects/acme-secops-prod/dashboards/7\n"),
    );
    let destroy = provision(dir.path(), &s, &["destroy", "--engine", "gcloud"], None);
    assert!(
        destroy.status.success(),
        "{}",
        String::from_utf8_lossy(&destroy.stderr)
    );
    let calls = support::without_preflight(s.calls());
    assert!(calls.iter().all(|c| c.cwd.ends_with("deploy")));
    let deletes: Vec<String> = calls
        .iter()
        .filter(|c| c.args.iter().any(|a| a == "delete"))
        .map(|c| c.args[..c.args.iter().position(|a| a == "delete").unwrap() + 2].join(" "))
        .collect();
    assert_eq!(
        deletes,
        [
            // The dashboard first, then the metrics it charts.
            "monitoring dashboards delete projects/acme-secops-prod/dashboards/7",
            "logging metrics delete onepassword-audit-collector-stream-runs",
            "logging metrics delete onepassword-audit-collector-stream-events",
            "logging metrics delete onepassword-audit-collector-newest-event-age",
            "logging metrics delete onepassword-audit-collector-stream-duration",
            "logging metrics delete onepassword-audit-collector-token-days-left",
            "scheduler jobs delete onepassword-audit-collector-hourly",
            "pubsub subscriptions delete onepassword-audit-trigger-push",
            "pubsub topics delete onepassword-audit-trigger",
            "pubsub topics delete onepassword-audit-trigger-dead-letter",
            "run services delete onepassword-audit-collector",
            "artifacts repositories delete onepassword-secops",
            "artifacts repositories delete onepassword-secops-releases",
            "secrets delete onepassword-events-token",
            "iam service-accounts delete onepassword-audit-collector-sa@acme-secops-prod.iam.gserviceaccount.com",
            "iam service-accounts delete onepassword-audit-invoker-sa@acme-secops-prod.iam.gserviceaccount.com",
        ]
    );
    assert!(
        !calls.iter().any(|c| c
            .args
            .iter()
            .any(|a| a.contains("onepassword-audit-secops-logs"))
            && c.args.iter().any(|a| a == "delete")),
        "the bucket and its events are kept"
    );
    assert!(
        String::from_utf8_lossy(&destroy.stdout)
            .contains("kept gs://onepassword-audit-secops-logs")
    );
}

#[test]
fn a_failing_terraform_plan_is_named_and_stops_the_run() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    s.on(
        "terraform",
        &["init"],
        Reply::fail(1, "Error: Failed to query available provider packages\n"),
    );
    let out = provision(dir.path(), &s, &["plan"], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("step 1/2 \"terraform init\" failed")
            && stderr.contains("Failed to query available provider packages"),
        "{stderr}"
    );
    assert_eq!(
        support::without_preflight(s.calls()).len(),
        1,
        "plan does not run after a failed init"
    );
}
