//! The simulator against the published Events API's behaviour, over real HTTP on loopback.

use std::time::Duration;

use opsim::{Fault, FaultPlan, SimConfig, Simulator, Stream, TokenClaims, TokenGrant};
use serde_json::{Value, json};

const TOKEN: &str = "test-token-all-features";

async fn sim(n: usize) -> Simulator {
    Simulator::start(
        SimConfig::new(7)
            .with_token(TokenGrant::all_features(TOKEN))
            .with_events(Stream::AuditEvents, n)
            .with_events(Stream::SignInAttempts, n / 2)
            .with_events(Stream::ItemUsages, n / 3),
    )
    .await
    .unwrap()
}

async fn post(sim: &Simulator, path: &str, body: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn page(sim: &Simulator, path: &str, body: Value) -> Value {
    let response = post(sim, path, &body.to_string()).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Pulls every page of `path`, returning the raw items (as text slices of each body) and cursors.
async fn drain(sim: &Simulator, path: &str, limit: usize) -> (Vec<String>, String) {
    let mut body = json!({"limit": limit, "start_time": "2000-01-01T00:00:00Z"});
    let mut raws = Vec::new();
    loop {
        let text = post(sim, path, &body.to_string())
            .await
            .text()
            .await
            .unwrap();
        #[derive(serde::Deserialize)]
        struct Page<'a> {
            cursor: String,
            has_more: bool,
            #[serde(borrow)]
            items: Vec<&'a serde_json::value::RawValue>,
        }
        let page: Page = serde_json::from_str(&text).unwrap();
        raws.extend(page.items.iter().map(|r| r.get().to_owned()));
        body = json!({"cursor": page.cursor});
        if !page.has_more {
            return (raws, page.cursor);
        }
    }
}

#[tokio::test]
async fn every_stream_on_v1_and_v2_pages_to_the_end_exactly_once() {
    let sim = sim(250).await;
    for stream in Stream::ALL {
        let log = sim.events(stream);
        for version in ["v1", "v2"] {
            let path = format!("/api/{version}/{stream}");
            let (raws, _) = drain(&sim, &path, 100).await;
            let expected: Vec<String> = log.iter().map(|e| e.raw.clone()).collect();
            assert_eq!(
                raws, expected,
                "{path}: every event once, in order, byte-identical"
            );
        }
    }
    let served = sim.served(Stream::AuditEvents);
    assert_eq!(served.len(), 500, "two full drains recorded");
    assert_eq!(&served[..250], &served[250..]);
}

#[tokio::test]
async fn empty_page_repeats_the_cursor_and_appends_appear_after_it() {
    let sim = sim(10).await;
    let (_, cursor) = drain(&sim, "/api/v2/auditevents", 1000).await;
    let empty = page(&sim, "/api/v2/auditevents", json!({"cursor": cursor})).await;
    assert_eq!(empty["cursor"], cursor.as_str());
    assert_eq!(empty["has_more"], false);
    assert_eq!(empty["items"], json!([]));

    sim.append(Stream::AuditEvents, 3);
    let fresh = page(&sim, "/api/v2/auditevents", json!({"cursor": cursor})).await;
    let uuids: Vec<&str> = fresh["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uuid"].as_str().unwrap())
        .collect();
    let log = sim.events(Stream::AuditEvents);
    let expected: Vec<&str> = log[10..].iter().map(|e| e.uuid.as_str()).collect();
    assert_eq!(uuids, expected);
    assert_ne!(fresh["cursor"], cursor.as_str());
}

#[tokio::test]
async fn reset_cursor_limits_and_windows() {
    let sim = sim(50).await;
    let default = page(&sim, "/api/v2/auditevents", json!({})).await;
    assert_eq!(
        default["items"].as_array().unwrap().len(),
        50,
        "default window is the last hour"
    );
    for limit in [1, 7, 1000] {
        let p = page(&sim, "/api/v2/auditevents", json!({"limit": limit})).await;
        assert_eq!(p["items"].as_array().unwrap().len(), limit.min(50));
        assert_eq!(p["has_more"], limit < 50);
    }
    let log = sim.events(Stream::AuditEvents);
    let start = log[10].timestamp.to_rfc3339();
    let end = log[20].timestamp.to_rfc3339();
    let window = page(
        &sim,
        "/api/v2/auditevents",
        json!({"limit": 5, "start_time": start, "end_time": end}),
    )
    .await;
    assert_eq!(window["items"][0]["uuid"], log[10].uuid.as_str());
    assert_eq!(window["has_more"], true);
    let rest = page(
        &sim,
        "/api/v2/auditevents",
        json!({"cursor": window["cursor"]}),
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 5);
    assert_eq!(rest["has_more"], false, "end_time bounds the window");
    sim.append(Stream::AuditEvents, 2);
    let after = page(
        &sim,
        "/api/v2/auditevents",
        json!({"cursor": rest["cursor"]}),
    )
    .await;
    assert_eq!(
        after["items"],
        json!([]),
        "events after end_time never enter the window"
    );
    let future = page(
        &sim,
        "/api/v2/auditevents",
        json!({"start_time": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(future["items"], json!([]));
}

#[tokio::test]
async fn bad_bodies_are_400_with_the_error_shape() {
    let sim = sim(5).await;
    for body in [
        r#"{"limit":0}"#,
        r#"{"limit":1001}"#,
        r#"{"start_time":"not a time"}"#,
        r#"{"cursor":"bm9wZQ"}"#,
        "{not json",
    ] {
        let response = post(&sim, "/api/v2/auditevents", body).await;
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["Error"]["Message"].as_str().unwrap().len() > 5,
            "{body}: {error}"
        );
    }
    // A cursor of another stream is refused too.
    let audit = page(&sim, "/api/v2/auditevents", json!({"limit": 1})).await;
    let response = post(
        &sim,
        "/api/v2/itemusages",
        &json!({"cursor": audit["cursor"]}).to_string(),
    )
    .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn unauthorized_tokens_get_401() {
    let sim = Simulator::start(
        SimConfig::new(1)
            .with_token(TokenGrant {
                token: "audit-only".into(),
                features: vec![Stream::AuditEvents],
                expires_at: None,
            })
            .with_token(TokenGrant {
                token: "expired".into(),
                features: Stream::ALL.to_vec(),
                expires_at: Some(chrono::Utc::now() - chrono::Duration::minutes(1)),
            }),
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", sim.base_url());
    let cases = [
        (None, "/api/v2/auditevents"),
        (Some("wrong"), "/api/v2/auditevents"),
        (Some("expired"), "/api/v2/auditevents"),
        (Some("audit-only"), "/api/v2/signinattempts"),
    ];
    for (token, path) in cases {
        let mut request = client.post(url(path)).body("{}");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{token:?} {path}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["Error"]["Message"]
                .as_str()
                .unwrap()
                .starts_with("Unauthorized")
        );
    }
    let ok = client
        .post(url("/api/v2/auditevents"))
        .bearer_auth("audit-only")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn introspect_v2_and_deprecated_v1() {
    let claims = TokenClaims::new("events.1password.com", &["auditevents"], 1);
    let token = opsim::mint_token(&claims);
    let sim = Simulator::start(SimConfig::new(3).with_token(TokenGrant {
        token: token.clone(),
        features: vec![Stream::AuditEvents, Stream::ItemUsages],
        expires_at: None,
    }))
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let v2: Value = client
        .get(format!("{}/api/v2/auth/introspect", sim.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v2["features"], json!(["auditevents", "itemusages"]));
    assert_eq!(v2["uuid"], claims.sub.as_str());
    assert_eq!(v2["account_uuid"], claims.account_uuid.as_str());
    assert!(chrono::DateTime::parse_from_rfc3339(v2["issued_at"].as_str().unwrap()).is_ok());
    let v1: Value = client
        .get(format!("{}/api/auth/introspect", sim.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v1["Features"], v2["features"]);
    assert_eq!(v1["UUID"], v2["uuid"]);
    let denied = client
        .get(format!("{}/api/v2/auth/introspect", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
}

#[tokio::test]
async fn each_fault_kind_is_injected_then_service_resumes() {
    let sim = sim(20).await;
    sim.set_faults(FaultPlan::queue(vec![
        Fault::TooManyRequests {
            retry_after: Some(3),
        },
        Fault::TooManyRequests { retry_after: None },
        Fault::ServerError(500),
        Fault::ServerError(502),
        Fault::ServerError(503),
    ]));
    let r = post(&sim, "/api/v2/auditevents", "{}").await;
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["retry-after"].to_str().unwrap()
        ),
        (429, "3")
    );
    let r = post(&sim, "/api/v2/auditevents", "{}").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());
    for code in [500, 502, 503] {
        let r = post(&sim, "/api/v2/auditevents", "{}").await;
        assert_eq!(r.status().as_u16(), code);
        let error: Value = r.json().await.unwrap();
        assert!(error["Error"]["Message"].is_string());
    }

    sim.push_fault(Fault::CutBody);
    let r = post(&sim, "/api/v2/auditevents", "{}").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.bytes().await.is_err(),
        "a cut body is a read error for the client"
    );

    sim.push_fault(Fault::MalformedJson);
    let text = post(&sim, "/api/v2/auditevents", "{}")
        .await
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());

    sim.push_fault(Fault::Slow(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    let r = post(&sim, "/api/v2/auditevents", "{}").await;
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    assert!(
        sim.served(Stream::AuditEvents).len() == 20,
        "only the complete response counts as served"
    );
    assert_eq!(post(&sim, "/api/v2/auditevents", "{}").await.status(), 200);
}

#[tokio::test]
async fn random_faults_are_reproducible_for_a_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let sim = sim(5).await;
        sim.set_faults(FaultPlan::random(
            seed,
            0.5,
            vec![
                Fault::ServerError(503),
                Fault::TooManyRequests { retry_after: None },
            ],
        ));
        let mut out = Vec::new();
        for _ in 0..30 {
            out.push(
                post(&sim, "/api/v2/auditevents", "{}")
                    .await
                    .status()
                    .as_u16(),
            );
        }
        out
    }
    let a = statuses(11).await;
    assert_eq!(a, statuses(11).await);
    assert!(a.contains(&200) && a.iter().any(|s| *s != 200));
}

#[tokio::test]
async fn rate_limiter_answers_429_with_retry_after() {
    let sim = Simulator::start(
        SimConfig::new(1)
            .with_token(TokenGrant::all_features(TOKEN))
            .with_rate_limit(3),
    )
    .await
    .unwrap();
    for _ in 0..3 {
        assert_eq!(post(&sim, "/api/v2/auditevents", "{}").await.status(), 200);
    }
    let limited = post(&sim, "/api/v2/auditevents", "{}").await;
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
}

#[tokio::test]
async fn same_seed_same_bytes() {
    let end = chrono::Utc::now();
    let fixed = || {
        SimConfig::new(5)
            .with_backlog_end(end)
            .with_events(Stream::SignInAttempts, 30)
    };
    let a = Simulator::start(fixed())
        .await
        .unwrap()
        .events(Stream::SignInAttempts);
    let b = Simulator::start(fixed())
        .await
        .unwrap()
        .events(Stream::SignInAttempts);
    let raws =
        |events: &[opsim::LoggedEvent]| events.iter().map(|e| e.raw.clone()).collect::<Vec<_>>();
    assert_eq!(raws(&a), raws(&b));
    assert!(
        a.iter().any(|e| e.raw.contains("\\u00e9")),
        "escaped non-ASCII is present"
    );
    assert!(
        a.iter().any(|e| e.raw.contains('ë')),
        "raw non-ASCII is present"
    );
}

#[tokio::test]
async fn unknown_paths_are_404_with_the_error_shape() {
    let sim = sim(1).await;
    let r = post(&sim, "/api/v3/auditevents", "{}").await;
    assert_eq!(r.status(), 404);
    let r = post(&sim, "/api/v2/users", "{}").await;
    assert_eq!(r.status(), 404);
    let error: Value = r.json().await.unwrap();
    assert_eq!(error["Error"]["Message"], "Not Found");
}
