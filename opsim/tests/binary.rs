//! The `opsim` binary prints its listening line and serves the API.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_serves_and_announces_its_address() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opsim"))
        .args([
            "serve",
            "--port",
            "0",
            "--audit-events",
            "12",
            "--token",
            "bin-token",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("opsim listening on ")
        .expect("listening line")
        .to_owned();
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
    child.kill().unwrap();
    child.wait().unwrap();
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
