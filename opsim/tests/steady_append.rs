//! Events appended at a steady, possibly fractional rate to chosen streams, each timestamped at its
//! creation (`--append-per-second`, `--append-streams`, `append_steadily`), and requests counted per
//! token at `GET /opsim/requests` (a fingerprint and account, never the token).

mod support;

use std::time::Duration;

use opsim::{AppendRate, SimConfig, Simulator, Stream, TokenClaims, TokenGrant, append_steadily};

async fn page(base: &str, token: &str, stream: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{base}/api/v2/{stream}"))
        .bearer_auth(token)
        .body(r#"{"limit":1000,"start_time":"2000-01-01T00:00:00Z"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn appends_at_the_rate_to_the_chosen_streams_each_event_timestamped_at_creation() {
    let sim = Simulator::start(SimConfig::new(5).with_token(TokenGrant::all_features("t")))
        .await
        .unwrap();
    let started = chrono::Utc::now();
    let task = append_steadily(
        &sim,
        &[Stream::SignInAttempts, Stream::ItemUsages],
        AppendRate::per_second(20.0).unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(1_030)).await;
    task.abort();
    let stopped = chrono::Utc::now();
    for stream in [Stream::SignInAttempts, Stream::ItemUsages] {
        let events = sim.events(stream);
        assert!(
            (19..=21).contains(&events.len()),
            "{stream}: {} events in about a second at 20/s",
            events.len()
        );
        // Steady: one about every 50 ms, each timestamped when it was made.
        for pair in events.windows(2) {
            let gap = pair[1].timestamp - pair[0].timestamp;
            assert!(
                gap > chrono::Duration::milliseconds(20)
                    && gap < chrono::Duration::milliseconds(150),
                "{stream}: gap {gap}"
            );
        }
        assert!(
            events
                .iter()
                .all(|e| e.timestamp > started && e.timestamp < stopped)
        );
    }
    assert_eq!(sim.event_count(Stream::AuditEvents), 0, "not chosen");
}

#[test]
fn fractional_rates_spread_events_out() {
    let rate = AppendRate::per_second(0.5).unwrap();
    assert_eq!(rate.period(), Duration::from_secs(2));
    assert_eq!(rate.due(Duration::from_secs(5)), 2);
}

#[tokio::test]
async fn the_binary_appends_fractional_rates_to_the_named_streams() {
    let served = support::serve(&[
        "--audit-events",
        "0",
        "--token",
        "bin-token",
        "--append-per-second",
        "2.5",
        "--append-streams",
        "auditevents,itemusages",
    ]);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let audit = page(&served.base, "bin-token", "auditevents").await;
    let usages = page(&served.base, "bin-token", "itemusages").await;
    let signins = page(&served.base, "bin-token", "signinattempts").await;
    let count = |p: &serde_json::Value| p["items"].as_array().unwrap().len();
    assert!((4..=6).contains(&count(&audit)), "{audit}");
    assert!((4..=6).contains(&count(&usages)), "{usages}");
    assert_eq!(count(&signins), 0);
}

#[test]
fn the_binary_refuses_a_bad_rate_or_stream() {
    for (flag, says) in [
        ("--append-per-second=-1", "above 0, got -1"),
        ("--append-per-second=inf", "above 0, got inf"),
        ("--append-streams=audit", "unknown stream \"audit\""),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsim"))
            .args(["serve", "--token", "t", flag])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
}

#[tokio::test]
async fn requests_are_counted_per_token_by_fingerprint_and_account() {
    let jwt = opsim::mint_token(&TokenClaims::new(
        "events.1password.com",
        &["auditevents", "signinattempts"],
        chrono::Utc::now().timestamp(),
    ));
    let sim = Simulator::start(
        SimConfig::new(6)
            .with_events(Stream::AuditEvents, 3)
            .with_token(TokenGrant::from_token(jwt.clone()))
            .with_token(TokenGrant::all_features("plain-secret-token")),
    )
    .await
    .unwrap();
    let base = sim.base_url();
    for _ in 0..3 {
        page(&base, &jwt, "auditevents").await;
    }
    page(&base, &jwt, "signinattempts").await;
    page(&base, "plain-secret-token", "itemusages").await;
    reqwest::Client::new()
        .get(format!("{base}/api/v2/auth/introspect"))
        .bearer_auth("plain-secret-token")
        .send()
        .await
        .unwrap();
    // Refused tokens are nobody's requests.
    page(&base, "unknown-token", "auditevents").await;
    let text = reqwest::get(format!("{base}/opsim/requests"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !text.contains("plain-secret-token") && !text.contains(&jwt),
        "{text}"
    );
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tokens = body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{body}");
    let of = |fp: &str| tokens.iter().find(|t| t["fingerprint"] == fp).unwrap();
    let minted = of(&opsim::fingerprint(&jwt));
    assert_eq!(minted["account"], "OPSIMACCOUNT00000000000000");
    assert_eq!(minted["requests"]["auditevents"], 3);
    assert_eq!(minted["requests"]["signinattempts"], 1);
    assert_eq!(minted["total"], 4);
    let plain = of(&opsim::fingerprint("plain-secret-token"));
    assert_eq!(plain["account"], serde_json::Value::Null);
    assert_eq!(plain["requests"]["itemusages"], 1);
    assert_eq!(plain["requests"]["introspect"], 1);
    assert_eq!(plain["total"], 2);
    assert_eq!(sim.requests_by_token().len(), 2);
}
