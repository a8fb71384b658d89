//! Settings from environment variables (the guide's names keep their meaning; every name, default
//! and range is the contract's, `contract::env`) and flags, validated at start-up: every problem is
//! reported at once, naming the variable, the bad value and the rule.

mod accounts;
mod api;
mod plans;
mod problems;
mod sink;
mod token;
mod window;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use contract::env::{self, LISTEN_ADDRESS, LOG_FORMAT};

pub use accounts::AccountSettings;
pub use problems::{ConfigError, Problem, shown};
pub use sink::Sink;
pub use window::{RETENTION_DAYS, backfill_window, retention_warnings};

use crate::pipeline::{Limits, StreamPlan};
use onepassword_events::{ClientOptions, RetryPolicy};

/// The environment variables this collector reads.
pub use contract::env::VARIABLES;

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
        match vars.get(LOG_FORMAT).map(|v| v.trim()) {
            Some("text") => LogFormat::Text,
            _ => LogFormat::Json,
        }
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The accounts: one unnamed, or several named (`ACCOUNTS`).
    pub accounts: Vec<AccountSettings>,
    /// Accounts collected at once (`ACCOUNTS_IN_PARALLEL`).
    pub accounts_in_parallel: usize,
    /// The checkpoints' folder (`STATE_PREFIX`), without slashes at its ends.
    pub state_prefix: String,
    /// Where objects go.
    pub sink: Sink,
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

/// Raw variables: the process environment, overridden by flags.
pub type Vars = BTreeMap<String, String>;

/// The known variables present in the process environment, with the per-account variables of
/// the accounts `ACCOUNTS` lists.
pub fn process_vars() -> Vars {
    let mut vars: Vars = VARIABLES
        .iter()
        .filter_map(|name| {
            std::env::var(name)
                .ok()
                .map(|value| ((*name).to_owned(), value))
        })
        .collect();
    let per_account = accounts::process_vars(&vars);
    vars.extend(per_account);
    vars
}

impl Settings {
    /// Every account's stream plans.
    pub fn plans(&self) -> impl Iterator<Item = &StreamPlan> {
        self.accounts.iter().flat_map(|a| &a.plans)
    }
}

impl Settings {
    /// Validates `vars`, reporting every problem at once.
    pub fn from_vars(vars: &Vars) -> Result<Settings, ConfigError> {
        let mut r = problems::Reader::new(vars);
        let (accounts, layout) = accounts::accounts(&mut r);
        let sink = sink::sink(&mut r);
        let page_size = r.number(&env::PAGE_SIZE);
        let accounts_in_parallel = r.number(&env::ACCOUNTS_IN_PARALLEL);
        let limits = Limits {
            max_records: r.number(&env::MAX_RECORDS),
            page_size,
            batch_max_events: r.number(&env::BATCH_MAX_EVENTS),
            batch_max_bytes: Limits::default().batch_max_bytes,
            budget: Duration::from_secs(r.number(&env::RUN_BUDGET_SECONDS)),
            batches_in_flight: r.number(&env::BATCHES_IN_FLIGHT),
        };
        let client = ClientOptions {
            timeout: Duration::from_secs(r.number(&env::HTTP_TIMEOUT_SECONDS)),
            retry: RetryPolicy {
                max_attempts: r.number(&env::RETRY_MAX_ATTEMPTS),
                base: Duration::from_millis(r.number(&env::RETRY_BASE_MILLIS)),
                cap: Duration::from_secs(60),
            },
        };
        let listen = match r.get(LISTEN_ADDRESS).map(str::to_owned) {
            None => IpAddr::from([0, 0, 0, 0]),
            Some(text) => text.parse().unwrap_or_else(|_| {
                r.problem(
                    LISTEN_ADDRESS,
                    format!(
                        "{} is not an IP address; use 0.0.0.0 (every interface, as on Cloud Run) or 127.0.0.1 (this machine only)",
                        shown(&text)
                    ),
                );
                IpAddr::from([0, 0, 0, 0])
            }),
        };
        let port = r.number(&env::PORT);
        let log_format = match r.get(LOG_FORMAT).unwrap_or("json") {
            "json" => LogFormat::Json,
            "text" => LogFormat::Text,
            other => {
                let message = format!("{} must be json or text", shown(other));
                r.problem(LOG_FORMAT, message);
                LogFormat::Json
            }
        };

        let accounts: Option<Vec<AccountSettings>> = accounts.into_iter().collect();
        match (accounts, sink, r.problems.is_empty()) {
            (Some(accounts), Some(sink), true) => Ok(Settings {
                accounts,
                accounts_in_parallel,
                state_prefix: layout.state_prefix,
                sink,
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
    use chrono::DateTime;

    use super::*;
    use crate::pipeline::{FailureReason, Start};

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
        assert_eq!(s.accounts[0].plans.len(), 1);
        assert_eq!(s.accounts[0].plans[0].prefix, "onepassword-audit");
        assert_eq!(
            s.accounts[0].plans[0].checkpoint_key,
            "onepassword-secops-state/auditevents.json"
        );
        assert_eq!(
            s.accounts[0].plans[0].start,
            Start::Lookback(chrono::Duration::hours(24))
        );
        assert_eq!((s.limits.max_records, s.limits.page_size), (10_000, 1000));
        assert_eq!(
            s.accounts[0].api_base.as_str(),
            "https://events.1password.com/"
        );
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
        let keys: Vec<_> = s.accounts[0]
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
        let error = Settings::from_vars(&v).unwrap_err();
        assert_eq!(error.reason(), FailureReason::FeatureMissing);
        v.insert("PAGE_SIZE".into(), "0".into());
        assert_eq!(
            Settings::from_vars(&v).unwrap_err().reason(),
            FailureReason::InvalidConfiguration,
            "a missing feature among other problems is an invalid configuration"
        );
        v.remove("PAGE_SIZE");
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
            Settings::from_vars(&v).unwrap().accounts[0].token.expose(),
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
        assert_eq!(
            s.accounts[0].plans[0].checkpoint_key,
            "state/v1/auditevents.json"
        );
        assert_eq!(s.accounts[0].plans[0].prefix, "logs/onepassword");
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
        let warnings = retention_warnings(&s.accounts[0].plans, now);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("a first run of auditevents will miss its events from 2026-07-24T00:00:00Z to 2026-07-29T00:00:00Z"),
            "{warnings:?}"
        );
        let start = now - chrono::Duration::days(200);
        let backfill = crate::pipeline::backfill_plans(
            &s.accounts[0].plans,
            start,
            now - chrono::Duration::days(10),
        )
        .unwrap();
        let warnings = retention_warnings(&backfill, now);
        assert!(warnings[0].contains("its auditevents events from 2026-05-10T00:00:00Z to 2026-07-29T00:00:00Z are missing"), "{warnings:?}");
        v.insert("LOOKBACK_HOURS".into(), "2880".into());
        assert!(
            retention_warnings(&Settings::from_vars(&v).unwrap().accounts[0].plans, now).is_empty()
        );
    }

    fn accounts_vars() -> Vars {
        vars(&[
            ("ACCOUNTS", "acme, globex-eu"),
            ("OP_API_BASE_ACME", "https://events.1password.com"),
            ("OP_BEARER_TOKEN_ACME", "tok-acme"),
            ("OP_API_BASE_GLOBEX_EU", "https://events.1password.eu"),
            ("OP_BEARER_TOKEN_GLOBEX_EU", "tok-globex"),
            ("STREAMS_GLOBEX_EU", "auditevents,itemusages"),
            ("LOOKBACK_HOURS", "48"),
            ("LOOKBACK_HOURS_GLOBEX_EU", "12"),
            ("GCS_BUCKET", "onepassword-audit-secops-logs"),
            ("ACCOUNTS_IN_PARALLEL", "2"),
        ])
    }

    #[test]
    fn each_account_has_its_own_api_token_streams_folders_and_checkpoints() {
        let s = Settings::from_vars(&accounts_vars()).unwrap();
        assert_eq!(s.accounts_in_parallel, 2);
        assert_eq!(s.state_prefix, "onepassword-secops-state");
        let summary: Vec<_> = s
            .accounts
            .iter()
            .map(|a| {
                (
                    a.name.as_ref().unwrap().to_string(),
                    a.api_base.host_str().unwrap().to_owned(),
                    a.token.expose().to_owned(),
                    a.plans
                        .iter()
                        .map(|p| (p.prefix.clone(), p.checkpoint_key.clone(), p.start))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let hours = |h| Start::Lookback(chrono::Duration::hours(h));
        assert_eq!(
            summary,
            [
                (
                    "acme".to_owned(),
                    "events.1password.com".to_owned(),
                    "tok-acme".to_owned(),
                    vec![(
                        "onepassword-audit/acme".to_owned(),
                        "onepassword-secops-state/acme/auditevents.json".to_owned(),
                        hours(48)
                    )]
                ),
                (
                    "globex-eu".to_owned(),
                    "events.1password.eu".to_owned(),
                    "tok-globex".to_owned(),
                    vec![
                        (
                            "onepassword-audit/globex-eu".to_owned(),
                            "onepassword-secops-state/globex-eu/auditevents.json".to_owned(),
                            hours(12)
                        ),
                        (
                            "onepassword-itemusages/globex-eu".to_owned(),
                            "onepassword-secops-state/globex-eu/itemusages.json".to_owned(),
                            hours(12)
                        ),
                    ]
                ),
            ]
        );
        assert!(
            !format!("{s:?}").contains("tok-acme"),
            "tokens stay redacted"
        );
    }

    #[test]
    fn with_accounts_the_shared_variables_and_bad_names_are_refused_by_name() {
        let mut v = accounts_vars();
        v.insert("OP_API_BASE".into(), "https://events.1password.com".into());
        v.insert("STATE_KEY".into(), "state/audit.json".into());
        v.remove("OP_BEARER_TOKEN_GLOBEX_EU");
        v.insert("STREAMS_ACME".into(), "logins".into());
        let found = problems(&v);
        let variables: Vec<&str> = found.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(
            variables,
            [
                "OP_API_BASE",
                "STATE_KEY",
                "STREAMS_ACME",
                "OP_BEARER_TOKEN_GLOBEX_EU"
            ],
            "{found:?}"
        );
        assert!(found[0].1.contains("OP_API_BASE_ACME"), "{found:?}");
        assert!(
            found[3].1.contains("OP_BEARER_TOKEN_FILE_GLOBEX_EU"),
            "{found:?}"
        );

        for (list, needle) in [
            ("acme,acme", "listed twice"),
            ("Acme", "is not an account name"),
            ("acme_eu", "is not an account name"),
            (" , ", "names no account"),
        ] {
            let mut v = accounts_vars();
            v.insert("ACCOUNTS".into(), list.into());
            let found = problems(&v);
            assert!(
                found
                    .iter()
                    .any(|(v, m)| v == "ACCOUNTS" && m.contains(needle)),
                "{list:?}: {found:?}"
            );
        }
        let mut v = accounts_vars();
        v.insert("ACCOUNTS_IN_PARALLEL".into(), "65".into());
        assert_eq!(problems(&v)[0].0, "ACCOUNTS_IN_PARALLEL");
    }
}
