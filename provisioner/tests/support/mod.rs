//! Helpers shared by the provisioner's integration tests: example configs in a checkout-like
//! folder, running the `provision` binary, and gcloud/terraform stand-ins whose gcloud lines the
//! real gcloud parses first.
#![allow(dead_code)] // each test file uses a different part

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use testkit::{Call, RegistryAuth, StandIns, TestRegistry};

/// A folder with the example config `example` (`minimal`, `full`), laid out like a checkout (a
/// Dockerfile, so Cloud Build has something to build from `--source .`).
pub fn config_dir(example: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{example}.yaml"));
    std::fs::copy(source, dir.path().join("onepassword-secops.yaml")).unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    dir
}

/// `terraform` and `gcloud` stand-ins; every gcloud call is parsed by the real gcloud first, so a
/// line gcloud would reject fails the command under test.
pub fn stand_ins() -> StandIns {
    let mut s = bare_stand_ins();
    clean_project(&mut s);
    s
}

/// [`stand_ins`] without any rule: every gcloud call succeeds silently.
pub fn bare_stand_ins() -> StandIns {
    let mut s = StandIns::new();
    s.add("terraform")
        .check_gcloud_syntax()
        .record_env(&["OP_BEARER_TOKEN", "TF_IN_AUTOMATION"]);
    s
}

/// The projects the examples name (their own and their SecOps instances').
pub const PROJECTS: [&str; 4] = [
    "acme-secops-prod",
    "acme-secops-siem",
    "mssp-secops-prod",
    "mssp-secops-siem",
];

/// gcloud's `ProjectBillingInfo` of a project with billing
/// (https://cloud.google.com/billing/docs/reference/rest/v1/ProjectBillingInfo).
pub const BILLING_ENABLED: &str = r#"{"billingAccountName":"billingAccounts/012345-6789AB-CDEF01","billingEnabled":true,"name":"projects/acme-secops-prod/billingInfo","projectId":"acme-secops-prod"}"#;

/// An effective policy that restricts nothing (Org Policy v2 `Policy`,
/// https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/organizations.policies#Policy).
pub const NO_POLICY: &str = r#"{"name":"projects/123456789012/policies/gcp.resourceLocations","spec":{"rules":[{"allowAll":true}]}}"#;

/// `gcloud services list --enabled --format json` with every API the deployment uses (Service
/// Usage `Service` objects, https://cloud.google.com/service-usage/docs/reference/rest/v1/services#Service).
pub fn enabled_services() -> String {
    let apis = [
        "artifactregistry",
        "cloudbuild",
        "cloudresourcemanager",
        "cloudscheduler",
        "iam",
        "pubsub",
        "run",
        "secretmanager",
        "storage",
        "logging",
        "monitoring",
        "iamcredentials",
        "sts",
    ];
    let list: Vec<serde_json::Value> = apis
        .iter()
        .map(|api| {
            serde_json::json!({
                "config": {"name": format!("{api}.googleapis.com")},
                "name": format!("projects/123456789012/services/{api}.googleapis.com"),
                "parent": "projects/123456789012",
                "state": "ENABLED",
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// Every permission the preflight may ask about.
pub fn every_permission() -> Vec<String> {
    use provisioner::preflight::permissions::{GCLOUD, TERRAFORM};
    TERRAFORM
        .iter()
        .chain(GCLOUD)
        .flat_map(|(_, p)| p.iter().map(|p| (*p).to_owned()))
        .collect()
}

/// The preflight's calls answered as a clean project does: the caller holds every permission
/// (Resource Manager on loopback), billing on, every API enabled, no organisation policy. These
/// rules come first, so they win over a test's catch-all rules.
pub fn clean_project(s: &mut StandIns) {
    s.on(
        "gcloud",
        &["auth", "print-access-token"],
        testkit::Reply::ok(format!("{ACCESS_TOKEN}\n")),
    );
    s.on(
        "gcloud",
        &["billing", "projects", "describe"],
        testkit::Reply::ok(BILLING_ENABLED),
    );
    s.on(
        "gcloud",
        &["services", "list", "--enabled"],
        testkit::Reply::ok(enabled_services()),
    );
    s.on(
        "gcloud",
        &["org-policies", "describe"],
        testkit::Reply::ok(NO_POLICY),
    );
    let manager = testkit::ResourceManager::start(ACCESS_TOKEN);
    for project in PROJECTS {
        manager.grant(project, every_permission());
    }
    // gcloud's own endpoint property, for a run without the variable: loopback all the same.
    s.on(
        "gcloud",
        &[
            "config",
            "get",
            "api_endpoint_overrides/cloudresourcemanager",
        ],
        testkit::Reply::ok(format!("{}\n", manager.endpoint())),
    );
    RESOURCE_MANAGER.with(|r| *r.borrow_mut() = Some(std::rc::Rc::new(manager)));
}

/// The Resource Manager double of the running test, if [`clean_project`] started one.
pub fn resource_manager() -> Option<std::rc::Rc<testkit::ResourceManager>> {
    RESOURCE_MANAGER.with(|r| r.borrow().clone())
}

/// The digest the test registry gives the released image.
pub const RELEASE_DIGEST: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// The access token the `gcloud` stand-in prints for `gcloud auth print-access-token`.
pub const ACCESS_TOKEN: &str = "ya29.stand-in-access-token";

/// The minimal example's released image as the remote repository serves it (without the tag).
pub const MIRROR: &str = "us-central1-docker.pkg.dev/acme-secops-prod/onepassword-secops-releases/onepassword-secops/onepassword-secops/collector";

thread_local! {
    /// The Resource Manager double [`clean_project`] started for the running test.
    static RESOURCE_MANAGER: std::cell::RefCell<Option<std::rc::Rc<testkit::ResourceManager>>> = const { std::cell::RefCell::new(None) };
    /// The registries [`released`] started for the running test (each test runs on a thread of its
    /// own): [`provision_with`] points the provisioner at them.
    static REGISTRIES: std::cell::RefCell<Option<Registries>> = const { std::cell::RefCell::new(None) };
}

/// Artifact Registry's remote repository and the release registry, on loopback.
#[derive(Clone)]
pub struct Registries {
    /// Plays `REGION-docker.pkg.dev` (the caller's access token as bearer token).
    pub mirror: std::rc::Rc<TestRegistry>,
    /// Plays `ghcr.io` (anonymous pull tokens).
    pub upstream: std::rc::Rc<TestRegistry>,
}

/// Starts (for this test) the two registries, empty, and has the `gcloud` stand-in print
/// [`ACCESS_TOKEN`]; every later `provision` run of this test uses them.
pub fn registries(s: &mut StandIns) -> Registries {
    s.on(
        "gcloud",
        &["auth", "print-access-token"],
        testkit::Reply::ok(format!("{ACCESS_TOKEN}\n")),
    );
    let registries = Registries {
        mirror: std::rc::Rc::new(TestRegistry::start(RegistryAuth::Bearer(
            ACCESS_TOKEN.to_owned(),
        ))),
        upstream: std::rc::Rc::new(TestRegistry::start(RegistryAuth::AnonymousToken)),
    };
    REGISTRIES.with(|r| *r.borrow_mut() = Some(registries.clone()));
    registries
}

/// The examples' released image as the accounts example's remote repository serves it.
pub const ACCOUNTS_MIRROR: &str = "europe-west1-docker.pkg.dev/mssp-secops-prod/onepassword-secops-releases/onepassword-secops/onepassword-secops/collector";

/// The remote repositories of the minimal and accounts examples serve every version this suite
/// deploys with [`RELEASE_DIGEST`] (the provisioner's own, `0.3.0`, `0.4.1`).
pub fn released(s: &mut StandIns) -> Registries {
    let registries = registries(s);
    for mirror in [MIRROR, ACCOUNTS_MIRROR] {
        let name = mirror.split_once('/').unwrap().1;
        for version in [env!("CARGO_PKG_VERSION"), "0.3.0", "0.4.1"] {
            registries.mirror.serve(name, version, RELEASE_DIGEST);
        }
    }
    registries
}

/// Runs `provision args…` in `dir` with the stand-ins first on PATH, `stdin` on standard input
/// and `env` set.
pub fn provision_with(
    dir: &Path,
    stand_ins: &StandIns,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provision"));
    command
        .args(args)
        .current_dir(dir)
        .env("PATH", stand_ins.path_env())
        .env_remove("OP_BEARER_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Registries are loopback ones: the test's own (see `registries`), else a closed port.
    let (mirror, upstream) = REGISTRIES.with(|r| {
        r.borrow().as_ref().map_or_else(
            || {
                (
                    "http://127.0.0.1:9".to_owned(),
                    "http://127.0.0.1:9".to_owned(),
                )
            },
            |r| (r.mirror.url(), r.upstream.url()),
        )
    });
    let manager = RESOURCE_MANAGER.with(|r| {
        r.borrow()
            .as_ref()
            .map_or_else(|| "http://127.0.0.1:9/".to_owned(), |m| m.endpoint())
    });
    command
        .env(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER",
            manager,
        )
        .env("PROVISION_REGISTRY_URL", mirror)
        .env("PROVISION_UPSTREAM_REGISTRY_URL", upstream);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// Runs `provision args…` in `dir` with the stand-ins first on PATH.
pub fn provision(dir: &Path, stand_ins: &StandIns, args: &[&str], stdin: Option<&str>) -> Output {
    provision_with(dir, stand_ins, args, stdin, &[])
}

/// Runs `bash script args…` in `cwd` with the stand-ins first on PATH and `env` set.
pub fn bash(
    stand_ins: &StandIns,
    cwd: &Path,
    script: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut command = Command::new("bash");
    command
        .arg(script)
        .args(args)
        .current_dir(cwd)
        .env("PATH", stand_ins.path_env())
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// `[cwd relative to root] program args…` per call.
pub fn summary(calls: &[Call], root: &Path) -> Vec<String> {
    let root = root.canonicalize().unwrap();
    calls
        .iter()
        .map(|c| {
            let cwd = c.cwd.canonicalize().unwrap();
            let rel = cwd
                .strip_prefix(&root)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| cwd.display().to_string());
            format!("[{rel}] {} {}", c.program, c.args.join(" "))
        })
        .collect()
}

/// `program args…` per call.
pub fn lines(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .map(|c| format!("{} {}", c.program, c.args.join(" ")))
        .collect()
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Text of a process's output streams.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Whether `call` is one of the preflight's (read-only) gcloud calls.
pub fn is_preflight(call: &Call) -> bool {
    let args: Vec<&str> = call.args.iter().map(String::as_str).collect();
    call.program == "gcloud"
        && (args.starts_with(&["billing", "projects", "describe"])
            || args.starts_with(&["services", "list", "--enabled"])
            || args.starts_with(&["org-policies", "describe"])
            || args == ["auth", "print-access-token"]
            || args
                == [
                    "config",
                    "get",
                    "api_endpoint_overrides/cloudresourcemanager",
                ])
}

/// `calls` without the preflight's, which come first (its access token, then billing): the steps
/// of the command itself.
pub fn without_preflight(calls: Vec<Call>) -> Vec<Call> {
    let starts = calls
        .iter()
        .take_while(|c| is_preflight(c))
        .any(|c| c.args.starts_with(&["billing".to_owned()]));
    if !starts {
        return calls;
    }
    let first_step = calls
        .iter()
        .position(|c| !is_preflight(c))
        .unwrap_or(calls.len());
    calls[first_step..].to_vec()
}

/// The text of `resource "kind" "name" { … }` in the module's `file` (terraform/), to its closing
/// brace.
pub fn module_resource(file: &str, kind: &str, name: &str) -> String {
    let text = std::fs::read_to_string(workspace().join("terraform").join(file)).unwrap();
    let head = format!("resource \"{kind}\" \"{name}\" {{");
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("{head} not in {file}"));
    let mut depth = 0;
    for (offset, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return text[start..=start + offset].to_owned();
                }
            }
            _ => {}
        }
    }
    panic!("{head} is not closed");
}
