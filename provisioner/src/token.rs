//! Reading the bearer token (environment, standard input, or a prompt without echo) and checking
//! it against the Events API's introspection.

use std::io::{IsTerminal as _, Read as _};

use collector::onepassword::token::TokenClaims;
use collector::onepassword::{Client, ClientOptions, Introspection};
use collector::secret::Secret;
use serde::Serialize;

/// Why the token could not be read or checked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Nothing was given.
    #[error(
        "no bearer token: set OP_BEARER_TOKEN, pipe it on standard input, or run in a terminal to be prompted"
    )]
    Missing,
    /// Reading failed.
    #[error("cannot read the bearer token: {0}")]
    Read(#[from] std::io::Error),
    /// The base URL is not a URL.
    #[error("events API base URL {0:?} is not a URL")]
    BadUrl(String),
    /// The API call failed.
    #[error(transparent)]
    Api(#[from] collector::onepassword::ApiError),
    /// The HTTP client failed.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Reads the token: `OP_BEARER_TOKEN`, else standard input when it is not a terminal, else a prompt
/// without echo.
pub fn read_token() -> Result<Secret, TokenError> {
    if let Ok(value) = std::env::var("OP_BEARER_TOKEN")
        && !value.trim().is_empty()
    {
        return Ok(Secret::new(value));
    }
    let stdin = std::io::stdin();
    let text = if stdin.is_terminal() {
        rpassword::prompt_password("1Password Events Reporting bearer token (input hidden): ")?
    } else {
        let mut text = String::new();
        stdin.lock().read_to_string(&mut text)?;
        text
    };
    if text.trim().is_empty() {
        Err(TokenError::Missing)
    } else {
        Ok(Secret::new(text))
    }
}

/// What `check-token` reports.
#[derive(Debug, Clone, Serialize)]
pub struct TokenReport {
    /// Events API base URL used.
    pub events_api: String,
    /// Features the API says the token has.
    pub features: Vec<String>,
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
    /// Configured streams the token cannot read.
    pub missing_features: Vec<String>,
}

/// Introspects `token` at `base` (else the host in its `aud` claim, else 1password.com's) and
/// compares its features with `streams`.
pub async fn check(
    token: &Secret,
    base: Option<String>,
    streams: &[String],
) -> Result<TokenReport, TokenError> {
    let claims = TokenClaims::decode(token.expose());
    let base = base
        .or_else(|| claims.as_ref().and_then(TokenClaims::events_base_url))
        .unwrap_or_else(|| crate::config::DEFAULT_EVENTS_BASE_URL.to_owned());
    let url = base.parse().map_err(|_| TokenError::BadUrl(base.clone()))?;
    let client = Client::new(url, token.clone(), ClientOptions::default())?;
    let Introspection {
        uuid,
        issued_at,
        features,
        account_uuid,
    } = client.introspect().await?;
    let expires = claims.as_ref().and_then(TokenClaims::expires_at);
    let missing_features = streams
        .iter()
        .filter(|s| !features.contains(s))
        .cloned()
        .collect();
    Ok(TokenReport {
        events_api: base,
        features,
        integration_uuid: uuid,
        account_uuid,
        issued_at,
        expires_at: expires.map(|t| t.to_rfc3339()),
        days_left: expires.map(|t| (t - chrono::Utc::now()).num_days()),
        missing_features,
    })
}
