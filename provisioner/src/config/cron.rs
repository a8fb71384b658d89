//! Cron schedules: which expressions Cloud Scheduler takes, the longest gap between runs, and the
//! silence alert's window that follows from it.

/// One cron field: `*`, numbers, ranges `a-b`, steps `/n`, lists `,`, within `min..=max`.
pub(super) fn cron_field(field: &str, min: u32, max: u32) -> bool {
    let number = |s: &str| s.parse::<u32>().ok().filter(|n| (min..=max).contains(n));
    field.split(',').all(|part| {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        let step_ok =
            step.is_none_or(|s| s.parse::<u32>().is_ok_and(|n| n >= 1 && n <= max.max(1)));
        let range_ok = range == "*"
            || match range.split_once('-') {
                Some((a, b)) => matches!((number(a), number(b)), (Some(a), Some(b)) if a <= b),
                None => number(range).is_some(),
            };
        step_ok && range_ok
    })
}

pub(super) fn field_values(field: &str, min: u32, max: u32) -> Vec<u32> {
    let mut values = Vec::new();
    for part in field.split(',') {
        let (range, step) = part
            .split_once('/')
            .map_or((part, 1), |(r, s)| (r, s.parse().unwrap_or(1).max(1)));
        let (lo, hi) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().unwrap_or(min), b.parse().unwrap_or(max)),
                None => {
                    let n = r.parse().unwrap_or(min);
                    (n, if step > 1 { max } else { n })
                }
            },
        };
        values.extend((lo..=hi).step_by(step as usize));
    }
    values
}

/// The longest absence a Cloud Monitoring metric-absence condition may watch (23 h 30 min).
pub const ABSENCE_LIMIT_SECONDS: u64 = 84_600;

/// How late a successful run can show in the metric after its scheduled time: the condition's
/// 300 s alignment period plus the run's 600 s request timeout.
const RUN_LATENESS_SECONDS: u64 = 900;

/// The silence alert's absence window for `cron`: twice the longest gap between runs (at least
/// 10 minutes), shortened to Cloud Monitoring's limit where that still outlasts one gap and a late
/// run. `None` when even the limit is shorter: such a policy would fire while every run succeeds.
pub fn silence_seconds(cron: &str) -> Option<u64> {
    let gap = longest_interval_seconds(cron);
    let wanted = (2 * gap).max(600);
    if wanted <= ABSENCE_LIMIT_SECONDS {
        Some(wanted)
    } else if gap + RUN_LATENESS_SECONDS <= ABSENCE_LIMIT_SECONDS {
        Some(ABSENCE_LIMIT_SECONDS)
    } else {
        None
    }
}

/// The longest gap between two runs of a valid cron expression, in seconds (checked over a week).
pub fn longest_interval_seconds(expression: &str) -> u64 {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    if fields.len() != 5 {
        return 86_400;
    }
    let minutes = field_values(fields[0], 0, 59);
    let hours = field_values(fields[1], 0, 23);
    let days = field_values(fields[2], 1, 31);
    let weekdays: Vec<u32> = field_values(fields[4], 0, 7)
        .into_iter()
        .map(|d| d % 7)
        .collect();
    let any_day = fields[2] == "*";
    let any_weekday = fields[4] == "*";
    // A week starting on a Monday the 1st, in minutes; day-of-month/day-of-week as cron combines them.
    let mut previous: Option<u64> = None;
    let mut longest = 0u64;
    for minute_of_week in 0..(14 * 24 * 60u64) {
        let day = (minute_of_week / (24 * 60)) as u32;
        let (hour, minute) = (
            ((minute_of_week / 60) % 24) as u32,
            (minute_of_week % 60) as u32,
        );
        let day_match = days.contains(&(day + 1));
        let weekday_match = weekdays.contains(&((day + 1) % 7));
        let day_ok = match (any_day, any_weekday) {
            (true, true) => true,
            (true, false) => weekday_match,
            (false, true) => day_match,
            (false, false) => day_match || weekday_match,
        };
        if day_ok && hours.contains(&hour) && minutes.contains(&minute) {
            if let Some(p) = previous {
                longest = longest.max(minute_of_week - p);
            }
            previous = Some(minute_of_week);
        }
    }
    if longest == 0 { 86_400 } else { longest * 60 }
}

/// How many times a valid cron expression fires in a year (2026, 365 days; day of month and day of
/// week combined as cron combines them). `None` for an expression that is not five fields.
pub fn runs_per_year(expression: &str) -> Option<u64> {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    if fields.len() != 5 {
        return None;
    }
    let minutes = dedup(field_values(fields[0], 0, 59));
    let hours = dedup(field_values(fields[1], 0, 23));
    let days = field_values(fields[2], 1, 31);
    let months = field_values(fields[3], 1, 12);
    let weekdays: Vec<u32> = field_values(fields[4], 0, 7)
        .into_iter()
        .map(|d| d % 7)
        .collect();
    let (any_day, any_weekday) = (fields[2] == "*", fields[4] == "*");
    const MONTH_DAYS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    // 2026-01-01 is a Thursday (weekday 4, Sunday being 0).
    let mut weekday = 4u32;
    let mut firing_days = 0u64;
    for (month, length) in (1u32..).zip(MONTH_DAYS) {
        for day in 1..=length {
            let day_match = days.contains(&day);
            let weekday_match = weekdays.contains(&weekday);
            let day_ok = match (any_day, any_weekday) {
                (true, true) => true,
                (true, false) => weekday_match,
                (false, true) => day_match,
                (false, false) => day_match || weekday_match,
            };
            if day_ok && months.contains(&month) {
                firing_days += 1;
            }
            weekday = (weekday + 1) % 7;
        }
    }
    Some(firing_days * hours.len() as u64 * minutes.len() as u64)
}

fn dedup(mut values: Vec<u32>) -> Vec<u32> {
    values.sort_unstable();
    values.dedup();
    values
}

/// A five-field cron expression, as Cloud Scheduler takes it.
pub fn valid_cron(expression: &str) -> bool {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    let bounds = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    fields.len() == 5
        && fields
            .iter()
            .zip(bounds)
            .all(|(field, (min, max))| cron_field(field, min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_intervals() {
        assert_eq!(longest_interval_seconds("0 * * * *"), 3600);
        assert_eq!(longest_interval_seconds("*/15 * * * *"), 900);
        assert_eq!(longest_interval_seconds("0 */6 * * *"), 6 * 3600);
        assert_eq!(longest_interval_seconds("0 0 * * *"), 86_400);
        assert_eq!(
            longest_interval_seconds("0 8-18 * * 1-5"),
            (14 + 24 * 2) * 3600,
            "Friday 18:00 to Monday 08:00"
        );
    }

    #[test]
    fn runs_in_a_year() {
        assert_eq!(runs_per_year("* * * * *"), Some(365 * 24 * 60));
        assert_eq!(runs_per_year("*/5 * * * *"), Some(365 * 24 * 12));
        assert_eq!(runs_per_year("0 * * * *"), Some(365 * 24));
        assert_eq!(
            runs_per_year("0,30 8-18 * * 1-5"),
            Some(261 * 11 * 2),
            "2026 has 261 weekdays"
        );
        assert_eq!(runs_per_year("0 0 1 * *"), Some(12));
        assert_eq!(runs_per_year("0 0 * 2 *"), Some(28));
        assert_eq!(runs_per_year("every hour"), None);
    }

    #[test]
    fn cron_expressions() {
        for ok in [
            "0 * * * *",
            "*/5 * * * *",
            "*/15 * * * *",
            "0 */6 * * *",
            "0 0 * * *",
            "0,30 8-18 * * 1-5",
        ] {
            assert!(valid_cron(ok), "{ok}");
        }
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "*/0 * * * *",
            "5-1 * * * *",
            "@hourly",
            "0 * * * * *",
        ] {
            assert!(!valid_cron(bad), "{bad}");
        }
    }
}
