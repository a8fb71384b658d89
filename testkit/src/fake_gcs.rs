//! A real fake-gcs-server on a free loopback port, stopped when the handle drops (even on panic).
//!
//! Limits of pairing it with the official `google-cloud-storage` crate: only `write_object` and
//! `read_object` travel over HTTP/JSON (everything in `StorageControl` is gRPC and never reaches the
//! emulator); only multipart (buffered) uploads honour preconditions; the emulator keeps neither the
//! content type nor custom metadata of the crate's multipart writes. Tests must not rely on those.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tools::{free_port, tool};

/// A running fake-gcs-server with an in-memory backend.
#[derive(Debug)]
pub struct FakeGcs {
    child: Child,
    port: u16,
    log: PathBuf,
    http: reqwest::Client,
}

impl FakeGcs {
    /// Starts the emulator on a free port of 127.0.0.1 and waits until it answers.
    pub async fn start() -> FakeGcs {
        let binary = tool("fake-gcs-server");
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let log =
                std::env::temp_dir().join(format!("fake-gcs-{}-{port}.log", std::process::id()));
            let stderr = std::fs::File::create(&log).expect("create emulator log file");
            let child = Command::new(&binary)
                .args([
                    "-scheme",
                    "http",
                    "-host",
                    "127.0.0.1",
                    "-port",
                    &port.to_string(),
                ])
                .args([
                    "-backend",
                    "memory",
                    "-external-url",
                    &format!("http://127.0.0.1:{port}"),
                ])
                .args(["-log-level", "warn"])
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut server = FakeGcs {
                child,
                port,
                log,
                http: reqwest::Client::new(),
            };
            match server.wait_ready().await {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("fake-gcs-server did not start: {last_error}");
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let url = format!("{}/storage/v1/b?project=test", self.endpoint());
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}: {}", self.log_tail()));
            }
            if let Ok(response) = self.http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("no answer within 15 s: {}", self.log_tail()))
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(2000);
        text[text.floor_char_boundary(start)..].to_owned()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The emulator's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Creates bucket `name`.
    pub async fn create_bucket(&self, name: &str) {
        let response = self
            .http
            .post(format!("{}/storage/v1/b?project=test", self.endpoint()))
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .expect("create bucket request");
        assert!(
            response.status().is_success(),
            "create bucket {name}: {} {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }

    /// The bytes of object `name`, or `None` if it does not exist.
    pub async fn object(&self, bucket: &str, name: &str) -> Option<Vec<u8>> {
        let url = format!(
            "{}/storage/v1/b/{bucket}/o/{}?alt=media",
            self.endpoint(),
            encode(name)
        );
        let response = self.http.get(url).send().await.expect("download request");
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        assert!(
            response.status().is_success(),
            "download {name}: {}",
            response.status()
        );
        Some(response.bytes().await.expect("download body").to_vec())
    }

    /// Names of the objects under `prefix`, in name order, across every page of the listing.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut request = self
                .http
                .get(format!("{}/storage/v1/b/{bucket}/o", self.endpoint()))
                .query(&[("prefix", prefix), ("maxResults", "1000")]);
            if let Some(token) = &page_token {
                request = request.query(&[("pageToken", token.as_str())]);
            }
            let page: serde_json::Value = request
                .send()
                .await
                .expect("list request")
                .json()
                .await
                .expect("list response is JSON");
            names.extend(
                page["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|item| item["name"].as_str().map(str::to_owned)),
            );
            match page["nextPageToken"].as_str() {
                Some(token) if !token.is_empty() => page_token = Some(token.to_owned()),
                _ => break,
            }
        }
        names.sort();
        names
    }

    /// Uploads `data` as object `name` (for test set-up).
    pub async fn put(&self, bucket: &str, name: &str, data: &[u8]) {
        let response = self
            .http
            .post(format!(
                "{}/upload/storage/v1/b/{bucket}/o",
                self.endpoint()
            ))
            .query(&[("uploadType", "media"), ("name", name)])
            .body(data.to_vec())
            .send()
            .await
            .expect("upload request");
        assert!(
            response.status().is_success(),
            "upload {name}: {}",
            response.status()
        );
    }
}

fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
