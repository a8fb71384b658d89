//! `provision preflight` (and the first thing `apply` and `plan` do): the read-only checks of
//! [`crate::preflight`], with the tokens at hand for the accounts check.

use onepassword_events::ClientOptions;
use onepassword_events::secret::Secret;

use crate::config::Config;
use crate::preflight::{self, AccountToken, Report};
use crate::render::Engine;

/// The preflight found blockers: nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error(
    "preflight found {blockers} problem(s) that would stop the deployment half-way (each is listed above with its fix); nothing was changed. Fix them and run again, or, in an emergency only, skip the checks with --skip-preflight"
)]
pub struct PreflightFailed {
    /// How many findings block.
    pub blockers: usize,
    /// The whole report.
    pub report: Box<Report>,
}

/// Each configured account's token, from the `(secret, token)` pairs `apply` reads, when there are
/// several accounts and every one has its token.
pub fn account_tokens(config: &Config, tokens: &[(String, Secret)]) -> Option<Vec<AccountToken>> {
    let accounts = config.accounts();
    if accounts.len() < 2 {
        return None;
    }
    accounts
        .iter()
        .map(|account| {
            let (_, token) = tokens
                .iter()
                .find(|(secret, _)| *secret == account.secret)?;
            Some(AccountToken {
                account: account
                    .name
                    .as_ref()
                    .map_or_else(String::new, |n| n.to_string()),
                base_url: account.events_base_url(),
                token: token.clone(),
            })
        })
        .collect()
}

/// Each account's token from its `OP_BEARER_TOKEN_NAME` when every one is set (the standalone
/// command prompts for nothing).
pub fn tokens_from_environment(config: &Config) -> Option<Vec<AccountToken>> {
    let accounts = config.accounts();
    if accounts.len() < 2 {
        return None;
    }
    accounts
        .iter()
        .map(|account| {
            let name = account.name.as_ref()?;
            let variable = contract::env::for_account(contract::env::OP_BEARER_TOKEN, name);
            let value = std::env::var(variable)
                .ok()
                .filter(|v| !v.trim().is_empty())?;
            Some(AccountToken {
                account: name.to_string(),
                base_url: account.events_base_url(),
                token: Secret::new(value.trim().to_owned()),
            })
        })
        .collect()
}

/// Runs the preflight and prints its report on standard error when it fails (the caller prints
/// its own output on standard output).
pub fn gate(
    config: &Config,
    engine: Engine,
    build: bool,
    tokens: Option<Vec<AccountToken>>,
) -> Result<Report, PreflightFailed> {
    let report = preflight::run(
        config,
        &preflight::Options {
            engine,
            build,
            tokens,
            client: ClientOptions::default(),
        },
    );
    eprint!("{}", preflight::to_text(&report));
    if report.ok {
        Ok(report)
    } else {
        Err(PreflightFailed {
            blockers: report.blockers(),
            report: Box::new(report),
        })
    }
}
