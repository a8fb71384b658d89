//! Builds run as the module's dedicated build account (terraform/ci.tf), never as the project's
//! default Cloud Build account: the CI script, `provision deploy --build` and `apply --build` pass
//! it (with the staging bucket for the source and the log, which a user-specified account needs),
//! every line parsed by the real gcloud; the account's name is the one Terraform computes; and the
//! deployer may act as that account but pushes nothing itself.

mod support;

use provisioner::config;
use support::{bash, config_dir, lines, provision, stand_ins, text, workspace};
use testkit::{Reply, TerraformRoot};

/// The module's `account_id` of the build account, evaluated by Terraform for `service_name`.
fn terraform_account_id(service_name: &str) -> String {
    let ci = std::fs::read_to_string(workspace().join("terraform/ci.tf")).unwrap();
    let body: hcl::Body = hcl::from_str(&ci).unwrap();
    let builder = body
        .blocks()
        .find(|b| {
            b.identifier() == "resource"
                && b.labels()
                    .iter()
                    .map(|l| l.as_str())
                    .eq(["google_service_account", "builder"])
        })
        .expect("ci.tf declares google_service_account.builder");
    let expr = builder
        .body()
        .attributes()
        .find(|a| a.key() == "account_id")
        .unwrap()
        .expr()
        .to_string();
    let value = TerraformRoot::new()
        .file(
            "main.tf",
            "variable \"service_name\" {\n  type = string\n}\n",
        )
        .variables(&serde_json::json!({ "service_name": service_name }))
        .eval(&expr);
    value
        .as_str()
        .unwrap_or_else(|| panic!("{expr} is not a string: {value}"))
        .to_owned()
}

#[test]
fn the_provisioner_names_the_build_account_as_terraform_does() {
    let full = config::load(&workspace().join("provisioner/examples/full.yaml")).unwrap();
    assert!(
        provisioner::steps::build_account(
            &config::load(&workspace().join("provisioner/examples/minimal.yaml")).unwrap()
        )
        .is_none()
    );
    for service in [
        full.collector.service_name.clone(),
        "c".to_owned(),
        // 22 characters ending in '-', and a longer name cut at 22.
        "onepassword-collector-x".to_owned(),
        "a-very-long-service-name-for-the-collector".to_owned(),
    ] {
        let mut config = full.clone();
        config.collector.service_name = service.clone();
        let account = provisioner::steps::build_account(&config).unwrap();
        let id = terraform_account_id(&service);
        assert!(id.len() <= 30, "{id}");
        assert_eq!(
            account.email,
            format!("{id}@{}.iam.gserviceaccount.com", config.project_id),
            "{service}"
        );
        assert_eq!(
            account.staging_bucket,
            format!("{}-builds", config.bucket.name)
        );
    }
}

#[test]
fn provision_builds_as_the_build_account_when_the_module_creates_one() {
    let dir = config_dir("full");
    let mut s = stand_ins();
    s.on("git", &["rev-parse"], Reply::ok("0123456789ab\n"));
    let _ = provision(dir.path(), &s, &["deploy", "--build"], None);
    assert_eq!(s.parse_errors(), Vec::<String>::new());
    let calls = lines(&s.calls());
    let build = calls
        .iter()
        .find(|l| l.starts_with("gcloud builds submit"))
        .unwrap_or_else(|| panic!("no build: {calls:#?}"));
    let config = config::load(&dir.path().join("onepassword-secops.yaml")).unwrap();
    let account = provisioner::steps::build_account(&config).unwrap();
    for part in [
        format!(
            "--service-account projects/{}/serviceAccounts/{}",
            config.project_id, account.email
        ),
        format!(
            "--gcs-source-staging-dir gs://{}/source",
            account.staging_bucket
        ),
        format!("--gcs-log-dir gs://{}/logs", account.staging_bucket),
    ] {
        assert!(build.contains(&part), "{part} not in {build}");
    }

    // Without the CI deployer there is no build account: the project's default one builds.
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    s.on("git", &["rev-parse"], Reply::ok("0123456789ab\n"));
    let _ = provision(dir.path(), &s, &["deploy", "--build"], None);
    let calls = lines(&s.calls());
    let build = calls
        .iter()
        .find(|l| l.starts_with("gcloud builds submit"))
        .unwrap();
    assert!(!build.contains("--service-account"), "{build}");
}

#[test]
fn apply_build_creates_the_build_account_before_the_first_build() {
    let config = config::load(&workspace().join("provisioner/examples/full.yaml")).unwrap();
    let resources = provisioner::steps::foundation_resources(&config);
    for needed in [
        "google_service_account.builder",
        "google_storage_bucket.build_staging",
        "google_storage_bucket_iam_member.builder_uses_staging",
        "google_storage_bucket_iam_member.builder_reads_staging_bucket",
        "google_artifact_registry_repository_iam_member.builder_pushes",
    ] {
        assert!(resources.contains(&needed), "{needed}: {resources:?}");
    }
}

#[test]
fn the_ci_script_submits_as_the_build_account_and_refuses_anything_else() {
    let script = workspace().join("scripts/cloud-build.sh");
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let env = [("CLOUD_BUILD_POLL_SECONDS", "0")];
    let mut s = stand_ins();
    s.on("gcloud", &["builds", "submit"], Reply::ok("b-1\n"));
    s.on(
        "gcloud",
        &["builds", "describe", "--format", "value(status)"],
        Reply::ok("SUCCESS\n"),
    );
    let builder = "collector-builder@acme.iam.gserviceaccount.com";
    let args = [
        "acme",
        "acme-builds",
        "us-central1-docker.pkg.dev/acme/r/collector:abc",
        builder,
        ".",
    ];
    let out = bash(&s, cwd.path(), &script, &args, &env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(s.parse_errors(), Vec::<String>::new());
    assert_eq!(
        lines(&s.calls())[0],
        format!(
            "gcloud builds submit --project acme --async --gcs-source-staging-dir gs://acme-builds/source --service-account projects/acme/serviceAccounts/{builder} --gcs-log-dir gs://acme-builds/logs --tag us-central1-docker.pkg.dev/acme/r/collector:abc --format value(id) ."
        )
    );
    // The old call (no account): refused before any build, naming the output to use.
    let s = stand_ins();
    let out = bash(
        &s,
        cwd.path(),
        &script,
        &["acme", "acme-builds", "img", "."],
        &env,
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("github_build_service_account"), "{stderr}");
    assert!(s.calls().is_empty());
}

#[test]
fn the_deployer_acts_as_the_build_account_and_pushes_nothing_itself() {
    let ci = std::fs::read_to_string(workspace().join("terraform/ci.tf")).unwrap();
    let body: hcl::Body = hcl::from_str(&ci).unwrap();
    let mut deployer_roles = Vec::new();
    let mut builder_roles = Vec::new();
    for block in body.blocks().filter(|b| b.identifier() == "resource") {
        let attr = |k: &str| {
            block
                .body()
                .attributes()
                .find(|a| a.key() == k)
                .map(|a| a.expr().to_string())
                .unwrap_or_default()
        };
        let (member, role) = (attr("member"), attr("role"));
        let target = format!(
            "{} {} {}",
            block.labels()[0].as_str(),
            attr("service_account_id"),
            role
        );
        if member.contains("google_service_account.deployer") {
            deployer_roles.push(target);
        } else if member.contains("google_service_account.builder") {
            builder_roles.push(target);
        }
    }
    assert!(
        !deployer_roles
            .iter()
            .any(|r| r.contains("artifactregistry")),
        "{deployer_roles:#?}"
    );
    let acts_as: Vec<&String> = deployer_roles
        .iter()
        .filter(|r| r.contains("roles/iam.serviceAccountUser"))
        .collect();
    assert_eq!(acts_as.len(), 2, "{acts_as:#?}");
    assert!(
        acts_as
            .iter()
            .any(|r| r.contains("google_service_account.builder[0].name"))
    );
    assert!(
        acts_as
            .iter()
            .any(|r| r.contains("google_service_account.collector.name"))
    );
    assert!(
        builder_roles.iter().any(
            |r| r.contains("google_artifact_registry_repository_iam_member")
                && r.contains("roles/artifactregistry.writer")
        ),
        "{builder_roles:#?}"
    );
    assert!(builder_roles.len() >= 4, "{builder_roles:#?}");
}
