//! Several configured accounts whose tokens belong to one 1Password account would collect every
//! event twice. The Events API's introspection names the token's account (`account_uuid`, since
//! API 1.4.1: https://developer.1password.com/docs/events-api/reference); a JWT token's own
//! claims name it too.

use std::collections::BTreeMap;

use onepassword_events::secret::Secret;
use onepassword_events::token::TokenClaims;
use onepassword_events::{Client, ClientOptions};

use super::report::{CheckKind, Finding};

/// One configured account's token and where its Events API is.
#[derive(Debug, Clone)]
pub struct AccountToken {
    /// The account's name in the config.
    pub account: String,
    /// Its Events API base URL.
    pub base_url: String,
    /// Its token.
    pub token: Secret,
}

/// The 1Password account each token belongs to, or why it cannot be told.
fn account_of(token: &AccountToken, options: &ClientOptions) -> Result<String, String> {
    let url = token
        .base_url
        .parse()
        .map_err(|_| format!("{:?} is not a URL", token.base_url))?;
    let introspected = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(async {
            let client =
                Client::new(url, token.token.clone(), *options).map_err(|e| e.to_string())?;
            client.introspect().await.map_err(|e| e.to_string())
        });
    let from_claims = || TokenClaims::decode(token.token.expose()).and_then(|c| c.account_uuid);
    match introspected {
        Ok(answer) => answer.account_uuid.or_else(from_claims).ok_or_else(|| {
            "the Events API did not name the token's account (API older than 1.4.1)".to_owned()
        }),
        Err(error) => from_claims().ok_or(error),
    }
}

/// The findings for `tokens` (every configured account's).
pub fn check(tokens: &[AccountToken], options: &ClientOptions) -> Vec<Finding> {
    let mut by_account: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut findings = Vec::new();
    for token in tokens {
        match account_of(token, options) {
            Ok(uuid) => by_account
                .entry(uuid)
                .or_default()
                .push(token.account.clone()),
            Err(reason) => findings.push(Finding::Unchecked {
                check: CheckKind::Accounts,
                reason: format!("account {}: {reason}", token.account),
            }),
        }
    }
    for (account_uuid, accounts) in by_account {
        if accounts.len() > 1 {
            findings.push(Finding::SameOnePasswordAccount {
                account_uuid,
                accounts,
            });
        }
    }
    findings
}
