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

    /// The grant a token describes: a JWT's `1password.com/fts` and `exp` claims (unknown feature
    /// names are ignored), or every feature for a token that is not a JWT with claims.
    pub fn from_token(token: impl Into<String>) -> Self {
        let token = token.into();
        match TokenClaims::decode(&token) {
            Some(claims) => Self {
                features: claims
                    .features
                    .iter()
                    .filter_map(|f| f.parse().ok())
                    .collect(),
                expires_at: claims.exp.and_then(|exp| DateTime::from_timestamp(exp, 0)),
                token,
            },
            None => Self::all_features(token),
        }
    }
}

/// Claims of a 1Password Events Reporting bearer token (a JWT), as the real ones carry them and
/// 1Password's own clients read them: one audience, the events host (e.g. `events.1password.com`);
/// the features in `1password.com/fts`; the account in `1password.com/auuid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// Audiences: the events host, e.g. `["events.1password.com"]`.
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
    /// The token's own id.
    pub jti: String,
    /// Streams the token may read (`1password.com/fts`).
    #[serde(rename = "1password.com/fts")]
    pub features: Vec<String>,
    /// The 1Password account's uuid (`1password.com/auuid`).
    #[serde(rename = "1password.com/auuid")]
    pub account_uuid: String,
}

impl TokenClaims {
    /// Real-shaped claims for `host` (e.g. `events.1password.com`) with `features`, issued at `iat`.
    pub fn new(host: &str, features: &[&str], iat: i64) -> Self {
        Self {
            aud: vec![host.to_owned()],
            sub: "OPSIMINTEGRATION0000000000".into(),
            iss: "com.1password.b5".into(),
            iat,
            exp: None,
            jti: "opsimtoken0000000000000000".into(),
            features: features.iter().map(|f| (*f).to_owned()).collect(),
            account_uuid: "OPSIMACCOUNT00000000000000".into(),
        }
    }

    /// The claims of a JWT-shaped token; `None` when it is not one or lacks the claims.
    pub fn decode(token: &str) -> Option<TokenClaims> {
        let mut parts = token.split('.');
        let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

/// A JWT-shaped token (`header.payload.signature`, base64url) carrying `claims`. The signature is
/// not a real one: the simulator identifies tokens by their text.
pub fn mint_token(claims: &TokenClaims) -> String {
    let header = serde_json::json!({"alg": "ES256", "kid": "opsim", "typ": "JWT"});
    let encode = |value: &[u8]| URL_SAFE_NO_PAD.encode(value);
    let payload = serde_json::to_vec(claims).expect("claims always serialize");
    let signature = encode(format!("opsim-signature-for-{}", claims.jti).as_bytes());
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
            exp: Some(1_800_000_000),
            ..TokenClaims::new(
                "events.1password.eu",
                &["auditevents", "itemusages"],
                1_700_000_000,
            )
        }
    }

    #[test]
    fn minted_token_carries_claims() {
        let token = mint_token(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        // The real claim names, and one audience: the events host.
        assert_eq!(payload["aud"], serde_json::json!(["events.1password.eu"]));
        assert_eq!(
            payload["1password.com/fts"],
            serde_json::json!(["auditevents", "itemusages"])
        );
        assert_eq!(payload["1password.com/auuid"], "OPSIMACCOUNT00000000000000");
        assert!(payload.get("features").is_none() && payload.get("account_uuid").is_none());
        assert_eq!(TokenClaims::decode(&token), Some(claims()));
        let grant = TokenGrant::from_token(token);
        assert_eq!(grant.features, [Stream::AuditEvents, Stream::ItemUsages]);
        assert_eq!(grant.expires_at.unwrap().timestamp(), 1_800_000_000);
        assert_eq!(TokenGrant::from_token("opaque").features, Stream::ALL);
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
