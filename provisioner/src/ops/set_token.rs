//! `provision set-token`: check the new token, add it as the secret's newest version (on standard
//! input), confirm the collector runs with it, then disable the older versions.

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use onepassword_events::secret::Secret;
use serde::Serialize;

use super::Gcloud;
use super::gcloud::GcloudError;
use super::logs::{parse_run, summary_filter};
use crate::config::Config;
use crate::runner::{self, StepError};
use crate::token::{TokenError, TokenReport, check};

/// Why the token was not rotated.
#[derive(Debug, thiserror::Error)]
pub enum SetTokenError {
    /// The token cannot read every configured stream.
    #[error(
        "refusing the new token: it cannot read {0}; issue one with those events selected in 1Password (Integrations > Events Reporting)"
    )]
    MissingFeatures(String),
    /// The token could not be read or checked.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Storing the token failed.
    #[error(transparent)]
    Step(#[from] StepError),
    /// A gcloud call failed.
    #[error(transparent)]
    Gcloud(#[from] GcloudError),
}

/// What `set-token` did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    /// The checked token.
    pub token: TokenReport,
    /// Versions enabled before the new one was added.
    pub previous_versions: Vec<String>,
    /// When the new version had been added; only runs logged after it count.
    pub added_at: String,
    /// Whether a run logged after `added_at` succeeded with the new token (its summary's
    /// `token_fingerprint`).
    pub collector_confirmed: bool,
    /// The confirming run's log time.
    pub confirmed_by_run_at: Option<String>,
    /// Runs after `added_at` that still used another token (an instance started before the new
    /// version existed keeps the token it read at start).
    pub runs_with_another_token: usize,
    /// Versions disabled (only after the confirmation).
    pub disabled_versions: Vec<String>,
}

fn enabled_versions(gcloud: &Gcloud, secret: &str) -> Result<Vec<String>, GcloudError> {
    let text = gcloud.run(&[
        "secrets",
        "versions",
        "list",
        secret,
        "--filter",
        "state:enabled",
        "--format",
        "value(name)",
    ])?;
    Ok(text
        .lines()
        .map(|l| l.rsplit('/').next().unwrap_or(l).trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Rotates the bearer token. Blocking: it waits, polling every `poll`, up to `timeout` for a run
/// with the new token.
pub fn set_token(
    config: &Config,
    gcloud: &Gcloud,
    token: Secret,
    api_base: Option<String>,
    timeout: Duration,
    poll: Duration,
) -> Result<Rotation, SetTokenError> {
    let report = check(
        &token,
        api_base.or_else(|| config.explicit_events_base_url()),
        &config.streams(),
    )?;
    if !report.missing_features.is_empty() {
        return Err(SetTokenError::MissingFeatures(report.missing_list()));
    }
    let previous_versions = enabled_versions(gcloud, &config.secret)?;
    runner::run(&[crate::steps::store_token(
        config,
        token.clone(),
        std::path::Path::new("."),
    )])?;
    // Only a run that starts after the version exists can read it.
    let added_at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);

    // Confirm the collector works with the new token before retiring the old ones: a successful
    // run, logged after the version was added, whose summary names this token.
    gcloud.run_job(&config.schedule.job_name)?;
    let fingerprint = token.fingerprint();
    let deadline = Instant::now() + timeout;
    let (confirmed_by_run_at, runs_with_another_token) = loop {
        let runs: Vec<_> = gcloud
            .logs(&summary_filter(config, Some(&added_at)), 20)?
            .iter()
            .filter_map(parse_run)
            .collect();
        let confirmed = runs
            .iter()
            .find(|r| r.ok && r.token_fingerprint.as_deref() == Some(fingerprint.as_str()));
        let others = runs
            .iter()
            .filter(|r| r.token_fingerprint.as_deref() != Some(fingerprint.as_str()))
            .count();
        if let Some(run) = confirmed {
            break (Some(run.timestamp.clone()), others);
        }
        if Instant::now() + poll > deadline {
            break (None, others);
        }
        std::thread::sleep(poll);
    };
    let collector_confirmed = confirmed_by_run_at.is_some();
    let mut disabled_versions = Vec::new();
    if collector_confirmed {
        for version in &previous_versions {
            gcloud.run(&[
                "secrets",
                "versions",
                "disable",
                version,
                "--secret",
                &config.secret,
            ])?;
            disabled_versions.push(version.clone());
        }
    }
    Ok(Rotation {
        token: report,
        previous_versions,
        added_at,
        collector_confirmed,
        confirmed_by_run_at,
        runs_with_another_token,
        disabled_versions,
    })
}
