//! Errors from the Events API, split by what the operator or the caller must do about them.

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

impl ApiError {
    /// Whether retrying later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ApiError::Unavailable { .. })
    }
}
