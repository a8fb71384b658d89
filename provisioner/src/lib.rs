//! The `provision` CLI's library: the YAML config, rendering Terraform and gcloud, running them,
//! the bearer-token check and the SecOps feed instructions; [`commands`] holds what each command
//! does, for the binary to call.

pub mod commands;
pub mod config;
pub mod cost;
pub mod feed;
pub mod ops;
pub mod preflight;
pub mod registry;
pub mod render;
pub mod runner;
pub mod steps;
pub mod token;
