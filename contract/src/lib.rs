//! The contract between the collector and the provisioner, in one place both depend on: the
//! checkpoint format the collector writes and `provision status` reads, and the run summary log
//! line `provision verify`, `status` and `set-token` look for. Serde types and names only.

pub mod checkpoint;

/// The message of the collector's one summary log line per run (the alert policies, `verify`,
/// `status` and `set-token` filter on it).
pub const SUMMARY_MESSAGE: &str = "collector run summary";
