//! Time windows: a backfill's `--start`/`--end`, and what the Events API's retention (about 120
//! days) will leave out of a lookback or a backfill.

use chrono::{DateTime, SecondsFormat, Utc};

use super::problems::{Problem, shown};
use crate::pipeline::{Start, StreamPlan};

/// How far back the Events API keeps events, in days.
pub const RETENTION_DAYS: i64 = 120;

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The backfill window of `--start` and `--end` (RFC 3339, `end` exclusive), every problem
/// reported at once.
pub fn backfill_window(
    start: Option<&str>,
    end: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut parse = |flag: &str, value: Option<&str>| {
        let Some(text) = value else {
            problems.push(Problem::new(flag, "is required with --backfill"));
            return None;
        };
        match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(at) => Some(at.to_utc()),
            Err(e) => {
                problems.push(Problem::new(
                    flag,
                    format!(
                        "{} is not an RFC 3339 time ({e}); expected e.g. 2026-10-01T00:00:00Z",
                        shown(text)
                    ),
                ));
                None
            }
        }
    };
    let (start, end) = (parse("--start", start), parse("--end", end));
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            problems.push(Problem::new(
                "--end",
                format!("{} must be after --start {}", stamp(end), stamp(start)),
            ));
        } else if end > now + chrono::Duration::minutes(5) {
            problems.push(Problem::new(
                "--end",
                format!(
                    "{} is in the future; a backfill collects the past",
                    stamp(end)
                ),
            ));
        } else {
            return Ok((start, end));
        }
    }
    Err(problems)
}

/// What the Events API's retention (about 120 days) will leave out of `plans`, one sentence per
/// stream that reaches back further.
pub fn retention_warnings<'a>(
    plans: impl IntoIterator<Item = &'a StreamPlan>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let cutoff = now - chrono::Duration::days(RETENTION_DAYS);
    plans
        .into_iter()
        .filter_map(|plan| match plan.start {
            Start::Lookback(lookback) if now - lookback < cutoff => Some(format!(
                "LOOKBACK_HOURS={} reaches back to {}, but the Events API keeps about {RETENTION_DAYS} days: a first run of {} will miss its events from {} to {}",
                lookback.num_hours(),
                stamp(now - lookback),
                plan.stream,
                stamp(now - lookback),
                stamp(cutoff)
            )),
            Start::Window { start, end } if start < cutoff => Some(format!(
                "the backfill window starts at {}, but the Events API keeps about {RETENTION_DAYS} days: its {} events from {} to {} are missing",
                stamp(start),
                plan.stream,
                stamp(start),
                stamp(end.min(cutoff))
            )),
            _ => None,
        })
        .collect()
}
