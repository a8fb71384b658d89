//! Per-stream checkpoints: a versioned JSON object holding the stream's position and, between the
//! steps of a batch, the batch's intent; only ever written with a generation precondition.

mod store;

pub use contract::checkpoint::{CURRENT_VERSION, Checkpoint, CheckpointStats, FormatError, Intent};
pub use store::{CheckpointLoadError, CheckpointStore, Loaded};
