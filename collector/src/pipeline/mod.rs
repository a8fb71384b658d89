//! A collection run: for each configured stream, drain the Events API into the store, exactly once.

mod buffers;
mod drain;
mod fetch;
pub mod naming;
mod read_ahead;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

pub use contract::summary::{Failure, FailureReason, Outcome, RunSummary, StreamSummary};

use crate::onepassword::{Client, Stream};
use crate::storage::ObjectStore;

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

/// Runs collection cycles.
#[derive(Debug, Clone)]
pub struct Pipeline {
    client: Client,
    store: Arc<dyn ObjectStore>,
    plans: Vec<StreamPlan>,
    limits: Limits,
    stop: Arc<AtomicBool>,
    token_expires_at: Option<DateTime<Utc>>,
    token_fingerprint: Option<String>,
}

impl Pipeline {
    /// A pipeline moving `plans`' streams from `client` into `store`.
    pub fn new(
        client: Client,
        store: Arc<dyn ObjectStore>,
        plans: Vec<StreamPlan>,
        limits: Limits,
    ) -> Self {
        Self {
            client,
            store,
            plans,
            limits,
            stop: Arc::new(AtomicBool::new(false)),
            token_expires_at: None,
            token_fingerprint: None,
        }
    }

    /// Records the token's expiry, reported in every run summary.
    pub fn with_token_expiry(mut self, expires_at: Option<DateTime<Utc>>) -> Self {
        self.token_expires_at = expires_at;
        self
    }

    /// Records which token runs use (its fingerprint), reported in every run summary.
    pub fn with_token_fingerprint(mut self, fingerprint: String) -> Self {
        self.token_fingerprint = Some(fingerprint);
        self
    }

    /// A flag that, once set, ends runs after their current batch.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// One cycle over every stream, one after another, within the time budget.
    pub async fn run(&self) -> RunSummary {
        let started = Instant::now();
        let deadline = started + self.limits.budget;
        let mut streams = Vec::with_capacity(self.plans.len());
        for plan in &self.plans {
            let drain = drain::Drain::new(drain::Parts {
                plan,
                client: &self.client,
                store: self.store.clone(),
                limits: self.limits,
                stop: self.stop.clone(),
                deadline,
            });
            streams.push(drain.run().await);
        }
        RunSummary {
            streams,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            token_expires_at: self.token_expires_at,
            token_fingerprint: self.token_fingerprint.clone(),
        }
    }
}
