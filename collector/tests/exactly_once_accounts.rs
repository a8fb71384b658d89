//! The exactly-once fault suite with three accounts at once in one collector (`ACCOUNTS`): the
//! real binary against one simulator per account and a real fake-gcs-server. One account's token
//! is revoked, one account's API fails at random (and storage fails at random for everyone, through
//! the proxy), one is healthy; then kill -9 at random moments while events keep arriving. After
//! each scenario every account's every stream must be in the bucket exactly once, byte-identical,
//! in that account's folder: zero lost, zero duplicated, nothing in another account's folder.

mod support;

use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use opsim::{Fault, FaultPlan, SimConfig, Simulator, Stream, TokenGrant};
use rand::{RngExt as _, SeedableRng};
use testkit::{FakeGcs, FaultedRequests, StorageFault, StorageFaultPlan, StorageProxy};

const BUCKET: &str = "onepassword-audit-secops-logs";
const STREAMS: [(Stream, &str); 3] = [
    (Stream::AuditEvents, "onepassword-audit"),
    (Stream::SignInAttempts, "onepassword-signinattempts"),
    (Stream::ItemUsages, "onepassword-itemusages"),
];

fn seed() -> u64 {
    let seed = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_130);
    eprintln!("fault suite seed: {seed} (set FAULT_SEED to reproduce another)");
    seed
}

/// An account of the deployment: its name, its simulator and the token the collector is given.
struct Tenant {
    name: &'static str,
    sim: Simulator,
    token: String,
}

impl Tenant {
    async fn start(name: &'static str, seed: u64, events: usize, known: bool) -> Tenant {
        let token = format!("token-of-{name}");
        // A revoked token: the account's API knows only the token that replaced it.
        let grant = if known {
            token.clone()
        } else {
            format!("replacement-of-{name}")
        };
        let mut config = SimConfig::new(seed).with_token(TokenGrant::all_features(grant));
        for (stream, _) in STREAMS {
            config = config.with_events(stream, events);
        }
        Tenant {
            name,
            sim: Simulator::start(config).await.unwrap(),
            token,
        }
    }

    fn suffix(&self) -> String {
        self.name.to_uppercase().replace('-', "_")
    }
}

struct World {
    tenants: Vec<Tenant>,
    gcs: FakeGcs,
}

impl World {
    async fn new(events: usize) -> World {
        let seed = seed();
        let tenants = vec![
            Tenant::start("steady", seed, events, true).await,
            Tenant::start("revoked", seed + 1, events, false).await,
            Tenant::start("faulty", seed + 2, events, true).await,
        ];
        let gcs = FakeGcs::start().await;
        gcs.create_bucket(BUCKET).await;
        World { tenants, gcs }
    }

    fn tenant(&self, name: &str) -> &Tenant {
        self.tenants.iter().find(|t| t.name == name).unwrap()
    }

    /// `collector run-once` for every account, storage through `storage` (the emulator or a proxy).
    fn run_once_command(&self, storage: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_collector"));
        command
            .arg("run-once")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env(
                "ACCOUNTS",
                self.tenants
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .env("ACCOUNTS_IN_PARALLEL", "2")
            .env("GCS_BUCKET", BUCKET)
            .env("STORAGE_EMULATOR_HOST", storage)
            .env("PAGE_SIZE", "50")
            .env("BATCH_MAX_EVENTS", "100")
            .env("MAX_RECORDS", "100000000")
            .env("RETRY_MAX_ATTEMPTS", "4")
            .env("RETRY_BASE_MILLIS", "5")
            .env("RUN_BUDGET_SECONDS", "120")
            .env("LOG_FORMAT", "json")
            .stdin(Stdio::null());
        for tenant in &self.tenants {
            let suffix = tenant.suffix();
            command
                .env(format!("OP_API_BASE_{suffix}"), tenant.sim.base_url())
                .env(format!("OP_BEARER_TOKEN_{suffix}"), &tenant.token)
                .env(
                    format!("STREAMS_{suffix}"),
                    "auditevents,signinattempts,itemusages",
                );
        }
        command
    }

    /// Runs `run-once` until every account but the revoked one has drained every stream, at most
    /// `limit` times; returns the last run's output.
    fn run_until_drained(&self, storage: &str, limit: usize) -> Output {
        for _ in 0..limit {
            let output = self.run_once_command(storage).output().unwrap();
            let line = support::summary(&output);
            let drained = line["summary"]["streams"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["account"] != "revoked")
                .all(|s| s["outcome"]["kind"] == "drained");
            if drained {
                return output;
            }
        }
        panic!("the healthy accounts did not drain in {limit} runs");
    }

    /// Every line of every object in `tenant`'s folder of `prefix`.
    async fn landed(&self, tenant: &Tenant, prefix: &str) -> Vec<String> {
        let mut lines = Vec::new();
        for name in self
            .gcs
            .list(BUCKET, &format!("{prefix}/{}/", tenant.name))
            .await
        {
            let data = self.gcs.object(BUCKET, &name).await.unwrap();
            lines.extend(String::from_utf8(data).unwrap().lines().map(str::to_owned));
        }
        lines
    }

    /// Asserts `tenant`'s every stream is in its folders exactly once, byte-identical.
    async fn assert_exactly_once(&self, tenant: &Tenant) {
        for (stream, prefix) in STREAMS {
            let log: Vec<String> = tenant
                .sim
                .events(stream)
                .into_iter()
                .map(|e| e.raw)
                .collect();
            let landed = self.landed(tenant, prefix).await;
            let mut counts: HashMap<&str, i64> = HashMap::new();
            for raw in &log {
                *counts.entry(raw.as_str()).or_default() += 1;
            }
            for line in &landed {
                *counts.entry(line.as_str()).or_default() -= 1;
            }
            let lost = counts.values().filter(|n| **n > 0).count();
            let extra = counts.values().filter(|n| **n < 0).count();
            eprintln!(
                "{} {stream:?}: {} served, {} landed, {lost} lost, {extra} duplicated or altered",
                tenant.name,
                log.len(),
                landed.len()
            );
            assert_eq!((lost, extra), (0, 0), "{} {stream:?}", tenant.name);
            assert_eq!(landed.len(), log.len(), "{} {stream:?}", tenant.name);
        }
    }

    /// Asserts nothing of `tenant` was written (its token is refused).
    async fn assert_nothing_written(&self, tenant: &Tenant) {
        for (_, prefix) in STREAMS {
            assert!(
                self.landed(tenant, prefix).await.is_empty(),
                "{} wrote under {prefix}",
                tenant.name
            );
        }
    }

    /// The revoked account gets its new token: the collector is given the token its API knows.
    fn renew_revoked_token(&mut self) {
        let revoked = self
            .tenants
            .iter_mut()
            .find(|t| t.name == "revoked")
            .unwrap();
        revoked.token = format!("replacement-of-{}", revoked.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_accounts_one_revoked_one_faulty_under_storage_faults() {
    let mut world = World::new(600).await;
    let seed = seed();
    world.tenant("faulty").sim.set_faults(FaultPlan::random(
        seed,
        0.3,
        vec![
            Fault::TooManyRequests {
                retry_after: Some(0),
            },
            Fault::ServerError(502),
            Fault::ServerError(503),
            Fault::CutBody,
            Fault::MalformedJson,
        ],
    ));
    let proxy = StorageProxy::start(&world.gcs.endpoint()).await.unwrap();
    proxy.set_faults(StorageFaultPlan::random(
        seed,
        0.1,
        StorageFault::ALL.to_vec(),
        FaultedRequests::All,
    ));
    for tenant in &world.tenants {
        tenant.sim.append(Stream::AuditEvents, 150);
    }
    let last = world.run_until_drained(&proxy.endpoint(), 40);
    let line = support::summary(&last);
    for stream in line["summary"]["streams"].as_array().unwrap() {
        if stream["account"] == "revoked" {
            assert_eq!(stream["outcome"]["kind"], "permanent", "{stream}");
            assert_eq!(stream["outcome"]["reason"], "token_refused", "{stream}");
        }
    }
    let injected: u64 = StorageFault::ALL.iter().map(|f| proxy.injected(*f)).sum();
    assert!(injected >= 5, "storage faults were injected ({injected})");
    world.assert_exactly_once(world.tenant("steady")).await;
    world.assert_exactly_once(world.tenant("faulty")).await;
    world.assert_nothing_written(world.tenant("revoked")).await;

    // The revoked account gets a new token; its backlog follows, and nothing else is written twice.
    world.renew_revoked_token();
    world.tenant("faulty").sim.set_faults(FaultPlan::none());
    proxy.set_faults(StorageFaultPlan::none());
    let output = world.run_until_drained(&proxy.endpoint(), 3);
    let line = support::summary(&output);
    assert_eq!(line["ok"], true, "{line}");
    for tenant in &world.tenants {
        world.assert_exactly_once(tenant).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_accounts_killed_at_random_moments_while_events_arrive() {
    let mut world = World::new(300).await;
    world.tenant("faulty").sim.set_faults(FaultPlan::random(
        seed(),
        0.2,
        vec![
            Fault::ServerError(503),
            Fault::Slow(Duration::from_millis(20)),
        ],
    ));
    let endpoint = world.gcs.endpoint();
    // How long a whole run of about a round's backlog takes on this machine and build: kills land
    // within it, so they interrupt runs mid-way however fast or loaded the machine is.
    let started = std::time::Instant::now();
    let first = world
        .run_once_command(&endpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(
        first.code().is_some(),
        "the timing run ends on its own, not by a signal: {first:?}"
    );
    let mut whole = (started.elapsed().as_millis() as u64).max(40);
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed());
    // Twelve runs; more (up to 40) until six were killed mid-way. A run that ends before its kill
    // shortens the window to its own length, so kills keep landing inside runs when the
    // machine's load falls after the timing run (the window is a measurement, not a constant).
    let (mut killed, mut runs) = (0, 0);
    while runs < 12 || (killed < 6 && runs < 40) {
        runs += 1;
        for tenant in &world.tenants {
            tenant.sim.append(Stream::AuditEvents, 200);
            tenant.sim.append(Stream::ItemUsages, 50);
        }
        let started = std::time::Instant::now();
        let mut child = world
            .run_once_command(&endpoint)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(
            rng.random_range(whole / 20..whole / 2),
        ))
        .await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        } else {
            whole = (started.elapsed().as_millis() as u64).clamp(40, whole);
        }
        child.wait().unwrap();
    }
    eprintln!("runs killed mid-way: {killed} of {runs}");
    assert!(
        killed >= 6,
        "at least six runs were killed mid-way ({killed} of {runs})"
    );
    world.tenant("faulty").sim.set_faults(FaultPlan::none());
    world.run_until_drained(&endpoint, 5);
    world.assert_exactly_once(world.tenant("steady")).await;
    world.assert_exactly_once(world.tenant("faulty")).await;
    world.assert_nothing_written(world.tenant("revoked")).await;
    world.renew_revoked_token();
    world.run_until_drained(&endpoint, 3);
    for tenant in &world.tenants {
        world.assert_exactly_once(tenant).await;
    }
}
