//! The three event streams of the Events API and their URL path segments.
//! Its own type, not the contract's `Stream`: the simulator stands for 1Password, so it shares
//! none of the collector's beliefs about the API, not even the streams' names.

use std::fmt;
use std::str::FromStr;

/// One of the Events API's event streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    /// `auditevents`: administrative and policy actions.
    AuditEvents,
    /// `signinattempts`: successful and failed sign-in attempts.
    SignInAttempts,
    /// `itemusages`: uses of items in shared vaults.
    ItemUsages,
}

impl Stream {
    /// Every stream, in a stable order.
    pub const ALL: [Stream; 3] = [
        Stream::AuditEvents,
        Stream::SignInAttempts,
        Stream::ItemUsages,
    ];

    /// The path segment and token feature name, e.g. `auditevents`.
    pub fn path_segment(self) -> &'static str {
        match self {
            Stream::AuditEvents => "auditevents",
            Stream::SignInAttempts => "signinattempts",
            Stream::ItemUsages => "itemusages",
        }
    }

    pub(crate) fn index(self) -> u64 {
        match self {
            Stream::AuditEvents => 1,
            Stream::SignInAttempts => 2,
            Stream::ItemUsages => 3,
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path_segment())
    }
}

/// A stream name that is not one of `auditevents`, `signinattempts`, `itemusages`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stream {0:?}: expected auditevents, signinattempts or itemusages")]
pub struct ParseStreamError(pub String);

impl FromStr for Stream {
    type Err = ParseStreamError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stream::ALL
            .into_iter()
            .find(|stream| stream.path_segment() == s)
            .ok_or_else(|| ParseStreamError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_names() {
        for stream in Stream::ALL {
            assert_eq!(stream.to_string().parse::<Stream>(), Ok(stream));
        }
        assert!("audit".parse::<Stream>().is_err());
    }
}
