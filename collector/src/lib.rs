//! The collector: moves 1Password Events API events into a GCS bucket (or a local folder) exactly
//! once, for a Google SecOps "Google Cloud Storage V2" feed. Runs on Cloud Run as `collector serve`
//! (triggered by Pub/Sub push or CloudEvents) or from a shell as `collector run-once`.

pub mod app;
pub mod checkpoint;
pub mod config;
pub mod logging;
pub mod migrate;
pub mod pipeline;
pub mod report;
pub mod storage;
pub mod trigger;
