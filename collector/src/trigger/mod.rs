//! What starts a run on Cloud Run: Pub/Sub push envelopes and CloudEvents over HTTP.

mod pubsub;
mod server;

pub use pubsub::{Trigger, TriggerError, parse_trigger};
pub use server::{AppState, router, run_and_log, serve, status_for, wait_for_signal};
