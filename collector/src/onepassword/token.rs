//! Reading a bearer token's JWT claims (expiry, features, events host) without verifying it: the
//! API verifies tokens; we only read what they say about themselves for operators.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The claims of a 1Password Events Reporting token that this project reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenClaims {
    /// Audiences; one of them names the events host.
    #[serde(default, deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry, Unix seconds, if the token expires.
    #[serde(default)]
    pub exp: Option<i64>,
    /// Issued at, Unix seconds.
    #[serde(default)]
    pub iat: Option<i64>,
    /// Streams the token may read.
    #[serde(default)]
    pub features: Vec<String>,
    /// Subject.
    #[serde(default)]
    pub sub: Option<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

impl TokenClaims {
    /// Decodes the claims of a JWT-shaped token; `None` if the token is not a JWT.
    pub fn decode(token: &str) -> Option<TokenClaims> {
        let mut parts = token.trim().split('.');
        let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// When the token expires, if it does.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.exp.and_then(|exp| DateTime::from_timestamp(exp, 0))
    }

    /// The events API base URL named in `aud`, e.g. `https://events.1password.com`.
    pub fn events_base_url(&self) -> Option<String> {
        self.aud.iter().find_map(|aud| {
            let host = aud.trim_start_matches("https://").trim_end_matches('/');
            host.starts_with("events.")
                .then(|| format!("https://{host}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(b"{\"alg\":\"ES256\"}"),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn reads_expiry_features_and_host() {
        let token = jwt(
            r#"{"aud":["com.1password.streamingservice","events.1password.eu"],"exp":1900000000,"features":["auditevents"]}"#,
        );
        let claims = TokenClaims::decode(&token).unwrap();
        assert_eq!(claims.expires_at().unwrap().timestamp(), 1_900_000_000);
        assert_eq!(claims.features, ["auditevents"]);
        assert_eq!(
            claims.events_base_url().as_deref(),
            Some("https://events.1password.eu")
        );
        let single =
            TokenClaims::decode(&jwt(r#"{"aud":"https://events.ent.1password.com"}"#)).unwrap();
        assert_eq!(
            single.events_base_url().as_deref(),
            Some("https://events.ent.1password.com")
        );
        assert!(single.expires_at().is_none());
    }

    #[test]
    fn non_jwts_are_none() {
        assert!(TokenClaims::decode("plain-token").is_none());
        assert!(TokenClaims::decode("a.b.c.d").is_none());
        assert!(TokenClaims::decode("a.%%%.c").is_none());
    }
}
