//! Backoff for 429, 5xx and transport failures: Retry-After when given, else capped exponential
//! backoff with full jitter; never past the run's deadline.

use std::time::Duration;

use rand::Rng as _;

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

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_secs(1),
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
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self.base.saturating_mul(1 << exponent).min(self.cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for attempt in 1..30 {
            let wait = policy.wait(attempt, None);
            let ceiling = (100u64 << (attempt - 1).min(20)).min(2000);
            assert!(
                wait <= Duration::from_millis(ceiling),
                "attempt {attempt}: {wait:?}"
            );
        }
    }
}
