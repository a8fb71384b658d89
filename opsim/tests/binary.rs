//! The `opsim` binary prints its listening line and serves the API.

mod support;

use std::process::Command;

#[tokio::test]
async fn binary_serves_and_announces_its_address() {
    let served = support::serve(&["--audit-events", "12", "--token", "bin-token"]);
    let base = &served.base;
    assert!(base.starts_with("http://127.0.0.1:"));
    let page: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v2/auditevents"))
        .bearer_auth("bin-token")
        .body(r#"{"limit":1000}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(served);
    assert_eq!(page["items"].as_array().unwrap().len(), 12);
}

#[test]
fn mint_token_prints_a_jwt_shaped_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_opsim"))
        .args([
            "mint-token",
            "--features",
            "auditevents,itemusages",
            "--expires-in-days",
            "30",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(token.trim().split('.').count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_drains_a_stream_and_reports_counts() {
    let sim = opsim::Simulator::start(
        opsim::SimConfig::new(3)
            .with_token(opsim::TokenGrant::all_features("pull-token"))
            .with_events(opsim::Stream::AuditEvents, 2_500),
    )
    .await
    .unwrap();
    let base = sim.base_url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_opsim"))
            .args([
                "pull",
                "--base",
                &base,
                "--token",
                "pull-token",
                "--page-size",
                "1000",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("pulled 2500 events in 3 pages"), "{text}");
    assert_eq!(sim.served(opsim::Stream::AuditEvents).len(), 2_500);
}

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_opsim"))
        .args(args)
        .arg("--help")
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_help_text() {
    insta::assert_snapshot!("opsim", help(&[]));
    insta::assert_snapshot!("opsim_serve", help(&["serve"]));
    insta::assert_snapshot!("opsim_mint_token", help(&["mint-token"]));
    insta::assert_snapshot!("opsim_pull", help(&["pull"]));
}
