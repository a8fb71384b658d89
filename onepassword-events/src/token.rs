//! Reading a bearer token's JWT claims (expiry, features, account, events host) without verifying
//! it: the API verifies tokens; we only read what they say about themselves. The claim names are
//! the ones real tokens carry and 1Password's own clients read: the features in
//! `1password.com/fts`, the account in `1password.com/auuid`, and one audience, the events host.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::Stream;

/// The audience older tokens carried instead of a host; 1Password's clients treat it as "no host".
const DEPRECATED_AUDIENCE: &str = "com.1password.streamingservice";

/// The claims of a 1Password Events Reporting token that this project reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenClaims {
    /// Audiences; the first names the events host, e.g. `events.1password.com`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry, Unix seconds, if the token expires.
    #[serde(default)]
    pub exp: Option<i64>,
    /// Issued at, Unix seconds.
    #[serde(default)]
    pub iat: Option<i64>,
    /// Streams the token may read (`1password.com/fts`).
    #[serde(default, rename = "1password.com/fts")]
    pub features: Option<Vec<String>>,
    /// The account the token was issued in (`1password.com/auuid`).
    #[serde(default, rename = "1password.com/auuid")]
    pub account_uuid: Option<String>,
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

    /// Of `streams`, those whose feature the token lacks; empty when the token names no features
    /// (then only the API can tell).
    pub fn missing(&self, streams: impl IntoIterator<Item = Stream>) -> Vec<Stream> {
        let Some(features) = &self.features else {
            return Vec::new();
        };
        streams
            .into_iter()
            .filter(|s| !features.iter().any(|f| f == s.name()))
            .collect()
    }

    /// The events API base URL its audience names, e.g. `https://events.1password.com`, as
    /// 1Password's own clients read it: the first audience, unless that is the deprecated one.
    pub fn events_base_url(&self) -> Option<String> {
        let first = self.aud.first()?.trim();
        if first == DEPRECATED_AUDIENCE || first.is_empty() {
            return None;
        }
        let host = first.trim_end_matches('/');
        Some(if host.contains("://") {
            host.to_owned()
        } else {
            format!("https://{host}")
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
    fn reads_the_real_claims() {
        let token = jwt(
            r#"{"1password.com/auuid":"VZSYVT2LGRBRLBVTH4BXTROVMY","1password.com/fts":["auditevents","itemusages"],"aud":["events.1password.eu"],"exp":1900000000,"iat":1800000000,"iss":"com.1password.b5","jti":"x","sub":"y"}"#,
        );
        let claims = TokenClaims::decode(&token).unwrap();
        assert_eq!(claims.expires_at().unwrap().timestamp(), 1_900_000_000);
        assert_eq!(
            claims.features.as_deref(),
            Some(&["auditevents".to_owned(), "itemusages".to_owned()][..])
        );
        assert_eq!(
            claims.account_uuid.as_deref(),
            Some("VZSYVT2LGRBRLBVTH4BXTROVMY")
        );
        assert_eq!(claims.missing(Stream::ALL), [Stream::SignInAttempts]);
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
        assert!(
            single.missing(Stream::ALL).is_empty(),
            "no claim, no verdict"
        );
    }

    #[test]
    fn unpublished_names_and_the_deprecated_audience_say_nothing() {
        // No published source shows `features` or `account_uuid` inside a token: they are not read.
        let claims = TokenClaims::decode(&jwt(
            r#"{"aud":["com.1password.streamingservice","events.1password.com"],"features":["auditevents"],"account_uuid":"A"}"#,
        ))
        .unwrap();
        assert_eq!(claims.features, None);
        assert_eq!(claims.account_uuid, None);
        assert_eq!(claims.events_base_url(), None);
    }

    #[test]
    fn non_jwts_are_none() {
        assert!(TokenClaims::decode("plain-token").is_none());
        assert!(TokenClaims::decode("a.b.c.d").is_none());
        assert!(TokenClaims::decode("a.%%%.c").is_none());
    }
}
