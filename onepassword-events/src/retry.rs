//! Backoff for 429, 5xx and transport failures: Retry-After (seconds or an HTTP date) when given,
//! else capped exponential backoff with full jitter; never past the run's deadline.

use std::time::Duration;

use chrono::{DateTime, Utc};

use rand::RngExt as _;

/// How often and how long to retry a failed Events API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// First backoff step.
    pub base: Duration,
    /// Largest single wait.
    pub cap: Duration,
}

/// The collector's defaults (`contract::env`), waits capped at a minute.
impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: contract::env::RETRY_MAX_ATTEMPTS.default,
            base: Duration::from_millis(contract::env::RETRY_BASE_MILLIS.default),
            cap: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1): the server's `Retry-After`
    /// (capped) when it sent one, else a random wait in `0..=min(cap, base * 2^(attempt-1))`.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.cap);
        }
        let millis = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }

    /// The longest wait before attempt `attempt + 1` without `Retry-After`:
    /// `min(cap, base * 2^(attempt-1))` (full jitter draws below it).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        self.base.saturating_mul(1 << exponent).min(self.cap)
    }
}

/// A `Retry-After` header's wait from `now`: delay-seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2026 07:28:00 GMT`; a date already past is no wait). `None` when unreadable.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.to_utc();
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        let now = DateTime::parse_from_rfc3339("2026-10-21T07:27:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn honours_retry_after_and_caps_backoff() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        };
        assert_eq!(
            policy.wait(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            policy.wait(1, Some(Duration::from_secs(90))),
            Duration::from_secs(2)
        );
        let ceilings: Vec<u64> = (1..=7)
            .map(|attempt| policy.ceiling(attempt).as_millis() as u64)
            .collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(2));
    }

    #[test]
    fn waits_are_drawn_across_the_whole_range_below_the_ceiling() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(1000),
            cap: Duration::from_secs(60),
        };
        for attempt in [1, 3, 6] {
            let ceiling = policy.ceiling(attempt);
            let waits: Vec<Duration> = (0..200).map(|_| policy.wait(attempt, None)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            // Full jitter: 200 draws all in the lower or all in the upper half would be a
            // 1-in-2^199 event; a wait stuck at 0 or at the ceiling fails here.
            assert!(
                waits.iter().any(|w| *w < ceiling / 2) && waits.iter().any(|w| *w > ceiling / 2),
                "attempt {attempt}: {waits:?}"
            );
        }
    }
}
