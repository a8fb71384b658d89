//! The per-page delay (`--page-delay-ms`, `SimConfig::with_page_delay`): every events request is
//! answered that much later, as over a real network; other endpoints are not delayed.

mod support;

use std::time::{Duration, Instant};

use opsim::{SimConfig, Simulator, Stream, TokenGrant};

async fn page_after(base: &str, token: &str) -> (Duration, usize) {
    let started = Instant::now();
    let page: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v2/auditevents"))
        .bearer_auth(token)
        .body(r#"{"limit":1000}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (started.elapsed(), page["items"].as_array().unwrap().len())
}

#[tokio::test]
async fn every_page_waits_the_configured_delay_and_introspection_does_not() {
    let delay = Duration::from_millis(300);
    let sim = Simulator::start(
        SimConfig::new(3)
            .with_token(TokenGrant::all_features("delay-token"))
            .with_events(Stream::AuditEvents, 5)
            .with_page_delay(delay),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        let (took, items) = page_after(&sim.base_url(), "delay-token").await;
        assert_eq!(items, 5);
        assert!(
            took >= delay,
            "a page came after {took:?}, before the {delay:?} delay"
        );
    }
    // Introspection is not a page: it answers at once (well under the page delay).
    let started = Instant::now();
    let status = reqwest::Client::new()
        .get(format!("{}/api/v2/auth/introspect", sim.base_url()))
        .bearer_auth("delay-token")
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success());
    assert!(started.elapsed() < delay, "{:?}", started.elapsed());
}

#[tokio::test]
async fn the_binary_takes_page_delay_ms() {
    let served = support::serve(&[
        "--audit-events",
        "3",
        "--token",
        "bin-delay-token",
        "--page-delay-ms",
        "250",
    ]);
    let base = &served.base;
    let (took, items) = page_after(base, "bin-delay-token").await;
    drop(served);
    assert_eq!(items, 3);
    assert!(took >= Duration::from_millis(250), "{took:?}");
}
