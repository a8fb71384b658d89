//! Requests counted per token and endpoint, served at `GET /opsim/requests`, so a benchmark can
//! count API requests per account per run. A token is named by a fingerprint (never its text) and,
//! for a JWT-shaped token, the account its claims name.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::auth::TokenClaims;

/// `sha256:` and the first 16 hex digits of the token's SHA-256: the form a collector's run
/// summary names its token in, so the two can be matched; says nothing of the token.
pub fn fingerprint(token: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// One token's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TokenRequests {
    /// [`fingerprint`] of the token.
    pub fingerprint: String,
    /// The account (`1password.com/auuid`) of a JWT-shaped token; `None` for any other text.
    pub account: Option<String>,
    /// Requests per endpoint: a stream's path segment (`auditevents`, …) or `introspect`,
    /// rate-limited and faulted requests included.
    pub requests: BTreeMap<String, u64>,
    /// Every request of this token.
    pub total: u64,
}

/// Counts of every authenticated request, by token fingerprint.
#[derive(Debug, Default)]
pub(crate) struct RequestCounts {
    by_token: BTreeMap<String, TokenRequests>,
}

impl RequestCounts {
    /// Counts one request of `token` to `endpoint`.
    pub fn count(&mut self, token: &str, endpoint: &str) {
        let fingerprint = fingerprint(token);
        let entry = self
            .by_token
            .entry(fingerprint.clone())
            .or_insert_with(|| TokenRequests {
                fingerprint,
                account: TokenClaims::decode(token).map(|claims| claims.account_uuid),
                ..TokenRequests::default()
            });
        *entry.requests.entry(endpoint.to_owned()).or_default() += 1;
        entry.total += 1;
    }

    /// Every token's counts, by fingerprint.
    pub fn snapshot(&self) -> Vec<TokenRequests> {
        self.by_token.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_token_and_endpoint_without_the_token() {
        let mut counts = RequestCounts::default();
        counts.count("secret-a", "auditevents");
        counts.count("secret-a", "auditevents");
        counts.count("secret-a", "introspect");
        counts.count("secret-b", "itemusages");
        let all = counts.snapshot();
        assert_eq!(all.len(), 2);
        let a = all
            .iter()
            .find(|t| t.fingerprint == fingerprint("secret-a"))
            .unwrap();
        assert_eq!(a.total, 3);
        assert_eq!(a.requests["auditevents"], 2);
        assert_eq!(a.account, None);
        // SHA-256("abc") begins ba7816bf8f01cfea.
        assert_eq!(fingerprint("abc"), "sha256:ba7816bf8f01cfea");
        let text = serde_json::to_string(&all).unwrap();
        assert!(!text.contains("secret"), "{text}");
    }
}
