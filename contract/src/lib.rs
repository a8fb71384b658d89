//! The contract between the collector and the provisioner, in one place both depend on: the
//! streams, the positions and checkpoint format the collector writes and `provision status` reads,
//! and the run summary log line `provision verify`, `status` and `set-token` look for. Serde types
//! and names only: no I/O, no clients.

mod account;
pub mod checkpoint;
pub mod env;
mod every;
mod position;
mod stream;
pub mod summary;

pub use account::{AccountName, BadAccountName};
pub use position::Position;
pub use stream::{Stream, UnknownStream};
pub use summary::SUMMARY_MESSAGE;
