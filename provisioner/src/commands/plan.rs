//! `provision plan`: render, then `terraform init` and `terraform plan` (gcloud: check the
//! script's syntax, as gcloud has no dry run).

use std::path::Path;

use super::preflight::PreflightFailed;
use super::render::{self, OutputError};
use crate::config::Config;
use crate::render::Engine;
use crate::runner::{self, StepError};
use crate::steps;

/// Why `provision plan` stopped.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Rendering into the output folder failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A step failed.
    #[error(transparent)]
    Step(#[from] StepError),
    /// The preflight found blockers.
    #[error(transparent)]
    Preflight(#[from] PreflightFailed),
}

/// Runs the preflight (unless `skip_preflight`), then renders `config` for `engine` into `out` and
/// plans it there.
pub fn plan(
    config: &Config,
    engine: Engine,
    out: &Path,
    skip_preflight: bool,
) -> Result<(), PlanError> {
    if skip_preflight {
        eprintln!("warning: --skip-preflight: the preflight checks were not run");
    } else {
        super::preflight::gate(
            config,
            engine,
            false,
            super::preflight::tokens_from_environment(config),
        )?;
    }
    render::for_run(config, engine, out, None)?;
    runner::run(&steps::plan(engine, out))?;
    Ok(())
}
