//! The local cloud: real parts wherever an emulator exists, for tests and the demo.
//!
//! - Storage: fake-gcs-server, reached by the collector through a [`StorageProxy`] checking its
//!   identity's permissions and by the real `gcloud storage` through another for the operator's;
//! - the trigger: the real Pub/Sub emulator with a push subscription to the collector;
//! - Cloud Run: the real collector binary (`collector serve`) on a fixed loopback port, its standard
//!   output and error kept as the service's logs;
//! - `gcloud`: a shim first on `PATH` (`gcloud_shim.py`) that hands `storage` to the real gcloud,
//!   simulates only Cloud Logging (`logging read`) and Cloud Scheduler (`scheduler jobs run`), which
//!   have no emulator, answers the preflight's reads (billing, enabled APIs, effective organisation
//!   policies, the access token, Resource Manager's endpoint) from a [`CloudProject`], and anything
//!   else from canned replies, each after the real gcloud's parse check;
//! - Resource Manager's `projects.testIamPermissions`: testkit's [`ResourceManager`] on loopback,
//!   which the shim names as gcloud's `api_endpoint_overrides/cloudresourcemanager` and whose
//!   token is the one `gcloud auth print-access-token` prints.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::FakeGcs;
use crate::cloud_project::CloudProject;
use crate::pubsub::PubSubEmulator;
use crate::reaper::Reaped;
use crate::resource_manager::ResourceManager;
use crate::standin::Reply;
use crate::storage_proxy::{Access, StorageProxy};
use crate::tools::{free_port, tool};

/// The shim, written as `gcloud` into the local cloud's folder.
pub const GCLOUD_SHIM: &str = include_str!("gcloud_shim.py");

/// The access token `gcloud auth print-access-token` prints in the local cloud, which its
/// [`ResourceManager`] requires.
pub const LOCAL_ACCESS_TOKEN: &str = "ya29.local-cloud-access-token";

/// The names of the deployment the local cloud plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// `project_id`.
    pub project: String,
    /// `region`.
    pub region: String,
    /// `bucket.name`.
    pub bucket: String,
    /// `collector.service_name`.
    pub service: String,
    /// `schedule.job_name`.
    pub job: String,
    /// `topic`.
    pub topic: String,
    /// The collector's service account e-mail.
    pub collector_account: String,
}

impl Default for Deployment {
    /// The names `provisioner/examples/minimal.yaml` deploys.
    fn default() -> Self {
        Deployment {
            project: "acme-secops-prod".into(),
            region: "us-central1".into(),
            bucket: "onepassword-audit-secops-logs".into(),
            service: "onepassword-audit-collector".into(),
            job: "onepassword-audit-collector-hourly".into(),
            topic: "onepassword-audit-trigger".into(),
            collector_account:
                "onepassword-audit-collector-sa@acme-secops-prod.iam.gserviceaccount.com".into(),
        }
    }
}

/// One `gcloud` call the shim saw.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShimCall {
    /// Arguments, without `gcloud`.
    pub args: Vec<String>,
    /// `storage`, `logging`, `scheduler`, `project` (the preflight's reads of the canned
    /// [`CloudProject`]), `canned`, or `refused` (gcloud's parser refused it).
    pub served: String,
    /// Standard input, read only for `--data-file=-`.
    pub stdin: String,
}

#[derive(Debug, serde::Serialize)]
struct Rule {
    args_contain: Vec<String>,
    replies: Vec<Reply>,
}

/// A running local cloud.
#[derive(Debug)]
pub struct LocalCloud {
    deployment: Deployment,
    dir: tempfile::TempDir,
    gcs: FakeGcs,
    operator_storage: StorageProxy,
    collector_storage: StorageProxy,
    pubsub: &'static PubSubEmulator,
    topic: String,
    collector_port: u16,
    collector: Mutex<Option<Reaped>>,
    rules: Mutex<Vec<Rule>>,
    project: Mutex<CloudProject>,
    resource_manager: ResourceManager,
}

static CLOUDS: AtomicU32 = AtomicU32::new(0);

impl LocalCloud {
    /// Starts fake-gcs-server with the deployment's bucket, the two storage proxies, the topic and
    /// push subscription on the (shared) Pub/Sub emulator, and writes the `gcloud` shim. The
    /// collector is not started: see [`LocalCloud::start_collector`].
    pub async fn start(deployment: Deployment) -> LocalCloud {
        let gcs = FakeGcs::start().await;
        gcs.create_bucket(&deployment.bucket).await;
        let operator_storage =
            StorageProxy::start_as(&gcs.endpoint(), "operator@example.com", Access::ReadWrite)
                .await
                .expect("start the operator's storage proxy");
        let collector_storage = StorageProxy::start_as(
            &gcs.endpoint(),
            &deployment.collector_account,
            Access::ReadWrite,
        )
        .await
        .expect("start the collector's storage proxy");
        let pubsub = tokio::task::spawn_blocking(PubSubEmulator::shared)
            .await
            .expect("start the Pub/Sub emulator");
        let n = CLOUDS.fetch_add(1, Ordering::SeqCst);
        let topic = format!("{}-{}-{n}", deployment.topic, std::process::id());
        let collector_port = free_port();
        pubsub
            .create_topic(&topic)
            .await
            .expect("create the trigger topic");
        pubsub
            .create_push_subscription(
                &format!("{topic}-push"),
                &topic,
                &format!("http://127.0.0.1:{collector_port}/"),
            )
            .await
            .expect("create the push subscription");
        let dir = tempfile::tempdir().expect("create the local cloud's folder");
        for sub in ["logs", "storage-config", "bin"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a local cloud folder");
        }
        std::fs::write(dir.path().join("access-token"), "local-cloud-any-token\n")
            .expect("write the access token file");
        let shim = dir.path().join("bin/gcloud");
        std::fs::write(&shim, GCLOUD_SHIM).expect("write the gcloud shim");
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755))
            .expect("make the gcloud shim executable");
        let cloud = LocalCloud {
            deployment,
            dir,
            gcs,
            operator_storage,
            collector_storage,
            pubsub,
            topic,
            collector_port,
            collector: Mutex::new(None),
            rules: Mutex::new(Vec::new()),
            project: Mutex::new(CloudProject::clean()),
            resource_manager: ResourceManager::start(LOCAL_ACCESS_TOKEN),
        };
        cloud.save();
        cloud
    }

    fn save(&self) {
        let d = &self.deployment;
        let logs = self.dir.path().join("logs");
        let config = serde_json::json!({
            "real_gcloud": tool("gcloud"),
            "project": d.project,
            "region": d.region,
            "storage_endpoint": self.operator_storage.endpoint(),
            "storage_config": self.dir.path().join("storage-config"),
            "token_file": self.dir.path().join("access-token"),
            "pubsub": self.pubsub.host(),
            "jobs": {d.job.clone(): {"project": self.pubsub.project(), "topic": self.topic}},
            "logs": {d.service.clone(): {
                "stdout": logs.join(format!("{}.stdout", d.service)),
                "stderr": logs.join(format!("{}.stderr", d.service)),
            }},
            "rules": *self.rules.lock().expect("rules lock"),
            "cloud_project": *self.project.lock().expect("project lock"),
            "access_token": LOCAL_ACCESS_TOKEN,
            "resource_manager": self.resource_manager.endpoint(),
        });
        let path = self.dir.path().join("bin/local-cloud.json");
        let temp = self.dir.path().join("bin/local-cloud.json.tmp");
        std::fs::write(&temp, config.to_string()).expect("write the shim's config");
        std::fs::rename(temp, path).expect("replace the shim's config");
    }

    /// The deployment it plays.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The folder holding the `gcloud` shim: put it first on a child's `PATH`.
    pub fn bin_dir(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// `PATH` with the shim first.
    pub fn path_env(&self) -> std::ffi::OsString {
        let mut dirs = vec![self.bin_dir()];
        dirs.extend(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths),
        );
        std::env::join_paths(dirs).expect("PATH entries are joinable")
    }

    /// The storage emulator behind the proxies.
    pub fn gcs(&self) -> &FakeGcs {
        &self.gcs
    }

    /// The Pub/Sub emulator.
    pub fn pubsub(&self) -> &PubSubEmulator {
        self.pubsub
    }

    /// The trigger topic on the emulator (unique per local cloud).
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// What the collector's identity may do in the bucket.
    pub fn set_collector_access(&self, access: Access) {
        self.collector_storage.set_access(access);
    }

    /// What the operator's identity (the one `gcloud storage` uses) may do in the bucket.
    pub fn set_operator_access(&self, access: Access) {
        self.operator_storage.set_access(access);
    }

    /// Replaces the project's billing, enabled APIs and organisation policies (a clean project at
    /// start: [`CloudProject::clean`]).
    pub fn set_project(&self, project: CloudProject) {
        *self.project.lock().expect("project lock") = project;
        self.save();
    }

    /// The project's billing, enabled APIs and organisation policies.
    pub fn project(&self) -> CloudProject {
        self.project.lock().expect("project lock").clone()
    }

    /// Resource Manager, where the caller's permissions are granted (none at start).
    pub fn resource_manager(&self) -> &ResourceManager {
        &self.resource_manager
    }

    /// The shim's whole configuration (what it serves), as written.
    pub fn shim_config(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.bin_dir().join("local-cloud.json"))
            .expect("read the shim's config");
        serde_json::from_str(&text).expect("the shim's config is JSON")
    }

    /// When a call outside storage, logging and scheduler has every one of `args_contain` among its
    /// arguments, answer `replies` in turn (the last repeats). The first matching rule wins.
    pub fn on(&self, args_contain: &[&str], replies: Vec<Reply>) {
        assert!(!replies.is_empty(), "a rule needs at least one reply");
        self.rules.lock().expect("rules lock").push(Rule {
            args_contain: args_contain.iter().map(|s| (*s).to_owned()).collect(),
            replies,
        });
        self.save();
    }

    /// Every `gcloud` call so far.
    pub fn calls(&self) -> Vec<ShimCall> {
        std::fs::read_to_string(self.bin_dir().join("calls.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("shim log lines are JSON"))
            .collect()
    }

    /// The collector's port, where the push subscription delivers.
    pub fn collector_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.collector_port)
    }

    fn log_path(&self, stream: &str) -> PathBuf {
        self.dir
            .path()
            .join("logs")
            .join(format!("{}.{stream}", self.deployment.service))
    }

    /// The file the collector's standard output (`stdout`) or error (`stderr`) goes to, which
    /// `gcloud logging read` serves.
    pub fn collector_log(&self, stream: &str) -> PathBuf {
        self.log_path(stream)
    }

    /// The collector's standard output so far (its Cloud Logging JSON lines).
    pub fn collector_stdout(&self) -> String {
        std::fs::read_to_string(self.log_path("stdout")).unwrap_or_default()
    }

    /// Starts `binary serve` as the Cloud Run service: events from `api_base` with `token`, objects
    /// through the collector's storage proxy, `extra` settings on top. Returns once it answers `/healthz`, or
    /// once it exited (a collector that cannot start logs why and stops, as on Cloud Run).
    pub async fn start_collector(
        &self,
        binary: &Path,
        api_base: &str,
        token: &str,
        extra: &[(&str, &str)],
    ) {
        let mut settings = vec![("OP_API_BASE", api_base), ("OP_BEARER_TOKEN", token)];
        settings.extend_from_slice(extra);
        self.start_collector_with(binary, &settings).await;
    }

    /// [`LocalCloud::start_collector`] for several accounts: `ACCOUNTS` and each account's
    /// `(name, api_base, token)` in its own variables (`OP_API_BASE_NAME`, `OP_BEARER_TOKEN_NAME`),
    /// `extra` settings on top.
    pub async fn start_collector_for_accounts(
        &self,
        binary: &Path,
        accounts: &[(&str, &str, &str)],
        extra: &[(&str, &str)],
    ) {
        let names: Vec<&str> = accounts.iter().map(|(name, _, _)| *name).collect();
        let mut owned = vec![("ACCOUNTS".to_owned(), names.join(","))];
        for (name, api_base, token) in accounts {
            let suffix = name.to_uppercase().replace('-', "_");
            owned.push((format!("OP_API_BASE_{suffix}"), (*api_base).to_owned()));
            owned.push((format!("OP_BEARER_TOKEN_{suffix}"), (*token).to_owned()));
        }
        let mut settings: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        settings.extend_from_slice(extra);
        self.start_collector_with(binary, &settings).await;
    }

    async fn start_collector_with(&self, binary: &Path, settings: &[(&str, &str)]) {
        self.stop_collector();
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PORT", self.collector_port.to_string())
            .env("GCS_BUCKET", &self.deployment.bucket)
            .env("STORAGE_EMULATOR_HOST", self.collector_storage.endpoint())
            .env("LOG_FORMAT", "json")
            .env("RETRY_BASE_MILLIS", "5")
            .env("RETRY_MAX_ATTEMPTS", "3");
        for (name, value) in settings {
            command.env(name, value);
        }
        let open = |stream: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_path(stream))
                .expect("open the collector's log")
        };
        let process = Reaped::spawn(
            &command,
            Stdio::from(open("stdout")),
            Stdio::from(open("stderr")),
        )
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let health = format!("{}healthz", self.collector_url());
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && process.is_running() {
            if let Ok(answer) = client.get(&health).send().await
                && answer.status().is_success()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        *self.collector.lock().expect("collector lock") = Some(process);
    }

    /// Whether the collector is running.
    pub fn collector_running(&self) -> bool {
        self.collector
            .lock()
            .expect("collector lock")
            .as_ref()
            .is_some_and(Reaped::is_running)
    }

    /// Stops the collector (Cloud Run scaling to zero); its logs stay.
    pub fn stop_collector(&self) {
        if let Some(mut process) = self.collector.lock().expect("collector lock").take() {
            process.stop();
        }
    }

    /// Shifts every logged time back by `by`, as if everything so far had happened that long ago.
    pub fn age_logs(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).expect("a representable duration");
        for stream in ["stdout", "stderr"] {
            let path = self.log_path(stream);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let aged: Vec<String> = text
                .lines()
                .map(|line| {
                    let Ok(serde_json::Value::Object(mut fields)) =
                        serde_json::from_str::<serde_json::Value>(line)
                    else {
                        return line.to_owned();
                    };
                    if let Some(time) = fields
                        .get("time")
                        .and_then(|t| t.as_str())
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    {
                        let moved = (time.to_utc() - by)
                            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                        fields.insert("time".into(), moved.into());
                    }
                    serde_json::Value::Object(fields).to_string()
                })
                .collect();
            std::fs::write(&path, aged.join("\n") + "\n").expect("rewrite the collector's log");
        }
    }

    /// Runs the real `gcloud` the way the shim does for storage (operator identity), e.g. to read
    /// what landed.
    pub fn gcloud_storage(&self, args: &[&str]) -> std::process::Output {
        Command::new(self.bin_dir().join("gcloud"))
            .arg("storage")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run the gcloud shim")
    }
}

impl Drop for LocalCloud {
    fn drop(&mut self) {
        self.stop_collector();
        // The emulator outlives this cloud (one per test binary): stop its pushes to this port.
        self.pubsub
            .delete_subscription_blocking(&format!("{}-push", self.topic));
    }
}
