//! Several 1Password accounts in one pipeline, in process over one simulator per account (each
//! account sees only its own events, as real accounts do) and the in-memory store: every account's
//! every stream exactly once in its own folder; a refused, failing or rate-limited account never
//! stops the others; no more accounts run at once than the bound; accounts a run never reached go
//! first in the next; twenty accounts of three streams drain in one run; accounts of one host share
//! connections yet each sends its own token.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use collector::pipeline::{
    Account, AccountName, FailureReason, Limits, Outcome, Pipeline, RunSummary, Start, StreamPlan,
};
use collector::storage::{Generation, MemoryStore, ObjectStore, Precondition, StorageError};
use onepassword_events::secret::Secret;
use onepassword_events::{Connections, Stream};
use opsim::{Fault, FaultPlan, SimConfig, Simulator, TokenGrant};
use support::in_process;

const STATE: &str = "state";
const RUN_ORDER: &str = "state/run-order.json";

/// The feed prefix of `stream` in these tests.
fn prefix(stream: Stream) -> &'static str {
    match stream {
        Stream::AuditEvents => "audit",
        Stream::SignInAttempts => "signins",
        Stream::ItemUsages => "items",
    }
}

fn sim_stream(stream: Stream) -> opsim::Stream {
    match stream {
        Stream::AuditEvents => opsim::Stream::AuditEvents,
        Stream::SignInAttempts => opsim::Stream::SignInAttempts,
        Stream::ItemUsages => opsim::Stream::ItemUsages,
    }
}

/// The connections every account of a test's pipeline shares, as the collector's accounts do.
fn connections() -> Connections {
    Connections::new(in_process::fast_retries(3)).unwrap()
}

/// Asserts `store` holds no object in `account`'s folders (a refused account writes none).
fn assert_nothing_written_for(store: &MemoryStore, account: &str) {
    let folder = format!("/{account}/");
    let written: Vec<String> = store
        .objects()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.contains(&folder))
        .collect();
    assert!(written.is_empty(), "{account} wrote {written:?}");
}

/// One account: its name, its own simulator, the token that simulator knows, and the connections
/// it shares with the test's other accounts.
struct Tenant {
    name: AccountName,
    sim: Simulator,
    token: String,
    connections: Connections,
}

impl Tenant {
    /// An account `name` over `connections` with `events` of each of `streams`, its simulator set
    /// up by `config`.
    async fn start(
        connections: &Connections,
        name: &str,
        seed: u64,
        streams: &[Stream],
        events: usize,
        config: impl FnOnce(SimConfig) -> SimConfig,
    ) -> Tenant {
        let token = format!("token-of-{name}");
        let mut sim = SimConfig::new(seed).with_token(TokenGrant::all_features(token.clone()));
        for &stream in streams {
            sim = sim.with_events(sim_stream(stream), events);
        }
        Tenant {
            name: AccountName::new(name).unwrap(),
            sim: Simulator::start(config(sim)).await.unwrap(),
            token,
            connections: connections.clone(),
        }
    }

    /// The account as the collector sees it, reading `streams` with `token`.
    fn account_with(&self, streams: &[Stream], token: &str) -> Account {
        let client = self
            .connections
            .client(self.sim.base_url().parse().unwrap(), Secret::new(token));
        let plans = streams
            .iter()
            .map(|&stream| StreamPlan {
                stream,
                prefix: contract::checkpoint::account_prefix(prefix(stream), &self.name),
                checkpoint_key: contract::checkpoint::account_key(STATE, &self.name, stream),
                start: Start::Lookback(chrono::Duration::hours(24)),
            })
            .collect();
        Account {
            name: Some(self.name.clone()),
            client,
            plans,
            token_expires_at: None,
            token_fingerprint: Some(Secret::new(token).fingerprint()),
        }
    }

    fn account(&self, streams: &[Stream]) -> Account {
        self.account_with(streams, &self.token)
    }

    /// Asserts the store holds this account's `stream` exactly once, byte-identical, in its folder.
    fn assert_exactly_once(&self, store: &MemoryStore, stream: Stream) {
        let folder = format!(
            "{}/",
            contract::checkpoint::account_prefix(prefix(stream), &self.name)
        );
        let mut got: Vec<String> = store
            .objects()
            .into_iter()
            .filter(|(name, _)| name.starts_with(&folder))
            .flat_map(|(_, data)| {
                String::from_utf8(data.to_vec())
                    .unwrap()
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut want: Vec<String> = self
            .sim
            .events(sim_stream(stream))
            .into_iter()
            .map(|e| e.raw)
            .collect();
        assert!(!want.is_empty(), "{} {stream} has events", self.name);
        got.sort();
        want.sort();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for line in &got {
            *counts.entry(line.as_str()).or_default() += 1;
        }
        assert!(
            counts.values().all(|n| *n == 1),
            "{} {stream}: duplicated lines",
            self.name
        );
        assert_eq!(
            got.len(),
            want.len(),
            "{} {stream}: lost or extra events",
            self.name
        );
        assert_eq!(
            got, want,
            "{} {stream}: every event byte-identical",
            self.name
        );
    }
}

fn limits(budget: Duration) -> Limits {
    Limits {
        budget,
        ..in_process::limits(100, 300, 2)
    }
}

fn pipeline(
    accounts: Vec<Account>,
    store: Arc<dyn ObjectStore>,
    limits: Limits,
    parallel: usize,
) -> Pipeline {
    Pipeline::of_accounts(accounts, store, limits).with_parallel(parallel, RUN_ORDER.into())
}

/// The outcomes of `account`'s streams in `summary`.
fn outcomes<'a>(summary: &'a RunSummary, account: &'a Tenant) -> Vec<&'a Outcome> {
    summary
        .streams_of(Some(&account.name))
        .map(|s| &s.outcome)
        .collect()
}

const ALL: [Stream; 3] = Stream::ALL;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_account_collects_every_stream_exactly_once_into_its_own_folders() {
    let http = connections();
    let mut tenants = Vec::new();
    for (i, name) in ["acme", "globex", "initech-eu"].into_iter().enumerate() {
        tenants.push(Tenant::start(&http, name, 100 + i as u64, &ALL, 250, |c| c).await);
    }
    let store = Arc::new(MemoryStore::new());
    let accounts = tenants.iter().map(|t| t.account(&ALL)).collect();
    let summary = pipeline(accounts, store.clone(), limits(Duration::from_secs(60)), 2)
        .run()
        .await;
    assert!(summary.ok(), "{summary:#?}");
    assert_eq!(summary.streams.len(), 9);
    assert_eq!(summary.accounts.len(), 3);
    for (tenant, account) in tenants.iter().zip(&summary.accounts) {
        assert_eq!(account.account, tenant.name);
        assert!(account.ok && account.finished, "{account:?}");
        assert_eq!(
            account.token_fingerprint,
            Some(Secret::new(&tenant.token).fingerprint())
        );
        for stream in ALL {
            tenant.assert_exactly_once(&store, stream);
            let key = contract::checkpoint::account_key(STATE, &tenant.name, stream);
            assert!(store.get(&key).is_some(), "{key} is written");
        }
        assert!(
            outcomes(&summary, tenant)
                .iter()
                .all(|o| **o == Outcome::Drained)
        );
    }
    // Nothing was written outside the accounts' folders and the checkpoints' folder.
    for (name, _) in store.objects() {
        assert!(
            ["audit/", "signins/", "items/", "state/"]
                .iter()
                .any(|p| name.starts_with(p)),
            "{name}"
        );
    }
    // A second run finds nothing new and writes no object.
    let objects = store.objects().len();
    let accounts = tenants.iter().map(|t| t.account(&ALL)).collect();
    let again = pipeline(accounts, store.clone(), limits(Duration::from_secs(60)), 2)
        .run()
        .await;
    assert_eq!(again.events(), 0);
    assert_eq!(store.objects().len(), objects);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_account_and_a_failing_one_never_stop_the_others() {
    let http = connections();
    let good = Tenant::start(&http, "good", 1, &ALL, 300, |c| c).await;
    let revoked = Tenant::start(&http, "revoked", 2, &ALL, 300, |c| c).await;
    // More server errors in a row than a call's attempts: its first stream fails, for this run.
    let flaky = Tenant::start(&http, "flaky", 3, &ALL, 300, |c| {
        c.with_faults(FaultPlan::queue(vec![Fault::ServerError(502); 3]))
    })
    .await;
    let other = Tenant::start(&http, "other", 4, &ALL, 300, |c| c).await;
    let store = Arc::new(MemoryStore::new());
    let accounts = |revoked_token: &str| {
        vec![
            good.account(&ALL),
            revoked.account_with(&ALL, revoked_token),
            flaky.account(&ALL),
            other.account(&ALL),
        ]
    };
    let summary = pipeline(
        accounts("a-token-1password-revoked"),
        store.clone(),
        limits(Duration::from_secs(60)),
        2,
    )
    .run()
    .await;
    for tenant in [&good, &other] {
        assert!(
            outcomes(&summary, tenant)
                .iter()
                .all(|o| **o == Outcome::Drained),
            "{}: {summary:#?}",
            tenant.name
        );
        for stream in ALL {
            tenant.assert_exactly_once(&store, stream);
        }
    }
    for outcome in outcomes(&summary, &revoked) {
        match outcome {
            Outcome::Permanent(f) => assert_eq!(f.reason, FailureReason::TokenRefused),
            other => panic!("revoked: {other:?}"),
        }
    }
    let flaky_outcomes = outcomes(&summary, &flaky);
    match flaky_outcomes[0] {
        Outcome::Transient(f) => assert_eq!(f.reason, FailureReason::ApiUnavailable),
        other => panic!("flaky: {other:?}"),
    }
    assert!(flaky_outcomes[1..].iter().all(|o| **o == Outcome::Drained));
    let by_name = |tenant: &Tenant| summary.account(&tenant.name).unwrap();
    assert!(by_name(&good).ok && !by_name(&revoked).ok && !by_name(&flaky).ok);
    assert!(!summary.ok() && summary.has_permanent_failure());
    assert_nothing_written_for(&store, "revoked");

    // The token is fixed and the faults are spent: the next run completes both, exactly once.
    let summary = pipeline(
        accounts(&revoked.token),
        store.clone(),
        limits(Duration::from_secs(60)),
        2,
    )
    .run()
    .await;
    assert!(summary.ok(), "{summary:#?}");
    for tenant in [&good, &revoked, &flaky, &other] {
        for stream in ALL {
            tenant.assert_exactly_once(&store, stream);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_in_a_429_storm_holds_one_slot_while_the_others_finish() {
    let http = connections();
    let storm = Tenant::start(&http, "storm", 5, &[Stream::AuditEvents], 100, |c| {
        c.with_faults(FaultPlan::queue(vec![
            Fault::TooManyRequests {
                retry_after: None
            };
            10_000
        ]))
    })
    .await;
    let mut calm = Vec::new();
    for (i, name) in ["calm-a", "calm-b", "calm-c"].into_iter().enumerate() {
        calm.push(Tenant::start(&http, name, 6 + i as u64, &ALL, 400, |c| c).await);
    }
    let store = Arc::new(MemoryStore::new());
    let mut accounts = vec![storm.account(&[Stream::AuditEvents])];
    accounts.extend(calm.iter().map(|t| t.account(&ALL)));
    let started = Instant::now();
    let summary = pipeline(accounts, store.clone(), limits(Duration::from_secs(4)), 2)
        .run()
        .await;
    assert!(
        matches!(outcomes(&summary, &storm)[0], Outcome::RateLimited { .. }),
        "{summary:#?}"
    );
    for tenant in &calm {
        assert!(
            outcomes(&summary, tenant)
                .iter()
                .all(|o| **o == Outcome::Drained),
            "{}: {summary:#?}",
            tenant.name
        );
        for stream in ALL {
            tenant.assert_exactly_once(&store, stream);
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the run ends with its budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_a_run_never_reached_go_first_in_the_next() {
    let http = connections();
    // One account at a time. `quiet` has nothing; `slow` pages slowly through a long backlog and
    // uses up the budget; `late` never gets its turn in the first run.
    let quiet = Tenant::start(&http, "quiet", 11, &[Stream::AuditEvents], 0, |c| c).await;
    let slow = Tenant::start(&http, "slow", 12, &[Stream::AuditEvents], 3_000, |c| {
        c.with_page_delay(Duration::from_millis(250))
    })
    .await;
    let late = Tenant::start(&http, "late", 13, &[Stream::AuditEvents], 300, |c| c).await;
    let store = Arc::new(MemoryStore::new());
    let run = |budget| {
        let accounts = [&quiet, &slow, &late]
            .iter()
            .map(|t| t.account(&[Stream::AuditEvents]))
            .collect();
        pipeline(accounts, store.clone(), limits(budget), 1)
    };
    let first = run(Duration::from_secs(2)).run().await;
    assert_eq!(outcomes(&first, &quiet), [&Outcome::Drained]);
    assert_eq!(outcomes(&first, &slow), [&Outcome::Budget]);
    assert_eq!(outcomes(&first, &late), [&Outcome::Budget]);
    assert_eq!(first.streams_of(Some(&late.name)).next().unwrap().events, 0);
    assert!(!first.account(&late.name).unwrap().finished);
    let order: serde_json::Value = serde_json::from_slice(&store.get(RUN_ORDER).unwrap()).unwrap();
    assert_eq!(
        order["order"],
        serde_json::json!(["late", "slow", "quiet"]),
        "never reached, then unfinished, then finished"
    );

    let second = run(Duration::from_secs(2)).run().await;
    assert_eq!(outcomes(&second, &late), [&Outcome::Drained], "{second:#?}");
    late.assert_exactly_once(&store, Stream::AuditEvents);
    assert!(second.streams_of(Some(&slow.name)).next().unwrap().events > 0);
}

/// A store that records, per account, when it was first and last touched (the account is the
/// checkpoint folder its keys lie in).
#[derive(Debug)]
struct Timeline {
    inner: MemoryStore,
    spans: Mutex<HashMap<String, (Instant, Instant)>>,
}

impl Timeline {
    fn touch(&self, name: &str) {
        let Some(account) = name
            .strip_prefix("state/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(account, _)| account.to_owned())
        else {
            return;
        };
        let now = Instant::now();
        self.spans
            .lock()
            .unwrap()
            .entry(account)
            .and_modify(|(_, last)| *last = now)
            .or_insert((now, now));
    }

    /// The most accounts whose spans overlap at one moment.
    fn most_at_once(&self) -> usize {
        let spans = self.spans.lock().unwrap();
        let mut edges: Vec<(Instant, i32)> = spans
            .values()
            .flat_map(|(first, last)| [(*first, 1), (*last, -1)])
            .collect();
        // At equal times, an end before a start: touching spans do not overlap.
        edges.sort();
        let (mut now, mut most) = (0, 0);
        for (_, step) in edges {
            now += step;
            most = most.max(now);
        }
        most as usize
    }
}

#[async_trait]
impl ObjectStore for Timeline {
    async fn read(&self, name: &str) -> Result<Option<(Bytes, Generation)>, StorageError> {
        self.touch(name);
        self.inner.read(name).await
    }

    async fn write(
        &self,
        name: &str,
        data: Bytes,
        content_type: &str,
        precondition: Precondition,
    ) -> Result<Generation, StorageError> {
        let written = self
            .inner
            .write(name, data, content_type, precondition)
            .await;
        self.touch(name);
        written
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_accounts_run_at_once_than_the_bound() {
    let http = connections();
    let mut tenants = Vec::new();
    for i in 0..6 {
        let name = format!("tenant-{i}");
        tenants.push(
            Tenant::start(&http, &name, 20 + i, &[Stream::AuditEvents], 400, |c| {
                c.with_page_delay(Duration::from_millis(30))
            })
            .await,
        );
    }
    for bound in [1, 3] {
        let store = Arc::new(Timeline {
            inner: MemoryStore::new(),
            spans: Mutex::new(HashMap::new()),
        });
        let accounts = tenants
            .iter()
            .map(|t| t.account(&[Stream::AuditEvents]))
            .collect();
        let summary = pipeline(
            accounts,
            store.clone(),
            limits(Duration::from_secs(60)),
            bound,
        )
        .run()
        .await;
        assert!(summary.ok(), "{summary:#?}");
        assert_eq!(
            store.most_at_once(),
            bound,
            "at most {bound} at once, and the bound is used"
        );
        for tenant in &tenants {
            tenant.assert_exactly_once(&store.inner, Stream::AuditEvents);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_accounts_of_three_streams_drain_their_backlogs_in_one_run() {
    let http = connections();
    let mut tenants = Vec::new();
    for i in 0..20 {
        tenants.push(
            Tenant::start(
                &http,
                &format!("account-{i:02}"),
                40 + i,
                &ALL,
                1_200,
                |c| c,
            )
            .await,
        );
    }
    let store = Arc::new(MemoryStore::new());
    let accounts = tenants.iter().map(|t| t.account(&ALL)).collect();
    let summary = pipeline(accounts, store.clone(), limits(Duration::from_secs(300)), 4)
        .run()
        .await;
    assert!(summary.ok(), "{summary:#?}");
    assert_eq!(summary.streams.len(), 60);
    assert!(
        summary
            .streams
            .iter()
            .all(|s| s.outcome == Outcome::Drained)
    );
    assert_eq!(summary.events(), 20 * 3 * 1_200);
    for tenant in &tenants {
        for stream in ALL {
            tenant.assert_exactly_once(&store, stream);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_of_one_host_share_connections_but_each_sends_its_own_token() {
    // Two accounts of one host, as two accounts on events.1password.com are: the connections
    // they share carry no identity, so the refused token stays refused and the good one drains.
    let http = connections();
    let host = Tenant::start(&http, "acme", 60, &ALL, 500, |c| c).await;
    let mut refused = host.account_with(&ALL, "a-token-this-host-never-issued");
    refused.name = Some(AccountName::new("globex").unwrap());
    let accounts = vec![host.account(&ALL), refused];
    let store = Arc::new(MemoryStore::new());
    let summary = pipeline(accounts, store.clone(), limits(Duration::from_secs(60)), 2)
        .run()
        .await;
    assert!(
        outcomes(&summary, &host)
            .iter()
            .all(|o| **o == Outcome::Drained),
        "{summary:#?}"
    );
    for stream in ALL {
        host.assert_exactly_once(&store, stream);
    }
    let globex = AccountName::new("globex").unwrap();
    let refused: Vec<_> = summary.streams_of(Some(&globex)).collect();
    assert_eq!(refused.len(), 3);
    for stream in refused {
        match &stream.outcome {
            Outcome::Permanent(f) => assert_eq!(f.reason, FailureReason::TokenRefused),
            other => panic!("globex {}: {other:?}", stream.stream),
        }
    }
    assert_nothing_written_for(&store, "globex");
}
