//! The `provision` CLI's library: the YAML config, rendering Terraform and gcloud, running them,
//! the bearer-token check and the SecOps feed instructions.

pub mod config;
pub mod feed;
pub mod ops;
pub mod render;
pub mod runner;
pub mod steps;
pub mod token;
