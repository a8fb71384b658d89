//! Errors from the Events API, split by what the operator or the caller must do about them.

use chrono::{DateTime, SecondsFormat, Utc};

/// Which of the Events API's per-token request limits was spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateWindow {
    /// 600 requests per minute.
    Minute,
    /// 30,000 requests per hour.
    Hour,
}

impl std::fmt::Display for RateWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RateWindow::Minute => "per-minute request limit (600)",
            RateWindow::Hour => "hourly request limit (30,000)",
        })
    }
}

fn stamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A failed Events API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: the token is missing, wrong, expired or revoked, or lacks the stream's feature.
    #[error(
        "1Password refused the bearer token for {endpoint} (401: {message}); issue a new token \
         with the needed events in 1Password (Integrations > Events Reporting) and store it in the \
         collector's secret"
    )]
    Unauthorized {
        /// The endpoint called.
        endpoint: String,
        /// The API's message.
        message: String,
    },
    /// 400 or another 4xx: the request itself is wrong; retrying will not help.
    #[error("1Password rejected the request to {endpoint} ({status}: {message})")]
    Rejected {
        /// The endpoint called.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The API's message.
        message: String,
    },
    /// 429s that the run's time budget cannot wait out (the hourly limit, typically): stop now; the
    /// checkpoint holds everything done so far and the next run after `resets_at` continues.
    #[error(
        "1Password's {window} for this token is spent (429 from {endpoint}); the run stopped with \
         its checkpoint saved, and requests can resume {} {}",
        if *.announced { "at" } else { "by" },
        stamp(.resets_at)
    )]
    RateLimited {
        /// The endpoint called.
        endpoint: String,
        /// Which limit.
        window: RateWindow,
        /// When requests can resume (the server's `Retry-After`, else the latest the window can
        /// take to reset).
        resets_at: DateTime<Utc>,
        /// Whether the server said when (`Retry-After`), rather than this being an upper bound.
        announced: bool,
    },
    /// The token cannot be sent in an HTTP header at all.
    #[error("the bearer token cannot be sent: {reason}")]
    InvalidToken {
        /// What is wrong with it (never the token itself).
        reason: String,
    },
    /// 429, 5xx, timeouts, cut connections or malformed bodies that outlasted the retries or the
    /// run's time budget; the next run will try again.
    #[error("1Password Events API unavailable at {endpoint} after {attempts} attempts: {last}")]
    Unavailable {
        /// The endpoint called.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}
