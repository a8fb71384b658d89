//! The storage proxy's faults: what kinds there are, which requests may get one, and the plan that
//! decides (a queue first, then a seeded random draw or every `n`th request).

use std::collections::VecDeque;

use rand::{RngExt as _, SeedableRng as _};

/// A storage-side fault, injected into one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageFault {
    /// Answer 503 without forwarding: nothing happened.
    UnavailableBeforeForwarding,
    /// Forward, then answer 503 instead of the emulator's answer: the request took effect.
    UnavailableAfterForwarding,
    /// Answer 429 without forwarding.
    TooManyRequests,
    /// Forward, then close the connection without an answer: the request took effect.
    DropAfterForwarding,
}

impl StorageFault {
    /// Every kind, in declaration order.
    pub const ALL: [StorageFault; 4] = [
        StorageFault::UnavailableBeforeForwarding,
        StorageFault::UnavailableAfterForwarding,
        StorageFault::TooManyRequests,
        StorageFault::DropAfterForwarding,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Which requests get faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultedRequests {
    /// Every request.
    All,
    /// Uploads only (`POST`/`PUT`/`PATCH`): the writes of the exactly-once protocol.
    Writes,
}

/// When faults are injected, besides those queued with
/// [`StorageProxy::push_fault`](crate::StorageProxy::push_fault).
#[derive(Debug)]
pub struct StorageFaultPlan {
    random: Option<(rand::rngs::ChaCha8Rng, f64, Vec<StorageFault>)>,
    every: Option<(u64, Vec<StorageFault>)>,
    requests: FaultedRequests,
}

impl StorageFaultPlan {
    /// No random faults.
    pub fn none() -> Self {
        Self {
            random: None,
            every: None,
            requests: FaultedRequests::All,
        }
    }

    /// Every `n`th request of `requests` gets the next of `kinds`, round robin: with `n` coprime
    /// to the number of requests a protocol step makes, every kind lands on every step in turn.
    pub fn every(n: u64, kinds: Vec<StorageFault>, requests: FaultedRequests) -> Self {
        assert!(n >= 1 && !kinds.is_empty(), "n >= 1 and at least one kind");
        Self {
            random: None,
            every: Some((n, kinds)),
            requests,
        }
    }

    /// Each request of `requests` gets one of `kinds` (chosen uniformly) with probability `rate`;
    /// the same seed gives the same sequence of decisions.
    pub fn random(
        seed: u64,
        rate: f64,
        kinds: Vec<StorageFault>,
        requests: FaultedRequests,
    ) -> Self {
        assert!(
            (0.0..=1.0).contains(&rate) && !kinds.is_empty(),
            "a fault rate in 0..=1 and at least one kind"
        );
        Self {
            random: Some((rand::rngs::ChaCha8Rng::seed_from_u64(seed), rate, kinds)),
            every: None,
            requests,
        }
    }
}

// rand 0.10's ChaCha8Rng (chacha20's) is not Clone: a clone is a new generator at the same seed,
// stream and word position, so it draws what the original would.
impl Clone for StorageFaultPlan {
    fn clone(&self) -> Self {
        let random = self.random.as_ref().map(|(rng, rate, kinds)| {
            let mut copy = rand::rngs::ChaCha8Rng::from_seed(rng.get_seed());
            copy.set_stream(rng.get_stream());
            copy.set_word_pos(rng.get_word_pos());
            (copy, *rate, kinds.clone())
        });
        Self {
            random,
            every: self.every.clone(),
            requests: self.requests,
        }
    }
}

/// The plan in force, the queue, and what was injected so far.
#[derive(Debug)]
pub(super) struct Faults {
    plan: StorageFaultPlan,
    queued: VecDeque<StorageFault>,
    injected: [u64; 4],
    /// Requests the plan applied to since it was set.
    eligible: u64,
}

impl Faults {
    pub(super) fn new() -> Self {
        Self {
            plan: StorageFaultPlan::none(),
            queued: VecDeque::new(),
            injected: [0; 4],
            eligible: 0,
        }
    }

    /// Replaces the plan and restarts its count of eligible requests.
    pub(super) fn set_plan(&mut self, plan: StorageFaultPlan) {
        self.plan = plan;
        self.eligible = 0;
    }

    pub(super) fn push(&mut self, fault: StorageFault) {
        self.queued.push_back(fault);
    }

    pub(super) fn injected(&self, fault: StorageFault) -> u64 {
        self.injected[fault.index()]
    }

    /// The fault for the next request (a write if `is_write`), counted as injected: the queue
    /// first, then the plan's random draw, then its every-`n`th rule.
    pub(super) fn decide(&mut self, is_write: bool) -> Option<StorageFault> {
        let eligible = match self.plan.requests {
            FaultedRequests::All => true,
            FaultedRequests::Writes => is_write,
        };
        if !eligible {
            return None;
        }
        self.eligible += 1;
        let eligible = self.eligible;
        let mut fault = self.queued.pop_front();
        if fault.is_none()
            && let Some((rng, rate, kinds)) = self.plan.random.as_mut()
            && rng.random_bool(*rate)
        {
            fault = Some(kinds[rng.random_range(0..kinds.len())]);
        }
        if fault.is_none()
            && let Some((n, kinds)) = &self.plan.every
            && eligible.is_multiple_of(*n)
        {
            fault = Some(kinds[((eligible / n - 1) % kinds.len() as u64) as usize]);
        }
        if let Some(fault) = fault {
            self.injected[fault.index()] += 1;
        }
        fault
    }
}
