//! `provision apply`: the foundation (APIs, the token's secret, the image repositories), the token
//! as the secret's newest version, the image (a pinned release, a build, or the configured one),
//! then the service and everything after it.

use std::path::PathBuf;

use super::preflight::PreflightFailed;
use super::render::{self, OutputError};
use crate::config::{Account, Config};
use crate::feed::{self, Instructions};
use crate::render::Engine;
use crate::runner::{self, StepError};
use crate::steps::{self, ImageSource, NoDockerfile, NoRelease};
use crate::token::{self, TokenError};

/// What `provision apply` was asked to do.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The tool that creates the resources.
    pub engine: Engine,
    /// The folder the files are rendered into and run from.
    pub out: PathBuf,
    /// The checkout the first image is built from with `build` (when the config names no image).
    pub source: PathBuf,
    /// Which tokens to read and store.
    pub tokens: Tokens,
    /// Build the first image from `source` instead of deploying a released one.
    pub build: bool,
    /// Do not run the preflight first (emergencies only).
    pub skip_preflight: bool,
}

/// Which tokens `provision apply` reads and stores as their secrets' newest versions.
#[derive(Debug, Clone)]
pub enum Tokens {
    /// Every account's (the one account's, without `accounts:`).
    Every,
    /// Only this account's (one just added); the others' secrets keep their versions.
    Only(Account),
    /// None: every secret keeps its versions.
    Keep,
}

/// Why `provision apply` stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The checkout to build has no Dockerfile.
    #[error(transparent)]
    NoDockerfile(#[from] NoDockerfile),
    /// The token could not be read.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Rendering into the output folder failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A step failed.
    #[error(transparent)]
    Step(#[from] StepError),
    /// The released version could not be pinned.
    #[error(transparent)]
    NoRelease(#[from] NoRelease),
    /// The preflight found blockers; nothing was changed.
    #[error(transparent)]
    Preflight(#[from] PreflightFailed),
}

/// Creates (or updates) everything `config` describes; returns what to enter in Google SecOps.
/// Nothing runs before the build source and the token have been checked, and the preflight (unless
/// skipped) found nothing in the way.
pub fn apply(config: &Config, options: &ApplyOptions) -> Result<Instructions, ApplyError> {
    let engine = options.engine;
    let out = &options.out;
    let image = ImageSource::of(config, options.build);
    if image == ImageSource::Build {
        steps::check_build_source(&options.source)?;
    }
    let tokens = match &options.tokens {
        Tokens::Keep => Vec::new(),
        Tokens::Every => token::read_tokens(config)?,
        Tokens::Only(account) => vec![(account.secret.clone(), token::read_token_of(account)?)],
    };
    if options.skip_preflight {
        eprintln!("warning: --skip-preflight: the preflight checks were not run");
    } else {
        let tokens = super::preflight::account_tokens(config, &tokens);
        super::preflight::gate(config, engine, options.build, tokens)?;
    }
    render::for_run(config, engine, out, None)?;
    let plan = steps::apply(engine, out, config, tokens, &options.source, &image);
    let total = plan.foundation.len() + plan.service.len();
    runner::run_part(&plan.foundation, 1, total)?;
    if let ImageSource::Release { version } = &image {
        let pinned = steps::pin_release(config, version, out)?;
        eprintln!("collector {version}: {pinned}");
        // The service is created with the pinned image (still through the remote repository,
        // which stays in the render); later applies leave images to `deploy`.
        render::for_run(config, engine, out, Some(&pinned))?;
    }
    runner::run_part(&plan.service, plan.foundation.len() + 1, total)?;
    Ok(feed::instructions(config, engine))
}
