//! `provision cost`: the arithmetic pinned by hand-computed figures (accounts × streams × runs a
//! month × per-run units × price) for a three-account one-minute config, the shipped data read
//! whole, the text snapshot of the starter's estimate, and the command's JSON.

use provisioner::config;
use provisioner::cost::{self, Options, PriceTable, RunUnits};

const UNITS: &str = r#"{
  "measured": "2026-01-02",
  "command": "scripts/measure-run-cost.sh",
  "instance_start": {"startup_ms": 50, "log_bytes": 200, "secret_accesses_per_token": 1},
  "pubsub_requests_per_tick": 2,
  "empty": {"request_ms": 5, "class_a": 0, "class_b": 1, "objects_written": 0,
            "bytes_written": 0, "log_bytes": 600, "events": 0},
  "typical": {"request_ms": 30, "class_a": 3, "class_b": 1, "objects_written": 1,
              "bytes_written": 1073741824, "log_bytes": 1000, "events": 100}
}"#;

/// Every line at one cent per unit; only the vCPU line has a free tier (1,000 vCPU-seconds).
fn prices() -> PriceTable {
    let keys = [
        "run_cpu",
        "run_memory",
        "run_requests",
        "storage_class_a",
        "storage_class_b",
        "storage_bytes",
        "secret_accesses",
        "secret_versions",
        "log_ingestion",
        "pubsub_throughput",
        "scheduler_jobs",
    ];
    let mut yaml = String::from("read: 2026-01-01\nlines:\n");
    for key in keys {
        let free = if key == "run_cpu" { 1000 } else { 0 };
        yaml.push_str(&format!(
            "  {key}: {{what: {key}, unit: u, price: 0.01, free: {free}, source: test}}\n"
        ));
    }
    PriceTable::parse(&yaml).unwrap()
}

/// Three accounts with 2, 1 and 3 streams (6 account streams, 3 tokens), every minute, 2 vCPU,
/// 1 GiB, objects kept 365 days (12 months).
fn three_accounts_every_minute() -> config::Config {
    config::parse(
        "test.yaml",
        r#"
project_id: acme-secops-prod
region: us-central1
bucket: {retention_days: 365}
schedule: {cron: "* * * * *"}
collector: {cpu: 2, memory: 1Gi}
accounts:
  - {name: acme, streams: [auditevents, signinattempts]}
  - {name: globex}
  - {name: initech, streams: [auditevents, signinattempts, itemusages]}
"#,
    )
    .unwrap()
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= expected.abs() * 1e-9 + 1e-12,
        "{what}: {actual} != {expected}"
    );
}

fn quantity(profile: &cost::Profile, key: &str) -> f64 {
    profile
        .items
        .iter()
        .find(|i| i.key == key)
        .unwrap()
        .quantity
}

#[test]
fn the_arithmetic_of_a_three_account_one_minute_config() {
    let units = RunUnits::parse(UNITS).unwrap();
    let estimate = cost::estimate(
        &three_accounts_every_minute(),
        &units,
        &prices(),
        Options::default(),
    )
    .unwrap();
    // 525,600 minutes in 2026, over 12 months.
    let runs = 43_800.0;
    close(estimate.runs_per_month, runs, "runs a month");
    assert_eq!((estimate.accounts, estimate.account_streams), (3, 6));
    let gib = 1024.0 * 1024.0 * 1024.0;
    let tib = gib * 1024.0;

    let empty = &estimate.profiles[0];
    assert_eq!(empty.name, "empty");
    // 50 ms start-up + 6 × 5 ms = 80 ms, billed as 100 ms.
    close(empty.billed_seconds_per_run, 0.1, "empty billed seconds");
    let expected_empty = [
        ("run_cpu", runs * 0.1 * 2.0),         // 8,760 vCPU-s
        ("run_memory", runs * 0.1 * 1.0),      // 4,380 GiB-s
        ("run_requests", runs),                // one push a run
        ("storage_class_a", 0.0),              // nothing written
        ("storage_class_b", runs * 6.0 * 1.0), // 262,800 checkpoint reads
        ("storage_bytes", 0.0),                // nothing stored
        ("secret_accesses", runs * 3.0),       // 3 tokens a cold start
        ("secret_versions", 3.0),              // one version a token
        ("log_ingestion", runs * (200.0 + 6.0 * 600.0) / gib),
        ("pubsub_throughput", runs * 2.0 * 1000.0 / tib), // publish + push, 1000 B each
        ("scheduler_jobs", 1.0),
    ];
    for (key, expected) in expected_empty {
        close(quantity(empty, key), expected, key);
    }
    let list: f64 = expected_empty.iter().map(|(_, q)| q * 0.01).sum();
    close(empty.list_usd, list, "empty list total");
    // The vCPU line's free tier: (8,760 − 1,000) × $0.01.
    let cpu = empty.items.iter().find(|i| i.key == "run_cpu").unwrap();
    close(cpu.after_free_usd, 77.6, "vCPU after the free tier");
    close(
        empty.after_free_usd,
        list - 1000.0 * 0.01,
        "empty total after free tiers",
    );

    let typical = &estimate.profiles[1];
    assert_eq!(
        (typical.name.as_str(), typical.events_per_run),
        ("typical", 100)
    );
    // 50 ms + 6 × 30 ms = 230 ms, billed as 300 ms.
    close(
        typical.billed_seconds_per_run,
        0.3,
        "typical billed seconds",
    );
    close(
        quantity(typical, "run_cpu"),
        runs * 0.3 * 2.0,
        "typical vCPU-s",
    );
    close(
        quantity(typical, "storage_class_a"),
        runs * 6.0 * 3.0,
        "class A",
    );
    // 1 GiB a run and account stream, kept 12 months.
    close(
        quantity(typical, "storage_bytes"),
        runs * 6.0 * 12.0,
        "GiB-months",
    );
    close(
        quantity(typical, "log_ingestion"),
        runs * (200.0 + 6.0 * 1000.0) / gib,
        "typical log GiB",
    );
}

#[test]
fn a_split_across_services_counts_a_request_a_delivery_and_a_start_up_per_service() {
    // The same three accounts across two services: acme (2 streams) and initech (3) on the
    // first, globex (1) on the second.
    let units = RunUnits::parse(UNITS).unwrap();
    let mut split = three_accounts_every_minute();
    split.collector.services = 2;
    assert_eq!(split.services(), 2);
    let shares: Vec<u32> = split.accounts().iter().map(|a| a.service).collect();
    assert_eq!(shares, [1, 2, 1]);
    let estimate = cost::estimate(&split, &units, &prices(), Options::default()).unwrap();
    assert_eq!(estimate.services, 2);
    let runs = 43_800.0;
    let gib = 1024.0 * 1024.0 * 1024.0;
    let tib = gib * 1024.0;

    let empty = &estimate.profiles[0];
    // Service 1: 50 ms + 5 × 5 ms = 75 → 100 ms; service 2: 50 + 1 × 5 = 55 → 100 ms.
    close(empty.billed_seconds_per_run, 0.2, "empty billed seconds");
    close(quantity(empty, "run_cpu"), runs * 0.2 * 2.0, "vCPU-s");
    close(
        quantity(empty, "run_requests"),
        runs * 2.0,
        "a push to each",
    );
    // Storage and tokens do not change with the split.
    close(quantity(empty, "storage_class_b"), runs * 6.0, "class B");
    close(
        quantity(empty, "secret_accesses"),
        runs * 3.0,
        "secret accesses",
    );
    // A start-up's log lines in each service.
    close(
        quantity(empty, "log_ingestion"),
        runs * (2.0 * 200.0 + 6.0 * 600.0) / gib,
        "log GiB",
    );
    // The scheduler's publish and a push delivery to each service.
    close(
        quantity(empty, "pubsub_throughput"),
        runs * 3.0 * 1000.0 / tib,
        "Pub/Sub TiB",
    );

    let typical = &estimate.profiles[1];
    // Service 1: 50 + 5 × 30 = 200 ms; service 2: 50 + 30 = 80 → 100 ms.
    close(
        typical.billed_seconds_per_run,
        0.3,
        "typical billed seconds",
    );
    assert!(cost::text(&estimate).contains("split across 2 services"));
}

#[test]
fn the_event_driven_feed_adds_a_notification_per_object() {
    let units = RunUnits::parse(UNITS).unwrap();
    let config = three_accounts_every_minute();
    let with = cost::estimate(
        &config,
        &units,
        &prices(),
        Options {
            event_driven_feed: true,
        },
    )
    .unwrap();
    let tib = 1024.0_f64.powi(4);
    // Typical: 6 objects a run, each published and delivered (2 × 1000 B), plus the tick's 2000 B.
    close(
        quantity(&with.profiles[1], "pubsub_throughput"),
        43_800.0 * (2000.0 + 6.0 * 2000.0) / tib,
        "with notifications",
    );
    // Empty runs write no object: no notification.
    close(
        quantity(&with.profiles[0], "pubsub_throughput"),
        43_800.0 * 2000.0 / tib,
        "empty runs",
    );
}

#[test]
fn an_hourly_schedule_runs_730_times_a_month() {
    let units = RunUnits::parse(UNITS).unwrap();
    let config = config::parse(
        "test.yaml",
        "project_id: acme-secops-prod\nregion: us-central1\nschedule: {cron: \"0 * * * *\"}\n",
    )
    .unwrap();
    let estimate = cost::estimate(&config, &units, &prices(), Options::default()).unwrap();
    close(estimate.runs_per_month, 730.0, "hourly");
    close(
        quantity(&estimate.profiles[0], "run_requests"),
        730.0,
        "requests",
    );
    close(
        quantity(&estimate.profiles[0], "secret_accesses"),
        730.0,
        "one token",
    );
}

#[test]
fn a_price_table_without_a_line_is_named() {
    let units = RunUnits::parse(UNITS).unwrap();
    let mut table = prices();
    table.lines.remove("storage_class_b");
    let error = cost::estimate(
        &three_accounts_every_minute(),
        &units,
        &table,
        Options::default(),
    )
    .unwrap_err();
    assert!(matches!(&error, cost::CostError::MissingPrice(key) if key == "storage_class_b"));
}

#[test]
fn the_shipped_data_is_dated_sourced_and_complete() {
    let table = PriceTable::parse(cost::PRICES).unwrap();
    assert_eq!(table.read.len(), 10, "a YYYY-MM-DD date: {}", table.read);
    for (key, line) in &table.lines {
        assert!(
            line.source.starts_with("https://"),
            "{key}: {}",
            line.source
        );
        assert!(line.price > 0.0, "{key}");
    }
    let units = RunUnits::parse(cost::RUN_UNITS).unwrap();
    assert!(units.command.contains("scripts/measure-run-cost.sh"));
    assert_eq!(units.empty.events, 0);
    assert!(units.typical.events > 0 && units.typical.objects_written > 0);
    let starter = config::parse("starter.yaml", config::STARTER).unwrap();
    cost::shipped_estimate(&starter, Options::default()).unwrap();
}

#[test]
fn the_starters_estimate_as_text() {
    let starter = config::parse("starter.yaml", config::STARTER).unwrap();
    let estimate = cost::shipped_estimate(&starter, Options::default()).unwrap();
    insta::assert_snapshot!(cost::text(&estimate));
}

#[test]
fn provision_cost_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("op.yaml");
    std::fs::write(&path, config::STARTER).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
        .args(["cost", "--format", "json", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["profiles"][0]["name"], "empty");
    assert_eq!(json["profiles"][0]["items"].as_array().unwrap().len(), 11);
    assert!(json["runs_per_month"].as_f64().unwrap() > 0.0);
    assert!(json["prices_read"].is_string());
}

/// The measurement end to end: the script runs the real collector against the local cloud and
/// writes units the estimate reads (unoptimized binaries, a quick run; shellcheck finds nothing).
#[test]
fn the_measurement_script_writes_units_the_estimate_reads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("scripts/measure-run-cost.sh");
    let lint = std::process::Command::new(testkit::tool("shellcheck"))
        .arg("-x")
        .arg(&script)
        .current_dir(&root)
        .output()
        .expect("shellcheck is needed: run scripts/install-test-deps.sh");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run-units.json");
    let run = std::process::Command::new("bash")
        .arg(&script)
        .env("MEASURE_PROFILE", "dev")
        .env("MEASURE_RUNS", "2")
        .env("MEASURE_EVENTS", "250")
        .env("MEASURE_OUT", &out)
        .env("TESTKIT_FAKE_GCS_SERVER", testkit::tool("fake-gcs-server"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let units = RunUnits::parse(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(
        units.command.contains("MEASURE_EVENTS=250"),
        "{}",
        units.command
    );
    assert_eq!((units.empty.events, units.typical.events), (0, 250));
    // An empty run reads the checkpoint and writes nothing; a run with events writes the object
    // and the checkpoint.
    assert_eq!((units.empty.class_a, units.empty.class_b), (0, 1));
    assert_eq!(units.empty.objects_written, 0);
    assert_eq!(units.typical.objects_written, 1);
    assert!(units.typical.class_a >= 2, "{:?}", units.typical);
    assert!(
        units.typical.bytes_written > 250 * 100,
        "{:?}",
        units.typical
    );
    assert!(units.empty.log_bytes > 0 && units.instance_start.startup_ms > 0.0);
    let starter = config::parse("starter.yaml", config::STARTER).unwrap();
    cost::estimate(
        &starter,
        &units,
        &PriceTable::parse(cost::PRICES).unwrap(),
        Options::default(),
    )
    .unwrap();
}
