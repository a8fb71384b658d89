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

/// The silence alert's absence window for `cron`: twice the longest gap between runs, and at least
/// one gap plus a late run (so a one-minute schedule watches 16 minutes, not 2: one run may
/// start on time and report only after its 600 s timeout and the 300 s alignment), and at least
/// 10 minutes; shortened to Cloud Monitoring's limit where that still outlasts one gap and a late
/// run. `None` when even the limit is shorter: such a policy would fire while every run succeeds.
pub fn silence_seconds(cron: &str) -> Option<u64> {
    let gap = longest_interval_seconds(cron);
    let wanted = (2 * gap).max(gap + RUN_LATENESS_SECONDS).max(600);
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
    let numeric = numeric(expression);
    let fields: Vec<&str> = numeric.split_whitespace().collect();
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
    let numeric = numeric(expression);
    let fields: Vec<&str> = numeric.split_whitespace().collect();
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

/// The five fields, their names and the values each takes.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// `expression` with Cloud Scheduler's month (`JAN`–`DEC`) and weekday (`SUN`–`SAT`) names, which
/// it takes in capitals in their own fields, as numbers.
fn numeric(expression: &str) -> String {
    let mut fields: Vec<String> = expression.split_whitespace().map(str::to_owned).collect();
    if fields.len() == 5 {
        for (index, names, first) in [(3, &MONTHS[..], 1), (4, &WEEKDAYS[..], 0)] {
            for (i, name) in names.iter().enumerate() {
                fields[index] = fields[index].replace(name, &(i + first).to_string());
            }
        }
    }
    fields.join(" ")
}

/// The five-field form of a cron macro, for the message that refuses it.
fn macro_equivalent(word: &str) -> Option<&'static str> {
    Some(match word {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return None,
    })
}

/// Why Cloud Scheduler would not take `expression` (which `schedule.cron` names), with the fix;
/// `None` when it is a five-field unix-cron expression it takes. Cloud Scheduler runs a job at
/// most once a minute: a seconds field is refused, not rounded.
pub fn cron_problem(expression: &str) -> Option<String> {
    const FORM: &str = "five fields: minute hour day-of-month month day-of-week";
    let trimmed = expression.trim();
    if trimmed.is_empty() {
        return Some(format!(
            "is empty: give {FORM}, e.g. \"0 * * * *\" for every hour"
        ));
    }
    if let Some(word) = trimmed
        .split_whitespace()
        .next()
        .filter(|w| w.starts_with('@'))
    {
        return Some(match macro_equivalent(word) {
            Some(five) => format!(
                "is the macro {word}, which Cloud Scheduler does not take: write it as {FORM}, \"{five}\""
            ),
            None => format!(
                "is the macro {word}, which Cloud Scheduler does not take (it runs a job at most \
                 once a minute): write {FORM}, e.g. \"*/5 * * * *\" for every 5 minutes"
            ),
        });
    }
    if trimmed.starts_with("every ") {
        return Some(format!(
            "is Cloud Scheduler's English-like (App Engine cron) format, which this config does \
             not take: write {FORM}, e.g. \"*/15 * * * *\" for every 15 minutes"
        ));
    }
    let numeric = numeric(trimmed);
    let fields: Vec<&str> = numeric.split_whitespace().collect();
    match fields.len() {
        5 => {}
        6 | 7 => {
            return Some(format!(
                "has {} fields: a seconds field (a schedule faster than once a minute) or a year \
                 field, which Cloud Scheduler does not take; it runs a job at most once a minute: \
                 write {FORM}, e.g. \"* * * * *\" for every minute",
                fields.len()
            ));
        }
        n => {
            return Some(format!(
                "has {n} field{}: write {FORM}, e.g. \"0 * * * *\" for every hour",
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    for (field, (name, min, max)) in fields.iter().zip(FIELDS) {
        if field.contains(['L', 'W', '#', '?']) {
            return Some(format!(
                "has {name} field {field:?}: Cloud Scheduler does not take L, W, # or ?; use \
                 numbers, *, ranges a-b, steps /n and lists a,b"
            ));
        }
        if !cron_field(field, min, max) {
            let names = match name {
                "month" => " (or JAN-DEC)",
                "day-of-week" => " (or SUN-SAT; 0 and 7 are Sunday)",
                _ => "",
            };
            return Some(format!(
                "has {name} field {field:?}, which is not {min}-{max}{names}: each field takes \
                 numbers in its range, *, ranges a-b (a <= b), steps /n (n >= 1) and lists a,b"
            ));
        }
    }
    None
}

/// A five-field cron expression, as Cloud Scheduler takes it.
#[cfg(test)]
fn valid_cron(expression: &str) -> bool {
    cron_problem(expression).is_none()
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

    #[test]
    fn every_minute_is_a_schedule_and_its_silence_window_outlasts_a_late_run() {
        assert!(valid_cron("* * * * *"));
        assert_eq!(longest_interval_seconds("* * * * *"), 60);
        // One gap (60 s) plus a run that reports at its 600 s timeout and the 300 s alignment.
        assert_eq!(silence_seconds("* * * * *"), Some(960));
        assert_eq!(silence_seconds("*/5 * * * *"), Some(1200));
        assert_eq!(silence_seconds("*/15 * * * *"), Some(1800));
        assert_eq!(silence_seconds("0 * * * *"), Some(7200));
        assert_eq!(silence_seconds("0 */12 * * *"), Some(ABSENCE_LIMIT_SECONDS));
        assert_eq!(silence_seconds("0 0 * * *"), None);
        assert_eq!(silence_seconds("0 0 * * 1"), None);
        for cron in ["* * * * *", "*/5 * * * *", "0 * * * *", "0 */6 * * *"] {
            let window = silence_seconds(cron).unwrap();
            assert!(
                window >= longest_interval_seconds(cron) + RUN_LATENESS_SECONDS,
                "{cron}: {window}"
            );
        }
    }

    #[test]
    fn each_refusal_says_why_and_how_to_fix_it() {
        for (cron, says) in [
            (
                "*/30 * * * * *",
                "a seconds field (a schedule faster than once a minute)",
            ),
            ("0 0 * * * * 2027", "has 7 fields"),
            (
                "@hourly",
                "write it as five fields: minute hour day-of-month month day-of-week, \"0 * * * *\"",
            ),
            ("@daily", "\"0 0 * * *\""),
            ("@every 30s", "at most once a minute"),
            ("@reboot", "Cloud Scheduler does not take"),
            ("every 5 minutes", "English-like"),
            ("", "is empty"),
            ("* * *", "has 3 fields"),
            ("60 * * * *", "minute field \"60\", which is not 0-59"),
            ("* 24 * * *", "hour field \"24\", which is not 0-23"),
            ("* * 0 * *", "day-of-month field \"0\", which is not 1-31"),
            (
                "* * * 13 *",
                "month field \"13\", which is not 1-12 (or JAN-DEC)",
            ),
            ("* * * * 8", "day-of-week field \"8\", which is not 0-7"),
            ("*/0 * * * *", "steps /n (n >= 1)"),
            ("5-1 * * * *", "ranges a-b (a <= b)"),
            ("0 0 L * *", "does not take L, W, # or ?"),
            ("0 0 * * jan", "day-of-week field \"jan\""),
        ] {
            let problem = cron_problem(cron).unwrap_or_else(|| panic!("{cron:?} was taken"));
            assert!(problem.contains(says), "{cron:?}: {problem}");
        }
    }

    #[test]
    fn month_and_weekday_names_are_taken_as_cloud_scheduler_takes_them() {
        for ok in [
            "0 9 * JAN-MAR MON-FRI",
            "0 0 1 DEC *",
            "*/10 * * * SUN,SAT",
            "0 0 * * 7",
        ] {
            assert_eq!(cron_problem(ok), None, "{ok}");
        }
        assert_eq!(
            longest_interval_seconds("0 8-18 * * MON-FRI"),
            longest_interval_seconds("0 8-18 * * 1-5")
        );
    }
}
