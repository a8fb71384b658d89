//! Shared by the collector's integration tests: the simulator, the GCS emulator, the real binary.

#![allow(dead_code)]

pub mod in_process;

use std::collections::HashMap;
use std::process::{Child, Command, Output, Stdio};

use opsim::{SimConfig, Simulator, Stream, TokenGrant};
use testkit::FakeGcs;

pub const TOKEN: &str = "integration-test-token";
pub const BUCKET: &str = "onepassword-audit-secops-logs";
pub const PREFIX: &str = "onepassword-audit";
pub const CHECKPOINT: &str = "onepassword-secops-state/auditevents.json";

pub struct World {
    pub sim: Simulator,
    pub gcs: FakeGcs,
}

impl World {
    pub async fn new(events: usize) -> World {
        Self::with(SimConfig::new(99).with_events(Stream::AuditEvents, events)).await
    }

    pub async fn with(config: SimConfig) -> World {
        let sim = Simulator::start(config.with_token(TokenGrant::all_features(TOKEN)))
            .await
            .unwrap();
        let gcs = FakeGcs::start().await;
        gcs.create_bucket(BUCKET).await;
        World { sim, gcs }
    }

    /// The collector binary with a clean environment pointing at the simulator and the emulator.
    pub fn collector(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_collector"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("OP_API_BASE", self.sim.base_url())
            .env("OP_BEARER_TOKEN", TOKEN)
            .env("GCS_BUCKET", BUCKET)
            .env("GCS_PREFIX", PREFIX)
            .env("STORAGE_EMULATOR_HOST", self.gcs.endpoint())
            .env("PAGE_SIZE", "250")
            .env("MAX_RECORDS", "100000000")
            .env("RETRY_BASE_MILLIS", "5")
            .env("RUN_BUDGET_SECONDS", "120")
            .env("LOG_FORMAT", "json")
            .env("LISTEN_ADDRESS", "127.0.0.1")
            .stdin(Stdio::null());
        command
    }

    pub fn run_once(&self, extra: &[(&str, &str)]) -> Output {
        let mut command = self.collector(&["run-once"]);
        for (k, v) in extra {
            command.env(k, v);
        }
        command.output().unwrap()
    }

    pub fn spawn(&self, args: &[&str], extra: &[(&str, &str)]) -> Child {
        let mut command = self.collector(args);
        for (k, v) in extra {
            command.env(k, v);
        }
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Every line of every object under the feed prefix.
    pub async fn landed(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for name in self.gcs.list(BUCKET, &format!("{PREFIX}/")).await {
            assert!(
                name.ends_with(".ndjson"),
                "unexpected object {name} under the feed prefix"
            );
            let data = self.gcs.object(BUCKET, &name).await.unwrap();
            assert!(data.ends_with(b"\n"), "{name} ends with a newline");
            lines.extend(String::from_utf8(data).unwrap().lines().map(str::to_owned));
        }
        lines
    }

    /// Asserts the bucket holds every event of the simulator's log exactly once, byte-identical.
    pub async fn assert_exactly_once(&self) {
        let log: Vec<String> = self
            .sim
            .events(Stream::AuditEvents)
            .into_iter()
            .map(|e| e.raw)
            .collect();
        let landed = self.landed().await;
        let mut counts: HashMap<&str, i64> = HashMap::new();
        for raw in &log {
            *counts.entry(raw.as_str()).or_default() += 1;
        }
        for line in &landed {
            *counts.entry(line.as_str()).or_default() -= 1;
        }
        let lost = counts.values().filter(|n| **n > 0).count();
        let extra = counts.values().filter(|n| **n < 0).count();
        assert_eq!(
            (lost, extra),
            (0, 0),
            "{lost} events lost, {extra} duplicated or altered ({} served, {} landed)",
            log.len(),
            landed.len()
        );
        assert_eq!(landed.len(), log.len());
    }
}

/// The JSON log lines of an output.
pub fn log_lines(output: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(output)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The run summary line.
pub fn summary(output: &Output) -> serde_json::Value {
    log_lines(&output.stdout)
        .into_iter()
        .find(|l| l["message"] == "collector run summary")
        .unwrap_or_else(|| {
            panic!(
                "no summary line in: {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
}

/// Whether the collector service on 127.0.0.1:`port` answers `/healthz` with 200 within ten
/// seconds (it is polled every 50 ms).
pub async fn healthy(port: u16) -> bool {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
