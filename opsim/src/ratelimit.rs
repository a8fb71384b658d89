//! A per-token sliding-window rate limiter mirroring the real API's 600 requests per minute.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

pub(crate) struct RateLimiter {
    per_minute: usize,
    seen: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1) as usize,
            seen: HashMap::new(),
        }
    }

    /// `Ok` if the request may proceed, else the seconds to wait before retrying.
    pub fn check(&mut self, token: &str, now: Instant) -> Result<(), u64> {
        let window = self.seen.entry(token.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= self.per_minute {
            let oldest = window.front().copied().unwrap_or(now);
            let wait = WINDOW.saturating_sub(now.duration_since(oldest));
            return Err(wait.as_secs().max(1));
        }
        window.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_token_and_recovers() {
        let mut limiter = RateLimiter::new(2);
        let t0 = Instant::now();
        assert!(limiter.check("a", t0).is_ok());
        assert!(limiter.check("a", t0).is_ok());
        assert_eq!(limiter.check("a", t0), Err(60));
        assert!(limiter.check("b", t0).is_ok());
        assert!(limiter.check("a", t0 + WINDOW).is_ok());
    }
}
