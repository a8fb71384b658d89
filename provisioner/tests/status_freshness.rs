//! `provision status`'s per-stream history and freshness, from fixed log fixtures (the answers of
//! `gcloud logging read --order desc --format json`, in `fixtures/status/`) and checkpoints at a
//! fixed clock: one account on the hourly default, and the three accounts of
//! `examples/accounts.yaml` on a one-minute schedule.

use std::path::Path;

use chrono::{DateTime, Utc};
use provisioner::config::{self, Config};
use provisioner::ops::status::{self, Status};

fn fixture(name: &str) -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/status/{name}"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn at(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time).unwrap().to_utc()
}

fn checkpoint(stream: &str, events_total: u64, newest_event_at: &str, updated_at: &str) -> String {
    serde_json::json!({
        "version": 1, "stream": stream, "position": {"cursor": "c"}, "intent": null,
        "updated_at": updated_at,
        "stats": {"events_total": events_total, "objects_total": 3,
                  "last_commit_at": updated_at, "newest_event_at": newest_event_at},
    })
    .to_string()
}

/// The text from the freshness table to the line after it.
fn freshness_table(text: &str) -> String {
    let start = text.find("freshness against").expect("a freshness table");
    let end = text[start..]
        .find("last run:")
        .map_or(text.len(), |i| start + i);
    text[start..end].to_owned()
}

fn freshness(status: &Status) -> Vec<(Option<String>, String, String)> {
    status
        .streams
        .iter()
        .map(|s| (s.account.clone(), s.stream.clone(), s.freshness.describe()))
        .collect()
}

fn single() -> (Config, Status) {
    let config = config::parse(
        "onepassword-secops.yaml",
        "project_id: acme-secops-prod\nregion: us-central1\nstreams: [auditevents, signinattempts, itemusages]\nschedule:\n  cron: \"0 * * * *\"\n",
    )
    .unwrap();
    let accounts = config.accounts();
    let checkpoints = vec![
        Some(checkpoint(
            "auditevents",
            3150,
            "2026-11-25T08:57:12Z",
            "2026-11-25T09:00:03Z",
        )),
        Some(checkpoint(
            "signinattempts",
            21,
            "2026-11-25T07:40:00Z",
            "2026-11-25T08:00:02Z",
        )),
        None,
    ];
    let status = status::assemble(
        &config,
        &accounts,
        &fixture("single.json"),
        &checkpoints,
        at("2026-11-25T09:20:00Z"),
    );
    (config, status)
}

#[test]
fn one_account_hourly_fresh_late_and_stale() {
    let (_, status) = single();
    assert_eq!(status.schedule_interval_seconds, 3600);
    assert_eq!(
        freshness(&status),
        [
            (None, "auditevents".into(), "fresh".into()),
            (None, "signinattempts".into(), "late (missed 1 run)".into()),
            (
                None,
                "itemusages".into(),
                "stale (no successful run read)".into()
            ),
        ]
    );
    let audit = &status.streams[0];
    // The newest event (08:57:12) is 22 min 48 s old; the last successful run (09:00:04) 19 min 55 s.
    assert_eq!(audit.newest_event_age_seconds, Some(1368));
    assert_eq!(audit.last_success_age_seconds, Some(1195));
    assert_eq!(audit.recent_runs.len(), status::RUNS_SHOWN);
    let outcomes: Vec<(&str, bool, u64)> = audit
        .recent_runs
        .iter()
        .map(|r| (r.outcome.as_str(), r.ok, r.events))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("drained", true, 90),
            ("drained", true, 80),
            ("transient", false, 0),
            ("drained", true, 60),
            ("drained", true, 50)
        ]
    );
    let signin = &status.streams[1];
    assert_eq!(
        signin.last_success_at.as_deref(),
        Some("2026-11-25T08:00:04.250000Z")
    );
    assert_eq!(status.streams[2].last_success_at, None);

    let text = status::to_text(&status);
    insta::assert_snapshot!("single_text", freshness_table(&text));
    insta::assert_json_snapshot!("single_json", status.streams);
}

#[test]
fn several_accounts_every_minute_each_stream_on_its_own() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/accounts.yaml"),
    )
    .unwrap();
    let config = config::parse(
        "onepassword-secops.yaml",
        &format!("{text}schedule:\n  cron: \"* * * * *\"\n"),
    )
    .unwrap();
    let accounts = config.accounts();
    // acme: 2 streams, globex-eu: 3, initech: 1; only acme's audit events have a checkpoint.
    let mut checkpoints = vec![None; 6];
    checkpoints[0] = Some(checkpoint(
        "auditevents",
        812,
        "2026-11-25T09:19:40Z",
        "2026-11-25T09:20:01Z",
    ));
    let status = status::assemble(
        &config,
        &accounts,
        &fixture("accounts.json"),
        &checkpoints,
        at("2026-11-25T09:20:30Z"),
    );
    assert_eq!(status.schedule_interval_seconds, 60);
    let account = |name: &str| Some(name.to_owned());
    assert_eq!(
        freshness(&status),
        [
            (account("acme"), "auditevents".into(), "fresh".into()),
            (account("acme"), "signinattempts".into(), "fresh".into()),
            (account("globex-eu"), "auditevents".into(), "fresh".into()),
            (
                account("globex-eu"),
                "signinattempts".into(),
                "late (missed 4 runs)".into()
            ),
            (
                account("globex-eu"),
                "itemusages".into(),
                "late (missed 12 runs)".into()
            ),
            (
                account("initech"),
                "auditevents".into(),
                "late (missed 8 runs)".into()
            ),
        ]
    );
    assert_eq!(status.streams[0].newest_event_age_seconds, Some(50));
    // An account's history holds only its own runs of the stream.
    assert_eq!(status.streams[5].recent_runs.len(), 5);
    assert!(
        status.streams[5]
            .recent_runs
            .iter()
            .all(|r| r.events == 1 && r.at.as_str() <= "2026-11-25T09:12:59Z")
    );

    let text = status::to_text(&status);
    insta::assert_snapshot!("accounts_text", freshness_table(&text));
    insta::assert_json_snapshot!("accounts_json", status.streams);
}
