//! The pipeline in process over the simulator and any store: the fixtures `pipeline.rs` and
//! `read_ahead.rs` share.

use std::sync::Arc;
use std::time::Duration;

use collector::checkpoint::{Checkpoint, CheckpointStore};
use collector::pipeline::{Limits, Pipeline, Start, StreamPlan};
use collector::storage::ObjectStore;
use onepassword_events::secret::Secret;
use onepassword_events::{Client, ClientOptions, RetryPolicy, Stream};
use opsim::{SimConfig, Simulator, TokenGrant};

/// The audit events checkpoint the fixtures use.
pub const KEY: &str = "state/auditevents.json";

/// A simulator with `events` audit events that knows `token`.
pub async fn simulator(token: &str, events: usize) -> Simulator {
    Simulator::start(
        SimConfig::new(8)
            .with_token(TokenGrant::all_features(token))
            .with_events(opsim::Stream::AuditEvents, events),
    )
    .await
    .unwrap()
}

/// Limits without a record cap, with a 60 s budget.
pub fn limits(page_size: u16, batch: usize, batches_in_flight: usize) -> Limits {
    Limits {
        max_records: u64::MAX,
        page_size,
        batch_max_events: batch,
        batch_max_bytes: 8 << 20,
        budget: Duration::from_secs(60),
        batches_in_flight,
    }
}

/// Client options for tests: a 5 s timeout and fast retries, `max_attempts` of them.
pub fn fast_retries(max_attempts: u32) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
        },
    }
}

/// A pipeline of the audit events stream into `store` (prefix `feed`, checkpoint [`KEY`]), with
/// fast retries, `max_attempts` of them.
pub fn pipeline(
    sim: &Simulator,
    token: &str,
    store: Arc<dyn ObjectStore>,
    limits: Limits,
    max_attempts: u32,
) -> Pipeline {
    let client = Client::new(
        sim.base_url().parse().unwrap(),
        Secret::new(token),
        fast_retries(max_attempts),
    )
    .unwrap();
    let plan = StreamPlan {
        stream: Stream::AuditEvents,
        prefix: "feed".into(),
        checkpoint_key: KEY.into(),
        start: Start::Lookback(chrono::Duration::hours(24)),
    };
    Pipeline::new(client, store, vec![plan], limits)
}

/// The checkpoint at [`KEY`] (it must exist).
pub async fn checkpoint(store: Arc<dyn ObjectStore>) -> Checkpoint {
    CheckpointStore::new(store, KEY)
        .load()
        .await
        .unwrap()
        .into_checkpoint()
        .unwrap()
}
