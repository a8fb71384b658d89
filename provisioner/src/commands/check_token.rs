//! `provision check-token`: which streams and host a token is checked against (the config's, else
//! audit events and the token's own host), and what the answer means for the deployment.

use std::path::Path;

use onepassword_events::Stream;
use onepassword_events::secret::Secret;

use crate::config::Account;
use crate::token::{self, TokenError, TokenReport};

/// A checked token and what to warn about.
#[derive(Debug, Clone)]
pub struct Checked {
    /// What the token and the Events API said.
    pub report: TokenReport,
    /// Set when the config would deploy the collector with another host than the token names.
    pub warning: Option<String>,
}

impl Checked {
    /// Why the collector would refuse to start with this token, if it would.
    pub fn refusal(&self) -> Option<String> {
        (!self.report.missing_features.is_empty()).then(|| {
            format!(
                "the token lacks the {} feature, so the collector would refuse to start with these streams; issue a token with those events selected (1Password: Integrations > Events Reporting)",
                self.report.missing_list()
            )
        })
    }
}

/// Checks `secret` for the streams of the config's `account` (the config is the file at `path`),
/// else audit events; at `api_base`, else the account's host, else the token's own.
pub fn check_token(
    config: Option<(&Path, &Account)>,
    api_base: Option<&str>,
    secret: &Secret,
) -> Result<Checked, TokenError> {
    let streams = config.map_or_else(|| vec![Stream::AuditEvents], |(_, a)| a.streams.clone());
    let base = api_base
        .map(str::to_owned)
        .or_else(|| config.and_then(|(_, a)| a.explicit_events_base_url()));
    let report = token::check(secret, base, &streams)?;
    let warning = config.and_then(|(path, config)| host_warning(path, config, &report));
    Ok(Checked { report, warning })
}

/// The warning when the config (the file at `path`) would deploy `account`'s collector with
/// another host than the token names. The deployment uses the config's host: it is compared with
/// the token's own, not with an `--api-base` override.
fn host_warning(path: &Path, account: &Account, report: &TokenReport) -> Option<String> {
    let own = report.token_events_api.as_deref()?;
    let deployed = account.events_base_url();
    let key = match &account.name {
        None => "events_api".to_owned(),
        Some(name) => format!("events_api of account {name}"),
    };
    (deployed != own).then(|| {
        format!(
            "the collector would be deployed with {deployed}, but the token names {own} (its aud claim); set {key} in {}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(token_events_api: Option<&str>, missing: Vec<Stream>) -> TokenReport {
        TokenReport {
            events_api: "http://127.0.0.1:9".into(),
            token_events_api: token_events_api.map(str::to_owned),
            features: vec!["auditevents".into()],
            token_features: None,
            integration_uuid: "integration".into(),
            account_uuid: None,
            issued_at: "2026-01-01T00:00:00Z".into(),
            expires_at: None,
            days_left: None,
            missing_features: missing,
        }
    }

    fn config(extra: &str) -> crate::config::Config {
        crate::config::parse(
            "test.yaml",
            &format!("project_id: acme-secops-prod\nregion: us-central1\n{extra}"),
        )
        .unwrap()
    }

    fn only(extra: &str) -> Account {
        config(extra).chosen_account(None).unwrap()
    }

    #[test]
    fn a_token_of_another_host_than_the_config_deploys_with_is_warned_about() {
        let path = Path::new("op.yaml");
        let ent = "https://events.ent.1password.com";
        let warning = host_warning(path, &only(""), &report(Some(ent), vec![])).unwrap();
        assert_eq!(
            warning,
            "the collector would be deployed with https://events.1password.com, but the token names https://events.ent.1password.com (its aud claim); set events_api in op.yaml"
        );
        let matching = only("events_api: ent.1password.com\n");
        assert_eq!(
            host_warning(path, &matching, &report(Some(ent), vec![])),
            None
        );
        assert_eq!(host_warning(path, &only(""), &report(None, vec![])), None);
        // With several accounts, the account's own host, and the warning names the account.
        let several = config(
            "accounts:\n  - name: acme\n  - name: globex\n    events_api: ent.1password.com\n",
        );
        let globex = several.chosen_account(Some("globex")).unwrap();
        assert_eq!(
            host_warning(path, &globex, &report(Some(ent), vec![])),
            None
        );
        let acme = several.chosen_account(Some("acme")).unwrap();
        let warning = host_warning(path, &acme, &report(Some(ent), vec![])).unwrap();
        assert!(
            warning.ends_with("set events_api of account acme in op.yaml"),
            "{warning}"
        );
    }

    #[test]
    fn a_token_lacking_a_stream_is_refused_naming_every_missing_one() {
        let checked = |missing| Checked {
            report: report(None, missing),
            warning: None,
        };
        assert_eq!(checked(vec![]).refusal(), None);
        let refusal = checked(vec![Stream::SignInAttempts, Stream::ItemUsages])
            .refusal()
            .unwrap();
        assert!(
            refusal.starts_with("the token lacks the signinattempts, itemusages feature"),
            "{refusal}"
        );
    }
}
