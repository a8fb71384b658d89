//! One stream's append-only event log: a deterministic backlog generated on demand, then appends.

use chrono::{DateTime, Duration, Utc};

use crate::items::ItemGen;
use crate::stream::Stream;

/// An event as it sits in the simulator's log, with the exact bytes the API serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// The event's 26-character uuid.
    pub uuid: String,
    /// The item's raw JSON text, byte-for-byte as served.
    pub raw: String,
    /// The event's timestamp.
    pub timestamp: DateTime<Utc>,
}

/// The log of one stream. Backlog events are regenerated from the seed when served, so a backlog of
/// a million events costs no memory; appended events are stored.
pub(crate) struct EventLog {
    generator: ItemGen,
    backlog: usize,
    backlog_start: DateTime<Utc>,
    step_nanos: i64,
    appended: Vec<LoggedEvent>,
}

impl EventLog {
    /// A log whose `backlog` events are spread evenly over `span` ending at `end`.
    pub fn new(
        seed: u64,
        stream: Stream,
        backlog: usize,
        end: DateTime<Utc>,
        span: Duration,
    ) -> Self {
        let span_nanos = span.num_nanoseconds().unwrap_or(i64::MAX).max(1);
        let step_nanos = (span_nanos / backlog.max(1) as i64).max(1);
        let backlog_start = end - Duration::nanoseconds(step_nanos * backlog as i64);
        Self {
            generator: ItemGen::new(seed, stream),
            backlog,
            backlog_start,
            step_nanos,
            appended: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.backlog + self.appended.len()
    }

    /// The `index`-th backlog event's time before rounding: its slot, plus a reproducible offset
    /// within the slot (so times are strictly increasing and their fractions look like real ones).
    fn exact(&self, index: usize) -> i64 {
        let mixed = (index as u64 ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let offset = (mixed >> 1) as i64 % self.step_nanos;
        self.backlog_start.timestamp_nanos_opt().unwrap_or(0)
            + self.step_nanos * index as i64
            + offset
    }

    /// The backlog's timestamps come at whole seconds, milliseconds, microseconds or nanoseconds
    /// in turn (so items show absent, trimmed and full fractions), each rounded down only when that
    /// keeps it at or after the previous event's.
    pub fn timestamp(&self, index: usize) -> DateTime<Utc> {
        if index < self.backlog {
            const PRECISION: [i64; 4] = [1_000_000_000, 1_000_000, 1_000, 1];
            let exact = self.exact(index);
            let unit = PRECISION[index % PRECISION.len()];
            let rounded = exact - exact.rem_euclid(unit);
            let nanos = if index == 0 || rounded >= self.exact(index - 1) {
                rounded
            } else {
                exact
            };
            DateTime::<Utc>::from_timestamp_nanos(nanos)
        } else {
            self.appended[index - self.backlog].timestamp
        }
    }

    /// The event at `index` (which must be `< len()`).
    pub fn get(&self, index: usize) -> LoggedEvent {
        if index < self.backlog {
            let timestamp = self.timestamp(index);
            let (uuid, raw) = self.generator.generate(index as u64, timestamp);
            LoggedEvent {
                uuid,
                raw,
                timestamp,
            }
        } else {
            self.appended[index - self.backlog].clone()
        }
    }

    /// Calls `f` with the uuid and raw text of each event in `range`, without cloning stored ones.
    pub fn for_each(&self, range: std::ops::Range<usize>, mut f: impl FnMut(&str, &str)) {
        for index in range {
            if index < self.backlog {
                let (uuid, raw) = self.generator.generate(index as u64, self.timestamp(index));
                f(&uuid, &raw);
            } else {
                let event = &self.appended[index - self.backlog];
                f(&event.uuid, &event.raw);
            }
        }
    }

    /// An arrival time of `now`, strictly after every earlier event.
    fn next_arrival(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.len().checked_sub(1).map(|i| self.timestamp(i)) {
            Some(last) if last >= now => last + Duration::microseconds(1),
            _ => now,
        }
    }

    /// Appends items given as raw JSON text, served byte-for-byte; each is placed in the log at
    /// its arrival (`now`), whatever its own `timestamp` says. An item without a string `uuid` gets
    /// `item-N` as its identity.
    pub fn append_raw(&mut self, raws: impl IntoIterator<Item = String>, now: DateTime<Utc>) {
        #[derive(serde::Deserialize)]
        struct Id {
            uuid: Option<String>,
        }
        for raw in raws {
            let timestamp = self.next_arrival(now);
            let uuid = serde_json::from_str::<Id>(&raw)
                .ok()
                .and_then(|id| id.uuid)
                .unwrap_or_else(|| format!("item-{}", self.len()));
            self.appended.push(LoggedEvent {
                uuid,
                raw,
                timestamp,
            });
        }
    }

    /// Appends `n` events timestamped `now`, strictly after every earlier event.
    pub fn append(&mut self, n: usize, now: DateTime<Utc>) {
        for _ in 0..n {
            let timestamp = self.next_arrival(now);
            let index = self.len() as u64;
            let (uuid, raw) = self.generator.generate(index, timestamp);
            self.appended.push(LoggedEvent {
                uuid,
                raw,
                timestamp,
            });
        }
    }

    /// Index of the first event at or after `t` (timestamps are non-decreasing).
    pub fn first_at_or_after(&self, t: DateTime<Utc>) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.timestamp(mid) < t {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_then_appends_in_order() {
        let end = Utc::now();
        let mut log = EventLog::new(7, Stream::AuditEvents, 10, end, Duration::minutes(10));
        assert_eq!(log.len(), 10);
        assert!(log.timestamp(9) < end);
        log.append(3, end - Duration::hours(1));
        assert_eq!(log.len(), 13);
        for i in 1..log.len() {
            assert!(
                log.timestamp(i) > log.timestamp(i - 1),
                "timestamps must increase at {i}"
            );
        }
        assert_eq!(log.first_at_or_after(log.timestamp(4)), 4);
        assert_eq!(log.first_at_or_after(end + Duration::days(1)), 13);
        assert_eq!(log.get(11), log.get(11));
    }

    #[test]
    fn backlog_timestamps_mix_precisions_and_never_go_back() {
        let end = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .to_utc();
        for span in [
            Duration::seconds(3),
            Duration::minutes(30),
            Duration::days(2),
        ] {
            let log = EventLog::new(1, Stream::SignInAttempts, 2_000, end, span);
            for i in 1..log.len() {
                assert!(log.timestamp(i) >= log.timestamp(i - 1), "{span} at {i}");
            }
        }
        let log = EventLog::new(1, Stream::SignInAttempts, 400, end, Duration::hours(2));
        let shown: Vec<String> = (0..log.len())
            .map(|i| crate::items::go_rfc3339(log.timestamp(i)))
            .collect();
        assert!(shown.iter().any(|t| !t.contains('.')), "whole seconds");
        assert!(
            shown
                .iter()
                .any(|t| t.len() == "2026-11-25T10:00:00.123Z".len())
        );
        assert!(
            shown
                .iter()
                .any(|t| t.len() == "2026-11-25T10:00:00.123456789Z".len())
        );
    }
}
