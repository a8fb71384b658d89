//! `provision preflight`, and `apply` stopping on it: the permission table kept in step with what
//! is rendered, each check's pass and refusal on stand-ins answering as Google's APIs do (shapes
//! from their references, cited in `support`), nothing changed by a failing preflight, and the
//! accounts check against the Events API simulator.

mod support;

use std::collections::BTreeSet;

use provisioner::config;
use provisioner::preflight::permissions::{self, Phase};
use provisioner::preflight::{AccountToken, Finding, accounts};
use provisioner::render::{self, Engine};
use support::{
    ACCESS_TOKEN, BILLING_ENABLED, NO_POLICY, PROJECTS, bare_stand_ins, config_dir,
    enabled_services, every_permission, provision, stand_ins, text,
};
use testkit::{Reply, StandIns};

fn example(name: &str) -> config::Config {
    config::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{name}.yaml")),
    )
    .unwrap()
}

/// Resource types (`data.` for data sources) in rendered Terraform.
fn terraform_types(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        for (keyword, prefix) in [("resource \"", ""), ("data \"", "data.")] {
            if let Some(rest) = line.strip_prefix(keyword)
                && let Some((kind, _)) = rest.split_once('"')
            {
                out.insert(format!("{prefix}{kind}"));
            }
        }
    }
    out
}

/// The command words of each gcloud invocation in a rendered script (a command starts a line, or
/// follows `$(`, `exists ` or `with_metric `; comments and messages are not commands).
fn gcloud_commands(script: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in script
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
    {
        let mut rest = line;
        while let Some(at) = rest.find("gcloud ") {
            let before = &rest[..at];
            let starts = before.is_empty()
                || before.ends_with("$(")
                || before.ends_with("exists ")
                || before.ends_with("with_metric ")
                || before.trim_end().ends_with("then")
                || before.trim_end().ends_with("if !");
            let after = &rest[at + "gcloud ".len()..];
            if starts {
                let words: Vec<&str> = after
                    .split_whitespace()
                    .take_while(|w| {
                        w.starts_with(|c: char| c.is_ascii_lowercase())
                            && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    })
                    .collect();
                out.insert(words.join(" "));
            }
            rest = after;
        }
    }
    out
}

/// What the table lacks for these rendered types and commands.
fn missing(types: &BTreeSet<String>, commands: &BTreeSet<String>) -> Vec<String> {
    let in_phases: BTreeSet<&str> = Phase::ALL
        .iter()
        .flat_map(|p| p.terraform().iter().copied())
        .collect();
    let commands_in_phases: BTreeSet<&str> = Phase::ALL
        .iter()
        .flat_map(|p| p.gcloud().iter().copied())
        .collect();
    let mut out = Vec::new();
    for kind in types {
        if permissions::of_terraform(kind).is_none() || !in_phases.contains(kind.as_str()) {
            out.push(format!("terraform {kind}"));
        }
    }
    for command in commands {
        let words: Vec<&str> = command.split(' ').collect();
        match permissions::of_gcloud(&words) {
            Some((known, _)) if commands_in_phases.contains(known) => {}
            _ => out.push(format!("gcloud {command}")),
        }
    }
    out
}

#[test]
fn every_rendered_resource_type_and_gcloud_command_has_its_permissions() {
    let mut types = BTreeSet::new();
    let mut commands = BTreeSet::new();
    // Every option on: the full example (alerting, GitHub deploys, SecOps feeds and read grant)
    // and the accounts example (several accounts); a release image for the remote repository.
    for name in ["full", "accounts", "minimal", "event_driven", "fleet"] {
        let config = example(name);
        for file in render::render(&config, Engine::Terraform).unwrap() {
            if file.path.ends_with(".tf") {
                types.extend(terraform_types(&file.contents));
            }
        }
        for file in render::render(&config, Engine::Gcloud).unwrap() {
            if file.path.ends_with("deploy.sh") {
                commands.extend(gcloud_commands(&file.contents));
            }
        }
    }
    // It cannot pass vacuously: it saw the module's resource types and the script's commands.
    assert!(types.len() >= 20, "{types:#?}");
    assert!(commands.len() >= 30, "{commands:#?}");
    assert!(types.contains("google_cloud_run_v2_service") && types.contains("data.google_project"));
    assert!(
        commands.contains("scheduler jobs create pubsub"),
        "{commands:#?}"
    );
    assert_eq!(
        missing(&types, &commands),
        Vec::<String>::new(),
        "add them to preflight/permissions.rs"
    );
    // A new resource type or command is caught.
    let planted_type: BTreeSet<String> = ["google_storage_bucket_object".to_owned()].into();
    let planted_command: BTreeSet<String> = ["secrets versions destroy".to_owned()].into();
    assert_eq!(
        missing(&planted_type, &planted_command),
        [
            "terraform google_storage_bucket_object",
            "gcloud secrets versions destroy"
        ]
    );
    // And no entry is stale: every table entry is rendered, or is one of apply's own steps.
    let steps = [
        "secrets versions add",
        "auth print-access-token",
        "builds submit",
    ];
    for (kind, _) in permissions::TERRAFORM {
        assert!(
            types.contains(*kind),
            "{kind} is in the table but rendered nowhere"
        );
    }
    for (command, _) in permissions::GCLOUD {
        assert!(
            commands.contains(*command) || steps.contains(command),
            "{command} is in the table but run nowhere"
        );
    }
}

#[test]
fn the_readme_lists_the_permissions_of_the_table() {
    let readme = std::fs::read_to_string(support::workspace().join("README.md")).unwrap();
    let table = permissions::markdown();
    assert!(
        readme.contains(&table),
        "README.md's \"Permissions a deployer needs\" differs from `provision preflight --print-permissions`:\n{table}"
    );
    let dir = config_dir("minimal");
    let out = provision(
        dir.path(),
        &StandIns::new(),
        &["preflight", "--print-permissions"],
        None,
    );
    assert_eq!(text(&out).0, table);
}

/// The preflight's calls answered as a project that blocks everything: billing off, no API
/// enabled, and restrictive organisation policies (Org Policy v2 `Policy` objects:
/// https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/organizations.policies#Policy).
fn blocked_project() -> StandIns {
    let mut s = bare_stand_ins();
    s.on(
        "gcloud",
        &["auth", "print-access-token"],
        Reply::ok(format!("{ACCESS_TOKEN}\n")),
    );
    s.on(
        "gcloud",
        &["billing", "projects", "describe"],
        Reply::ok(r#"{"billingAccountName":"","name":"projects/acme-secops-prod/billingInfo","projectId":"acme-secops-prod"}"#),
    );
    s.on(
        "gcloud",
        &["services", "list", "--enabled"],
        Reply::ok("[]"),
    );
    let policy = |constraint: &str, rule: &str| {
        format!(
            r#"{{"name":"projects/123456789012/policies/{constraint}","spec":{{"rules":[{rule}]}}}}"#
        )
    };
    s.on(
        "gcloud",
        &["org-policies", "describe", "gcp.resourceLocations"],
        Reply::ok(policy(
            "gcp.resourceLocations",
            r#"{"values":{"allowedValues":["in:us-locations"]}}"#,
        )),
    );
    s.on(
        "gcloud",
        &["org-policies", "describe", "iam.allowedPolicyMemberDomains"],
        Reply::ok(policy(
            "iam.allowedPolicyMemberDomains",
            r#"{"values":{"allowedValues":["C0abc123de"]}}"#,
        )),
    );
    s.on(
        "gcloud",
        &[
            "org-policies",
            "describe",
            "iam.workloadIdentityPoolProviders",
        ],
        Reply::ok(policy(
            "iam.workloadIdentityPoolProviders",
            r#"{"values":{"allowedValues":["https://sts.windows.net/"]}}"#,
        )),
    );
    s.on(
        "gcloud",
        &["org-policies", "describe", "run.allowedIngress"],
        Reply::ok(policy(
            "run.allowedIngress",
            r#"{"values":{"allowedValues":["is:all"]}}"#,
        )),
    );
    s
}

#[test]
fn a_blocked_project_gets_every_problem_with_its_fix_and_apply_changes_nothing() {
    let dir = config_dir("full");
    let s = blocked_project();
    let manager = testkit::ResourceManager::start(ACCESS_TOKEN);
    // Everything but enabling APIs and the SecOps feeds' permissions.
    manager.grant(
        "acme-secops-prod",
        every_permission()
            .into_iter()
            .filter(|p| p != "serviceusage.services.enable"),
    );
    manager.grant("acme-secops-siem", ["resourcemanager.projects.get"]);
    let env = [(
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER",
        manager.endpoint(),
    )];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = support::provision_with(
        dir.path(),
        &s,
        &["preflight", "--format", "json"],
        None,
        &env,
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stdout.contains(ACCESS_TOKEN) && !stderr.contains(ACCESS_TOKEN));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], false);
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["detail"]["finding"].as_str().unwrap())
        .collect();
    for kind in [
        "missing-permissions",
        "billing-disabled",
        "apis-disabled",
        "location-restricted",
        "domain-restricted",
        "issuer-not-allowed",
        "ingress-not-allowed",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    for finding in report["findings"].as_array().unwrap() {
        assert!(!finding["fix"].as_str().unwrap().is_empty(), "{finding}");
    }
    // Both locations (europe-west1 and the EU bucket) are outside in:us-locations.
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "location-restricted")
            .count(),
        2
    );
    // The SecOps feeds' permissions are missing on the SecOps project.
    assert!(stdout.contains("chronicle.feeds.create") && stdout.contains("acme-secops-siem"));
    // Resource Manager was asked in calls of at most 100 permissions, with the token.
    for request in manager.requests() {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {ACCESS_TOKEN}").as_str())
        );
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert!(body["permissions"].as_array().unwrap().len() <= 100);
    }
    // Everything the preflight ran only reads.
    for call in s.calls() {
        let line = call.args.join(" ");
        assert!(
            [
                "auth print-access-token",
                "billing projects describe",
                "services list",
                "org-policies describe"
            ]
            .iter()
            .any(|read| line.starts_with(read)),
            "{line}"
        );
    }
    // apply stops before any step, saying what is wrong; plan too.
    let calls_before = s.calls().len();
    let out = support::provision_with(dir.path(), &s, &["apply", "--keep-token"], None, &env);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("billing is not enabled") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert!(stderr.contains("--skip-preflight"), "{stderr}");
    let after: Vec<String> = s.calls()[calls_before..]
        .iter()
        .map(|c| format!("{} {}", c.program, c.args.join(" ")))
        .collect();
    assert!(
        after
            .iter()
            .all(|l| l.starts_with("gcloud ") && !l.contains("terraform")),
        "{after:#?}"
    );
    assert!(
        !dir.path().join("deploy").exists(),
        "nothing rendered either"
    );
    let out = support::provision_with(dir.path(), &s, &["plan"], None, &env);
    assert!(!out.status.success());
    assert!(!s.calls().iter().any(|c| c.program == "terraform"));
    // --skip-preflight goes on regardless, and says so.
    let out = support::provision_with(dir.path(), &s, &["plan", "--skip-preflight"], None, &env);
    assert!(
        text(&out)
            .1
            .contains("--skip-preflight: the preflight checks were not run")
    );
    assert!(s.calls().iter().any(|c| c.program == "terraform"));
}

#[test]
fn a_clean_project_passes_every_check() {
    for example in ["full", "minimal", "accounts", "event_driven", "fleet"] {
        let dir = config_dir(example);
        let s = stand_ins();
        let out = provision(dir.path(), &s, &["preflight"], None);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{example}: {stdout}{stderr}");
        assert!(stdout.contains("preflight passed"), "{stdout}");
        if example == "accounts" {
            assert!(
                stdout.contains("OP_BEARER_TOKEN_NAME"),
                "the skipped accounts check says why: {stdout}"
            );
        }
        assert_eq!(
            s.parse_errors(),
            Vec::<String>::new(),
            "gcloud parses every preflight call"
        );
    }
    // Each answer of a clean project is one the stand-ins give.
    assert!(BILLING_ENABLED.contains("\"billingEnabled\":true") && NO_POLICY.contains("allowAll"));
    assert!(
        enabled_services().contains("run.googleapis.com") && PROJECTS.contains(&"acme-secops-prod")
    );
}

#[test]
fn a_permission_missing_in_one_phase_is_named_with_the_phase() {
    let dir = config_dir("minimal");
    let s = stand_ins();
    support::resource_manager()
        .unwrap()
        .revoke("acme-secops-prod", "cloudscheduler.jobs.create");
    let out = provision(dir.path(), &s, &["preflight", "--format", "json"], None);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["detail"]["phase"], "service");
    assert_eq!(
        findings[0]["detail"]["permissions"],
        serde_json::json!(["cloudscheduler.jobs.create"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_accounts_of_one_1password_account_are_refused() {
    let one = opsim::Simulator::start(
        opsim::SimConfig::new(1)
            .with_token(opsim::TokenGrant::all_features("token-a"))
            .with_token(opsim::TokenGrant::all_features("token-b")),
    )
    .await
    .unwrap();
    let other = opsim::Simulator::start(
        opsim::SimConfig::new(2).with_token(opsim::TokenGrant::all_features("token-c")),
    )
    .await
    .unwrap();
    let token = |account: &str, base: &str, token: &str| AccountToken {
        account: account.to_owned(),
        base_url: base.to_owned(),
        token: onepassword_events::secret::Secret::new(token.to_owned()),
    };
    let (a, c) = (one.base_url(), other.base_url());
    let options = onepassword_events::ClientOptions::default();
    let same = vec![
        token("acme", &a, "token-a"),
        token("globex", &a, "token-b"),
        token("initech", &c, "token-c"),
    ];
    let findings = tokio::task::spawn_blocking(move || accounts::check(&same, &options))
        .await
        .unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert!(
        matches!(&findings[0], Finding::SameOnePasswordAccount { accounts, .. } if accounts == &["acme".to_owned(), "globex".to_owned()]),
        "{findings:#?}"
    );
    let distinct = vec![
        token("acme", &a, "token-a"),
        token("initech", &c, "token-c"),
    ];
    let findings = tokio::task::spawn_blocking(move || accounts::check(&distinct, &options))
        .await
        .unwrap();
    assert_eq!(findings, Vec::<Finding>::new());
    one.shutdown().await;
    other.shutdown().await;
}
