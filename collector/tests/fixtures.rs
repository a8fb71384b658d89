//! The fixture corpus (`tests/fixtures/*.ndjson`): items shaped as the Events API v2 sends them,
//! modelled on public samples (the 1Password developer docs' examples, Elastic's `1password`
//! package test data and its mock API) with this project's own values. They carry what a
//! re-serializing or re-parsing collector would change: spaces after `:` and `,`, `\u00e9` and
//! surrogate-pair escapes, `\/`, escaped quotes and backslashes, an empty string, `"details":null`
//! next to a firewall rule's details, `object_details` and `aux_*` only where they belong, lowercase
//! uuids, IPv6 addresses, and timestamps with nine, six, three, two or one fractional digits, none at
//! all, and a `-03:00` offset.
//!
//! The real binary collects them, mixed with generated events, through the simulator answering as
//! the real service does at a log's end (`"items":null`, `has_more: true` before an empty page)
//! and under random faults, into fake-gcs-server: every item must land exactly once, byte for byte.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use opsim::{Fault, FaultPlan, SimConfig, Stream};
use support::{BUCKET, World, summary};

fn corpus(stream: Stream) -> Vec<String> {
    let path = format!(
        "{}/tests/fixtures/{}.ndjson",
        env!("CARGO_MANIFEST_DIR"),
        stream
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(str::to_owned)
        .collect()
}

const PREFIXES: [(Stream, &str); 3] = [
    (Stream::AuditEvents, "onepassword-audit"),
    (Stream::SignInAttempts, "onepassword-signinattempts"),
    (Stream::ItemUsages, "onepassword-itemusages"),
];

async fn landed(world: &World, prefix: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for name in world.gcs.list(BUCKET, &format!("{prefix}/")).await {
        let data = world.gcs.object(BUCKET, &name).await.unwrap();
        assert!(data.ends_with(b"\n"), "{name} ends with a newline");
        lines.extend(String::from_utf8(data).unwrap().lines().map(str::to_owned));
    }
    lines
}

/// Every stream's log landed exactly once, byte for byte, and every fixture line among it.
async fn assert_every_stream_exactly_once(world: &World) {
    for (stream, prefix) in PREFIXES {
        let log: Vec<String> = world
            .sim
            .events(stream)
            .into_iter()
            .map(|e| e.raw)
            .collect();
        let landed = landed(world, prefix).await;
        let mut counts: HashMap<&str, i64> = HashMap::new();
        for raw in &log {
            *counts.entry(raw).or_default() += 1;
        }
        for line in &landed {
            *counts.entry(line).or_default() -= 1;
        }
        let off: Vec<_> = counts.iter().filter(|(_, n)| **n != 0).collect();
        assert!(
            off.is_empty(),
            "{stream}: {} lines lost or doubled: {off:?}",
            off.len()
        );
        assert_eq!(landed.len(), log.len(), "{stream}");
        for fixture in corpus(stream) {
            assert_eq!(
                landed.iter().filter(|l| **l == fixture).count(),
                1,
                "{stream}: fixture not landed byte-identical once: {fixture}"
            );
        }
    }
}

async fn world_with_corpus(page_quirks: bool) -> World {
    let mut config = SimConfig::new(13)
        .with_events(Stream::AuditEvents, 53)
        .with_events(Stream::SignInAttempts, 20)
        .with_events(Stream::ItemUsages, 11);
    if page_quirks {
        config = config.with_page_quirks();
    }
    let world = World::with(config).await;
    for (stream, _) in PREFIXES {
        world.sim.append_raw(stream, corpus(stream));
        world.sim.append(stream, 4);
    }
    world
}

const ALL_STREAMS: &[(&str, &str)] = &[
    ("STREAMS", "auditevents,signinattempts,itemusages"),
    ("PAGE_SIZE", "8"),
    ("BATCH_MAX_EVENTS", "16"),
    ("RETRY_MAX_ATTEMPTS", "6"),
];

#[test]
fn the_corpus_is_one_json_item_per_line_in_every_shape_it_claims() {
    let audit = corpus(Stream::AuditEvents);
    let signins = corpus(Stream::SignInAttempts);
    let usages = corpus(Stream::ItemUsages);
    let values = |lines: &[String]| -> Vec<serde_json::Value> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (a, s, u) = (values(&audit), values(&signins), values(&usages));
    assert!(
        a.iter()
            .chain(&s)
            .chain(&u)
            .all(|v| v["account_uuid"].is_string())
    );
    assert!(
        a.iter()
            .all(|v| v["actor_type"].is_string() && v["actor_account_uuid"].is_string())
    );
    for v in &a {
        assert_eq!(
            v.get("object_details").is_some(),
            v["object_type"] == "user",
            "{v}"
        );
    }
    assert!(
        a.iter().any(|v| v.get("aux_uuid").is_none())
            && a.iter().any(|v| v.get("aux_details").is_some())
    );
    for v in &s {
        assert_eq!(
            v["details"].is_null(),
            v["category"] != "firewall_failed",
            "{v}"
        );
    }
    let stamps: Vec<&str> = a
        .iter()
        .chain(&s)
        .chain(&u)
        .map(|v| v["timestamp"].as_str().unwrap())
        .collect();
    for shape in [
        "T09:01:17Z",
        ".5Z",
        ".918Z",
        ".000001Z",
        ".000000003Z",
        ".123456789Z",
        "-03:00",
    ] {
        assert!(
            stamps.iter().any(|t| t.ends_with(shape)),
            "a timestamp like …{shape}"
        );
    }
    let text = [audit, signins, usages].concat().join("\n");
    for escape in [
        r"\u00e9",
        r"\ud83d\udd11",
        r"\/",
        r#"\""#,
        r"\\",
        "\": \"",
        r#""name":"""#,
    ] {
        assert!(text.contains(escape), "the corpus holds {escape}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corpus_lands_byte_identical_once_through_null_items_and_empty_last_pages() {
    let world = world_with_corpus(true).await;
    let output = world.run_once(ALL_STREAMS);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let first = summary(&output);
    for stream in first["summary"]["streams"].as_array().unwrap() {
        assert_eq!(stream["outcome"]["kind"], "drained", "{stream}");
    }
    assert_every_stream_exactly_once(&world).await;
    // Nothing new: a second run adds nothing, though the last page said has_more.
    let again = world.run_once(ALL_STREAMS);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(summary(&again)["events"], 0);
    assert_every_stream_exactly_once(&world).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corpus_lands_exactly_once_under_random_faults() {
    let world = world_with_corpus(true).await;
    world.sim.set_faults(FaultPlan::random(
        7,
        0.3,
        vec![
            Fault::TooManyRequests {
                retry_after: Some(0),
            },
            Fault::TooManyRequests { retry_after: None },
            Fault::TooManyRequestsUntil(Duration::ZERO),
            Fault::ServerError(500),
            Fault::ServerError(503),
            Fault::CutBody,
            Fault::MalformedJson,
        ],
    ));
    let mut done = false;
    for _ in 0..40 {
        let output = world.run_once(ALL_STREAMS);
        match output.status.code() {
            Some(0) => {
                done = true;
                break;
            }
            Some(1) => continue,
            other => panic!("{other:?}: {}", String::from_utf8_lossy(&output.stdout)),
        }
    }
    assert!(done, "no successful run in 40");
    assert_every_stream_exactly_once(&world).await;
}
