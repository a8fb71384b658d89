//! Bearer tokens: grants the simulator accepts, and JWT-shaped tokens minted for tests and demos.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::stream::Stream;

/// A token the simulator accepts, with the streams it may read and an optional expiry.
#[derive(Clone)]
pub struct TokenGrant {
    /// The bearer token text.
    pub token: String,
    /// Streams this token may read (the token's "features").
    pub features: Vec<Stream>,
    /// After this instant the token is refused with 401.
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("token", &"<redacted>")
            .field("features", &self.features)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl TokenGrant {
    /// A token with every feature and no expiry.
    pub fn all_features(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            features: Stream::ALL.to_vec(),
            expires_at: None,
        }
    }
}

/// Claims of a 1Password Events Reporting bearer token (a JWT). 1Password documents the token only
/// as a JWT carrying its features; these names follow what such tokens carry: `aud` names the
/// streaming service and the events host, `features` the streams, `exp` the expiry if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// Audiences, e.g. `["com.1password.streamingservice", "events.1password.com"]`.
    pub aud: Vec<String>,
    /// Subject: the integration's uuid.
    pub sub: String,
    /// Issuer, e.g. `com.1password.b5`.
    pub iss: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds; absent for a token that never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Streams the token may read.
    pub features: Vec<String>,
    /// The 1Password account's uuid.
    pub account_uuid: String,
    /// The Events Reporting integration's uuid.
    pub integration_uuid: String,
}

/// A JWT-shaped token (`header.payload.signature`, base64url) carrying `claims`. The signature is
/// not a real one: the simulator identifies tokens by their text.
pub fn mint_token(claims: &TokenClaims) -> String {
    let header = serde_json::json!({"alg": "ES256", "kid": "opsim", "typ": "JWT"});
    let encode = |value: &[u8]| URL_SAFE_NO_PAD.encode(value);
    let payload = serde_json::to_vec(claims).expect("claims always serialize");
    let signature = encode(format!("opsim-signature-for-{}", claims.integration_uuid).as_bytes());
    format!(
        "{}.{}.{}",
        encode(header.to_string().as_bytes()),
        encode(&payload),
        signature
    )
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Missing,
    Unknown,
    Expired,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Missing => "Unauthorized: missing bearer token",
            Refusal::Unknown => "Unauthorized: invalid bearer token",
            Refusal::Expired => "Unauthorized: token has expired",
        }
    }
}

/// Finds the grant for an `Authorization` header value.
pub(crate) fn authenticate<'a>(
    grants: &'a [TokenGrant],
    header: Option<&str>,
    now: DateTime<Utc>,
) -> Result<&'a TokenGrant, Refusal> {
    let header = header.ok_or(Refusal::Missing)?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Refusal::Missing)?;
    let grant = grants
        .iter()
        .find(|g| g.token == token)
        .ok_or(Refusal::Unknown)?;
    match grant.expires_at {
        Some(expiry) if expiry <= now => Err(Refusal::Expired),
        _ => Ok(grant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TokenClaims {
        TokenClaims {
            aud: vec![
                "com.1password.streamingservice".into(),
                "events.1password.com".into(),
            ],
            sub: "SUB".into(),
            iss: "com.1password.b5".into(),
            iat: 1_700_000_000,
            exp: Some(1_800_000_000),
            features: vec!["auditevents".into()],
            account_uuid: "ACCOUNT".into(),
            integration_uuid: "INTEGRATION".into(),
        }
    }

    #[test]
    fn minted_token_carries_claims() {
        let token = mint_token(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: TokenClaims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(payload, claims());
    }

    #[test]
    fn authentication_outcomes() {
        let now = Utc::now();
        let grants = vec![
            TokenGrant::all_features("good"),
            TokenGrant {
                token: "old".into(),
                features: vec![],
                expires_at: Some(now),
            },
        ];
        assert!(authenticate(&grants, Some("Bearer good"), now).is_ok());
        assert_eq!(
            authenticate(&grants, None, now).unwrap_err(),
            Refusal::Missing
        );
        assert_eq!(
            authenticate(&grants, Some("Basic x"), now).unwrap_err(),
            Refusal::Missing
        );
        assert_eq!(
            authenticate(&grants, Some("Bearer nope"), now).unwrap_err(),
            Refusal::Unknown
        );
        assert_eq!(
            authenticate(&grants, Some("Bearer old"), now).unwrap_err(),
            Refusal::Expired
        );
        assert!(!format!("{:?}", grants[0]).contains("good"));
    }
}
