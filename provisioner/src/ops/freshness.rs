//! A stream's freshness against the schedule, from its last successful run's age: fresh within one
//! gap between runs (and a grace for the run's own time), late while runs are missed, stale once no
//! run succeeded for as long as the no-successful-run alert waits (`config::silence_seconds`).

use chrono::{DateTime, Utc};
use contract::{AccountName, Stream};
use serde::Serialize;

use super::RunRecord;
use crate::config::{longest_interval_seconds, silence_seconds};

/// The longest grace after a gap for a run to end and be logged (a run's request timeout).
pub const MAX_GRACE_SECONDS: u64 = 600;

/// One stream's part of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamRun {
    /// When the run's summary was logged.
    pub at: String,
    /// Whether the stream's drain ended cleanly (no failure).
    pub ok: bool,
    /// How it ended (the outcome's `kind`).
    pub outcome: String,
    /// Events it committed.
    pub events: u64,
}

impl StreamRun {
    /// Its age at `now`, seconds (`None` when the timestamp is unreadable).
    pub fn age_at(&self, now: DateTime<Utc>) -> Option<i64> {
        let at = DateTime::parse_from_rfc3339(&self.at).ok()?;
        Some((now - at.to_utc()).num_seconds())
    }
}

/// `account`'s `stream` part of each of `runs` (newest first), where the run collected it.
pub fn history(
    runs: &[RunRecord],
    account: Option<&AccountName>,
    stream: Stream,
) -> Vec<StreamRun> {
    runs.iter()
        .filter_map(|run| {
            let part = run.stream_of(account, stream)?;
            Some(StreamRun {
                at: run.timestamp.clone(),
                ok: part.outcome.failure().is_none()
                    && !matches!(part.outcome, contract::summary::Outcome::Unknown),
                outcome: part.outcome.kind().to_owned(),
                events: part.events,
            })
        })
        .collect()
}

/// Fresh, late or stale (`state` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Freshness {
    /// The last successful run is at most one gap (plus grace) old.
    Fresh,
    /// Runs were missed since the last successful one, fewer than make it stale.
    Late {
        /// Gaps between runs since the last successful run.
        missed_runs: u64,
    },
    /// No run succeeded for the alert's window, or none among the runs read.
    Stale {
        /// Gaps between runs since the last successful run; `None` when none was found.
        missed_runs: Option<u64>,
    },
}

impl Freshness {
    /// Whether the stream is fresh.
    pub fn is_fresh(self) -> bool {
        self == Freshness::Fresh
    }

    /// In plain words: `fresh`, `late (missed 2 runs)`, `stale (missed 12 runs)`,
    /// `stale (no successful run read)`.
    pub fn describe(self) -> String {
        let runs = |n: u64| {
            if n == 1 {
                "1 run".to_owned()
            } else {
                format!("{n} runs")
            }
        };
        match self {
            Freshness::Fresh => "fresh".into(),
            Freshness::Late { missed_runs } => format!("late (missed {})", runs(missed_runs)),
            Freshness::Stale {
                missed_runs: Some(n),
            } => format!("stale (missed {})", runs(n)),
            Freshness::Stale { missed_runs: None } => "stale (no successful run read)".into(),
        }
    }
}

/// The freshness under the schedule `cron` of a stream whose last successful run is
/// `last_success_age` seconds old (`None`: none found).
pub fn judge(cron: &str, last_success_age: Option<i64>) -> Freshness {
    let Some(age) = last_success_age else {
        return Freshness::Stale { missed_runs: None };
    };
    let age = u64::try_from(age).unwrap_or(0);
    let interval = longest_interval_seconds(cron).max(1);
    let grace = (interval / 2).min(MAX_GRACE_SECONDS);
    let stale_after = silence_seconds(cron).unwrap_or(2 * interval);
    let missed = (age / interval).max(1);
    if age <= interval + grace {
        Freshness::Fresh
    } else if age >= stale_after {
        Freshness::Stale {
            missed_runs: Some(missed),
        }
    } else {
        Freshness::Late {
            missed_runs: missed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_runs_are_fresh_for_an_hour_and_ten_minutes_then_late_then_stale_at_two_hours() {
        let hourly = "0 * * * *";
        assert_eq!(judge(hourly, Some(30)), Freshness::Fresh);
        assert_eq!(judge(hourly, Some(4200)), Freshness::Fresh);
        assert_eq!(
            judge(hourly, Some(4201)),
            Freshness::Late { missed_runs: 1 }
        );
        assert_eq!(
            judge(hourly, Some(7200)),
            Freshness::Stale {
                missed_runs: Some(2)
            }
        );
        assert_eq!(judge(hourly, None), Freshness::Stale { missed_runs: None });
    }

    #[test]
    fn minute_runs_are_late_for_each_missed_minute_until_the_alerts_sixteen_minutes() {
        let minutely = "* * * * *";
        assert_eq!(judge(minutely, Some(90)), Freshness::Fresh);
        assert_eq!(
            judge(minutely, Some(91)),
            Freshness::Late { missed_runs: 1 }
        );
        assert_eq!(
            judge(minutely, Some(540)),
            Freshness::Late { missed_runs: 9 }
        );
        assert_eq!(
            judge(minutely, Some(900)),
            Freshness::Late { missed_runs: 15 }
        );
        // The no-successful-run alert waits one gap plus 15 minutes for every minute (960 s).
        assert_eq!(
            judge(minutely, Some(960)),
            Freshness::Stale {
                missed_runs: Some(16)
            }
        );
        assert_eq!(
            Freshness::Late { missed_runs: 9 }.describe(),
            "late (missed 9 runs)"
        );
        assert_eq!(
            Freshness::Late { missed_runs: 1 }.describe(),
            "late (missed 1 run)"
        );
    }
}
