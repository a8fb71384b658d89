//! Events added at a steady rate while the simulator runs: a fractional rate per stream (0.05 is
//! one event every 20 s), each event timestamped at its creation, so a benchmark can measure the
//! time from an event's creation to its arrival downstream.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::server::Simulator;
use crate::stream::Stream;

/// A rate that is not a finite number above zero.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("an append rate must be a finite number of events per second above 0, got {0}")]
pub struct AppendRateError(pub f64);

/// Events per second per stream, above zero (fractions allowed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppendRate(f64);

impl AppendRate {
    /// `per_second` events a second.
    pub fn per_second(per_second: f64) -> Result<Self, AppendRateError> {
        if per_second.is_finite() && per_second > 0.0 {
            Ok(Self(per_second))
        } else {
            Err(AppendRateError(per_second))
        }
    }

    /// Events per second.
    pub fn get(self) -> f64 {
        self.0
    }

    /// How often the appender wakes: once per event up to 100 a second, every 10 ms above.
    pub fn period(self) -> Duration {
        Duration::from_secs_f64((1.0 / self.0).max(0.01))
    }

    /// Events due `elapsed` after the start: `floor(elapsed × rate)`, so none is lost to rounding.
    pub fn due(self, elapsed: Duration) -> u64 {
        (elapsed.as_secs_f64() * self.0).floor() as u64
    }
}

/// Appends to every stream of `streams` at `rate` until the handle is aborted (or the simulator's
/// last handle is gone). The first events come one period after the call.
pub fn append_steadily(sim: &Simulator, streams: &[Stream], rate: AppendRate) -> JoinHandle<()> {
    let appender = sim.appender();
    let streams = streams.to_vec();
    tokio::spawn(async move {
        let start = Instant::now();
        let mut appended = 0u64;
        let mut ticker = tokio::time::interval_at(start + rate.period(), rate.period());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let due = rate.due(start.elapsed());
            if due > appended {
                let n = (due - appended) as usize;
                for stream in &streams {
                    if !appender.append(*stream, n) {
                        return;
                    }
                }
                appended = due;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_must_be_positive_and_finite() {
        assert!(AppendRate::per_second(0.05).is_ok());
        assert!(AppendRate::per_second(250.0).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(AppendRate::per_second(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn due_counts_whole_events_and_period_follows_the_rate() {
        let slow = AppendRate::per_second(0.05).unwrap();
        assert_eq!(slow.period(), Duration::from_secs(20));
        assert_eq!(slow.due(Duration::from_secs(19)), 0);
        assert_eq!(slow.due(Duration::from_secs(20)), 1);
        assert_eq!(slow.due(Duration::from_secs(61)), 3);
        let fast = AppendRate::per_second(1000.0).unwrap();
        assert_eq!(fast.period(), Duration::from_millis(10));
        assert_eq!(fast.due(Duration::from_millis(1500)), 1500);
    }
}
