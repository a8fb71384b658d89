//! Upgrading a running deployment: the bucket a collector of an earlier release left (the fixture
//! `tests/fixtures/state-c08977c/`, written by the collector at commit c08977c, before several
//! accounts, in two runs of all three streams) is where this collector continues. With the same
//! single-account settings it continues every stream from the same checkpoint object, leaves every
//! earlier object as it was and collects every later event exactly once; after the README's move
//! from one account to several (the checkpoints copied into the first account's folder) it
//! continues from the same cursors into the account's folders, again with nothing twice.
//!
//! How the fixture was made: `opsim serve --audit-events 30 --signin-attempts 20 --item-usages 10`,
//! then the old collector's `run-once` twice into `SINK_URL=file:///…` with
//! `STREAMS=auditevents,signinattempts,itemusages PAGE_SIZE=7 BATCH_MAX_EVENTS=14`, the first run
//! with `MAX_RECORDS=14`. Its cursors are the simulator's: they name a stream, a position in its log
//! and a page size, so a simulator whose log starts with the same events serves what follows.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use opsim::{SimConfig, Stream};
use support::{BUCKET, World, summary};

/// Where the earlier release's bucket was saved.
fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-c08977c")
}

/// Every object of the fixture: its name in the bucket and its bytes, in name order.
fn fixture_objects() -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, into);
            } else {
                let name = path.strip_prefix(root).unwrap().to_str().unwrap();
                into.insert(name.replace('\\', "/"), std::fs::read(&path).unwrap());
            }
        }
    }
    let root = fixture_root();
    let mut objects = BTreeMap::new();
    walk(&root, &root, &mut objects);
    objects
}

const STREAMS: [(Stream, &str); 3] = [
    (Stream::AuditEvents, "onepassword-audit"),
    (Stream::SignInAttempts, "onepassword-signinattempts"),
    (Stream::ItemUsages, "onepassword-itemusages"),
];

const STATE: &str = "onepassword-secops-state";

/// The events of `stream` the earlier release collected: every line of its objects.
fn collected_before(objects: &BTreeMap<String, Vec<u8>>, prefix: &str) -> Vec<String> {
    objects
        .iter()
        .filter(|(name, _)| name.starts_with(&format!("{prefix}/")))
        .flat_map(|(_, data)| {
            String::from_utf8(data.clone())
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The simulator's log position a checkpoint's cursor names (the simulator's cursor is base64url
/// JSON with the position in `p`).
fn cursor_position(checkpoint: &[u8]) -> usize {
    use base64::Engine;
    let checkpoint: serde_json::Value = serde_json::from_slice(checkpoint).unwrap();
    let cursor = checkpoint["position"]["cursor"].as_str().unwrap();
    let state = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&state).unwrap()["p"]
        .as_u64()
        .unwrap() as usize
}

/// A simulator whose logs start with the events the earlier release collected (so its cursors
/// point where they pointed), followed by `new` generated events per stream; and the bucket as
/// the earlier release left it.
async fn world_after_earlier_release(new: usize) -> (World, BTreeMap<String, Vec<u8>>) {
    let objects = fixture_objects();
    let world = World::with(SimConfig::new(5)).await;
    for (stream, prefix) in STREAMS {
        let before = collected_before(&objects, prefix);
        let checkpoint = &objects[&format!("{STATE}/{stream}.json")];
        assert_eq!(
            cursor_position(checkpoint),
            before.len(),
            "the fixture's {stream} checkpoint stands after every event it collected"
        );
        world.sim.append_raw(stream, before);
        world.sim.append(stream, new);
    }
    for (name, data) in &objects {
        world.gcs.put(BUCKET, name, data).await;
    }
    (world, objects)
}

/// Every line under `prefix/` in the bucket, with the object it is in.
async fn lines_under(world: &World, prefix: &str) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    for name in world.gcs.list(BUCKET, &format!("{prefix}/")).await {
        let data = world.gcs.object(BUCKET, &name).await.unwrap();
        assert!(data.ends_with(b"\n"), "{name} ends with a newline");
        for line in String::from_utf8(data).unwrap().lines() {
            lines.push((name.clone(), line.to_owned()));
        }
    }
    lines
}

/// Asserts `landed` holds every event of `stream`'s log exactly once, byte for byte.
fn assert_exactly_once(world: &World, stream: Stream, landed: &[(String, String)]) {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for event in world.sim.events(stream) {
        *counts.entry(event.raw).or_default() += 1;
    }
    for (_, line) in landed {
        *counts.entry(line.clone()).or_default() -= 1;
    }
    let lost = counts.values().filter(|n| **n > 0).count();
    let extra = counts.values().filter(|n| **n < 0).count();
    assert_eq!(
        (lost, extra),
        (0, 0),
        "{stream}: {lost} events lost, {extra} duplicated or altered"
    );
}

/// Asserts every object the earlier release wrote is still there, byte for byte.
async fn assert_untouched(world: &World, objects: &BTreeMap<String, Vec<u8>>) {
    for (name, data) in objects {
        if name.starts_with(&format!("{STATE}/")) {
            continue;
        }
        assert_eq!(
            world.gcs.object(BUCKET, name).await.as_ref(),
            Some(data),
            "{name}, written by the earlier release, is unchanged"
        );
    }
}

fn streams_summary(output: &std::process::Output) -> HashMap<String, serde_json::Value> {
    let summary = summary(output);
    assert_eq!(
        summary["ok"],
        true,
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    summary["summary"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stream"].as_str().unwrap().to_owned(), s.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_release_continues_where_the_earlier_one_stopped() {
    let new = 25;
    let (world, objects) = world_after_earlier_release(new).await;

    let output = world.run_once(&[("STREAMS", "auditevents,signinattempts,itemusages")]);
    let streams = streams_summary(&output);
    for (stream, prefix) in STREAMS {
        assert_eq!(
            streams[&stream.to_string()]["events"],
            new,
            "{stream}: only the events after the earlier release's checkpoint are collected"
        );
        let landed = lines_under(&world, prefix).await;
        assert_exactly_once(&world, stream, &landed);
        let key = format!("{STATE}/{stream}.json");
        let checkpoint = world.gcs.object(BUCKET, &key).await.unwrap();
        assert_eq!(
            cursor_position(&checkpoint),
            world.sim.event_count(stream),
            "{stream}: the same checkpoint object ({key}) moved to the log's end"
        );
    }
    assert_untouched(&world, &objects).await;
    let state: Vec<String> = world.gcs.list(BUCKET, &format!("{STATE}/")).await;
    assert_eq!(
        state,
        [
            "onepassword-secops-state/auditevents.json",
            "onepassword-secops-state/itemusages.json",
            "onepassword-secops-state/signinattempts.json",
        ],
        "no checkpoint under a new name"
    );

    // And the next run has nothing left to add.
    let output = world.run_once(&[("STREAMS", "auditevents,signinattempts,itemusages")]);
    for (stream, _) in STREAMS {
        assert_eq!(streams_summary(&output)[&stream.to_string()]["events"], 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn moving_an_earlier_single_account_bucket_into_the_first_of_several_accounts() {
    let new = 25;
    let (world, objects) = world_after_earlier_release(new).await;

    // The README's move: each stream's checkpoint copied into the account's folder.
    for (stream, _) in STREAMS {
        let from = format!("{STATE}/{stream}.json");
        world
            .gcs
            .put(
                BUCKET,
                &format!("{STATE}/acme/{stream}.json"),
                &objects[&from],
            )
            .await;
    }
    let base = world.sim.base_url();
    // The variables without a suffix give way to each account's own.
    let mut command = world.collector(&["run-once"]);
    command
        .env_remove("OP_API_BASE")
        .env_remove("OP_BEARER_TOKEN");
    let output = command
        .envs([
            ("ACCOUNTS", "acme,globex"),
            ("OP_API_BASE_ACME", base.as_str()),
            ("OP_BEARER_TOKEN_ACME", support::TOKEN),
            ("STREAMS_ACME", "auditevents,signinattempts,itemusages"),
            // A second account with nothing yet: its first run starts a fresh cursor of its own.
            ("OP_API_BASE_GLOBEX", base.as_str()),
            ("OP_BEARER_TOKEN_GLOBEX", support::TOKEN),
            ("STREAMS_GLOBEX", "auditevents"),
            ("LOOKBACK_HOURS", "1"),
        ])
        .output()
        .unwrap();
    let summary = summary(&output);
    assert_eq!(
        summary["ok"],
        true,
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    for (stream, prefix) in STREAMS {
        let all = lines_under(&world, prefix).await;
        let (acme, earlier): (Vec<_>, Vec<_>) = all
            .into_iter()
            .filter(|(name, _)| !name.starts_with(&format!("{prefix}/globex/")))
            .partition(|(name, _)| name.starts_with(&format!("{prefix}/acme/")));
        assert_eq!(
            acme.len(),
            new,
            "{stream}: acme's folder holds just the events after the copied checkpoint"
        );
        let mut both = earlier;
        both.extend(acme);
        assert_exactly_once(&world, stream, &both);
        let checkpoint = world
            .gcs
            .object(BUCKET, &format!("{STATE}/acme/{stream}.json"))
            .await
            .unwrap();
        assert_eq!(cursor_position(&checkpoint), world.sim.event_count(stream));
    }
    assert_untouched(&world, &objects).await;
}
