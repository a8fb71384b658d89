//! The per-run units `scripts/measure-run-cost.sh` measured and wrote to
//! `provisioner/data/run-units.json`.

use serde::{Deserialize, Serialize};

use super::CostError;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunUnits {
    /// The day of the measurement.
    pub measured: String,
    /// The command that produced the file.
    pub command: String,
    /// What one instance start costs.
    pub instance_start: InstanceStart,
    /// Pub/Sub requests per tick (the scheduler's publish and the push delivery).
    pub pubsub_requests_per_tick: u64,
    /// A run with nothing new, for one account and one stream.
    pub empty: Units,
    /// A run with a typical page of events, for one account and one stream.
    pub typical: Units,
}

/// What an instance start costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStart {
    /// Process start to ready, ms.
    pub startup_ms: f64,
    /// Log bytes written while starting.
    pub log_bytes: u64,
    /// Secret Manager accesses per token per start.
    pub secret_accesses_per_token: u64,
}

/// One run's units, for one account and one stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Units {
    /// The push request's duration, ms.
    pub request_ms: f64,
    /// Cloud Storage class A operations.
    pub class_a: u64,
    /// Cloud Storage class B operations.
    pub class_b: u64,
    /// Objects written under the feed prefix.
    pub objects_written: u64,
    /// Bytes those objects add to the bucket.
    pub bytes_written: u64,
    /// The collector's log bytes during the run.
    pub log_bytes: u64,
    /// Events the run collected.
    pub events: u64,
}

impl RunUnits {
    /// The units in `json`.
    pub fn parse(json: &str) -> Result<Self, CostError> {
        serde_json::from_str(json).map_err(CostError::Units)
    }
}
