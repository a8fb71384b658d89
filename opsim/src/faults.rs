//! Injectable faults: a FIFO queue applied to the next requests, and a seeded random mode.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt as _, SeedableRng};

/// A fault the simulator can inject into an events request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 Too Many Requests, with `Retry-After: N` seconds when given.
    TooManyRequests {
        /// Seconds for the `Retry-After` header; `None` sends no header.
        retry_after: Option<u64>,
    },
    /// 429 Too Many Requests with `Retry-After` as an HTTP date this far ahead (rounded up to the
    /// next whole second).
    TooManyRequestsUntil(Duration),
    /// A 5xx status (500, 502, 503) with an error body.
    ServerError(u16),
    /// The normal response, after a delay.
    Slow(Duration),
    /// Headers with the full Content-Length, part of the body, then the connection is cut.
    CutBody,
    /// Status 200 with a body that is not valid JSON.
    MalformedJson,
}

/// Which faults to inject.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    queue: VecDeque<Fault>,
    random: Option<RandomFaults>,
}

#[derive(Debug)]
struct RandomFaults {
    rng: ChaCha8Rng,
    probability: f64,
    kinds: Vec<Fault>,
}

// rand 0.10's ChaCha8Rng (chacha20's) is not Clone: a clone is a new generator at the same seed,
// stream and word position, so it draws what the original would.
impl Clone for RandomFaults {
    fn clone(&self) -> Self {
        let mut rng = ChaCha8Rng::from_seed(self.rng.get_seed());
        rng.set_stream(self.rng.get_stream());
        rng.set_word_pos(self.rng.get_word_pos());
        Self {
            rng,
            probability: self.probability,
            kinds: self.kinds.clone(),
        }
    }
}

impl FaultPlan {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// These faults, one per request, in order; then normal service.
    pub fn queue(faults: Vec<Fault>) -> Self {
        Self {
            queue: faults.into(),
            random: None,
        }
    }

    /// Each request gets one of `kinds` with `probability`, reproducibly for a `seed`.
    pub fn random(seed: u64, probability: f64, kinds: Vec<Fault>) -> Self {
        Self {
            queue: VecDeque::new(),
            random: Some(RandomFaults {
                rng: ChaCha8Rng::seed_from_u64(seed),
                probability: probability.clamp(0.0, 1.0),
                kinds,
            }),
        }
    }

    pub(crate) fn push(&mut self, fault: Fault) {
        self.queue.push_back(fault);
    }

    /// The fault for the next request, if any: queued faults first, then the random mode.
    pub(crate) fn next(&mut self) -> Option<Fault> {
        if let Some(fault) = self.queue.pop_front() {
            return Some(fault);
        }
        let random = self.random.as_mut()?;
        if random.kinds.is_empty() || !random.rng.random_bool(random.probability) {
            return None;
        }
        let pick = random.rng.random_range(0..random.kinds.len());
        Some(random.kinds[pick].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_then_nothing() {
        let mut plan = FaultPlan::queue(vec![Fault::CutBody, Fault::ServerError(502)]);
        assert_eq!(plan.next(), Some(Fault::CutBody));
        assert_eq!(plan.next(), Some(Fault::ServerError(502)));
        assert_eq!(plan.next(), None);
    }

    #[test]
    fn random_mode_is_reproducible() {
        let kinds = vec![Fault::MalformedJson, Fault::ServerError(500)];
        let draw = |seed| {
            let mut plan = FaultPlan::random(seed, 0.5, kinds.clone());
            (0..64).map(|_| plan.next()).collect::<Vec<_>>()
        };
        assert_eq!(draw(9), draw(9));
        let faults = draw(9).into_iter().flatten().count();
        assert!(
            faults > 10 && faults < 54,
            "about half should be faults, got {faults}"
        );
    }

    #[test]
    fn a_clone_draws_what_the_original_would() {
        let kinds = vec![
            Fault::MalformedJson,
            Fault::ServerError(500),
            Fault::CutBody,
        ];
        let mut plan = FaultPlan::random(3, 0.5, kinds);
        for _ in 0..37 {
            plan.next();
        }
        let mut copy = plan.clone();
        let ahead: Vec<_> = (0..200).map(|_| plan.next()).collect();
        let copied: Vec<_> = (0..200).map(|_| copy.next()).collect();
        assert_eq!(ahead, copied);
    }
}
