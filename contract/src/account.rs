//! A 1Password account's name in a deployment that collects several: a short slug that names its
//! folder under each stream's prefix, its checkpoints, its secret, its feeds and its settings'
//! variables (`OP_API_BASE_ACME_EU` for `acme-eu`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest name accepted.
pub const MAX_LEN: usize = 24;

/// An account's name: 1 to 24 lowercase letters, digits and hyphens, starting with a letter and
/// not ending with a hyphen (so it is a folder name, part of a secret id and, upper-cased with `_`
/// for `-`, part of an environment variable, without clashing with another name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountName(String);

/// A name that is not an account name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an account name: 1 to 24 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (e.g. acme or acme-eu)"
)]
pub struct BadAccountName(pub String);

impl AccountName {
    /// The name, checked.
    pub fn new(name: &str) -> Result<AccountName, BadAccountName> {
        let bytes = name.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= MAX_LEN
            && bytes[0].is_ascii_lowercase()
            && bytes[bytes.len() - 1] != b'-'
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if ok {
            Ok(AccountName(name.to_owned()))
        } else {
            Err(BadAccountName(name.to_owned()))
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The suffix of this account's variables: upper case, `_` for `-` (`acme-eu` → `ACME_EU`).
    /// Two names never share a suffix, since names have no `_`.
    pub fn env_suffix(&self) -> String {
        self.0.to_ascii_uppercase().replace('-', "_")
    }
}

impl TryFrom<String> for AccountName {
    type Error = BadAccountName;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        AccountName::new(&name)
    }
}

impl From<AccountName> for String {
    fn from(name: AccountName) -> String {
        name.0
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_accepted_and_everything_else_refused() {
        for good in [
            "a",
            "acme",
            "acme-eu",
            "b2b",
            "x-1-y",
            "abcdefghijklmnopqrstuvwx",
        ] {
            assert_eq!(AccountName::new(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "Acme",
            "1acme",
            "acme-",
            "-acme",
            "acme_eu",
            "acme eu",
            "acmé",
            "../x",
            "abcdefghijklmnopqrstuvwxy",
        ] {
            assert!(AccountName::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(AccountName::new("acme-eu").unwrap().env_suffix(), "ACME_EU");
        let parsed: AccountName = serde_json::from_str("\"globex\"").unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"globex\"");
        assert!(serde_json::from_str::<AccountName>("\"Globex\"").is_err());
    }
}
