//! `provision set-token`: check the new token, add it as the secret's newest version (on standard
//! input), confirm the collector runs with it, then disable the older versions.

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use collector::onepassword::token::TokenClaims;
use collector::secret::Secret;
use serde::Serialize;

use super::Gcloud;
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
    /// A gcloud call failed.
    #[error(transparent)]
    Step(#[from] StepError),
}

/// What `set-token` did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    /// The checked token.
    pub token: TokenReport,
    /// Versions enabled before the new one was added.
    pub previous_versions: Vec<String>,
    /// Whether a run after the change succeeded (with the new token, when its expiry tells).
    pub collector_confirmed: bool,
    /// Versions disabled (only after the confirmation).
    pub disabled_versions: Vec<String>,
}

fn enabled_versions(gcloud: &Gcloud, secret: &str) -> Result<Vec<String>, StepError> {
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

/// Rotates the bearer token.
pub async fn set_token(
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
        &config.streams,
    )
    .await?;
    if !report.missing_features.is_empty() {
        return Err(SetTokenError::MissingFeatures(
            report.missing_features.join(", "),
        ));
    }
    let previous_versions = enabled_versions(gcloud, &config.secret)?;
    let started_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    runner::run(&[crate::steps::store_token(
        config,
        token.clone(),
        std::path::Path::new("."),
    )])?;

    // Confirm the collector works with the new token before retiring the old ones.
    gcloud.run_job(&config.schedule.job_name)?;
    let new_expiry = TokenClaims::decode(token.expose())
        .and_then(|c| c.expires_at())
        .map(|t| t.to_rfc3339());
    let deadline = Instant::now() + timeout;
    let collector_confirmed = loop {
        let run = gcloud
            .logs(&summary_filter(config, Some(&started_at)), 1)?
            .first()
            .and_then(parse_run);
        if let Some(run) = run {
            let same_token = match (&new_expiry, &run.token_expires_at) {
                (Some(new), Some(seen)) => {
                    chrono::DateTime::parse_from_rfc3339(seen)
                        .ok()
                        .map(|t| t.to_utc().to_rfc3339())
                        == Some(new.clone())
                }
                _ => true,
            };
            if run.ok && same_token {
                break true;
            }
        }
        if Instant::now() + poll > deadline {
            break false;
        }
        std::thread::sleep(poll);
    };
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
        collector_confirmed,
        disabled_versions,
    })
}
