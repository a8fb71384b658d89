//! The Events API's streams: the closed set both sides name (collector settings, provisioner
//! config, checkpoint keys, run summaries), spelled as the API's path segment and token feature.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An event stream of the 1Password Events API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Audit events (`/api/v2/auditevents`).
    AuditEvents,
    /// Sign-in attempts (`/api/v2/signinattempts`).
    SignInAttempts,
    /// Item usages (`/api/v2/itemusages`).
    ItemUsages,
}

impl Stream {
    /// Every stream.
    pub const ALL: [Stream; 3] = [
        Stream::AuditEvents,
        Stream::SignInAttempts,
        Stream::ItemUsages,
    ];

    /// The API path segment, which is also the token feature's name and the spelling in every
    /// setting, config key and summary.
    pub fn name(self) -> &'static str {
        match self {
            Stream::AuditEvents => "auditevents",
            Stream::SignInAttempts => "signinattempts",
            Stream::ItemUsages => "itemusages",
        }
    }

    /// The stream's name as 1Password's integration settings show it.
    pub fn feature_label(self) -> &'static str {
        match self {
            Stream::AuditEvents => "Audit events",
            Stream::SignInAttempts => "Sign-in attempts",
            Stream::ItemUsages => "Item usage",
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A stream name that is not one of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stream {0:?} (expected auditevents, signinattempts or itemusages)")]
pub struct UnknownStream(pub String);

impl FromStr for Stream {
    type Err = UnknownStream;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stream::ALL
            .into_iter()
            .find(|stream| stream.name() == s.trim())
            .ok_or_else(|| UnknownStream(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_and_from_str_spell_streams_alike() {
        for stream in Stream::ALL {
            assert_eq!(
                serde_json::to_value(stream).unwrap(),
                serde_json::Value::from(stream.name())
            );
            assert_eq!(stream.name().parse::<Stream>().unwrap(), stream);
            let back: Stream = serde_json::from_value(stream.name().into()).unwrap();
            assert_eq!(back, stream);
        }
        assert!("logins".parse::<Stream>().is_err());
        assert!(serde_json::from_str::<Stream>("\"AuditEvents\"").is_err());
    }
}
