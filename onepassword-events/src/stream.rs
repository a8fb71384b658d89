//! The Events API's streams: path segment, token feature, and SecOps log type.

use std::fmt;
use std::str::FromStr;

/// An event stream of the 1Password Events API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

    /// The API path segment, which is also the token feature's name.
    pub fn name(self) -> &'static str {
        match self {
            Stream::AuditEvents => "auditevents",
            Stream::SignInAttempts => "signinattempts",
            Stream::ItemUsages => "itemusages",
        }
    }

    /// The endpoint path, e.g. `/api/v2/auditevents`.
    pub fn path(self) -> String {
        format!("/api/v2/{}", self.name())
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
