//! The local cloud's `gcloud` shim: storage through the real gcloud against fake-gcs-server (and
//! the permission gate), Cloud Logging's filter terms, order, limit and one-day default freshness,
//! and the real gcloud's parse check in front of canned replies.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use testkit::{Access, Deployment, LocalCloud, Reply};

fn gcloud(cloud: &LocalCloud, args: &[&str]) -> Output {
    Command::new(cloud.bin_dir().join("gcloud"))
        .args(args)
        .env("PATH", cloud.path_env())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn line(message: &str, severity: &str, ago: chrono::Duration) -> String {
    let time = (chrono::Utc::now() - ago).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    serde_json::json!({"severity": severity, "message": message, "time": time, "n": 1}).to_string()
}

async fn cloud_with_logs() -> LocalCloud {
    let cloud = LocalCloud::start(Deployment::default()).await;
    let lines = [
        line("three days ago", "INFO", chrono::Duration::days(3)),
        line("collector run summary", "INFO", chrono::Duration::hours(5)),
        line("an error", "ERROR", chrono::Duration::hours(2)),
        line("collector run summary", "INFO", chrono::Duration::hours(1)),
    ];
    std::fs::write(
        cloud.collector_log("stdout"),
        lines.join("\n") + "\nnot json\n",
    )
    .unwrap();
    cloud
}

fn read(cloud: &LocalCloud, filter: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec![
        "logging",
        "read",
        filter,
        "--format",
        "json",
        "--project",
        "acme-secops-prod",
    ];
    args.extend(extra);
    let out = gcloud(cloud, &args);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn messages(entries: &[serde_json::Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            e["jsonPayload"]["message"]
                .as_str()
                .or(e["textPayload"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_read_serves_cloud_run_entries_with_gclouds_default_one_day_freshness() {
    let cloud = cloud_with_logs().await;
    let service = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"onepassword-audit-collector\"";
    let recent = read(&cloud, service, &[]);
    assert_eq!(
        messages(&recent),
        [
            "not json",
            "collector run summary",
            "an error",
            "collector run summary"
        ],
        "newest first, one day back"
    );
    let entry = &recent[1];
    assert_eq!(entry["severity"], "INFO");
    assert!(entry["jsonPayload"].get("severity").is_none(), "lifted out");
    assert!(entry["jsonPayload"].get("time").is_none(), "lifted out");
    assert_eq!(entry["jsonPayload"]["n"], 1);
    assert_eq!(
        recent[0]["severity"], "DEFAULT",
        "plain text has no severity"
    );

    let week = read(&cloud, service, &["--freshness", "7d"]);
    assert_eq!(week.len(), 5);
    assert_eq!(messages(&week)[4], "three days ago");
    // A filter naming the time gets no freshness term.
    let since = (chrono::Utc::now() - chrono::Duration::days(4)).to_rfc3339();
    let timed = read(&cloud, &format!("timestamp>=\"{since}\""), &[]);
    assert_eq!(timed.len(), 5);

    let errors = read(&cloud, &format!("{service} AND severity>=ERROR"), &[]);
    assert_eq!(messages(&errors), ["an error"]);
    let summaries = read(
        &cloud,
        &format!("{service} AND jsonPayload.message=\"collector run summary\""),
        &["--limit", "1"],
    );
    assert_eq!(summaries.len(), 1);
    let newest =
        chrono::DateTime::parse_from_rfc3339(summaries[0]["timestamp"].as_str().unwrap()).unwrap();
    assert!(chrono::Utc::now() - newest.to_utc() < chrono::Duration::hours(2));
    let other = read(&cloud, "resource.labels.service_name=\"another\"", &[]);
    assert!(other.is_empty());

    let unsupported = gcloud(
        &cloud,
        &[
            "logging",
            "read",
            "severity>=ERROR OR textPayload:x",
            "--format",
            "json",
            "--project",
            "acme-secops-prod",
        ],
    );
    assert_eq!(unsupported.status.code(), Some(3));
    assert!(text(&unsupported).contains("unsupported filter term"));
    let bad_flag = gcloud(&cloud, &["logging", "read", "x", "--bogus"]);
    assert!(!bad_flag.status.success());
    assert!(
        text(&bad_flag).contains("unrecognized arguments"),
        "{}",
        text(&bad_flag)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_commands_pass_gclouds_parser_then_get_canned_replies() {
    let cloud = LocalCloud::start(Deployment::default()).await;
    cloud.on(&["versions", "list"], vec![Reply::ok("versions/3\n")]);
    let listed = gcloud(
        &cloud,
        &[
            "secrets",
            "versions",
            "list",
            "s1",
            "--format",
            "value(name)",
            "--project",
            "p-123456",
        ],
    );
    assert!(listed.status.success(), "{}", text(&listed));
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "versions/3\n");
    let refused = gcloud(
        &cloud,
        &[
            "secrets",
            "versions",
            "list",
            "s1",
            "--bogus-flag",
            "--project",
            "p-123456",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused).contains("unrecognized arguments: --bogus-flag"),
        "{}",
        text(&refused)
    );
    let served: Vec<String> = cloud.calls().into_iter().map(|c| c.served).collect();
    assert_eq!(served, ["canned", "refused"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_goes_to_the_real_gcloud_against_fake_gcs_server_through_the_gate() {
    let cloud = LocalCloud::start(Deployment::default()).await;
    let bucket = cloud.deployment().bucket.clone();
    cloud
        .gcs()
        .put(&bucket, "folder/a.ndjson", b"{\"a\":1}\n")
        .await;
    let url = format!("gs://{bucket}/folder/a.ndjson");
    let cat = gcloud(&cloud, &["storage", "cat", &url, "--project", "p-123456"]);
    assert!(cat.status.success(), "{}", text(&cat));
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "{\"a\":1}\n");
    let listed = gcloud(
        &cloud,
        &[
            "storage",
            "objects",
            "list",
            &format!("gs://{bucket}/folder/**"),
            "--format",
            "json",
            "--project",
            "p-123456",
        ],
    );
    let objects: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(
        objects[0]["creation_time"].is_string(),
        "gcloud's own keys: {objects}"
    );
    let missing = gcloud(
        &cloud,
        &[
            "storage",
            "cat",
            &format!("gs://{bucket}/nope"),
            "--project",
            "p-123456",
        ],
    );
    assert!(
        text(&missing).contains("matched no objects"),
        "{}",
        text(&missing)
    );

    cloud.set_operator_access(Access::None);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let denied = gcloud(&cloud, &["storage", "cat", &url, "--project", "p-123456"]);
    assert!(!denied.status.success());
    assert!(
        text(&denied).contains("does not have storage.objects.get access"),
        "{}",
        text(&denied)
    );
    assert!(cloud.calls().iter().all(|c| c.served == "storage"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_cloud_deletes_its_push_subscription_on_the_shared_emulator() {
    let cloud = LocalCloud::start(Deployment::default()).await;
    let url = format!(
        "http://{}/v1/projects/{}/subscriptions/{}-push",
        cloud.pubsub().host(),
        cloud.pubsub().project(),
        cloud.topic()
    );
    assert!(reqwest::get(&url).await.unwrap().status().is_success());
    drop(cloud);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
}
