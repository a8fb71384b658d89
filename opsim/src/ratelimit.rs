//! A per-token sliding-window rate limiter mirroring the real API's limits: 600 requests per minute
//! and 30,000 per hour.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// Requests allowed per token in each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per sliding minute (the real API: 600).
    pub per_minute: u32,
    /// Per sliding hour (the real API: 30,000).
    pub per_hour: u32,
}

impl RateLimits {
    /// The real API's limits.
    pub const REAL: RateLimits = RateLimits {
        per_minute: 600,
        per_hour: 30_000,
    };
}

pub(crate) struct RateLimiter {
    limits: RateLimits,
    seen: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits: RateLimits {
                per_minute: limits.per_minute.max(1),
                per_hour: limits.per_hour.max(1),
            },
            seen: HashMap::new(),
        }
    }

    /// `Ok` if the request may proceed, else how long until the binding window lets one through.
    pub fn check(&mut self, token: &str, now: Instant) -> Result<(), Duration> {
        let seen = self.seen.entry(token.to_owned()).or_default();
        while seen.front().is_some_and(|t| now.duration_since(*t) >= HOUR) {
            seen.pop_front();
        }
        let in_minute = seen
            .iter()
            .rev()
            .take_while(|t| now.duration_since(**t) < MINUTE)
            .count();
        let mut wait = Duration::ZERO;
        if seen.len() >= self.limits.per_hour as usize {
            let oldest = seen[seen.len() - self.limits.per_hour as usize];
            wait = wait.max(HOUR.saturating_sub(now.duration_since(oldest)));
        }
        if in_minute >= self.limits.per_minute as usize {
            let oldest = seen[seen.len() - self.limits.per_minute as usize];
            wait = wait.max(MINUTE.saturating_sub(now.duration_since(oldest)));
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        seen.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_token_per_minute_and_hour_and_recovers() {
        let mut limiter = RateLimiter::new(RateLimits {
            per_minute: 2,
            per_hour: 3,
        });
        let t0 = Instant::now();
        assert!(limiter.check("a", t0).is_ok());
        assert!(limiter.check("a", t0).is_ok());
        assert_eq!(limiter.check("a", t0), Err(MINUTE));
        assert!(limiter.check("b", t0).is_ok());
        assert!(limiter.check("a", t0 + MINUTE).is_ok());
        // The hour's three are spent: the wait is until the first one is an hour old.
        assert_eq!(limiter.check("a", t0 + MINUTE * 2), Err(HOUR - MINUTE * 2));
        assert!(limiter.check("a", t0 + HOUR).is_ok());
    }
}
