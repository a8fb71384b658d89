//! The collector's environment: every variable's name, and the defaults and accepted ranges of
//! its numbers. The collector's settings parser reads exactly these; the provisioner renders them
//! into each engine's service definition; the contract's tests feed what each engine renders
//! through the collector's parser.

use crate::Stream;

/// The Events API base URL (`https://events.1password.com`).
pub const OP_API_BASE: &str = "OP_API_BASE";
/// The bearer token (on Cloud Run, a reference to the Secret Manager secret).
pub const OP_BEARER_TOKEN: &str = "OP_BEARER_TOKEN";
/// A file holding the bearer token.
pub const OP_BEARER_TOKEN_FILE: &str = "OP_BEARER_TOKEN_FILE";
/// The bucket.
pub const GCS_BUCKET: &str = "GCS_BUCKET";
/// Where objects go instead of GCS_BUCKET: `gs://BUCKET` or `file:///folder`.
pub const SINK_URL: &str = "SINK_URL";
/// A GCS emulator's address (tests, demos).
pub const STORAGE_EMULATOR_HOST: &str = "STORAGE_EMULATOR_HOST";
/// The audit events checkpoint's object name (the guide's single state file).
pub const STATE_KEY: &str = "STATE_KEY";
/// The folder of checkpoints.
pub const STATE_PREFIX: &str = "STATE_PREFIX";
/// The streams to collect, a comma list.
pub const STREAMS: &str = "STREAMS";
/// `LISTEN_ADDRESS` of `collector serve`.
pub const LISTEN_ADDRESS: &str = "LISTEN_ADDRESS";
/// `json` (Cloud Logging) or `text`.
pub const LOG_FORMAT: &str = "LOG_FORMAT";

/// The accounts to collect, a comma list of account names; unset, one account from the
/// variables without a suffix.
pub const ACCOUNTS: &str = "ACCOUNTS";

/// The variables each account of `ACCOUNTS` has its own of, named with the account's suffix
/// (`OP_API_BASE_ACME`); `LOOKBACK_HOURS` without a suffix is every account's default.
pub const PER_ACCOUNT: &[&str] = &[
    OP_API_BASE,
    OP_BEARER_TOKEN,
    OP_BEARER_TOKEN_FILE,
    STREAMS,
    LOOKBACK_HOURS.name,
];

/// `variable` of `account` (`OP_BEARER_TOKEN_ACME_EU`).
pub fn for_account(variable: &str, account: &crate::AccountName) -> String {
    format!("{variable}_{}", account.env_suffix())
}

/// A whole-number variable: its name, its default and the values it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number<T> {
    /// The variable.
    pub name: &'static str,
    /// Its value when unset.
    pub default: T,
    /// The smallest value accepted.
    pub min: T,
    /// The largest value accepted.
    pub max: T,
}

impl<T: PartialOrd + Copy> Number<T> {
    /// Whether `value` is accepted.
    pub fn accepts(&self, value: T) -> bool {
        value >= self.min && value <= self.max
    }
}

/// Events one run commits per stream at most.
pub const MAX_RECORDS: Number<u64> = Number {
    name: "MAX_RECORDS",
    default: 10_000,
    min: 1,
    max: 1_000_000_000,
};
/// Events per API page (the API's own limit is 1000).
pub const PAGE_SIZE: Number<u16> = Number {
    name: "PAGE_SIZE",
    default: 1000,
    min: 1,
    max: 1000,
};
/// How far back a stream without a checkpoint starts, hours.
pub const LOOKBACK_HOURS: Number<i64> = Number {
    name: "LOOKBACK_HOURS",
    default: 24,
    min: 1,
    max: 24 * 365,
};
/// A run's wall-time budget, seconds: below Cloud Run's request timeout (600 s as deployed), so
/// a run ends cleanly before its request is cut.
pub const RUN_BUDGET_SECONDS: Number<u64> = Number {
    name: "RUN_BUDGET_SECONDS",
    default: 480,
    min: 5,
    max: 3600,
};
/// Events per data object at most (whole pages).
pub const BATCH_MAX_EVENTS: Number<usize> = Number {
    name: "BATCH_MAX_EVENTS",
    default: 5000,
    min: 1,
    max: 100_000,
};
/// Batches read ahead and being written, all the memory a stream's drain holds.
pub const BATCHES_IN_FLIGHT: Number<usize> = Number {
    name: "BATCHES_IN_FLIGHT",
    default: 3,
    min: 1,
    max: 8,
};
/// One Events API request's timeout, seconds.
pub const HTTP_TIMEOUT_SECONDS: Number<u64> = Number {
    name: "HTTP_TIMEOUT_SECONDS",
    default: 30,
    min: 1,
    max: 300,
};
/// Attempts of one Events API request (429s are waited out, not counted).
pub const RETRY_MAX_ATTEMPTS: Number<u32> = Number {
    name: "RETRY_MAX_ATTEMPTS",
    default: 8,
    min: 1,
    max: 100,
};
/// The first retry's wait, milliseconds (doubling, with jitter).
pub const RETRY_BASE_MILLIS: Number<u64> = Number {
    name: "RETRY_BASE_MILLIS",
    default: 1000,
    min: 1,
    max: 60_000,
};
/// Accounts collected at once; each holds at most BATCHES_IN_FLIGHT batches in memory. Up to 64:
/// at a one-minute schedule, 1,000 accounts of three streams need about that many at once to end a
/// run well inside the minute (`scripts/bench-accounts.sh`, steady mode, in the README).
pub const ACCOUNTS_IN_PARALLEL: Number<usize> = Number {
    name: "ACCOUNTS_IN_PARALLEL",
    default: 4,
    min: 1,
    max: 64,
};
/// The port of `collector serve` (Cloud Run sets it).
pub const PORT: Number<u16> = Number {
    name: "PORT",
    default: 8080,
    min: 1,
    max: 65535,
};

/// The folder of checkpoints by default, outside every feed prefix.
pub const DEFAULT_STATE_PREFIX: &str = "onepassword-secops-state/";

/// The variable naming `stream`'s object prefix (the guide's `GCS_PREFIX` for audit events).
pub fn prefix_variable(stream: Stream) -> &'static str {
    match stream {
        Stream::AuditEvents => "GCS_PREFIX",
        Stream::SignInAttempts => "SIGNINATTEMPTS_PREFIX",
        Stream::ItemUsages => "ITEMUSAGES_PREFIX",
    }
}

/// `stream`'s object prefix by default: the guide's for audit events, siblings for the others.
pub fn default_prefix(stream: Stream) -> &'static str {
    match stream {
        Stream::AuditEvents => "onepassword-audit",
        Stream::SignInAttempts => "onepassword-signinattempts",
        Stream::ItemUsages => "onepassword-itemusages",
    }
}

/// Every variable the collector reads, in the order its help lists them.
pub const VARIABLES: &[&str] = &[
    OP_API_BASE,
    OP_BEARER_TOKEN,
    OP_BEARER_TOKEN_FILE,
    GCS_BUCKET,
    "GCS_PREFIX",
    SINK_URL,
    STORAGE_EMULATOR_HOST,
    STATE_KEY,
    STATE_PREFIX,
    STREAMS,
    "SIGNINATTEMPTS_PREFIX",
    "ITEMUSAGES_PREFIX",
    MAX_RECORDS.name,
    PAGE_SIZE.name,
    LOOKBACK_HOURS.name,
    RUN_BUDGET_SECONDS.name,
    BATCH_MAX_EVENTS.name,
    BATCHES_IN_FLIGHT.name,
    HTTP_TIMEOUT_SECONDS.name,
    RETRY_BASE_MILLIS.name,
    RETRY_MAX_ATTEMPTS.name,
    ACCOUNTS,
    ACCOUNTS_IN_PARALLEL.name,
    LISTEN_ADDRESS,
    PORT.name,
    LOG_FORMAT,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_variable_is_listed_and_defaults_are_accepted() {
        for stream in Stream::ALL {
            assert!(VARIABLES.contains(&prefix_variable(stream)), "{stream}");
        }
        assert!(MAX_RECORDS.accepts(MAX_RECORDS.default));
        assert!(PAGE_SIZE.accepts(PAGE_SIZE.default) && !PAGE_SIZE.accepts(1001));
        assert!(LOOKBACK_HOURS.accepts(LOOKBACK_HOURS.default));
        assert!(RUN_BUDGET_SECONDS.accepts(RUN_BUDGET_SECONDS.default));
        assert!(BATCH_MAX_EVENTS.accepts(BATCH_MAX_EVENTS.default));
        assert!(BATCHES_IN_FLIGHT.accepts(BATCHES_IN_FLIGHT.default));
        assert!(HTTP_TIMEOUT_SECONDS.accepts(HTTP_TIMEOUT_SECONDS.default));
        assert!(RETRY_MAX_ATTEMPTS.accepts(RETRY_MAX_ATTEMPTS.default));
        assert!(RETRY_BASE_MILLIS.accepts(RETRY_BASE_MILLIS.default));
        assert!(PORT.accepts(PORT.default));
        assert!(ACCOUNTS_IN_PARALLEL.accepts(ACCOUNTS_IN_PARALLEL.default));
        // 1,000 accounts at a one-minute schedule need 64 at once (README: Scale).
        assert!(ACCOUNTS_IN_PARALLEL.accepts(64) && !ACCOUNTS_IN_PARALLEL.accepts(65));
        for variable in PER_ACCOUNT {
            assert!(VARIABLES.contains(variable), "{variable}");
        }
        let acme = crate::AccountName::new("acme-eu").unwrap();
        assert_eq!(
            for_account(OP_BEARER_TOKEN, &acme),
            "OP_BEARER_TOKEN_ACME_EU"
        );
        let mut sorted = VARIABLES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), VARIABLES.len(), "no variable listed twice");
    }
}
