//! A collection run: for each account and each of its streams, drain the Events API into the
//! store, exactly once.

mod accounts;
mod buffers;
mod drain;
mod fetch;
mod idle;
pub mod naming;
mod order;
mod read_ahead;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

pub use contract::AccountName;
pub use contract::summary::{
    AccountSummary, Failure, FailureReason, Outcome, RunSummary, StreamSummary,
};
pub use order::key as run_order_key;

use crate::storage::ObjectStore;
use onepassword_events::{Client, Stream};

/// Where a stream starts when it has no checkpoint yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// `now - lookback` (the live stream; the guide's LOOKBACK_HOURS).
    Lookback(chrono::Duration),
    /// A fixed window (a backfill), `end` exclusive.
    Window {
        /// Earliest event time.
        start: DateTime<Utc>,
        /// Latest event time, exclusive.
        end: DateTime<Utc>,
    },
}

/// One stream to collect: where its objects and its checkpoint go.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    /// The stream.
    pub stream: Stream,
    /// Object prefix the SecOps feed reads.
    pub prefix: String,
    /// The checkpoint object's name (never under any feed prefix).
    pub checkpoint_key: String,
    /// Where a stream without a checkpoint starts.
    pub start: Start,
}

/// A backfill window that cannot be collected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the backfill window must end after it starts and not in the future (start {start}, end {end})"
)]
pub struct BadWindow {
    start: String,
    end: String,
}

/// Plans for backfilling `[start, end)` of the live plans' streams: each into
/// `PREFIX/backfill/START_END/` (still under the feed's folder, so SecOps ingests it) with its own
/// checkpoint beside the live one, so the live cursor is never touched and rerunning the same window
/// resumes it instead of collecting it again.
pub fn backfill_plans(
    live: &[StreamPlan],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<StreamPlan>, BadWindow> {
    if end <= start || end > Utc::now() + chrono::Duration::minutes(5) {
        return Err(BadWindow {
            start: start.to_rfc3339(),
            end: end.to_rfc3339(),
        });
    }
    let window = format!(
        "{}_{}",
        start.format("%Y%m%dT%H%M%SZ"),
        end.format("%Y%m%dT%H%M%SZ")
    );
    Ok(live
        .iter()
        .map(|plan| {
            let folder = plan
                .checkpoint_key
                .rsplit_once('/')
                .map_or("", |(folder, _)| folder);
            let checkpoint_key = if folder.is_empty() {
                format!("backfill/{}-{window}.json", plan.stream)
            } else {
                format!("{folder}/backfill/{}-{window}.json", plan.stream)
            };
            StreamPlan {
                stream: plan.stream,
                prefix: format!("{}/backfill/{window}", plan.prefix),
                checkpoint_key,
                start: Start::Window { start, end },
            }
        })
        .collect())
}

/// Sizes and budgets of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Stop a stream after this many events in one run (MAX_RECORDS).
    pub max_records: u64,
    /// Events per API page, 1..=1000 (PAGE_SIZE).
    pub page_size: u16,
    /// A batch (one data object) ends after the page that reaches this many events…
    pub batch_max_events: usize,
    /// …or this many bytes.
    pub batch_max_bytes: usize,
    /// Wall-time budget of a run; no batch starts and no retry waits past it.
    pub budget: Duration,
    /// Batches fetched and not yet committed, at most (BATCHES_IN_FLIGHT, >= 1): the one being
    /// written, those read ahead of it, and the one being fetched. Memory holds at most this many
    /// batches; 1 fetches nothing while a batch is written.
    pub batches_in_flight: usize,
}

/// The contract's defaults (`contract::env`), and batches of at most 8 MiB.
impl Default for Limits {
    fn default() -> Self {
        use contract::env;
        Self {
            max_records: env::MAX_RECORDS.default,
            page_size: env::PAGE_SIZE.default,
            batch_max_events: env::BATCH_MAX_EVENTS.default,
            batch_max_bytes: 8 * 1024 * 1024,
            budget: Duration::from_secs(env::RUN_BUDGET_SECONDS.default),
            batches_in_flight: env::BATCHES_IN_FLIGHT.default,
        }
    }
}

/// One account to collect: its Events API client and its streams. A deployment of one account
/// has one, unnamed; a deployment of several names each.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its name, in a deployment of several.
    pub name: Option<AccountName>,
    /// The Events API with its token.
    pub client: Client,
    /// Its streams, collected one after another.
    pub plans: Vec<StreamPlan>,
    /// Its token's expiry, reported in every run summary.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Which token it uses (its fingerprint), reported in every run summary.
    pub token_fingerprint: Option<String>,
}

impl Account {
    /// The one, unnamed account of a single-account deployment.
    pub fn single(client: Client, plans: Vec<StreamPlan>) -> Account {
        Account {
            name: None,
            client,
            plans,
            token_expires_at: None,
            token_fingerprint: None,
        }
    }
}

/// Runs collection cycles.
#[derive(Debug, Clone)]
pub struct Pipeline {
    accounts: Vec<Account>,
    store: Arc<dyn ObjectStore>,
    limits: Limits,
    stop: Arc<AtomicBool>,
    parallel: usize,
    run_order: Option<String>,
}

impl Pipeline {
    /// A pipeline moving `plans`' streams from `client` into `store` (one unnamed account).
    pub fn new(
        client: Client,
        store: Arc<dyn ObjectStore>,
        plans: Vec<StreamPlan>,
        limits: Limits,
    ) -> Self {
        Self::of_accounts(vec![Account::single(client, plans)], store, limits)
    }

    /// A pipeline collecting `accounts` into `store`, one at a time until
    /// [`Pipeline::with_parallel`] says otherwise.
    pub fn of_accounts(
        accounts: Vec<Account>,
        store: Arc<dyn ObjectStore>,
        limits: Limits,
    ) -> Self {
        Self {
            accounts,
            store,
            limits,
            stop: Arc::new(AtomicBool::new(false)),
            parallel: 1,
            run_order: None,
        }
    }

    /// Collects up to `parallel` accounts at once (each holds at most `batches_in_flight`
    /// batches), and keeps the accounts a run leaves unfinished in the object `run_order`, so the
    /// next run starts with them.
    pub fn with_parallel(mut self, parallel: usize, run_order: String) -> Self {
        self.parallel = parallel.max(1);
        self.run_order = Some(run_order);
        self
    }

    /// Records the token's expiry of a single-account pipeline, reported in every run summary.
    pub fn with_token_expiry(mut self, expires_at: Option<DateTime<Utc>>) -> Self {
        for account in &mut self.accounts {
            account.token_expires_at = expires_at;
        }
        self
    }

    /// Records which token a single-account pipeline uses (its fingerprint), reported in every run
    /// summary.
    pub fn with_token_fingerprint(mut self, fingerprint: String) -> Self {
        for account in &mut self.accounts {
            account.token_fingerprint = Some(fingerprint.clone());
        }
        self
    }

    /// A flag that, once set, ends runs after their current batch.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// One cycle over every account within the time budget: each account's streams one after
    /// another, up to the parallel bound of accounts at once.
    pub async fn run(&self) -> RunSummary {
        let started = Instant::now();
        let deadline = started + self.limits.budget;
        let duration = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match self.accounts.as_slice() {
            [single] if single.name.is_none() => {
                let streams = accounts::drain_account(self.parts(deadline), single.clone()).await;
                RunSummary {
                    streams,
                    duration_ms: duration(),
                    token_expires_at: single.token_expires_at,
                    token_fingerprint: single.token_fingerprint.clone(),
                    accounts: Vec::new(),
                }
            }
            _ => {
                let (streams, accounts) = accounts::run_accounts(
                    self.parts(deadline),
                    &self.accounts,
                    self.parallel,
                    self.run_order.as_deref(),
                )
                .await;
                RunSummary {
                    streams,
                    duration_ms: duration(),
                    token_expires_at: accounts.iter().filter_map(|a| a.token_expires_at).min(),
                    token_fingerprint: None,
                    accounts,
                }
            }
        }
    }

    fn parts(&self, deadline: Instant) -> accounts::Shared {
        accounts::Shared {
            store: self.store.clone(),
            limits: self.limits,
            stop: self.stop.clone(),
            deadline,
        }
    }
}
