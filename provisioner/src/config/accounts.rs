//! Several 1Password accounts in one deployment: the `accounts:` list (one entry per account, each
//! with its own Events API host, streams, secret and lookback, and optionally the SecOps asset
//! namespace of its feeds), resolved into [`Account`]s. Without `accounts:`, the one account the
//! top-level `events_api`, `streams` and `secret` describe, exactly as before accounts existed: its
//! objects, checkpoints, secret and feeds stay where they are.

use contract::{AccountName, Stream};
use serde::{Deserialize, Serialize};

use super::closed::{OneOf, either};
use super::names::chars;
use super::regions::EVENTS_REGIONS;
use super::{Config, DEFAULT_EVENTS_BASE_URL};

/// One entry of `accounts:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountEntry {
    /// The account's short name: its folder under each feed prefix, its checkpoints' folder, its
    /// secret's and feeds' names, its settings' suffix.
    pub name: String,
    /// Its Events API host; default: the top-level `events_api`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_api: Option<String>,
    /// Its streams; default: the top-level `streams`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<Vec<OneOf<Stream>>>,
    /// Its Secret Manager secret; default: the top-level `secret` and `-NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// How far back its first run starts; default: `collector.lookback_hours`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_hours: Option<u32>,
    /// The asset namespace its SecOps feeds give its logs; default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_namespace: Option<String>,
}

/// One account of the deployment, with every default applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its name; `None` for the one account of a deployment without `accounts:`.
    pub name: Option<AccountName>,
    /// The Events API as the config names it (a region or a URL), if it does.
    pub events_api: Option<String>,
    /// Its streams, in the config's order.
    pub streams: Vec<Stream>,
    /// The Secret Manager secret holding its token.
    pub secret: String,
    /// How far back its first run starts, hours.
    pub lookback_hours: u32,
    /// Its feeds' asset namespace.
    pub asset_namespace: Option<String>,
    /// The service (1-based) that collects it (`collector.services`; 1 for the one account).
    pub service: u32,
}

/// An Events API setting (`1password.eu` or `https://…`) as a base URL.
pub fn events_base_url(events_api: &str) -> String {
    let value = events_api.trim();
    if value.starts_with("https://") {
        value.trim_end_matches('/').to_owned()
    } else {
        format!("https://events.{value}")
    }
}

impl Account {
    /// The Events API base URL the config names for this account, if it names one.
    pub fn explicit_events_base_url(&self) -> Option<String> {
        self.events_api.as_deref().map(events_base_url)
    }

    /// The Events API base URL its collector is deployed with (default: 1password.com's).
    pub fn events_base_url(&self) -> String {
        self.explicit_events_base_url()
            .unwrap_or_else(|| DEFAULT_EVENTS_BASE_URL.to_owned())
    }

    /// Its name as messages and labels show it (empty for the one unnamed account).
    pub fn label(&self) -> &str {
        self.name.as_ref().map_or("", AccountName::as_str)
    }

    /// The folder of its `stream` objects, which its feed reads (the stream's feed prefix, and the
    /// account's folder below it in a deployment of several).
    pub fn folder(&self, config: &Config, stream: Stream) -> String {
        let prefix = config.prefix(stream);
        match &self.name {
            None => prefix,
            Some(name) => contract::checkpoint::account_prefix(&prefix, name),
        }
    }

    /// Its `stream` checkpoint object, as the collector names it.
    pub fn checkpoint_key(&self, config: &Config, stream: Stream) -> String {
        match &self.name {
            None => contract::checkpoint::key(&config.checkpoint_prefix, stream),
            Some(name) => {
                contract::checkpoint::account_key(&config.checkpoint_prefix, name, stream)
            }
        }
    }
}

/// `--account NAME` that names no account of the config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountChoiceError {
    /// The config has no account of that name.
    #[error("--account {name:?} is not in the config's accounts ({known}); use one of them")]
    Unknown {
        /// The name given.
        name: String,
        /// The accounts there are.
        known: String,
    },
    /// The config has several accounts and none was named.
    #[error("the config has several accounts ({known}); name one with --account")]
    Missing {
        /// The accounts there are.
        known: String,
    },
    /// `--account` was given for a config without `accounts:`.
    #[error(
        "--account {name:?} was given, but the config has no accounts: list; leave --account out"
    )]
    NoAccounts {
        /// The name given.
        name: String,
    },
}

impl Config {
    /// Whether the config lists several accounts (`accounts:`).
    pub fn has_accounts(&self) -> bool {
        !self.accounts.is_empty()
    }

    /// Every account, with defaults applied: the entries of `accounts:`, or the one account the
    /// top-level settings describe. Names that are not account names are left out (validation
    /// refuses them).
    pub fn accounts(&self) -> Vec<Account> {
        if self.accounts.is_empty() {
            return vec![Account {
                name: None,
                events_api: self.events_api.clone(),
                streams: self.streams(),
                secret: self.secret.clone(),
                lookback_hours: self.collector.lookback_hours,
                asset_namespace: None,
                service: 1,
            }];
        }
        self.accounts
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| {
                let name = AccountName::new(&entry.name).ok()?;
                Some(Account {
                    service: super::services::service_of(index, self.services()),
                    events_api: entry.events_api.clone().or_else(|| self.events_api.clone()),
                    streams: entry.streams.as_ref().map_or_else(
                        || self.streams(),
                        |streams| streams.iter().map(OneOf::get).collect(),
                    ),
                    secret: entry
                        .secret
                        .clone()
                        .unwrap_or_else(|| format!("{}-{name}", self.secret)),
                    lookback_hours: entry
                        .lookback_hours
                        .unwrap_or(self.collector.lookback_hours),
                    asset_namespace: entry.asset_namespace.clone(),
                    name: Some(name),
                })
            })
            .collect()
    }

    /// The accounts `--account` chooses: the named one, or every account when none is named.
    pub fn chosen_accounts(&self, name: Option<&str>) -> Result<Vec<Account>, AccountChoiceError> {
        let accounts = self.accounts();
        match name {
            None => Ok(accounts),
            Some(name) if !self.has_accounts() => Err(AccountChoiceError::NoAccounts {
                name: name.to_owned(),
            }),
            Some(name) => accounts
                .iter()
                .find(|a| a.label() == name)
                .cloned()
                .map(|a| vec![a])
                .ok_or_else(|| AccountChoiceError::Unknown {
                    name: name.to_owned(),
                    known: self.known_accounts(),
                }),
        }
    }

    /// The one account `--account` chooses: the named one, or the only one.
    pub fn chosen_account(&self, name: Option<&str>) -> Result<Account, AccountChoiceError> {
        let mut accounts = self.chosen_accounts(name)?;
        if accounts.len() == 1 {
            Ok(accounts.remove(0))
        } else {
            Err(AccountChoiceError::Missing {
                known: self.known_accounts(),
            })
        }
    }

    fn known_accounts(&self) -> String {
        self.accounts
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every stream some account collects, in the order of [`Stream::ALL`] (misspelled streams,
    /// which validation reports, are left out).
    pub fn collected_streams(&self) -> Vec<Stream> {
        let top_level = || self.streams.iter().filter_map(|s| s.checked().ok());
        let mut named: Vec<Stream> = if self.accounts.is_empty() {
            top_level().collect()
        } else {
            self.accounts
                .iter()
                .flat_map(|entry| match &entry.streams {
                    Some(streams) => streams.iter().filter_map(|s| s.checked().ok()).collect(),
                    None => top_level().collect::<Vec<_>>(),
                })
                .collect()
        };
        named.sort();
        named.dedup();
        Stream::ALL
            .into_iter()
            .filter(|s| named.contains(s))
            .collect()
    }
}

/// The problems of `accounts:` (names, hosts, streams, secrets, lookbacks, namespaces).
pub fn validate_accounts(config: &Config, check: &mut dyn FnMut(bool, &str, &str, &str)) {
    for problem in super::services::problems(config) {
        check(false, &problem.key, &problem.value, &problem.rule);
    }
    let mut secrets: Vec<String> = Vec::new();
    for (i, entry) in config.accounts.iter().enumerate() {
        let key = |field: &str| format!("accounts[{i}].{field}");
        if let Err(e) = AccountName::new(&entry.name) {
            check(
                false,
                &key("name"),
                &entry.name,
                &e.to_string().replace(&format!("{:?} ", entry.name), ""),
            );
        }
        check(
            !config.accounts[..i]
                .iter()
                .any(|other| other.name == entry.name),
            &key("name"),
            &entry.name,
            "is listed twice: each account needs its own name",
        );
        if let Some(events_api) = &entry.events_api {
            check(
                EVENTS_REGIONS.contains(&events_api.as_str()) || super::names::url_host(events_api),
                &key("events_api"),
                events_api,
                "must be 1password.com, ent.1password.com, 1password.ca, 1password.eu, or an https:// base URL",
            );
        }
        if let Some(streams) = &entry.streams {
            check(
                !streams.is_empty(),
                &key("streams"),
                "",
                "must name at least one stream (or be left out for the top-level streams)",
            );
            for (j, stream) in streams.iter().enumerate() {
                check(
                    stream.checked().is_ok(),
                    &key("streams"),
                    &stream.to_string(),
                    &format!("is not a stream: use {}", either::<Stream>()),
                );
                check(
                    !streams[..j].contains(stream),
                    &key("streams"),
                    &stream.to_string(),
                    "is listed twice",
                );
            }
        }
        let secret = entry
            .secret
            .clone()
            .unwrap_or_else(|| format!("{}-{}", config.secret, entry.name));
        check(
            secret.len() <= 255
                && chars(&secret, |c| {
                    c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
                }),
            &key("secret"),
            &secret,
            "is not a Secret Manager secret id: letters, digits, '-' or '_'",
        );
        check(
            !secrets.contains(&secret),
            &key("secret"),
            &secret,
            "is another account's secret: each account's token has its own secret",
        );
        secrets.push(secret);
        if let Some(hours) = entry.lookback_hours {
            check(
                (1..=8760).contains(&hours),
                &key("lookback_hours"),
                &hours.to_string(),
                "must be between 1 and 8760 hours",
            );
        }
        if let Some(namespace) = &entry.asset_namespace {
            check(
                (1..=63).contains(&namespace.len())
                    && chars(namespace, |c| {
                        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
                    }),
                &key("asset_namespace"),
                namespace,
                "is not an asset namespace: 1-63 letters, digits, '-', '_' or '.'",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "project_id: acme-secops-prod\nregion: us-central1\n";

    fn config(extra: &str) -> Result<Config, super::super::ConfigError> {
        super::super::parse("test.yaml", &format!("{BASE}{extra}"))
    }

    #[test]
    fn without_accounts_the_top_level_settings_are_the_one_account() {
        let config = config(
            "events_api: 1password.eu\nsecret: my-token\nstreams: [auditevents, itemusages]\n",
        )
        .unwrap();
        assert!(!config.has_accounts());
        let accounts = config.accounts();
        assert_eq!(accounts.len(), 1);
        let one = &accounts[0];
        assert_eq!(one.name, None);
        assert_eq!(one.events_base_url(), "https://events.1password.eu");
        assert_eq!(one.secret, "my-token");
        assert_eq!(one.streams, [Stream::AuditEvents, Stream::ItemUsages]);
        assert_eq!(
            one.folder(&config, Stream::AuditEvents),
            "onepassword-audit"
        );
        assert_eq!(
            one.checkpoint_key(&config, Stream::ItemUsages),
            "onepassword-secops-state/itemusages.json"
        );
    }

    #[test]
    fn entries_default_to_the_top_level_settings() {
        let config = config(
            "events_api: 1password.eu\nstreams: [auditevents]\naccounts:\n  - name: acme\n  - name: globex\n    events_api: ent.1password.com\n    streams: [signinattempts]\n    secret: globex-token\n    lookback_hours: 72\n    asset_namespace: globex\n",
        )
        .unwrap();
        let accounts = config.accounts();
        assert_eq!(accounts.len(), 2);
        let (acme, globex) = (&accounts[0], &accounts[1]);
        assert_eq!(acme.label(), "acme");
        assert_eq!(acme.events_base_url(), "https://events.1password.eu");
        assert_eq!(acme.secret, "onepassword-events-token-acme");
        assert_eq!(acme.streams, [Stream::AuditEvents]);
        assert_eq!(acme.lookback_hours, 24);
        assert_eq!(
            acme.folder(&config, Stream::AuditEvents),
            "onepassword-audit/acme"
        );
        assert_eq!(
            acme.checkpoint_key(&config, Stream::AuditEvents),
            "onepassword-secops-state/acme/auditevents.json"
        );
        assert_eq!(globex.events_base_url(), "https://events.ent.1password.com");
        assert_eq!(globex.secret, "globex-token");
        assert_eq!(globex.streams, [Stream::SignInAttempts]);
        assert_eq!(globex.lookback_hours, 72);
        assert_eq!(globex.asset_namespace.as_deref(), Some("globex"));
        assert_eq!(
            config.collected_streams(),
            [Stream::AuditEvents, Stream::SignInAttempts]
        );
        assert_eq!(config.chosen_account(Some("globex")).unwrap(), *globex);
        assert!(matches!(
            config.chosen_account(None),
            Err(AccountChoiceError::Missing { .. })
        ));
        assert!(matches!(
            config.chosen_accounts(Some("initech")),
            Err(AccountChoiceError::Unknown { .. })
        ));
    }

    #[test]
    fn every_account_problem_is_reported_with_the_others() {
        let error = config(
            "accounts:\n  - name: Acme\n  - name: globex\n    streams: [logins]\n    secret: shared\n    lookback_hours: 0\n  - name: globex\n    secret: shared\n    asset_namespace: \"a b\"\n    events_api: example.com\n",
        );
        let text = match error {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted"),
        };
        for needle in [
            "accounts[0].name: \"Acme\" ",
            "accounts[1].streams: \"logins\" is not a stream",
            "accounts[1].lookback_hours: \"0\"",
            "accounts[2].name: \"globex\" is listed twice",
            "accounts[2].secret: \"shared\" is another account's secret",
            "accounts[2].asset_namespace",
            "accounts[2].events_api",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
    }
}
