//! `provision preflight` (the real binary) on the local cloud: the project's billing, enabled APIs
//! and effective organisation policies come from testkit's gcloud shim, whose canned answers have
//! the shapes of Google's references, and the caller's permissions from testkit's Resource
//! Manager double, reached through gcloud's own `api_endpoint_overrides/cloudresourcemanager`:
//!
//! - ProjectBillingInfo: https://cloud.google.com/billing/docs/reference/rest/v1/ProjectBillingInfo
//! - Service Usage `Service`: https://cloud.google.com/service-usage/docs/reference/rest/v1/services#Service
//! - Org Policy v2 `Policy`: https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/organizations.policies#Policy
//! - `projects.testIamPermissions`: https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions
//!
//! A blocked project gets every blocker with its fix and a non-zero exit, and the emulated project
//! (bucket objects on fake-gcs-server, topics and subscriptions on the Pub/Sub emulator, the shim's
//! scheduler, logging and canned state, the granted permissions) is the same after as before; the
//! same project, unblocked, passes.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use provisioner::preflight::permissions::{GCLOUD, TERRAFORM, VERIFIED};
use testkit::{CloudProject, Deployment, LOCAL_ACCESS_TOKEN, LocalCloud};

/// The minimal example with the options whose organisation policies the preflight reads: the
/// SecOps feed's read grant (domain-restricted sharing) and GitHub deploys (pool providers).
const CONFIG: &str = "\
project_id: acme-secops-prod
region: us-central1
secops:
  service_account: chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com
github:
  repository: acme/onepassword-secops
";

const PROJECT: &str = "acme-secops-prod";

fn every_permission() -> Vec<String> {
    TERRAFORM
        .iter()
        .chain(GCLOUD)
        .flat_map(|(_, p)| p.iter().map(|p| (*p).to_owned()))
        .collect()
}

async fn preflight(cloud: &LocalCloud, dir: &Path, args: &[&str]) -> Output {
    let path = cloud.path_env();
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_provision"))
            .arg("preflight")
            .args(&args)
            .current_dir(dir)
            .env("PATH", path)
            // The endpoint comes from gcloud's property, as the shim answers it.
            .env_remove("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER")
            .env_remove("OP_BEARER_TOKEN")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

async fn get(http: &reqwest::Client, url: String) -> serde_json::Value {
    let answer = http.get(&url).send().await.unwrap();
    assert!(answer.status().is_success(), "{url}: {}", answer.status());
    answer.json().await.unwrap()
}

/// Everything the local cloud holds, read only: every bucket and its objects' metadata on
/// fake-gcs-server, the emulator's topics and subscriptions, the shim's configuration (scheduler
/// jobs, logging sources, canned project, rules), the service's logs, and the granted permissions.
async fn snapshot(cloud: &LocalCloud) -> serde_json::Value {
    let http = reqwest::Client::new();
    let gcs = cloud.gcs().endpoint();
    let buckets = get(&http, format!("{gcs}/storage/v1/b?project={PROJECT}")).await;
    let mut objects = serde_json::Map::new();
    for bucket in buckets["items"].as_array().into_iter().flatten() {
        let name = bucket["name"].as_str().unwrap();
        objects.insert(
            name.to_owned(),
            get(&http, format!("{gcs}/storage/v1/b/{name}/o")).await,
        );
    }
    let pubsub = format!(
        "http://{}/v1/projects/{}",
        cloud.pubsub().host(),
        cloud.pubsub().project()
    );
    let logs: Vec<String> = ["stdout", "stderr"]
        .iter()
        .map(|s| std::fs::read_to_string(cloud.collector_log(s)).unwrap_or_default())
        .collect();
    serde_json::json!({
        "buckets": buckets,
        "objects": objects,
        "topics": get(&http, format!("{pubsub}/topics")).await,
        "subscriptions": get(&http, format!("{pubsub}/subscriptions")).await,
        "shim": cloud.shim_config(),
        "logs": logs,
        "granted": cloud.resource_manager().granted(),
    })
}

fn kinds(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["detail"]["finding"].as_str().unwrap().to_owned())
        .collect()
}

fn finding<'a>(report: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["detail"]["finding"] == kind)
        .collect()
}

// One test (the Pub/Sub emulator is shared by the binary's tests: nothing else may create topics
// between the two snapshots).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_reports_every_blocker_with_its_fix_changes_nothing_and_passes_once_fixed() {
    let cloud = LocalCloud::start(Deployment::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("onepassword-secops.yaml"), CONFIG).unwrap();
    let bucket = cloud.deployment().bucket.clone();
    cloud
        .gcs()
        .put(
            &bucket,
            "onepassword-audit/2026/12/04/earlier.jsonl",
            b"{}\n",
        )
        .await;
    std::fs::write(cloud.collector_log("stdout"), "{\"message\":\"earlier\"}\n").unwrap();

    // The blocked project: billing off, the Cloud Run API off and the caller may not enable
    // APIs, a permission missing, locations in the EU only, domain-restricted sharing, pool
    // providers without GitHub's issuer, ingress restricted to `all`.
    let manager = cloud.resource_manager();
    // Resource Manager knows the verified names only: a name it does not know would fail the
    // whole check (a warning, not the findings below).
    manager.know_only(VERIFIED.iter().copied());
    manager.grant(
        PROJECT,
        every_permission()
            .into_iter()
            .filter(|p| p != "serviceusage.services.enable" && p != "cloudscheduler.jobs.create"),
    );
    cloud.set_project(
        CloudProject::clean()
            .without_billing()
            .with_api_disabled("run.googleapis.com")
            .allowing_only("gcp.resourceLocations", &["in:eu-locations"])
            .allowing_only("iam.allowedPolicyMemberDomains", &["C0abc123de"])
            .allowing_only(
                "iam.workloadIdentityPoolProviders",
                &["https://sts.windows.net/"],
            )
            .allowing_only("run.allowedIngress", &["is:all"]),
    );

    let before = snapshot(&cloud).await;
    // The snapshot sees what is there.
    assert_eq!(
        before["objects"][&bucket]["items"].as_array().map(Vec::len),
        Some(1)
    );
    let topics = before["topics"].to_string();
    assert!(topics.contains(cloud.topic()), "{topics}");
    assert!(
        before["subscriptions"]
            .to_string()
            .contains(&format!("{}-push", cloud.topic()))
    );
    assert_eq!(before["shim"]["cloud_project"]["billing_enabled"], false);
    let out = preflight(&cloud, dir.path(), &["--format", "json"]).await;
    let text = preflight(&cloud, dir.path(), &[]).await;
    let after = snapshot(&cloud).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(text.status.code(), Some(1));
    assert_eq!(before, after, "the preflight changed the emulated project");

    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false, "{report:#}");
    let found = kinds(&report);
    let mut distinct = found.clone();
    distinct.dedup();
    assert_eq!(
        distinct,
        [
            "missing-permissions",
            "billing-disabled",
            "apis-disabled",
            "location-restricted",
            "ingress-not-allowed",
            "domain-restricted",
            "issuer-not-allowed",
        ],
        "{report:#}"
    );
    // Missing permissions are reported per phase that needs them.
    let phases: Vec<&str> = finding(&report, "missing-permissions")
        .iter()
        .map(|f| f["detail"]["phase"].as_str().unwrap())
        .collect();
    assert!(
        !phases.is_empty() && phases.len() == found.len() - 7,
        "{phases:?}"
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["blocking"] == true)
    );
    // Each with what is wrong and the fix for it.
    let missing = finding(&report, "missing-permissions");
    let named: Vec<String> = missing
        .iter()
        .flat_map(|f| f["detail"]["permissions"].as_array().unwrap().clone())
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    assert!(
        named.contains(&"cloudscheduler.jobs.create".to_owned()),
        "{named:?}"
    );
    assert!(
        named.contains(&"serviceusage.services.enable".to_owned()),
        "{named:?}"
    );
    assert!(
        missing[0]["fix"]
            .as_str()
            .unwrap()
            .contains("grant the caller")
    );
    let billing = &finding(&report, "billing-disabled")[0];
    assert!(
        billing["fix"]
            .as_str()
            .unwrap()
            .contains("gcloud billing projects link acme-secops-prod")
    );
    let apis = &finding(&report, "apis-disabled")[0];
    assert_eq!(
        apis["detail"]["apis"],
        serde_json::json!(["run.googleapis.com"])
    );
    assert!(
        apis["fix"]
            .as_str()
            .unwrap()
            .contains("gcloud services enable run.googleapis.com --project acme-secops-prod")
    );
    let locations = finding(&report, "location-restricted");
    let settings: Vec<&str> = locations
        .iter()
        .map(|f| f["detail"]["setting"].as_str().unwrap())
        .collect();
    assert_eq!(settings, ["region", "bucket.location"]);
    assert!(
        locations[0]["problem"]
            .as_str()
            .unwrap()
            .contains("us-central1")
    );
    assert!(
        locations[0]["fix"]
            .as_str()
            .unwrap()
            .contains("set region to an allowed location")
    );
    let domains = &finding(&report, "domain-restricted")[0];
    assert!(
        domains["problem"].as_str().unwrap().contains(
            "serviceAccount:chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com"
        )
    );
    assert!(
        domains["fix"]
            .as_str()
            .unwrap()
            .contains("iam.allowedPolicyMemberDomains")
    );
    let issuer = &finding(&report, "issuer-not-allowed")[0];
    assert!(
        issuer["fix"]
            .as_str()
            .unwrap()
            .contains("https://token.actions.githubusercontent.com")
    );
    let ingress = &finding(&report, "ingress-not-allowed")[0];
    assert!(
        ingress["fix"]
            .as_str()
            .unwrap()
            .contains("run.allowedIngress")
    );
    // The person's report says the same, each blocker with its fix.
    let said = String::from_utf8_lossy(&text.stdout);
    assert_eq!(said.matches("[blocker]").count(), found.len(), "{said}");
    assert_eq!(said.matches("   fix: ").count(), found.len(), "{said}");
    assert!(
        said.contains("preflight failed: nothing was changed"),
        "{said}"
    );
    // The token never shows.
    for out in [&out, &text] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(LOCAL_ACCESS_TOKEN));
    }

    // Every gcloud call was one of the preflight's reads, answered by the canned project after
    // gcloud's own parser accepted it; Resource Manager was only asked what the caller holds.
    let calls = cloud.calls();
    let reads = [
        "auth print-access-token",
        "config get api_endpoint_overrides/cloudresourcemanager",
        "billing projects describe",
        "services list --enabled",
        "org-policies describe",
    ];
    for call in &calls {
        let line = call.args.join(" ");
        assert_eq!(call.served, "project", "{line}");
        assert!(reads.iter().any(|r| line.starts_with(r)), "{line}");
    }
    let asked: std::collections::BTreeSet<String> = calls
        .iter()
        .filter(|c| c.args[0] == "org-policies")
        .map(|c| c.args[2].clone())
        .collect();
    assert_eq!(
        asked.into_iter().collect::<Vec<_>>(),
        [
            "gcp.resourceLocations",
            "iam.allowedPolicyMemberDomains",
            "iam.workloadIdentityPoolProviders",
            "run.allowedIngress"
        ]
    );
    let requests = manager.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.target,
            format!("/v1/projects/{PROJECT}:testIamPermissions")
        );
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {LOCAL_ACCESS_TOKEN}").as_str())
        );
    }

    // Fixed: billing linked, the API enabled, the permissions granted, no policy in the way.
    manager.grant(
        PROJECT,
        ["serviceusage.services.enable", "cloudscheduler.jobs.create"],
    );
    cloud.set_project(CloudProject::clean());
    let before = snapshot(&cloud).await;
    let out = preflight(&cloud, dir.path(), &[]).await;
    let after = snapshot(&cloud).await;
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("preflight passed"), "{said}");
    for check in ["permissions", "billing", "services", "org-policies"] {
        let line = said
            .lines()
            .find(|l| l.trim_start().starts_with(check))
            .unwrap_or_else(|| panic!("{check} in {said}"));
        assert!(line.contains(" ok "), "{line}");
    }
    assert_eq!(before, after, "the preflight changed the emulated project");

    // A permission Resource Manager does not know fails the whole call: the check says it could
    // not tell, naming Resource Manager's refusal (why every name is checked: VERIFIED).
    manager.know_only(
        VERIFIED
            .iter()
            .copied()
            .filter(|p| *p != "run.services.create"),
    );
    let out = preflight(&cloud, dir.path(), &["--format", "json"]).await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = finding(&report, "unchecked");
    assert_eq!(warnings.len(), 1, "{report:#}");
    assert_eq!(warnings[0]["check"], "permissions");
    let problem = warnings[0]["problem"].as_str().unwrap();
    assert!(
        problem.contains("400") && problem.contains("run.services.create"),
        "{problem}"
    );
    // And a change would have shown.
    cloud
        .gcs()
        .put(&bucket, "onepassword-audit/planted", b"x")
        .await;
    assert_ne!(snapshot(&cloud).await, after);
}
