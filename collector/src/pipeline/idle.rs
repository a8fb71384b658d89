//! The fetcher's idle time: from each page's response to the next request, split by what the
//! fetcher waited on, and how long each request took. Measured only when debug logging is on
//! (`RUST_LOG=collector=debug`), and reported once per stream at debug level.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use onepassword_events::Stream;

/// What the fetcher did between a page's response and its next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// Parsing the page and copying its items into the batch (the fetcher's own work).
    Page,
    /// Handing the finished batch to the writer (the channel to it was full).
    Handover,
    /// Waiting for an in-flight slot: BATCHES_IN_FLIGHT batches fetched and not yet committed.
    Slot,
    /// Reading started again from where the checkpoint stands (after another run moved it, or
    /// a recovery), so the next request waited for the writer.
    Restart,
}

impl Wait {
    const ALL: [Wait; 4] = [Wait::Page, Wait::Handover, Wait::Slot, Wait::Restart];

    fn name(self) -> &'static str {
        match self {
            Wait::Page => "page",
            Wait::Handover => "handover",
            Wait::Slot => "slot",
            Wait::Restart => "restart",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A distribution's summary, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Spread {
    /// How many samples.
    pub count: usize,
    /// Their median.
    pub p50_ms: f64,
    /// Their 95th percentile (nearest rank).
    pub p95_ms: f64,
    /// The largest.
    pub max_ms: f64,
    /// Their sum.
    pub total_ms: f64,
}

impl Spread {
    fn of(samples: &[Duration]) -> Spread {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            if ms.is_empty() {
                0.0
            } else {
                ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1]
            }
        };
        Spread {
            count: ms.len(),
            p50_ms: rank(0.5),
            p95_ms: rank(0.95),
            max_ms: ms.last().copied().unwrap_or(0.0),
            total_ms: ms.iter().sum(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Since when the fetcher waits, and on what (`None` while a request is out).
    since: Option<(Instant, Wait)>,
    /// The current gap, split by cause.
    gap: [Duration; 4],
    /// Every gap between a response and the next request, split by cause.
    gaps: Vec<[Duration; 4]>,
    /// When the request now out was sent.
    sent: Option<Instant>,
    /// Every request's time from sending to its whole body (retries included).
    requests: Vec<Duration>,
}

impl State {
    fn responded(&mut self, now: Instant) {
        if let Some(sent) = self.sent.take() {
            self.requests.push(now - sent);
        }
        self.gap = [Duration::ZERO; 4];
        self.since = Some((now, Wait::Page));
    }

    fn waits_on(&mut self, cause: Wait, now: Instant) {
        if let Some((since, current)) = self.since {
            self.gap[current.index()] += now - since;
            self.since = Some((now, cause));
        }
    }

    fn requesting(&mut self, now: Instant) {
        if let Some((since, cause)) = self.since.take() {
            self.gap[cause.index()] += now - since;
            self.gaps.push(self.gap);
        }
        self.sent = Some(now);
    }
}

/// The record's distributions.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Spreads {
    /// Each gap between a response and the next request, whole.
    pub whole: Spread,
    /// Each cause's share of the gaps (gaps where it took no time left out).
    pub causes: Vec<(&'static str, Spread)>,
    /// Each request's time from sending to its whole response.
    pub requests: Spread,
}

/// The idle-time record of one stream's fetching; a no-op when debug logging is off.
#[derive(Debug, Clone, Default)]
pub(super) struct Clock(Option<Arc<Mutex<State>>>);

impl Clock {
    /// A clock that records only if debug logging is on for this module.
    pub fn new() -> Clock {
        if tracing::enabled!(tracing::Level::DEBUG) {
            Clock::recording()
        } else {
            Clock(None)
        }
    }

    /// A clock that records.
    pub fn recording() -> Clock {
        Clock(Some(Arc::default()))
    }

    fn with(&self, f: impl FnOnce(&mut State, Instant)) {
        if let Some(state) = &self.0 {
            let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut state, Instant::now());
        }
    }

    /// A page's response arrived: the fetcher is now working on it.
    pub fn responded(&self) {
        self.with(State::responded);
    }

    /// From now on the fetcher waits on `cause` (until the next call or request).
    pub fn waits_on(&self, cause: Wait) {
        self.with(|state, now| state.waits_on(cause, now));
    }

    /// The next request goes out now: the gap since the last response ends.
    pub fn requesting(&self) {
        self.with(State::requesting);
    }

    /// The distributions so far, if the clock records.
    pub fn spreads(&self) -> Option<Spreads> {
        let state = self.0.as_ref()?;
        let state = state.lock().unwrap_or_else(|p| p.into_inner());
        let whole: Vec<Duration> = state.gaps.iter().map(|gap| gap.iter().sum()).collect();
        let causes = Wait::ALL
            .iter()
            .map(|cause| {
                let shares: Vec<Duration> = state
                    .gaps
                    .iter()
                    .map(|gap| gap[cause.index()])
                    .filter(|share| !share.is_zero())
                    .collect();
                (cause.name(), Spread::of(&shares))
            })
            .collect();
        Some(Spreads {
            whole: Spread::of(&whole),
            causes,
            requests: Spread::of(&state.requests),
        })
    }

    /// Logs the distribution at debug level: one line for the whole gaps, one per cause that
    /// took any time, one for the requests.
    pub fn report(&self, stream: Stream) {
        let Some(Spreads {
            whole,
            causes,
            requests,
        }) = self.spreads()
        else {
            return;
        };
        let lines = std::iter::once((
            "all",
            "fetcher idle: from each page's response to the next request",
            whole,
        ))
        .chain(
            causes
                .into_iter()
                .filter(|(_, spread)| spread.count > 0)
                .map(|(cause, spread)| (cause, "fetcher idle, by cause", spread)),
        )
        .chain(std::iter::once((
            "requests",
            "fetcher requests: from sending each to its whole response",
            requests,
        )));
        for (cause, what, spread) in lines {
            tracing::debug!(
                %stream,
                cause,
                count = spread.count,
                p50_ms = spread.p50_ms,
                p95_ms = spread.p95_ms,
                max_ms = spread.max_ms,
                total_ms = spread.total_ms,
                "{what}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_each_gap_by_cause() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut state = State::default();
        state.requesting(at(0));
        state.responded(at(100));
        state.requesting(at(102));
        state.responded(at(202));
        state.waits_on(Wait::Handover, at(203));
        state.waits_on(Wait::Slot, at(233));
        state.requesting(at(243));
        state.responded(at(343));
        let clock = Clock(Some(Arc::new(Mutex::new(state))));
        let Spreads {
            whole,
            causes,
            requests,
        } = clock.spreads().unwrap();
        assert_eq!((whole.count, whole.max_ms, whole.total_ms), (2, 41.0, 43.0));
        let by = |name| causes.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!((by("page").count, by("page").total_ms), (2, 3.0));
        assert_eq!((by("handover").count, by("handover").max_ms), (1, 30.0));
        assert_eq!((by("slot").count, by("slot").max_ms), (1, 10.0));
        assert_eq!(by("restart").count, 0);
        assert_eq!((requests.count, requests.p50_ms), (3, 100.0));
    }

    #[tokio::test]
    async fn a_recording_clock_records_real_requests() {
        let clock = Clock::recording();
        clock.requesting();
        clock.responded();
        clock.waits_on(Wait::Restart);
        clock.requesting();
        let Spreads {
            whole,
            causes,
            requests,
        } = clock.spreads().unwrap();
        assert_eq!((whole.count, requests.count), (1, 1));
        assert_eq!(causes.len(), Wait::ALL.len());
    }

    #[test]
    fn a_clock_that_does_not_record_reports_nothing() {
        let clock = Clock(None);
        clock.requesting();
        clock.responded();
        assert!(clock.spreads().is_none());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        let spread = Spread::of(&samples);
        assert_eq!(
            (spread.p50_ms, spread.p95_ms, spread.max_ms),
            (10.0, 19.0, 20.0)
        );
    }
}
