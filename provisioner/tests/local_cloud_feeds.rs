//! `provision verify` (the real binary) on the local cloud, to its last leg: the SecOps feeds, read
//! from testkit's Chronicle API double (reached through `PROVISION_CHRONICLE_ENDPOINT`, with the
//! token `gcloud auth print-access-token` prints) after the real collector's forced run. Each
//! feed's state (ACTIVE, FAILED with SecOps' failure details, INACTIVE, missing) gives its verdict;
//! a Chronicle API that refuses the caller (403), knows no such instance (404) or does not answer
//! is reported with what to do, and a config without `secops.instance` is not checked at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use opsim::{SimConfig, Simulator, Stream, TokenGrant};
use testkit::{Chronicle, Deployment, LOCAL_ACCESS_TOKEN, LocalCloud, gcs_v2_feed};

const TOKEN: &str = "local-cloud-token";
const INSTANCE: &str =
    "projects/acme-secops-prod/locations/us/instances/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const WITH_INSTANCE: &str = "\
project_id: acme-secops-prod
region: us-central1
streams: [auditevents, signinattempts, itemusages]
secops:
  service_account: chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com
  instance:
    project: acme-secops-prod
    location: us
    customer_id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
";
const BUCKET: &str = "gs://onepassword-audit-secops-logs";

fn collector_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| testkit::cargo_bin("collector", "collector"))
}

struct World {
    cloud: LocalCloud,
    _sim: Simulator,
    chronicle: Chronicle,
    dir: tempfile::TempDir,
}

impl World {
    /// The local cloud with a collector of all three streams, the config `config`, and a Chronicle
    /// API double that holds the config's instance with no feed yet.
    async fn new(config: &str) -> World {
        tokio::task::spawn_blocking(collector_bin).await.unwrap();
        let sim = Simulator::start(
            SimConfig::new(41)
                .with_events(Stream::AuditEvents, 20)
                .with_events(Stream::SignInAttempts, 20)
                .with_events(Stream::ItemUsages, 20)
                .with_token(TokenGrant::all_features(TOKEN)),
        )
        .await
        .unwrap();
        let cloud = LocalCloud::start(Deployment::default()).await;
        cloud
            .start_collector(
                collector_bin(),
                &sim.base_url(),
                TOKEN,
                &[("STREAMS", "auditevents,signinattempts,itemusages")],
            )
            .await;
        let chronicle = Chronicle::start(LOCAL_ACCESS_TOKEN);
        chronicle.create_instance(INSTANCE);
        let dir = tempfile::tempdir().unwrap();
        let w = World {
            cloud,
            _sim: sim,
            chronicle,
            dir,
        };
        w.write_config(config);
        w
    }

    fn write_config(&self, config: &str) {
        std::fs::write(self.dir.path().join("onepassword-secops.yaml"), config).unwrap();
    }

    /// `provision verify [--format json]` against `endpoint` (the double's by default).
    async fn verify(&self, json: bool, endpoint: Option<String>) -> Output {
        let path = self.cloud.path_env();
        let dir = self.dir.path().to_path_buf();
        let endpoint = endpoint.unwrap_or_else(|| self.chronicle.endpoint());
        tokio::task::spawn_blocking(move || {
            let mut command = Command::new(env!("CARGO_BIN_EXE_provision"));
            command.args(["verify", "--timeout", "60", "--poll", "1"]);
            if json {
                command.args(["--format", "json"]);
            }
            command
                .current_dir(dir)
                .env("PATH", path)
                .env("PROVISION_CHRONICLE_ENDPOINT", endpoint)
                .env_remove("OP_BEARER_TOKEN")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }

    async fn verify_json(&self) -> (Output, serde_json::Value) {
        let out = self.verify(true, None).await;
        let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out, json)
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Checks that every stream's run worked, so the verdict is the feeds' alone, and that the token
/// never shows.
fn streams_ok_token_hidden(out: &Output, json: &serde_json::Value) {
    let streams = json["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 3, "{json:#}");
    assert!(
        streams.iter().all(|s| s["ok"] == true),
        "{}\n{json:#}",
        stderr(out)
    );
    for text in [&out.stdout, &out.stderr] {
        assert!(!String::from_utf8_lossy(text).contains(LOCAL_ACCESS_TOKEN));
    }
}

fn feed_part(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let start = text.find("SecOps feeds").expect("a feeds part");
    let end = text.rfind("\nthe pipeline").expect("a verdict line");
    text[start..end].to_owned()
}

fn failed_with_details() -> serde_json::Value {
    let mut feed = gcs_v2_feed(
        "1Password Sign-in Attempts Logs",
        &format!("{BUCKET}/onepassword-signinattempts/"),
        "FAILED",
    );
    feed["failureMsg"] = "Failed to list objects in the bucket.".into();
    feed["failureDetails"] = serde_json::json!({
        "errorCode": "GCS_PERMISSION_DENIED",
        "httpErrorCode": 403,
        "errorCause": "The service account cannot read the source bucket.",
        "errorAction": "Grant the service account read access to the bucket."
    });
    feed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_each_feed_state_and_passes_only_when_every_feed_works() {
    let w = World::new(WITH_INSTANCE).await;
    // Two feeds a page, so the three feeds take two pages.
    w.chronicle.limit_pages(2);
    let audit = w.chronicle.add_feed(
        INSTANCE,
        gcs_v2_feed(
            "1Password Audit Events Logs",
            &format!("{BUCKET}/onepassword-audit/"),
            "ACTIVE",
        ),
    );
    w.chronicle.add_feed(INSTANCE, failed_with_details());
    // A feed of another source, which must not be taken for the item usages' one.
    w.chronicle.add_feed(
        INSTANCE,
        gcs_v2_feed("Okta", "gs://another-bucket/okta/", "ACTIVE"),
    );

    let (out, json) = w.verify_json().await;
    streams_ok_token_hidden(&out, &json);
    assert_eq!(out.status.code(), Some(1), "a failed feed fails verify");
    assert_eq!(json["ok"], false);
    let feeds = &json["feeds"];
    assert_eq!(feeds["check"], "checked", "{feeds:#}");
    let verdicts: Vec<(&str, &str)> = feeds["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["stream"].as_str().unwrap(),
                f["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("auditevents", "ok"),
            ("signinattempts", "failed"),
            ("itemusages", "missing")
        ]
    );
    assert_eq!(feeds["feeds"][0]["feed"], audit.as_str());
    let failed = &feeds["feeds"][1];
    assert_eq!(failed["failure_details"]["httpErrorCode"], 403);
    let step = failed["next_step"].as_str().unwrap();
    assert!(
        step.contains("roles/storage.objectViewer")
            && step.contains("chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com")
            && step.contains("feed-instructions"),
        "{step}"
    );
    assert!(
        feeds["feeds"][2]["next_step"]
            .as_str()
            .unwrap()
            .contains("provision feed-instructions")
    );
    insta::assert_json_snapshot!("verify_feeds_json", feeds);

    // The requests: the list path, the caller's token, the API's largest page, then the next page.
    let requests = w.chronicle.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests[0]
            .target
            .starts_with(&format!("/v1/{INSTANCE}/feeds?pageSize=1000"))
    );
    assert!(requests[1].target.contains("pageToken=page-2"));
    assert!(requests.iter().all(|r| r.method == "GET"
        && r.header("authorization") == Some(&format!("Bearer {LOCAL_ACCESS_TOKEN}"))));

    let text = w.verify(false, None).await;
    assert_eq!(text.status.code(), Some(1));
    insta::assert_snapshot!("verify_feeds_text", feed_part(&text.stdout));

    // Fixed by hand: the sign-in feed disabled meanwhile, the item usages' feed created.
    w.chronicle.set_state(INSTANCE, 1, "INACTIVE");
    w.chronicle.add_feed(
        INSTANCE,
        gcs_v2_feed(
            "1Password Item Usages Logs",
            &format!("{BUCKET}/onepassword-itemusages/"),
            "SUCCEEDED",
        ),
    );
    let (out, json) = w.verify_json().await;
    streams_ok_token_hidden(&out, &json);
    assert_eq!(out.status.code(), Some(1), "an inactive feed fails verify");
    assert_eq!(json["feeds"]["feeds"][1]["verdict"], "inactive");
    assert!(
        json["feeds"]["feeds"][1]["next_step"]
            .as_str()
            .unwrap()
            .contains("Enable Feed")
    );
    assert_eq!(json["feeds"]["feeds"][2]["verdict"], "ok");

    w.chronicle.set_state(INSTANCE, 1, "ACTIVE");
    let (out, json) = w.verify_json().await;
    streams_ok_token_hidden(&out, &json);
    assert!(out.status.success(), "every feed works: {json:#}");
    assert_eq!(json["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_says_what_to_do_when_the_chronicle_api_cannot_be_read() {
    let w = World::new(WITH_INSTANCE).await;

    // Without secops.instance the feeds were made by hand: not checked, not a failure.
    w.write_config(&WITH_INSTANCE.replace("  instance:\n    project: acme-secops-prod\n    location: us\n    customer_id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n", ""));
    let (out, json) = w.verify_json().await;
    streams_ok_token_hidden(&out, &json);
    assert!(out.status.success(), "{json:#}");
    assert_eq!(json["feeds"]["check"], "not-configured");
    assert!(
        json["feeds"]["note"]
            .as_str()
            .unwrap()
            .contains("SIEM Settings > Feeds")
    );
    assert!(w.chronicle.requests().is_empty());
    w.write_config(WITH_INSTANCE);

    // The caller lacks chronicle.feeds.list.
    w.chronicle.deny(true);
    let (out, json) = w.verify_json().await;
    streams_ok_token_hidden(&out, &json);
    assert_eq!(out.status.code(), Some(1));
    let feeds = &json["feeds"];
    assert_eq!(feeds["check"], "unavailable", "{feeds:#}");
    assert!(
        feeds["error"]
            .as_str()
            .unwrap()
            .contains("lacks chronicle.feeds.list"),
        "{feeds:#}"
    );
    assert!(
        feeds["next_step"]
            .as_str()
            .unwrap()
            .contains("roles/chronicle.viewer"),
        "{feeds:#}"
    );
    let text = w.verify(false, None).await;
    insta::assert_snapshot!("verify_feeds_denied_text", feed_part(&text.stdout));
    w.chronicle.deny(false);

    // Another instance than the one the API holds.
    w.write_config(&WITH_INSTANCE.replace(
        "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "ffffffff-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    ));
    let (out, json) = w.verify_json().await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["feeds"]["check"], "unavailable");
    assert!(
        json["feeds"]["next_step"]
            .as_str()
            .unwrap()
            .contains("check secops.instance"),
        "{json:#}"
    );
    w.write_config(WITH_INSTANCE);

    // Nothing listens at the endpoint.
    let closed = format!("http://127.0.0.1:{}/", testkit::free_port());
    let out = w.verify(true, Some(closed.clone())).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    streams_ok_token_hidden(&out, &json);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["feeds"]["check"], "unavailable");
    assert!(
        json["feeds"]["error"]
            .as_str()
            .unwrap()
            .contains(&format!("the Chronicle API at {closed} cannot be reached")),
        "{json:#}"
    );
}
