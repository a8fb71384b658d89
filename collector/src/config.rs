//! Settings from environment variables (the guide's names keep their meaning) and flags, validated
//! at start-up: every problem is reported at once, naming the variable, the bad value (quoted, so an
//! empty one reads `""`, and cut short when long) and the rule.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use url::Url;

use crate::onepassword::token::TokenClaims;
use crate::onepassword::{ClientOptions, RetryPolicy, Stream};
use crate::pipeline::{Limits, Start, StreamPlan};
use crate::secret::Secret;

/// Default object prefix of each stream: the guide's for audit events, siblings for the others.
pub fn default_prefix(stream: Stream) -> &'static str {
    match stream {
        Stream::AuditEvents => "onepassword-audit",
        Stream::SignInAttempts => "onepassword-signinattempts",
        Stream::ItemUsages => "onepassword-itemusages",
    }
}

/// Default folder of checkpoints, outside every feed prefix.
pub const DEFAULT_STATE_PREFIX: &str = "onepassword-secops-state/";

/// How far back the Events API keeps events, in days.
pub const RETENTION_DAYS: i64 = 120;

/// Where objects go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// A GCS bucket.
    Gcs {
        /// Bucket name.
        bucket: String,
        /// `STORAGE_EMULATOR_HOST`, normalised to a URL, when set.
        emulator: Option<String>,
    },
    /// A local folder with the same layout.
    Local(PathBuf),
}

impl Sink {
    /// `gs://bucket` or `file:///dir`.
    pub fn url(&self) -> String {
        match self {
            Sink::Gcs { bucket, .. } => format!("gs://{bucket}"),
            Sink::Local(dir) => format!("file://{}", dir.display()),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON lines in Cloud Logging's shape.
    Json,
    /// Human-readable lines.
    Text,
}

impl LogFormat {
    /// The format `LOG_FORMAT` names, JSON when it names none (for logging the very first errors,
    /// before the settings are validated).
    pub fn from_vars_or_json(vars: &Vars) -> LogFormat {
        match vars.get("LOG_FORMAT").map(|v| v.trim()) {
            Some("text") => LogFormat::Text,
            _ => LogFormat::Json,
        }
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Events API base URL.
    pub api_base: Url,
    /// Bearer token.
    pub token: Secret,
    /// Where objects go.
    pub sink: Sink,
    /// Streams to collect, in order.
    pub plans: Vec<StreamPlan>,
    /// Run limits.
    pub limits: Limits,
    /// HTTP client options.
    pub client: ClientOptions,
    /// Address `serve` listens on (default 0.0.0.0, as Cloud Run needs).
    pub listen: IpAddr,
    /// Port of `serve`.
    pub port: u16,
    /// Log format.
    pub log_format: LogFormat,
}

/// One invalid setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The variable (or flag).
    pub variable: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Every invalid setting found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {}: {}", p.variable, p.message)).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<Problem>);

/// Raw variables: the process environment, overridden by flags.
pub type Vars = BTreeMap<String, String>;

/// The environment variables this collector reads.
pub const VARIABLES: &[&str] = &[
    "OP_API_BASE",
    "OP_BEARER_TOKEN",
    "OP_BEARER_TOKEN_FILE",
    "GCS_BUCKET",
    "GCS_PREFIX",
    "SINK_URL",
    "STORAGE_EMULATOR_HOST",
    "STATE_KEY",
    "STATE_PREFIX",
    "STREAMS",
    "SIGNINATTEMPTS_PREFIX",
    "ITEMUSAGES_PREFIX",
    "MAX_RECORDS",
    "PAGE_SIZE",
    "LOOKBACK_HOURS",
    "RUN_BUDGET_SECONDS",
    "BATCH_MAX_EVENTS",
    "BATCHES_IN_FLIGHT",
    "HTTP_TIMEOUT_SECONDS",
    "RETRY_BASE_MILLIS",
    "RETRY_MAX_ATTEMPTS",
    "LISTEN_ADDRESS",
    "PORT",
    "LOG_FORMAT",
];

/// The known variables present in the process environment.
pub fn process_vars() -> Vars {
    VARIABLES
        .iter()
        .filter_map(|name| {
            std::env::var(name)
                .ok()
                .map(|value| ((*name).to_owned(), value))
        })
        .collect()
}

/// A value as messages show it: quoted (an empty value reads `""`), control characters escaped,
/// and cut after 64 characters, saying how many more there were.
pub fn shown(value: &str) -> String {
    const MAX: usize = 64;
    let count = value.chars().count();
    if count <= MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head:?}… ({} more characters)", count - MAX)
    }
}

struct Reader<'a> {
    vars: &'a Vars,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// For a required variable: `is required`, or, when it is set but blank, says so.
    fn missing(&mut self, name: &str, rule: &str) {
        let message = match self.vars.get(name) {
            Some(value) => format!("is set to {}, but it is required: {rule}", shown(value)),
            None => format!("is required: {rule}"),
        };
        self.problem(name, message);
    }

    fn problem(&mut self, variable: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            variable: variable.to_owned(),
            message: message.into(),
        });
    }

    fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        name: &str,
        default: T,
        min: T,
        max: T,
    ) -> T {
        let Some(text) = self.get(name).map(str::to_owned) else {
            return default;
        };
        match text.parse::<T>() {
            Ok(n) if n >= min && n <= max => n,
            _ => {
                self.problem(
                    name,
                    format!("{} is not a whole number in {min}..={max}", shown(&text)),
                );
                default
            }
        }
    }

    /// An object name or folder (`folder` allows one trailing `/`), checked for the parts a bucket
    /// path must not have; `None` (after recording the problem) when it has one.
    fn object_path(&mut self, name: &str, value: &str, folder: bool) -> Option<String> {
        let body = if folder {
            value.strip_suffix('/').unwrap_or(value)
        } else {
            value
        };
        let problem = if value.starts_with('/') {
            Some("is absolute (starts with \"/\"); object names are relative to the bucket, e.g. onepassword-audit".to_owned())
        } else if value.chars().any(char::is_control) {
            Some("contains a control character".to_owned())
        } else if body.is_empty() || body.split('/').any(str::is_empty) {
            Some("has an empty part (\"//\" or a trailing \"/\" on an object name)".to_owned())
        } else {
            body.split('/')
                .find(|p| *p == "." || *p == "..")
                .map(|part| format!("has a {} part; use a plain folder path", shown(part)))
        };
        match problem {
            Some(problem) => {
                self.problem(name, format!("{} {problem}", shown(value)));
                None
            }
            None => Some(body.to_owned()),
        }
    }
}

fn valid_bucket(name: &str) -> bool {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    let ends = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=222).contains(&name.len())
        && ok_chars
        && ends(name.bytes().next())
        && ends(name.bytes().last())
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

/// Whether object `key` lies in the folder `prefix` (an empty prefix holds everything).
fn under(key: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_matches('/');
    prefix.is_empty() || key == prefix || key.starts_with(&format!("{prefix}/"))
}

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
            problems.push(Problem {
                variable: flag.to_owned(),
                message: "is required with --backfill".into(),
            });
            return None;
        };
        match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(at) => Some(at.to_utc()),
            Err(e) => {
                problems.push(Problem {
                    variable: flag.to_owned(),
                    message: format!(
                        "{} is not an RFC 3339 time ({e}); expected e.g. 2026-10-01T00:00:00Z",
                        shown(text)
                    ),
                });
                None
            }
        }
    };
    let (start, end) = (parse("--start", start), parse("--end", end));
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            problems.push(Problem {
                variable: "--end".into(),
                message: format!("{} must be after --start {}", stamp(end), stamp(start)),
            });
        } else if end > now + chrono::Duration::minutes(5) {
            problems.push(Problem {
                variable: "--end".into(),
                message: format!(
                    "{} is in the future; a backfill collects the past",
                    stamp(end)
                ),
            });
        } else {
            return Ok((start, end));
        }
    }
    Err(problems)
}

/// What the Events API's retention (about 120 days) will leave out of `plans`, one sentence per
/// stream that reaches back further.
pub fn retention_warnings(plans: &[StreamPlan], now: DateTime<Utc>) -> Vec<String> {
    let cutoff = now - chrono::Duration::days(RETENTION_DAYS);
    plans
        .iter()
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

impl Settings {
    /// Validates `vars`, reporting every problem at once.
    pub fn from_vars(vars: &Vars) -> Result<Settings, ConfigError> {
        let mut r = Reader {
            vars,
            problems: Vec::new(),
        };

        let api_base = match r.get("OP_API_BASE").map(str::to_owned) {
            None => {
                r.missing("OP_API_BASE", "the Events API base URL, e.g. https://events.1password.com (or events.ent.1password.com, events.1password.ca, events.1password.eu)");
                None
            }
            Some(text) => {
                match Url::parse(&text) {
                    Ok(url)
                        if url.scheme() == "https"
                            || (url.scheme() == "http" && is_loopback(&url)) =>
                    {
                        Some(url)
                    }
                    Ok(_) => {
                        r.problem("OP_API_BASE", format!("{} must be an https:// URL (http:// only for 127.0.0.1 or localhost)", shown(&text)));
                        None
                    }
                    Err(e) => {
                        r.problem(
                            "OP_API_BASE",
                            format!(
                                "{} is not a URL ({e}); expected e.g. https://events.1password.com",
                                shown(&text)
                            ),
                        );
                        None
                    }
                }
            }
        };

        let token = match (
            r.get("OP_BEARER_TOKEN").map(Secret::new),
            r.get("OP_BEARER_TOKEN_FILE").map(str::to_owned),
        ) {
            (Some(_), Some(_)) => {
                r.problem(
                    "OP_BEARER_TOKEN_FILE",
                    "set either OP_BEARER_TOKEN or OP_BEARER_TOKEN_FILE, not both",
                );
                None
            }
            (Some(token), None) => Some(("OP_BEARER_TOKEN", token)),
            (None, Some(path)) => match std::fs::read(&path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) if !text.trim().is_empty() => {
                        Some(("OP_BEARER_TOKEN_FILE", Secret::new(text)))
                    }
                    Ok(_) => {
                        r.problem("OP_BEARER_TOKEN_FILE", format!("{} is empty", shown(&path)));
                        None
                    }
                    Err(e) => {
                        r.problem("OP_BEARER_TOKEN_FILE", format!("{} is not text: a bearer token is printable ASCII, but byte {} is not UTF-8", shown(&path), e.utf8_error().valid_up_to() + 1));
                        None
                    }
                },
                Err(e) => {
                    r.problem(
                        "OP_BEARER_TOKEN_FILE",
                        format!("cannot read {}: {e}", shown(&path)),
                    );
                    None
                }
            },
            (None, None) => {
                r.missing(
                    "OP_BEARER_TOKEN",
                    "the Events Reporting bearer token (on Cloud Run, from Secret Manager), or OP_BEARER_TOKEN_FILE naming a file that holds it",
                );
                None
            }
        };
        let token = match token {
            Some((variable, token)) => match token.check_bearer() {
                Ok(()) => Some(token),
                Err(e) => {
                    let what = if variable == "OP_BEARER_TOKEN" {
                        "the token".to_owned()
                    } else {
                        format!(
                            "the token in {}",
                            shown(r.get(variable).unwrap_or_default())
                        )
                    };
                    r.problem(variable, format!("{what} {e}"));
                    None
                }
            },
            None => None,
        };

        let emulator = r.get("STORAGE_EMULATOR_HOST").map(|host| {
            if host.starts_with("http://") || host.starts_with("https://") {
                host.to_owned()
            } else {
                format!("http://{host}")
            }
        });
        let sink = match (
            r.get("SINK_URL").map(str::to_owned),
            r.get("GCS_BUCKET").map(str::to_owned),
        ) {
            (Some(url), Some(bucket)) => {
                r.problem(
                    "SINK_URL",
                    format!(
                        "{} and GCS_BUCKET={} are both set; set one: GCS_BUCKET=BUCKET, or SINK_URL=gs://BUCKET or file:///folder",
                        shown(&url),
                        shown(&bucket)
                    ),
                );
                None
            }
            (Some(url), None) if url.starts_with("file://") => {
                let path = PathBuf::from(&url["file://".len()..]);
                if path.is_absolute() {
                    Some(Sink::Local(path))
                } else {
                    r.problem(
                        "SINK_URL",
                        format!(
                            "{} must name an absolute folder, e.g. file:///var/lib/collector",
                            shown(&url)
                        ),
                    );
                    None
                }
            }
            (Some(url), None) if url.starts_with("gs://") => {
                let bucket = url["gs://".len()..].trim_end_matches('/').to_owned();
                if valid_bucket(&bucket) {
                    Some(Sink::Gcs {
                        bucket,
                        emulator: emulator.clone(),
                    })
                } else {
                    r.problem("SINK_URL", format!("{} does not name a valid bucket (gs://BUCKET; prefixes go in GCS_PREFIX)", shown(&url)));
                    None
                }
            }
            (Some(url), None) => {
                r.problem(
                    "SINK_URL",
                    format!("{} must start with gs:// or file://", shown(&url)),
                );
                None
            }
            (None, Some(bucket)) if valid_bucket(&bucket) => Some(Sink::Gcs {
                bucket,
                emulator: emulator.clone(),
            }),
            (None, Some(bucket)) => {
                r.problem("GCS_BUCKET", format!("{} is not a valid bucket name (3-63 lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit)", shown(&bucket)));
                None
            }
            (None, None) => {
                r.missing(
                    "GCS_BUCKET",
                    "the bucket's name (or SINK_URL=gs://BUCKET or file:///folder)",
                );
                None
            }
        };

        let mut streams = Vec::new();
        let stream_list = r.get("STREAMS").unwrap_or("auditevents").to_owned();
        for name in stream_list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match name.parse::<Stream>() {
                Ok(stream) if streams.contains(&stream) => {
                    r.problem("STREAMS", format!("{} is listed twice", shown(name)))
                }
                Ok(stream) => streams.push(stream),
                Err(_) => r.problem(
                    "STREAMS",
                    format!(
                        "unknown stream {} (expected auditevents, signinattempts or itemusages)",
                        shown(name)
                    ),
                ),
            }
        }
        if streams.is_empty() && !r.problems.iter().any(|p| p.variable == "STREAMS") {
            r.problem(
                "STREAMS",
                "names no stream; use a comma list of auditevents, signinattempts, itemusages",
            );
        }
        // A token whose claims list its features must have every configured stream's.
        if let Some(claims) = token.as_ref().and_then(|t| TokenClaims::decode(t.expose())) {
            let has = claims.features.clone().unwrap_or_default().join(", ");
            for stream in claims.missing(streams.iter().copied()) {
                r.problem(
                    "STREAMS",
                    format!(
                        "names {stream}, but the bearer token lacks the {stream} feature (it has: {has}); issue a token with {} selected (1Password: Integrations > Events Reporting), or remove {stream} from STREAMS",
                        stream.feature_label()
                    ),
                );
            }
        }

        let state_prefix = r
            .get("STATE_PREFIX")
            .map(str::to_owned)
            .and_then(|value| r.object_path("STATE_PREFIX", &value, true))
            .unwrap_or_else(|| DEFAULT_STATE_PREFIX.trim_end_matches('/').to_owned());
        let audit_key = r
            .get("STATE_KEY")
            .map(str::to_owned)
            .and_then(|value| r.object_path("STATE_KEY", &value, false))
            .unwrap_or_else(|| format!("{state_prefix}/auditevents.json"));
        let mut plans: Vec<StreamPlan> = Vec::new();
        let page_size = r.number::<u16>("PAGE_SIZE", 1000, 1, 1000);
        let lookback_hours = r.number::<i64>("LOOKBACK_HOURS", 24, 1, 24 * 365);
        for stream in &streams {
            let variable = match stream {
                Stream::AuditEvents => "GCS_PREFIX",
                Stream::SignInAttempts => "SIGNINATTEMPTS_PREFIX",
                Stream::ItemUsages => "ITEMUSAGES_PREFIX",
            };
            let prefix = match r.get(variable).map(str::to_owned) {
                Some(value) => r
                    .object_path(variable, &value, true)
                    .unwrap_or_else(|| default_prefix(*stream).to_owned()),
                None => default_prefix(*stream).to_owned(),
            };
            let key = match stream {
                Stream::AuditEvents => audit_key.clone(),
                other => format!("{state_prefix}/{other}.json"),
            };
            plans.push(StreamPlan {
                stream: *stream,
                prefix,
                checkpoint_key: key,
                start: Start::Lookback(chrono::Duration::hours(lookback_hours)),
            });
        }
        for plan in &plans {
            for other in &plans {
                if under(&plan.checkpoint_key, &other.prefix) {
                    let variable =
                        if plan.stream == Stream::AuditEvents && vars.contains_key("STATE_KEY") {
                            "STATE_KEY"
                        } else {
                            "STATE_PREFIX"
                        };
                    r.problem(variable, format!(
                        "checkpoint {} lies under the feed prefix {}, so SecOps would ingest it as a log; put checkpoints outside every feed prefix (default {DEFAULT_STATE_PREFIX})",
                        shown(&plan.checkpoint_key), shown(&other.prefix)
                    ));
                }
                if plan.stream != other.stream && under(&plan.prefix, &other.prefix) {
                    r.problem("GCS_PREFIX", format!("the {} prefix {} lies inside the {} prefix {}; each stream needs its own folder for its own SecOps feed", plan.stream, shown(&plan.prefix), other.stream, shown(&other.prefix)));
                }
            }
        }

        let limits = Limits {
            max_records: r.number::<u64>("MAX_RECORDS", 10_000, 1, 1_000_000_000),
            page_size,
            batch_max_events: r.number::<usize>("BATCH_MAX_EVENTS", 5000, 1, 100_000),
            batch_max_bytes: 8 * 1024 * 1024,
            budget: Duration::from_secs(r.number::<u64>("RUN_BUDGET_SECONDS", 480, 5, 3600)),
            batches_in_flight: r.number::<usize>("BATCHES_IN_FLIGHT", 3, 1, 8),
        };
        let client = ClientOptions {
            timeout: Duration::from_secs(r.number::<u64>("HTTP_TIMEOUT_SECONDS", 30, 1, 300)),
            retry: RetryPolicy {
                max_attempts: r.number::<u32>("RETRY_MAX_ATTEMPTS", 8, 1, 100),
                base: Duration::from_millis(r.number::<u64>("RETRY_BASE_MILLIS", 1000, 1, 60_000)),
                cap: Duration::from_secs(60),
            },
        };
        let listen = match r.get("LISTEN_ADDRESS").map(str::to_owned) {
            None => IpAddr::from([0, 0, 0, 0]),
            Some(text) => text.parse().unwrap_or_else(|_| {
                r.problem(
                    "LISTEN_ADDRESS",
                    format!(
                        "{} is not an IP address; use 0.0.0.0 (every interface, as on Cloud Run) or 127.0.0.1 (this machine only)",
                        shown(&text)
                    ),
                );
                IpAddr::from([0, 0, 0, 0])
            }),
        };
        let port = r.number::<u16>("PORT", 8080, 1, 65535);
        let log_format = match r.get("LOG_FORMAT").unwrap_or("json") {
            "json" => LogFormat::Json,
            "text" => LogFormat::Text,
            other => {
                let message = format!("{} must be json or text", shown(other));
                r.problem("LOG_FORMAT", message);
                LogFormat::Json
            }
        };

        match (api_base, token, sink, r.problems.is_empty()) {
            (Some(api_base), Some(token), Some(sink), true) => Ok(Settings {
                api_base,
                token,
                sink,
                plans,
                limits,
                client,
                listen,
                port,
                log_format,
            }),
            _ => Err(ConfigError(r.problems)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn base() -> Vars {
        vars(&[
            ("OP_API_BASE", "https://events.1password.com"),
            ("OP_BEARER_TOKEN", "tok-123"),
            ("GCS_BUCKET", "onepassword-audit-secops-logs"),
        ])
    }

    #[test]
    fn the_guides_variables_keep_their_meaning() {
        let mut v = base();
        v.insert("GCS_PREFIX".into(), "onepassword-audit".into());
        v.insert("MAX_RECORDS".into(), "10000".into());
        v.insert("PAGE_SIZE".into(), "1000".into());
        v.insert("LOOKBACK_HOURS".into(), "24".into());
        let s = Settings::from_vars(&v).unwrap();
        assert_eq!(
            s.sink,
            Sink::Gcs {
                bucket: "onepassword-audit-secops-logs".into(),
                emulator: None
            }
        );
        assert_eq!(s.plans.len(), 1);
        assert_eq!(s.plans[0].prefix, "onepassword-audit");
        assert_eq!(
            s.plans[0].checkpoint_key,
            "onepassword-secops-state/auditevents.json"
        );
        assert_eq!(
            s.plans[0].start,
            Start::Lookback(chrono::Duration::hours(24))
        );
        assert_eq!((s.limits.max_records, s.limits.page_size), (10_000, 1000));
        assert_eq!(s.api_base.as_str(), "https://events.1password.com/");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let v = vars(&[
            ("OP_API_BASE", "ftp://events.1password.com"),
            ("GCS_BUCKET", "Bad_Bucket!"),
            ("PAGE_SIZE", "1001"),
            ("MAX_RECORDS", "lots"),
            ("STREAMS", "auditevents,logins"),
            ("STATE_KEY", "onepassword-audit/state.json"),
            ("LOG_FORMAT", "xml"),
        ]);
        let error = Settings::from_vars(&v).unwrap_err();
        insta::assert_snapshot!(error.to_string());
    }

    #[test]
    fn streams_get_their_own_prefix_and_checkpoint() {
        let mut v = base();
        v.insert(
            "STREAMS".into(),
            "auditevents, signinattempts,itemusages".into(),
        );
        v.remove("GCS_BUCKET");
        v.insert("SINK_URL".into(), "file:///tmp/out".into());
        v.insert("STORAGE_EMULATOR_HOST".into(), "127.0.0.1:4443".into());
        let s = Settings::from_vars(&v).unwrap();
        let keys: Vec<_> = s
            .plans
            .iter()
            .map(|p| (p.prefix.as_str(), p.checkpoint_key.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "onepassword-audit",
                    "onepassword-secops-state/auditevents.json"
                ),
                (
                    "onepassword-signinattempts",
                    "onepassword-secops-state/signinattempts.json"
                ),
                (
                    "onepassword-itemusages",
                    "onepassword-secops-state/itemusages.json"
                ),
            ]
        );
        assert_eq!(s.sink, Sink::Local("/tmp/out".into()));
        let mut g = base();
        g.insert("STORAGE_EMULATOR_HOST".into(), "127.0.0.1:4443".into());
        assert_eq!(
            Settings::from_vars(&g).unwrap().sink,
            Sink::Gcs {
                bucket: "onepassword-audit-secops-logs".into(),
                emulator: Some("http://127.0.0.1:4443".into())
            }
        );
    }

    #[test]
    fn the_token_never_appears_in_debug_or_errors() {
        let mut v = base();
        v.insert("OP_BEARER_TOKEN".into(), "super-secret-value".into());
        let s = Settings::from_vars(&v).unwrap();
        assert!(!format!("{s:?}").contains("super-secret-value"));
        v.insert("PAGE_SIZE".into(), "0".into());
        assert!(
            !Settings::from_vars(&v)
                .unwrap_err()
                .to_string()
                .contains("super-secret-value")
        );
    }

    #[test]
    fn http_only_on_loopback_and_token_sources_are_exclusive() {
        let mut v = base();
        v.insert("OP_API_BASE".into(), "http://events.1password.com".into());
        v.insert("OP_BEARER_TOKEN_FILE".into(), "/nonexistent".into());
        let problems = Settings::from_vars(&v).unwrap_err().0;
        let names: Vec<_> = problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(names, ["OP_API_BASE", "OP_BEARER_TOKEN_FILE"]);
        v.insert("OP_API_BASE".into(), "http://127.0.0.1:9".into());
        v.remove("OP_BEARER_TOKEN_FILE");
        assert!(Settings::from_vars(&v).is_ok());
    }

    fn problems(v: &Vars) -> Vec<(String, String)> {
        Settings::from_vars(v)
            .unwrap_err()
            .0
            .into_iter()
            .map(|p| (p.variable, p.message))
            .collect()
    }

    fn jwt(payload: &str) -> String {
        use base64::Engine as _;
        let encode = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        format!(
            "{}.{}.sig",
            encode(b"{\"alg\":\"ES256\"}"),
            encode(payload.as_bytes())
        )
    }

    #[test]
    fn a_configured_stream_the_token_lacks_is_refused_by_name() {
        let mut v = base();
        v.insert(
            "OP_BEARER_TOKEN".into(),
            jwt(r#"{"aud":["events.1password.com"],"1password.com/fts":["auditevents"],"1password.com/auuid":"A"}"#),
        );
        v.insert(
            "STREAMS".into(),
            "auditevents,signinattempts,itemusages".into(),
        );
        let found = problems(&v);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].1.starts_with("names signinattempts, but the bearer token lacks the signinattempts feature (it has: auditevents)"), "{found:?}");
        assert!(found[1].1.contains("Item usage"), "{found:?}");
        v.insert("STREAMS".into(), "auditevents".into());
        assert!(Settings::from_vars(&v).is_ok());
    }

    #[test]
    fn a_token_with_a_line_break_control_or_non_ascii_character_is_refused() {
        for (token, needle) in [
            ("abc\ndef", "line break at character 4"),
            ("abc\u{1}def", "U+0001"),
            ("abc\u{201c}def", "non-ASCII character (U+201C)"),
        ] {
            let mut v = base();
            v.insert("OP_BEARER_TOKEN".into(), token.into());
            let found = problems(&v);
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].0, "OP_BEARER_TOKEN");
            assert!(
                found[0].1.contains(needle) && !found[0].1.contains("def"),
                "{found:?}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, b"abc\n\ndef\n").unwrap();
        let mut v = base();
        v.remove("OP_BEARER_TOKEN");
        v.insert("OP_BEARER_TOKEN_FILE".into(), file.display().to_string());
        let found = problems(&v);
        assert_eq!(found[0].0, "OP_BEARER_TOKEN_FILE");
        assert!(found[0].1.contains("line break"), "{found:?}");
        std::fs::write(&file, b"\xff\xfeabc").unwrap();
        let found = problems(&v);
        assert!(found[0].1.contains("is not text"), "{found:?}");
        std::fs::write(&file, b"eyJh.eyJi.c2ln\n").unwrap();
        assert_eq!(
            Settings::from_vars(&v).unwrap().token.expose(),
            "eyJh.eyJi.c2ln"
        );
    }

    #[test]
    fn object_paths_with_dot_dot_empty_or_absolute_parts_are_refused() {
        for (variable, value) in [
            ("STATE_KEY", "../state/auditevents.json"),
            ("STATE_KEY", "state//auditevents.json"),
            ("STATE_KEY", "/state/auditevents.json"),
            ("STATE_KEY", "state/"),
            ("STATE_PREFIX", "/onepassword-secops-state"),
            ("STATE_PREFIX", "a/./b"),
            ("GCS_PREFIX", "onepassword-audit/../x"),
            ("GCS_PREFIX", "/onepassword-audit"),
            ("SIGNINATTEMPTS_PREFIX", "a//b"),
            ("ITEMUSAGES_PREFIX", ".."),
        ] {
            let mut v = base();
            v.insert(
                "STREAMS".into(),
                "auditevents,signinattempts,itemusages".into(),
            );
            v.insert(variable.into(), value.into());
            let found = problems(&v);
            assert_eq!(found.len(), 1, "{variable}={value}: {found:?}");
            assert_eq!(found[0].0, variable);
            assert!(found[0].1.starts_with(&format!("{value:?}")), "{found:?}");
        }
        let mut v = base();
        v.insert("STATE_PREFIX".into(), "state/v1/".into());
        v.insert("GCS_PREFIX".into(), "logs/onepassword/".into());
        let s = Settings::from_vars(&v).unwrap();
        assert_eq!(s.plans[0].checkpoint_key, "state/v1/auditevents.json");
        assert_eq!(s.plans[0].prefix, "logs/onepassword");
    }

    #[test]
    fn a_bucket_and_a_sink_url_together_are_an_error() {
        let mut v = base();
        v.insert("SINK_URL".into(), "file:///tmp/out".into());
        let found = problems(&v);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "SINK_URL");
        assert!(found[0].1.contains("both set"), "{found:?}");
    }

    #[test]
    fn the_listen_address_defaults_to_every_interface() {
        let s = Settings::from_vars(&base()).unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0");
        let mut v = base();
        v.insert("LISTEN_ADDRESS".into(), "127.0.0.1".into());
        assert_eq!(
            Settings::from_vars(&v).unwrap().listen.to_string(),
            "127.0.0.1"
        );
        v.insert("LISTEN_ADDRESS".into(), "localhost:80".into());
        assert_eq!(problems(&v)[0].0, "LISTEN_ADDRESS");
    }

    #[test]
    fn values_show_empty_as_quotes_and_long_ones_cut() {
        let mut v = base();
        v.insert("GCS_BUCKET".into(), "  ".into());
        v.insert("PAGE_SIZE".into(), "9".repeat(5000));
        let found = problems(&v);
        assert_eq!(found[0].0, "GCS_BUCKET");
        assert!(
            found[0]
                .1
                .starts_with(r#"is set to "  ", but it is required"#),
            "{found:?}"
        );
        assert_eq!(found[1].0, "PAGE_SIZE");
        assert!(found[1].1.len() < 200, "{}", found[1].1);
        assert!(
            found[1].1.contains("… (4936 more characters)"),
            "{}",
            found[1].1
        );
        assert_eq!(shown(""), r#""""#);
    }

    #[test]
    fn backfill_window_problems_are_all_reported() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T00:00:00Z")
            .unwrap()
            .to_utc();
        let both = backfill_window(Some("last week"), Some(""), now).unwrap_err();
        assert_eq!(both.len(), 2, "{both:?}");
        assert!(
            both[1].message.starts_with(r#""" is not an RFC 3339 time"#),
            "{both:?}"
        );
        let reversed = backfill_window(
            Some("2026-10-08T00:00:00Z"),
            Some("2026-10-01T00:00:00Z"),
            now,
        )
        .unwrap_err();
        assert!(reversed[0].message.contains("must be after --start"));
        assert!(
            backfill_window(
                Some("2026-10-01T00:00:00Z"),
                Some("2026-10-08T00:00:00Z"),
                now
            )
            .is_ok()
        );
    }

    #[test]
    fn windows_older_than_the_retention_are_warned_about_by_what_is_missing() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T00:00:00Z")
            .unwrap()
            .to_utc();
        let mut v = base();
        v.insert("LOOKBACK_HOURS".into(), "3000".into());
        let s = Settings::from_vars(&v).unwrap();
        let warnings = retention_warnings(&s.plans, now);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("a first run of auditevents will miss its events from 2026-07-24T00:00:00Z to 2026-07-29T00:00:00Z"),
            "{warnings:?}"
        );
        let start = now - chrono::Duration::days(200);
        let backfill =
            crate::pipeline::backfill_plans(&s.plans, start, now - chrono::Duration::days(10))
                .unwrap();
        let warnings = retention_warnings(&backfill, now);
        assert!(warnings[0].contains("its auditevents events from 2026-05-10T00:00:00Z to 2026-07-29T00:00:00Z are missing"), "{warnings:?}");
        v.insert("LOOKBACK_HOURS".into(), "2880".into());
        assert!(retention_warnings(&Settings::from_vars(&v).unwrap().plans, now).is_empty());
    }
}
