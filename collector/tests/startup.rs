//! What the collector refuses, or warns about, before it sends a single request: a stream the
//! token lacks, a token that cannot be a bearer token, bad object paths, two sinks, a bad listen
//! address, bad backfill flags next to bad settings; and windows older than the API keeps.

mod support;

use std::time::Duration;

use collector::pipeline::FailureReason;
use contract::summary::{CANNOT_START_MESSAGE, fields};
use support::{World, log_lines};

/// The ERROR lines: their reason (the contract's closed set) and their error text.
fn errors(output: &std::process::Output) -> Vec<(FailureReason, String)> {
    log_lines(&output.stdout)
        .into_iter()
        .filter(|l| l["severity"] == "ERROR")
        .map(|l| {
            assert_eq!(l["message"], CANNOT_START_MESSAGE, "{l}");
            (
                serde_json::from_value(l[fields::REASON].clone()).unwrap(),
                l["error"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Runs `run-once` with `extra` and expects a start-up refusal: exit 2, one ERROR line holding
/// every needle with an invalid-configuration reason, no request to the API.
async fn refused(extra: &[(&str, &str)], args: &[&str], needles: &[&str]) -> String {
    refused_for(FailureReason::InvalidConfiguration, extra, args, needles).await
}

/// [`refused`], for `reason`.
async fn refused_for(
    reason: FailureReason,
    extra: &[(&str, &str)],
    args: &[&str],
    needles: &[&str],
) -> String {
    let world = World::new(5).await;
    let mut command = world.collector(&[&["run-once"], args].concat());
    for (k, v) in extra {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let errors = errors(&output);
    assert_eq!(errors.len(), 1, "one ERROR line: {errors:?}");
    let (found, error) = &errors[0];
    assert_eq!(*found, reason, "{error}");
    for needle in needles {
        assert!(error.contains(needle), "{needle:?} in {error}");
    }
    assert_eq!(world.sim.request_count(), 0, "nothing was sent");
    error.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_stream_the_token_lacks_stops_the_start_with_an_error_naming_it() {
    let token = opsim::mint_token(&opsim::TokenClaims::new(
        "events.1password.com",
        &["auditevents", "itemusages"],
        chrono::Utc::now().timestamp(),
    ));
    let error = refused_for(
        FailureReason::FeatureMissing,
        &[
            ("OP_BEARER_TOKEN", &token),
            ("STREAMS", "auditevents,signinattempts,itemusages"),
        ],
        &[],
        &["STREAMS: names signinattempts, but the bearer token lacks the signinattempts feature"],
    )
    .await;
    assert!(!error.contains("itemusages, but"), "{error}");
    assert!(!error.contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_a_newline_control_or_non_ascii_character_is_refused_at_once() {
    for (token, reason) in [
        ("integration-test-\ntoken", "line break at character 18"),
        ("integration-test-\u{1b}token", "U+001B"),
        (
            "integration-test-\u{e9}token",
            "non-ASCII character (U+00E9)",
        ),
    ] {
        let started = std::time::Instant::now();
        let error = refused(
            &[("OP_BEARER_TOKEN", token)],
            &[],
            &["OP_BEARER_TOKEN", reason],
        )
        .await;
        assert!(!error.contains("token\""), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not retried as a transient failure"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_keys_and_prefixes_with_dot_dot_empty_or_absolute_parts_are_refused_at_start() {
    refused(
        &[("STATE_KEY", "state/../../etc/auditevents.json")],
        &[],
        &["STATE_KEY", "\"..\" part"],
    )
    .await;
    refused(
        &[("STATE_PREFIX", "/var/state")],
        &[],
        &["STATE_PREFIX", "is absolute"],
    )
    .await;
    refused(
        &[("GCS_PREFIX", "logs//onepassword")],
        &[],
        &["GCS_PREFIX", "empty part"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_and_a_sink_url_together_are_a_configuration_error() {
    refused(
        &[("SINK_URL", "file:///tmp/out")],
        &[],
        &["SINK_URL", "GCS_BUCKET=", "both set"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_backfill_flags_and_bad_settings_are_reported_together() {
    let error = refused(
        &[("PAGE_SIZE", "lots")],
        &["--backfill", "--start", "yesterday", "--end", ""],
        &[
            "PAGE_SIZE",
            "--start: \"yesterday\" is not an RFC 3339 time",
            "--end: \"\" is not",
        ],
    )
    .await;
    // Each cause once per flag, never repeated by the error chain.
    assert_eq!(
        error.matches("premature end of input").count(),
        2,
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_listens_where_it_is_told_and_refuses_a_bad_address() {
    let world = World::new(3).await;
    let port = testkit::free_port();
    let child = world.spawn(
        &[
            "serve",
            "--listen-address",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ],
        &[],
    );
    let ready = support::healthy(port).await;
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(ready);
    let listening = log_lines(&output.stdout)
        .into_iter()
        .find(|l| l["message"] == "collector listening")
        .unwrap();
    assert_eq!(listening["address"], format!("127.0.0.1:{port}"));
    let bad = world
        .collector(&["serve", "--listen-address", "every interface"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        errors(&bad)[0]
            .1
            .contains("LISTEN_ADDRESS: \"every interface\" is not an IP address")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookbacks_and_backfills_older_than_the_retention_are_warned_about() {
    let world = World::new(5).await;
    let warnings = |output: &std::process::Output| -> Vec<String> {
        log_lines(&output.stdout)
            .into_iter()
            .filter(|l| l["severity"] == "WARNING" && l["warning"].is_string())
            .map(|l| l["warning"].as_str().unwrap().to_owned())
            .collect()
    };
    let output = world.run_once(&[("LOOKBACK_HOURS", "4000")]);
    assert_eq!(output.status.code(), Some(0));
    let found = warnings(&output);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("LOOKBACK_HOURS=4000 reaches back to"),
        "{found:?}"
    );
    assert!(
        found[0]
            .contains("keeps about 120 days: a first run of auditevents will miss its events from"),
        "{found:?}"
    );
    world.assert_exactly_once().await;

    let start = (chrono::Utc::now() - chrono::Duration::days(150)).to_rfc3339();
    let end = (chrono::Utc::now() - chrono::Duration::days(100)).to_rfc3339();
    let output = world
        .collector(&["run-once", "--backfill", "--start", &start, "--end", &end])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let found = warnings(&output);
    assert!(
        found[0].contains("its auditevents events from"),
        "{found:?}"
    );
    assert!(found[0].ends_with("are missing"), "{found:?}");
    assert!(
        warnings(&world.run_once(&[])).is_empty(),
        "the default 24 hours is fine"
    );
}
