//! Reading the bearer token (environment, standard input, or a prompt without echo) and checking
//! it: its shape, what its own claims say (features, account, events host, expiry), and what the
//! Events API's introspection says.

use std::io::{IsTerminal as _, Read as _};

use contract::AccountName;
use onepassword_events::secret::{Secret, TokenFormatError};
use onepassword_events::token::TokenClaims;
use onepassword_events::{Client, ClientOptions, Introspection, Stream};
use serde::Serialize;

/// Why the token could not be read or checked. Each message carries its cause, so none has a
/// `source`: a chain printer shows every cause once.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Nothing was given.
    #[error(
        "no bearer token: set OP_BEARER_TOKEN, pipe it on standard input, or run in a terminal to be prompted"
    )]
    Missing,
    /// Reading failed.
    #[error("cannot read the bearer token: {0}")]
    Read(std::io::Error),
    /// What was read is not text.
    #[error(
        "the bearer token on standard input is not text (byte {at} is not UTF-8); a bearer token is printable ASCII: pipe the token itself, e.g. provision check-token < token.txt"
    )]
    NotText {
        /// Position of the first bad byte, from 1.
        at: usize,
    },
    /// With several accounts: no token for one of them.
    #[error(
        "no bearer token for account {account}: set {variable}, or run in a terminal to be prompted for each account's (standard input carries one token only)"
    )]
    MissingForAccount {
        /// The account.
        account: String,
        /// The variable that would hold it.
        variable: String,
    },
    /// What was read cannot be a bearer token.
    #[error("the bearer token from {from} {error}")]
    Format {
        /// Where it came from.
        from: String,
        /// What is wrong.
        error: TokenFormatError,
    },
    /// The base URL is not a URL.
    #[error("events API base URL {0:?} is not a URL")]
    BadUrl(String),
    /// The API call failed.
    #[error(transparent)]
    Api(#[from] onepassword_events::ApiError),
    /// The HTTP client failed.
    #[error("cannot build the HTTP client: {0}")]
    Http(reqwest::Error),
    /// The runtime the API call runs on could not start.
    #[error("cannot start the runtime for the Events API call: {0}")]
    Runtime(std::io::Error),
}

fn checked(from: &str, text: String) -> Result<Secret, TokenError> {
    let secret = Secret::new(text);
    match secret.check_bearer() {
        Ok(()) => Ok(secret),
        Err(TokenFormatError::Empty) => Err(TokenError::Missing),
        Err(error) => Err(TokenError::Format {
            from: from.to_owned(),
            error,
        }),
    }
}

/// The token in environment variable `variable`, checked, when it is set and not blank.
fn from_env(variable: &str) -> Option<Result<Secret, TokenError>> {
    let value = std::env::var(variable).ok()?;
    (!value.trim().is_empty()).then(|| checked(variable, value))
}

/// Reads `account`'s token: `OP_BEARER_TOKEN_NAME`, else (in a terminal) a prompt without echo
/// naming the account. Standard input carries one token only, so it is not read.
pub fn read_account_token(account: &AccountName) -> Result<Secret, TokenError> {
    let variable = contract::env::for_account(contract::env::OP_BEARER_TOKEN, account);
    if let Some(token) = from_env(&variable) {
        return token;
    }
    if std::io::stdin().is_terminal() {
        let text = rpassword::prompt_password(format!(
            "1Password Events Reporting bearer token of account {account} (input hidden): "
        ))
        .map_err(TokenError::Read)?;
        return checked("the prompt", text);
    }
    Err(TokenError::MissingForAccount {
        account: account.to_string(),
        variable,
    })
}

/// One account's token, when it alone is stored or rotated: its own variable
/// (`OP_BEARER_TOKEN_NAME`) when set, else as [`read_token`] reads the one token.
pub fn read_token_of(account: &crate::config::Account) -> Result<Secret, TokenError> {
    if let Some(name) = &account.name
        && let Some(token) = from_env(&contract::env::for_account(
            contract::env::OP_BEARER_TOKEN,
            name,
        ))
    {
        return token;
    }
    read_token()
}

/// The tokens `provision apply` stores, with the secret each goes to: the one token
/// ([`read_token`]), or each account's ([`read_account_token`]).
pub fn read_tokens(config: &crate::config::Config) -> Result<Vec<(String, Secret)>, TokenError> {
    config
        .accounts()
        .into_iter()
        .map(|account| {
            let token = match &account.name {
                None => read_token()?,
                Some(name) => read_account_token(name)?,
            };
            Ok((account.secret, token))
        })
        .collect()
}

/// Reads the token: `OP_BEARER_TOKEN`, else standard input when it is not a terminal, else a prompt
/// without echo; refuses one that cannot be a bearer token (a line break, a control character,
/// non-ASCII), saying why and never showing it.
pub fn read_token() -> Result<Secret, TokenError> {
    if let Some(token) = from_env(contract::env::OP_BEARER_TOKEN) {
        return token;
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let text =
            rpassword::prompt_password("1Password Events Reporting bearer token (input hidden): ")
                .map_err(TokenError::Read)?;
        return checked("the prompt", text);
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .read_to_end(&mut bytes)
        .map_err(TokenError::Read)?;
    let text = String::from_utf8(bytes).map_err(|e| TokenError::NotText {
        at: e.utf8_error().valid_up_to() + 1,
    })?;
    checked("standard input", text)
}

/// What `check-token` reports.
#[derive(Debug, Clone, Serialize)]
pub struct TokenReport {
    /// Events API base URL used.
    pub events_api: String,
    /// The events API the token itself names (its `aud` claim), when it names one.
    pub token_events_api: Option<String>,
    /// Features the API says the token has.
    pub features: Vec<String>,
    /// Features the token's own claims list (`1password.com/fts`), when it is a JWT with them.
    pub token_features: Option<Vec<String>>,
    /// The integration (token) uuid.
    pub integration_uuid: String,
    /// The account uuid.
    pub account_uuid: Option<String>,
    /// When the token was issued.
    pub issued_at: String,
    /// When it expires (from its JWT claims), if it does.
    pub expires_at: Option<String>,
    /// Days left until expiry.
    pub days_left: Option<i64>,
    /// Configured streams the token cannot read (by its claims or by the API), as the collector
    /// would refuse them at start-up.
    pub missing_features: Vec<Stream>,
}

impl TokenReport {
    /// The configured streams the token cannot read, listed for a message:
    /// `signinattempts, itemusages`.
    pub fn missing_list(&self) -> String {
        let names: Vec<&str> = self.missing_features.iter().map(|s| s.name()).collect();
        names.join(", ")
    }
}

/// Introspects `token` at `base` (else the host in its `aud` claim, else 1password.com's) and
/// compares its features, as its claims and the API list them, with `streams`.
///
/// Blocking: the one API call runs on a runtime of its own, on this thread, so it must not be
/// called from async code.
pub fn check(
    token: &Secret,
    base: Option<String>,
    streams: &[Stream],
) -> Result<TokenReport, TokenError> {
    let claims = TokenClaims::decode(token.expose());
    let token_events_api = claims.as_ref().and_then(TokenClaims::events_base_url);
    let base = base
        .or_else(|| token_events_api.clone())
        .unwrap_or_else(|| crate::config::DEFAULT_EVENTS_BASE_URL.to_owned());
    let url = base.parse().map_err(|_| TokenError::BadUrl(base.clone()))?;
    let Introspection {
        uuid,
        issued_at,
        features,
        account_uuid,
    } = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(TokenError::Runtime)?
        .block_on(async {
            let client = Client::new(url, token.clone(), ClientOptions::default())
                .map_err(TokenError::Http)?;
            Ok::<_, TokenError>(client.introspect().await?)
        })?;
    let expires = claims.as_ref().and_then(TokenClaims::expires_at);
    let lacking_by_claims: Vec<Stream> = claims
        .as_ref()
        .map_or_else(Vec::new, |c| c.missing(streams.iter().copied()));
    let missing_features = streams
        .iter()
        .copied()
        .filter(|s| {
            !features.iter().any(|feature| feature == s.name()) || lacking_by_claims.contains(s)
        })
        .collect();
    Ok(TokenReport {
        events_api: base,
        token_events_api,
        features,
        token_features: claims.as_ref().and_then(|c| c.features.clone()),
        integration_uuid: uuid,
        account_uuid: account_uuid.or_else(|| claims.and_then(|c| c.account_uuid)),
        issued_at,
        expires_at: expires.map(|t| t.to_rfc3339()),
        days_left: expires.map(|t| (t - chrono::Utc::now()).num_days()),
        missing_features,
    })
}

/// The report for a person.
pub fn to_text(report: &TokenReport) -> String {
    let expires = match (&report.expires_at, report.days_left) {
        (Some(at), Some(days)) => format!("{at} ({days} days left)"),
        _ => "never (or not a JWT)".to_owned(),
    };
    format!(
        "events API:   {}\nfeatures:     {}\nintegration:  {}\naccount:      {}\nissued at:    {}\nexpires at:   {expires}\n",
        report.events_api,
        report.features.join(", "),
        report.integration_uuid,
        report.account_uuid.as_deref().unwrap_or("(not reported)"),
        report.issued_at,
    )
}

/// What to say when `--api-base` differs from the host the token names: the override is the
/// cause, not the token.
pub fn override_note(api_base: &str, token: &Secret) -> Option<String> {
    let own = TokenClaims::decode(token.expose())?.events_base_url()?;
    (own.trim_end_matches('/') != api_base.trim_end_matches('/')).then(|| {
        format!(
            "note: checking at --api-base {api_base}, which overrides {own}, the events API the token names (its aud claim); the collector will use OP_API_BASE, which should be {own}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_reads_line_by_line() {
        let mut report = TokenReport {
            events_api: "https://events.1password.com".into(),
            token_events_api: None,
            features: vec!["auditevents".into(), "signinattempts".into()],
            token_features: None,
            integration_uuid: "integration".into(),
            account_uuid: Some("account".into()),
            issued_at: "2026-01-01T00:00:00Z".into(),
            expires_at: Some("2026-03-01T00:00:00+00:00".into()),
            days_left: Some(30),
            missing_features: vec![Stream::SignInAttempts, Stream::ItemUsages],
        };
        assert_eq!(
            to_text(&report),
            "events API:   https://events.1password.com\n\
             features:     auditevents, signinattempts\n\
             integration:  integration\n\
             account:      account\n\
             issued at:    2026-01-01T00:00:00Z\n\
             expires at:   2026-03-01T00:00:00+00:00 (30 days left)\n"
        );
        assert_eq!(report.missing_list(), "signinattempts, itemusages");
        report.account_uuid = None;
        report.days_left = None;
        let text = to_text(&report);
        assert!(text.contains("account:      (not reported)\n"), "{text}");
        assert!(
            text.ends_with("expires at:   never (or not a JWT)\n"),
            "{text}"
        );
    }

    #[test]
    fn errors_print_their_cause_once() {
        let error = TokenError::Read(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ));
        let chain = format!("{:#}", anyhow::Error::from(error));
        assert_eq!(
            chain.matches("did not contain valid UTF-8").count(),
            1,
            "{chain}"
        );
    }
}
