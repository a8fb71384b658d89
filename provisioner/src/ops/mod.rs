//! Day-2 operations against the live deployment, through `gcloud` (and, for the SecOps feeds, the
//! Chronicle API): `status`, `verify`, `set-token`.

pub mod chronicle;
pub mod feeds;
pub mod freshness;
mod gcloud;
mod logs;
pub mod set_token;
pub mod status;
pub mod verify;

pub use gcloud::{Gcloud, GcloudError, LOG_WINDOW_DAYS};
pub use logs::{ErrorRecord, RunRecord};
