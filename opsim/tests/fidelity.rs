//! Where the simulator follows the real service rather than the happy path: tokens' own features,
//! both rate limits and every way a 429 says when to come back, and the edges of a log
//! (`"items":null`, `has_more: true` before an empty page).

mod support;

use std::process::Command;

use opsim::{RateLimits, RetryAfter, SimConfig, Simulator, Stream, TokenGrant};
use serde_json::{Value, json};

const TOKEN: &str = "fidelity-token";

async fn post(base: &str, token: &str, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn opsim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_opsim"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn a_minted_token_reads_only_its_features_and_introspect_lists_only_them() {
    let token = opsim(&[
        "mint-token",
        "--features",
        "auditevents",
        "--expires-in-days",
        "30",
    ]);
    let served = support::serve(&[
        "--audit-events",
        "3",
        "--signin-attempts",
        "3",
        "--item-usages",
        "3",
        "--token",
        &token,
    ]);
    let base = &served.base;
    let mut statuses = Vec::new();
    for stream in ["auditevents", "signinattempts", "itemusages"] {
        let path = format!("/api/v2/{stream}");
        statuses.push(post(base, &token, &path, json!({})).await.status().as_u16());
    }
    let introspect: Value = reqwest::Client::new()
        .get(format!("{base}/api/v2/auth/introspect"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(served);
    assert_eq!(statuses, [200, 401, 401]);
    assert_eq!(introspect["features"], json!(["auditevents"]));
    let claims = opsim::TokenClaims::decode(&token).unwrap();
    assert_eq!(introspect["account_uuid"], claims.account_uuid.as_str());
    assert_eq!(claims.aud, ["events.1password.com"]);
}

#[test]
fn mint_token_refuses_an_unknown_feature() {
    let out = Command::new(env!("CARGO_BIN_EXE_opsim"))
        .args(["mint-token", "--features", "auditevents,logins"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("logins"));
}

async fn limited(limits: RateLimits, style: RetryAfter) -> Simulator {
    Simulator::start(
        SimConfig::new(1)
            .with_token(TokenGrant::all_features(TOKEN))
            .with_token(TokenGrant::all_features("other"))
            .with_events(Stream::AuditEvents, 5)
            .with_rate_limits(limits)
            .with_retry_after(style),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_hourly_limit_binds_after_the_minute_one_and_says_so_in_seconds_a_date_or_nothing() {
    let limits = RateLimits {
        per_minute: 600,
        per_hour: 3,
    };
    for style in [
        RetryAfter::Seconds,
        RetryAfter::HttpDate,
        RetryAfter::Omitted,
    ] {
        let sim = limited(limits, style).await;
        let base = sim.base_url();
        for _ in 0..3 {
            assert_eq!(
                post(&base, TOKEN, "/api/v2/auditevents", json!({}))
                    .await
                    .status(),
                200
            );
        }
        let refused = post(&base, TOKEN, "/api/v2/auditevents", json!({})).await;
        assert_eq!(refused.status(), 429, "{style:?}");
        let header = refused
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        match style {
            RetryAfter::Seconds => {
                let seconds: u64 = header.unwrap().parse().unwrap();
                assert!((3500..=3600).contains(&seconds), "{seconds}");
            }
            RetryAfter::HttpDate => {
                let at = chrono::DateTime::parse_from_rfc2822(&header.unwrap()).unwrap();
                let ahead = at.to_utc() - chrono::Utc::now();
                assert!(ahead > chrono::Duration::minutes(58), "{ahead}");
            }
            RetryAfter::Omitted => assert_eq!(header, None),
        }
        // The limit is per token.
        assert_eq!(
            post(&base, "other", "/api/v2/auditevents", json!({}))
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn a_429_fault_can_give_its_retry_after_as_an_http_date() {
    let sim = limited(RateLimits::REAL, RetryAfter::Seconds).await;
    sim.push_fault(opsim::Fault::TooManyRequestsUntil(
        std::time::Duration::from_secs(5),
    ));
    let refused = post(&sim.base_url(), TOKEN, "/api/v2/auditevents", json!({})).await;
    assert_eq!(refused.status(), 429);
    let date = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(date.ends_with(" GMT"), "{date}");
    let ahead = chrono::DateTime::parse_from_rfc2822(&date)
        .unwrap()
        .to_utc()
        - chrono::Utc::now();
    assert!(ahead > chrono::Duration::seconds(4) && ahead <= chrono::Duration::seconds(7));
}

#[tokio::test]
async fn page_quirks_send_null_items_and_has_more_before_an_empty_page() {
    let sim = Simulator::start(
        SimConfig::new(2)
            .with_token(TokenGrant::all_features(TOKEN))
            .with_events(Stream::ItemUsages, 4)
            .with_page_quirks(),
    )
    .await
    .unwrap();
    let base = sim.base_url();
    let body = |r: reqwest::Response| async { r.text().await.unwrap() };
    // Four events in pages of two: both pages are full, so both say has_more...
    let first: Value = serde_json::from_str(
        &body(
            post(
                &base,
                TOKEN,
                "/api/v2/itemusages",
                json!({"limit": 2, "start_time": "2000-01-01T00:00:00Z"}),
            )
            .await,
        )
        .await,
    )
    .unwrap();
    let second: Value = serde_json::from_str(
        &body(
            post(
                &base,
                TOKEN,
                "/api/v2/itemusages",
                json!({"cursor": first["cursor"]}),
            )
            .await,
        )
        .await,
    )
    .unwrap();
    assert_eq!(
        (first["has_more"].clone(), second["has_more"].clone()),
        (json!(true), json!(true))
    );
    // ...and the page after the last full one is empty, with null items and the same cursor.
    let text = body(
        post(
            &base,
            TOKEN,
            "/api/v2/itemusages",
            json!({"cursor": second["cursor"]}),
        )
        .await,
    )
    .await;
    let third: Value = serde_json::from_str(&text).unwrap();
    assert!(text.contains(r#""items":null"#), "{text}");
    assert_eq!(third["has_more"], false);
    assert_eq!(third["cursor"], second["cursor"]);
    assert_eq!(sim.served(Stream::ItemUsages).len(), 4);
}

#[tokio::test]
async fn raw_items_are_served_byte_for_byte_in_arrival_order() {
    let sim = Simulator::start(
        SimConfig::new(3)
            .with_token(TokenGrant::all_features(TOKEN))
            .with_events(Stream::AuditEvents, 2),
    )
    .await
    .unwrap();
    let raws = [
        r#"{"uuid": "FIXTUREA", "timestamp": "2021-01-01T00:00:00-03:00", "note": "caf\u00e9 \/"}"#,
        r#"{"timestamp":"2020-01-01T00:00:00Z","uuid":"FIXTUREB"}"#,
    ];
    sim.append_raw(Stream::AuditEvents, raws.map(str::to_owned));
    let text = post(
        &sim.base_url(),
        TOKEN,
        "/api/v2/auditevents",
        json!({"limit": 10, "start_time": "2000-01-01T00:00:00Z"}),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        text.contains(&format!("{},{}]", raws[0], raws[1])),
        "{text}"
    );
    let log = sim.events(Stream::AuditEvents);
    assert_eq!(
        (log[2].uuid.as_str(), log[3].uuid.as_str()),
        ("FIXTUREA", "FIXTUREB")
    );
}
