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

    pub fn timestamp(&self, index: usize) -> DateTime<Utc> {
        if index < self.backlog {
            self.backlog_start + Duration::nanoseconds(self.step_nanos * index as i64)
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

    /// Appends `n` events timestamped `now`, strictly after every earlier event.
    pub fn append(&mut self, n: usize, now: DateTime<Utc>) {
        for _ in 0..n {
            let last = self.len().checked_sub(1).map(|i| self.timestamp(i));
            let timestamp = match last {
                Some(last) if last >= now => last + Duration::microseconds(1),
                _ => now,
            };
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
}
