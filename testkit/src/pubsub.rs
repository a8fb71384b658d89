//! The real Pub/Sub emulator (`gcloud beta emulators pubsub start`, Java) on a free loopback port,
//! driven over its REST API. gcloud and its JVM run under [`Reaped`], so they end with the handle,
//! or with the test process for the one [`PubSubEmulator::shared`] emulator of a test binary.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::reaper::Reaped;
use crate::tools::{free_port, tool};

/// A running Pub/Sub emulator for one project.
#[derive(Debug)]
pub struct PubSubEmulator {
    process: Reaped,
    port: u16,
    project: String,
    log: PathBuf,
    _config: tempfile::TempDir,
}

/// A failed call to the emulator's REST API.
#[derive(Debug, thiserror::Error)]
pub enum PubSubError {
    /// The emulator could not be reached.
    #[error("Pub/Sub emulator request {url} failed: {source}")]
    Request {
        /// The URL.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The emulator answered with an error.
    #[error("Pub/Sub emulator refused {url}: {status} {body}")]
    Refused {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Its answer.
        body: String,
    },
}

impl PubSubEmulator {
    /// Starts the emulator for `project` and waits (up to 60 s) for "Server started".
    /// Panics naming the tool when `gcloud` or its Pub/Sub emulator component is missing.
    pub fn start(project: &str) -> PubSubEmulator {
        let gcloud = tool("gcloud");
        let mut last_error = String::new();
        for _attempt in 0..2 {
            let port = free_port();
            let config = tempfile::tempdir().expect("create a gcloud config folder");
            let log = config.path().join("emulator.log");
            std::fs::create_dir_all(config.path().join("data"))
                .expect("create the emulator's data folder");
            let out = std::fs::File::create(&log).expect("create the emulator's log");
            let mut command = Command::new(&gcloud);
            command
                .args(["beta", "emulators", "pubsub", "start"])
                .arg(format!("--host-port=127.0.0.1:{port}"))
                .arg(format!("--project={project}"))
                .arg(format!(
                    "--data-dir={}",
                    config.path().join("data").display()
                ))
                .env("CLOUDSDK_CONFIG", config.path())
                .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1");
            let process = Reaped::spawn(
                &command,
                Stdio::from(out.try_clone().expect("clone the log handle")),
                Stdio::from(out),
            )
            .unwrap_or_else(|e| {
                    panic!(
                        "cannot start the Pub/Sub emulator with {}: {e}; install gcloud and google-cloud-cli-pubsub-emulator (and Java)",
                        gcloud.display()
                    )
                });
            let mut emulator = PubSubEmulator {
                process,
                port,
                project: project.to_owned(),
                log,
                _config: config,
            };
            match emulator.wait_ready() {
                Ok(()) => return emulator,
                Err(e) => last_error = e,
            }
        }
        panic!(
            "the Pub/Sub emulator (gcloud beta emulators pubsub start; needs java and google-cloud-cli-pubsub-emulator) did not start: {last_error}"
        );
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if !self.process.is_running() {
                return Err(format!("exited: {}", self.log_text()));
            }
            if self.log_text().contains("Server started") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("not ready within 60 s: {}", self.log_text()))
    }

    /// The emulator's own output so far.
    pub fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// `127.0.0.1:PORT`, the value of `PUBSUB_EMULATOR_HOST`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The project it serves.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The id of the process group (gcloud and its JVM).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// One emulator for the whole test binary (project `local-cloud`), started on first use; it
    /// ends when the test process does.
    pub fn shared() -> &'static PubSubEmulator {
        static SHARED: OnceLock<PubSubEmulator> = OnceLock::new();
        SHARED.get_or_init(|| PubSubEmulator::start("local-cloud"))
    }

    fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/v1/projects/{}/{path}",
            self.port, self.project
        )
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, PubSubError> {
        let url = self.url(path);
        let response = reqwest::Client::new()
            .request(method, &url)
            .json(&body)
            .send()
            .await
            .map_err(|source| PubSubError::Request {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(PubSubError::Refused {
                url,
                status: status.as_u16(),
                body: text,
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    /// Creates topic `topic` (3 to 255 characters, starting with a letter).
    pub async fn create_topic(&self, topic: &str) -> Result<(), PubSubError> {
        self.call(
            reqwest::Method::PUT,
            &format!("topics/{topic}"),
            serde_json::json!({}),
        )
        .await
        .map(|_| ())
    }

    /// Creates push subscription `subscription` on `topic`, pushing to `endpoint`, with the 600 s
    /// acknowledgement deadline the deployment uses.
    pub async fn create_push_subscription(
        &self,
        subscription: &str,
        topic: &str,
        endpoint: &str,
    ) -> Result<(), PubSubError> {
        let body = serde_json::json!({
            "topic": format!("projects/{}/topics/{topic}", self.project),
            "pushConfig": {"pushEndpoint": endpoint},
            "ackDeadlineSeconds": 600,
        });
        self.call(
            reqwest::Method::PUT,
            &format!("subscriptions/{subscription}"),
            body,
        )
        .await
        .map(|_| ())
    }

    /// Deletes `subscription` (its undelivered messages with it), without an async runtime: for
    /// `Drop`, so a finished test's messages are not pushed to a port a later test listens on.
    pub fn delete_subscription_blocking(&self, subscription: &str) {
        use std::io::Write as _;
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /v1/projects/{}/subscriptions/{subscription} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.project, self.port
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
        }
    }

    /// Publishes `{}` to `topic`, as Cloud Scheduler does; returns the message id.
    pub async fn publish_empty(&self, topic: &str) -> Result<String, PubSubError> {
        let answer = self
            .call(
                reqwest::Method::POST,
                &format!("topics/{topic}:publish"),
                serde_json::json!({"messages": [{"data": "e30="}]}),
            )
            .await?;
        Ok(answer["messageIds"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }
}
