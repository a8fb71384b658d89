//! The module used directly (without `provision`) refuses what `provision` refuses, evaluated by
//! Terraform's own variable validation (`terraform plan` of the variables alone needs no provider): stream
//! prefixes that share a folder, checkpoints under a feed prefix, an account's stream without a
//! prefix, a bucket name too long for its `-builds` sibling. And the project number the Pub/Sub
//! service agent's grants name stays known at plan when alerting or GitHub deploys are toggled.

mod support;

use std::process::Stdio;

use provisioner::config;
use provisioner::render::{self, Engine};
use support::workspace;
use testkit::TerraformRoot;

/// The values the rendered root of `example` passes the module.
fn arguments(example: &str) -> serde_json::Value {
    let config =
        config::load(&workspace().join(format!("provisioner/examples/{example}.yaml"))).unwrap();
    let files = render::render(&config, Engine::Terraform).unwrap();
    let main = &files
        .iter()
        .find(|f| f.path == render::files::TF_MAIN)
        .unwrap()
        .contents;
    let mut arguments = testkit::module_arguments(main);
    // The dashboard's JSON is read from its own rendered file (`file(…)` in the root).
    if let Some(dashboard) = files.iter().find(|f| f.path == render::files::TF_DASHBOARD) {
        arguments["dashboard_json"] = dashboard.contents.clone().into();
    }
    arguments
}

/// Terraform's verdict on the module's variables with `arguments`: Ok, or its error output.
fn validate(arguments: &serde_json::Value) -> Result<(), String> {
    let root = TerraformRoot::new()
        .module_files(&["variables.tf", "feed_variables.tf"])
        .variables(arguments);
    // `terraform plan` of a root holding only the variables: no provider to download, and unlike
    // `terraform console` it checks every variable's validations.
    let terraform = |args: &[&str]| {
        root.terraform(args)
            .stdin(Stdio::null())
            .output()
            .expect("terraform runs (Terraform 1.11 must be on PATH)")
    };
    let init = terraform(&["init", "-input=false", "-no-color"]);
    assert!(
        init.status.success(),
        "terraform init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let out = terraform(&["plan", "-input=false", "-no-color", "-lock=false"]);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn refused(arguments: &serde_json::Value, message: &str) {
    let error = validate(arguments).expect_err(&format!("accepted: {arguments}"));
    // Terraform wraps its messages: compare them as one line of words.
    let error = error
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(error.contains(message), "expected {message:?} in:\n{error}");
}

#[test]
fn the_module_accepts_every_render() {
    for example in ["minimal", "full", "accounts", "event_driven", "fleet"] {
        validate(&arguments(example)).unwrap_or_else(|e| panic!("{example}: {e}"));
    }
}

#[test]
fn the_module_refuses_what_provision_refuses() {
    // An account's stream without its prefix.
    let mut a = arguments("accounts");
    a["stream_prefixes"]
        .as_object_mut()
        .unwrap()
        .remove("signinattempts");
    refused(&a, "needs its prefix in stream_prefixes");

    // Two streams in one folder, or one inside another.
    for (audit, signin) in [("logs/op", "logs/op/"), ("logs", "logs/signins")] {
        let mut a = arguments("full");
        a["stream_prefixes"] = serde_json::json!({"auditevents": audit, "signinattempts": signin});
        refused(&a, "each stream needs its own folder");
    }

    // Checkpoints under a feed prefix, or holding one.
    for checkpoints in ["onepassword-audit/state/", "onepassword-audit"] {
        let mut a = arguments("minimal");
        a["checkpoint_prefix"] = serde_json::json!(checkpoints);
        refused(&a, "checkpoint_prefix must lie outside every stream prefix");
    }
    let mut a = arguments("minimal");
    a["checkpoint_prefix"] = serde_json::json!("onepassword-auditing-state/");
    validate(&a).unwrap();

    // A bucket name too long for BUCKET-builds, only with the CI deployer.
    let long = "b".repeat(57);
    let mut a = arguments("full");
    assert!(a["github_repository"].is_string());
    a["bucket_name"] = serde_json::json!(long);
    refused(&a, "the build staging bucket is named BUCKET-builds");
    a["bucket_name"] = serde_json::json!("b".repeat(56));
    validate(&a).unwrap();
    let mut a = arguments("minimal");
    a["bucket_name"] = serde_json::json!(long);
    validate(&a).unwrap();

    // The instance's size, as collector.cpu and collector.memory are checked.
    for (cpu, memory, message) in [
        ("0.5", "512Mi", "collector_cpu must be 1, 2, 4, 6 or 8"),
        (
            "1",
            "1.5Gi",
            "collector_memory must be a whole number of MiB or GiB",
        ),
        ("1", "8Gi", "collector_memory must fit collector_cpu"),
        ("1", "256Mi", "collector_memory must fit collector_cpu"),
        ("4", "1Gi", "collector_memory must fit collector_cpu"),
    ] {
        let mut a = arguments("full");
        a["collector_cpu"] = serde_json::json!(cpu);
        a["collector_memory"] = serde_json::json!(memory);
        refused(&a, message);
    }
    let mut a = arguments("full");
    a["collector_cpu"] = serde_json::json!("8");
    a["collector_memory"] = serde_json::json!("32Gi");
    validate(&a).unwrap();

    // A feed kind the module does not know, and a topic too long for the feeds' subscriptions.
    let mut a = arguments("event_driven");
    a["secops_feed"] = serde_json::json!("event-driven");
    refused(&a, "secops_feed must be storage_v2 or event_driven");
    let mut a = arguments("event_driven");
    a["topic_name"] = serde_json::json!(format!("t{}", "x".repeat(208)));
    refused(&a, "topic_name must be at most 208 characters");
    a["secops_feed"] = serde_json::json!("storage_v2");
    validate(&a).unwrap();

    // Accounts split across services: numbered 1, 2, … with none left out, at most 100 each.
    let gap = "the services used are 1, 2, … with none left out";
    let mut a = arguments("fleet");
    a["accounts"]["globex"]["service"] = serde_json::json!(3);
    a["accounts"]["umbrella"]["service"] = serde_json::json!(3);
    refused(&a, gap);
    for service in [0.0, 1.5, 11.0] {
        let mut a = arguments("fleet");
        a["accounts"]["globex"]["service"] = serde_json::json!(service);
        refused(&a, "each account's service is a whole number from 1 to 10");
    }
    let mut a = arguments("fleet");
    let template = a["accounts"]["acme"].clone();
    for i in 0..101 {
        a["accounts"][format!("customer-{i:03}")] = template.clone();
    }
    refused(&a, "one service collects at most 100 accounts");

    // Accounts at once: up to 64 as provision allows, 1Gi above 16.
    let mut a = arguments("fleet");
    a["accounts_in_parallel"] = serde_json::json!(64);
    validate(&a).unwrap();
    a["accounts_in_parallel"] = serde_json::json!(65);
    refused(&a, "accounts_in_parallel must be between 1 and 64");
    a["accounts_in_parallel"] = serde_json::json!(17);
    a["collector_memory"] = serde_json::json!("512Mi");
    refused(
        &a,
        "accounts_in_parallel above 16 needs collector_memory of 1Gi at least",
    );
}

/// A dashboard whose log-based metrics the module would not create (another service's, a renamed
/// service's, or one it never defines) is refused naming the fix, as is a dashboard that is not
/// JSON; the render's own dashboard is accepted (above) and no dashboard at all too.
#[test]
fn the_module_refuses_a_dashboard_whose_metrics_it_does_not_create() {
    let fix = "are the ones this module creates with the dashboard for var.service_name";
    let mut a = arguments("minimal");
    let rendered = a["dashboard_json"]
        .as_str()
        .expect("the dashboard is on by default")
        .to_owned();
    let service = a["service_name"].as_str().unwrap().to_owned();
    assert!(rendered.contains(&format!(
        "logging.googleapis.com/user/{service}-stream-runs"
    )));
    a["service_name"] = serde_json::json!("renamed-collector");
    refused(&a, fix);
    let mut a = arguments("minimal");
    a["dashboard_json"] = rendered.replace("-stream-runs", "-runs-by-outcome").into();
    refused(&a, fix);
    a["dashboard_json"] = serde_json::json!("{\"displayName\": ");
    refused(&a, "dashboard_json must be JSON");
    a.as_object_mut().unwrap().remove("dashboard_json");
    validate(&a).unwrap();
}

/// The resources `data.google_project.this` waits for have no count or for_each: nothing the
/// config toggles changes them, so the data source is read at plan and the Pub/Sub service agent's
/// member (which names the project number) stays known, and its grants are never replaced.
#[test]
fn the_project_number_does_not_wait_for_toggled_resources() {
    let main = std::fs::read_to_string(workspace().join("terraform/main.tf")).unwrap();
    let body: hcl::Body = hcl::from_str(&main).unwrap();
    let project = body
        .blocks()
        .find(|b| {
            b.identifier() == "data"
                && b.labels()
                    .iter()
                    .map(|l| l.as_str())
                    .eq(["google_project", "this"])
        })
        .unwrap();
    let depends: Vec<String> = project
        .body()
        .attributes()
        .filter(|a| a.key() == "depends_on")
        .flat_map(|a| match a.expr() {
            hcl::Expression::Array(items) => items.iter().map(|e| e.to_string()).collect(),
            other => vec![other.to_string()],
        })
        .collect();
    assert!(
        !depends.is_empty(),
        "it still waits for Cloud Resource Manager"
    );
    for dependency in &depends {
        let (kind, name) = dependency.split_once('.').unwrap();
        let resource = body
            .blocks()
            .find(|b| {
                b.identifier() == "resource"
                    && b.labels().iter().map(|l| l.as_str()).eq([kind, name])
            })
            .unwrap_or_else(|| panic!("{dependency} is not a resource of main.tf"));
        let meta: Vec<&str> = resource
            .body()
            .attributes()
            .map(|a| a.key())
            .filter(|k| *k == "count" || *k == "for_each")
            .collect();
        assert!(
            meta.is_empty(),
            "{dependency} has {meta:?}: a toggle would defer the project read to apply time"
        );
    }
}
