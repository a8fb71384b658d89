//! Settings from environment variables (the guide's names keep their meaning) and flags, validated
//! at start-up: every problem is reported at once, naming the variable, the bad value and the rule.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

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
    /// Port of `serve`.
    pub port: u16,
    /// Log format.
    pub log_format: LogFormat,
}

/// One invalid setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The variable.
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
                    format!("{text:?} is not a whole number in {min}..={max}"),
                );
                default
            }
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

impl Settings {
    /// Validates `vars`, reporting every problem at once.
    pub fn from_vars(vars: &Vars) -> Result<Settings, ConfigError> {
        let mut r = Reader {
            vars,
            problems: Vec::new(),
        };

        let api_base = match r.get("OP_API_BASE").map(str::to_owned) {
            None => {
                r.problem("OP_API_BASE", "is required: the Events API base URL, e.g. https://events.1password.com (or events.ent.1password.com, events.1password.ca, events.1password.eu)");
                None
            }
            Some(text) => match Url::parse(&text) {
                Ok(url)
                    if url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url)) =>
                {
                    Some(url)
                }
                Ok(_) => {
                    r.problem("OP_API_BASE", format!("{text:?} must be an https:// URL (http:// only for 127.0.0.1 or localhost)"));
                    None
                }
                Err(e) => {
                    r.problem("OP_API_BASE", format!("{text:?} is not a URL ({e}); expected e.g. https://events.1password.com"));
                    None
                }
            },
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
            (Some(token), None) => Some(token),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(text) if !text.trim().is_empty() => Some(Secret::new(text)),
                Ok(_) => {
                    r.problem("OP_BEARER_TOKEN_FILE", format!("{path:?} is empty"));
                    None
                }
                Err(e) => {
                    r.problem("OP_BEARER_TOKEN_FILE", format!("cannot read {path:?}: {e}"));
                    None
                }
            },
            (None, None) => {
                r.problem("OP_BEARER_TOKEN", "is required: the Events Reporting bearer token (on Cloud Run, from Secret Manager)");
                None
            }
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
            (Some(url), _) if url.starts_with("file://") => {
                let path = PathBuf::from(&url["file://".len()..]);
                if path.is_absolute() {
                    Some(Sink::Local(path))
                } else {
                    r.problem(
                        "SINK_URL",
                        format!(
                            "{url:?} must name an absolute folder, e.g. file:///var/lib/collector"
                        ),
                    );
                    None
                }
            }
            (Some(url), _) if url.starts_with("gs://") => {
                let bucket = url["gs://".len()..].trim_end_matches('/').to_owned();
                if valid_bucket(&bucket) {
                    Some(Sink::Gcs {
                        bucket,
                        emulator: emulator.clone(),
                    })
                } else {
                    r.problem("SINK_URL", format!("{url:?} does not name a valid bucket (gs://BUCKET; prefixes go in GCS_PREFIX)"));
                    None
                }
            }
            (Some(url), _) => {
                r.problem(
                    "SINK_URL",
                    format!("{url:?} must start with gs:// or file://"),
                );
                None
            }
            (None, Some(bucket)) if valid_bucket(&bucket) => Some(Sink::Gcs {
                bucket,
                emulator: emulator.clone(),
            }),
            (None, Some(bucket)) => {
                r.problem("GCS_BUCKET", format!("{bucket:?} is not a valid bucket name (3-63 lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"));
                None
            }
            (None, None) => {
                r.problem(
                    "GCS_BUCKET",
                    "is required (or SINK_URL=gs://BUCKET or file:///folder)",
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
                    r.problem("STREAMS", format!("{name:?} is listed twice"))
                }
                Ok(stream) => streams.push(stream),
                Err(e) => r.problem("STREAMS", e.to_string()),
            }
        }
        if streams.is_empty() && !r.problems.iter().any(|p| p.variable == "STREAMS") {
            r.problem(
                "STREAMS",
                "names no stream; use a comma list of auditevents, signinattempts, itemusages",
            );
        }

        let state_prefix = r
            .get("STATE_PREFIX")
            .unwrap_or(DEFAULT_STATE_PREFIX)
            .to_owned();
        let state_folder = state_prefix.trim_matches('/').to_owned();
        let audit_key = r
            .get("STATE_KEY")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{state_folder}/auditevents.json"));
        let mut plans: Vec<StreamPlan> = Vec::new();
        let page_size = r.number::<u16>("PAGE_SIZE", 1000, 1, 1000);
        let lookback_hours = r.number::<i64>("LOOKBACK_HOURS", 24, 1, 24 * 365);
        for stream in &streams {
            let variable = match stream {
                Stream::AuditEvents => "GCS_PREFIX",
                Stream::SignInAttempts => "SIGNINATTEMPTS_PREFIX",
                Stream::ItemUsages => "ITEMUSAGES_PREFIX",
            };
            let prefix = r
                .get(variable)
                .unwrap_or(default_prefix(*stream))
                .trim_matches('/')
                .to_owned();
            if prefix.is_empty()
                || prefix.contains("//")
                || prefix.split('/').any(|p| p == "." || p == "..")
            {
                r.problem(
                    variable,
                    format!("{prefix:?} must be a non-empty folder path like onepassword-audit"),
                );
            }
            let key = match stream {
                Stream::AuditEvents => audit_key.clone(),
                other => format!("{state_folder}/{other}.json"),
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
                        "checkpoint {:?} lies under the feed prefix {:?}, so SecOps would ingest it as a log; put checkpoints outside every feed prefix (default {DEFAULT_STATE_PREFIX})",
                        plan.checkpoint_key, other.prefix
                    ));
                }
                if plan.stream != other.stream && under(&plan.prefix, &other.prefix) {
                    r.problem("GCS_PREFIX", format!("the {} prefix {:?} lies inside the {} prefix {:?}; each stream needs its own folder for its own SecOps feed", plan.stream, plan.prefix, other.stream, other.prefix));
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
        let port = r.number::<u16>("PORT", 8080, 1, 65535);
        let log_format = match r.get("LOG_FORMAT").unwrap_or("json") {
            "json" => LogFormat::Json,
            "text" => LogFormat::Text,
            other => {
                let message = format!("{other:?} must be json or text");
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
}
