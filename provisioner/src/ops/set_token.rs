//! `provision set-token`: check the new token, add it as the secret's newest version (on standard
//! input), confirm the collector runs with it, then disable the older versions.

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use onepassword_events::secret::Secret;
use serde::Serialize;

use super::Gcloud;
use super::gcloud::GcloudError;
use super::logs::{parse_run, summary_filter};
use crate::config::{Account, Config};
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
    /// The account whose token was rotated, in a deployment of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
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
/// `account` is the account whose token this is (with several accounts, the one `--account`
/// names): its streams, host and secret, and its part of each run summary.
pub fn set_token(
    config: &Config,
    account: &Account,
    gcloud: &Gcloud,
    token: Secret,
    api_base: Option<String>,
    timeout: Duration,
    poll: Duration,
) -> Result<Rotation, SetTokenError> {
    let report = check(
        &token,
        api_base.or_else(|| account.explicit_events_base_url()),
        &account.streams,
    )?;
    if !report.missing_features.is_empty() {
        return Err(SetTokenError::MissingFeatures(report.missing_list()));
    }
    let previous_versions = enabled_versions(gcloud, &account.secret)?;
    runner::run(&[crate::steps::store_token(
        config,
        &account.secret,
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
        let name = account.name.as_ref();
        let confirmed = runs
            .iter()
            .find(|r| r.ok_for(name) && r.token_fingerprint_of(name) == Some(fingerprint.as_str()));
        let others = runs
            .iter()
            .filter(|r| r.token_fingerprint_of(name) != Some(fingerprint.as_str()))
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
                &account.secret,
            ])?;
            disabled_versions.push(version.clone());
        }
    }
    Ok(Rotation {
        account: account.name.as_ref().map(ToString::to_string),
        token: report,
        previous_versions,
        added_at,
        collector_confirmed,
        confirmed_by_run_at,
        runs_with_another_token,
        disabled_versions,
    })
}

/// What was done, for a person.
pub fn to_text(rotation: &Rotation) -> String {
    let mut out = match (&rotation.token.expires_at, rotation.token.days_left) {
        (Some(at), Some(days)) => {
            format!("new token stored; it expires at {at} ({days} days left)\n")
        }
        _ => "new token stored; it does not expire\n".to_owned(),
    };
    if rotation.collector_confirmed {
        let disabled = if rotation.disabled_versions.is_empty() {
            "none".to_owned()
        } else {
            rotation.disabled_versions.join(", ")
        };
        out.push_str(&format!(
            "a run succeeded with it; disabled old versions: {disabled}\n"
        ));
    }
    out
}

/// Why the rotation is not finished, when no run confirmed the new token within `timeout`: the
/// old versions stay enabled, and what to do.
pub fn unconfirmed(rotation: &Rotation, config: &Config, timeout: Duration) -> Option<String> {
    if rotation.collector_confirmed {
        return None;
    }
    let set_token = match &rotation.account {
        None => "provision set-token".to_owned(),
        Some(account) => format!("provision set-token --account {account}"),
    };
    let hint = if rotation.runs_with_another_token > 0 {
        format!(
            " ({} run(s) since then still used the previous token: a running instance keeps the token it read at start; once {} starts a new instance, run `{set_token}` again)",
            rotation.runs_with_another_token,
            config.service_of_account(rotation.account.as_deref())
        )
    } else {
        String::new()
    };
    Some(format!(
        "no successful run with the new token within {} s{hint}; the old versions ({}) stay enabled. Run `provision verify`, then `{set_token}` again",
        timeout.as_secs(),
        rotation.previous_versions.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotation(confirmed: bool, others: usize) -> Rotation {
        Rotation {
            account: None,
            token: TokenReport {
                events_api: "https://events.1password.com".into(),
                token_events_api: None,
                features: vec!["auditevents".into()],
                token_features: None,
                integration_uuid: "integration".into(),
                account_uuid: None,
                issued_at: "2026-01-01T00:00:00Z".into(),
                expires_at: Some("2026-03-01T00:00:00+00:00".into()),
                days_left: Some(30),
                missing_features: Vec::new(),
            },
            previous_versions: vec!["3".into(), "4".into()],
            added_at: "2026-01-31T00:00:00.000000Z".into(),
            collector_confirmed: confirmed,
            confirmed_by_run_at: confirmed.then(|| "2026-01-31T00:01:00Z".to_owned()),
            runs_with_another_token: others,
            disabled_versions: if confirmed {
                vec!["3".into(), "4".into()]
            } else {
                Vec::new()
            },
        }
    }

    fn config() -> Config {
        crate::config::parse(
            "test.yaml",
            "project_id: acme-secops-prod\nregion: us-central1\n",
        )
        .unwrap()
    }

    #[test]
    fn a_confirmed_rotation_names_the_expiry_and_the_disabled_versions() {
        let done = rotation(true, 0);
        assert_eq!(
            to_text(&done),
            "new token stored; it expires at 2026-03-01T00:00:00+00:00 (30 days left)\n\
             a run succeeded with it; disabled old versions: 3, 4\n"
        );
        assert_eq!(
            unconfirmed(&done, &config(), Duration::from_secs(300)),
            None
        );
    }

    #[test]
    fn an_unconfirmed_rotation_keeps_the_old_versions_and_says_why() {
        let mut pending = rotation(false, 0);
        pending.token.expires_at = None;
        assert_eq!(to_text(&pending), "new token stored; it does not expire\n");
        let message = unconfirmed(&pending, &config(), Duration::from_secs(300)).unwrap();
        assert_eq!(
            message,
            "no successful run with the new token within 300 s; the old versions (3, 4) stay enabled. Run `provision verify`, then `provision set-token` again"
        );
        let busy = unconfirmed(&rotation(false, 2), &config(), Duration::from_secs(60)).unwrap();
        assert!(
            busy.contains("within 60 s (2 run(s) since then still used the previous token")
                && busy.contains("once onepassword-audit-collector starts a new instance"),
            "{busy}"
        );
    }
}
