//! `provision check-token` against the simulator: the token's own claims count as much as the
//! API's answer, an `--api-base` override is named as the cause of a host mismatch, and a token
//! that cannot be one is refused with its reason, never echoed.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal.yaml");
    std::fs::copy(source, dir.path().join("onepassword-secops.yaml")).unwrap();
    dir
}

fn check_token(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_provision"))
        .arg("check-token")
        .args(args)
        .current_dir(dir)
        .env_remove("OP_BEARER_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn token(features: &[&str]) -> String {
    opsim::mint_token(&opsim::TokenClaims::new(
        "events.1password.com",
        features,
        chrono::Utc::now().timestamp(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_base_override_is_blamed_not_the_tokens_audience() {
    let token = token(&["auditevents"]);
    let sim = opsim::Simulator::start(
        opsim::SimConfig::new(1).with_token(opsim::TokenGrant::from_token(token.clone())),
    )
    .await
    .unwrap();
    let base = sim.base_url();
    let dir = config_dir();
    let out = tokio::task::spawn_blocking(move || {
        check_token(
            dir.path(),
            &["--config", "onepassword-secops.yaml", "--api-base", &base],
            token.as_bytes(),
        )
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "--api-base {}, which overrides https://events.1password.com",
            sim.base_url()
        )),
        "{stderr}"
    );
    // The config's host (1password.com) is the token's: nothing to warn about there.
    assert!(!stderr.contains("the token names http"), "{stderr}");
    assert!(!stderr.contains("warning:"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("features:     auditevents"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_the_tokens_claims_lack_fails_the_check_like_the_collector_start() {
    // The simulator would let this token read every stream; its claims say only audit events.
    let token = token(&["auditevents"]);
    let sim = opsim::Simulator::start(
        opsim::SimConfig::new(2).with_token(opsim::TokenGrant::all_features(token.clone())),
    )
    .await
    .unwrap();
    let base = sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/full.yaml");
    std::fs::copy(full, dir.path().join("onepassword-secops.yaml")).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        check_token(
            dir.path(),
            &[
                "--config",
                "onepassword-secops.yaml",
                "--api-base",
                &base,
                "--format",
                "json",
            ],
            token.as_bytes(),
        )
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["features"],
        serde_json::json!(["auditevents", "signinattempts", "itemusages"])
    );
    assert_eq!(
        report["missing_features"],
        serde_json::json!(["signinattempts", "itemusages"])
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lacks the signinattempts, itemusages feature"),
        "{stderr}"
    );
}

#[test]
fn a_token_that_cannot_be_one_is_refused_with_the_reason_and_the_cause_once() {
    let dir = config_dir();
    let cases: [(&[u8], &str); 3] = [
        (b"abc\ndefsecret\n", "line break at character 4"),
        (b"abc\x07defsecret", "U+0007"),
        (b"abc\xe2\x80\x9cdefsecret", "non-ASCII character (U+201C)"),
    ];
    for (input, needle) in cases {
        let out = check_token(dir.path(), &["--api-base", "http://127.0.0.1:9"], input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains(needle), "{stderr}");
        assert!(
            !stderr.contains("defsecret"),
            "the token is never shown: {stderr}"
        );
    }
    let out = check_token(dir.path(), &[], b"\xff\xfe\x00token");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not text (byte 1 is not UTF-8)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("did not contain valid UTF-8: stream did not"),
        "{stderr}"
    );
}

#[test]
fn the_help_text() {
    let output = Command::new(env!("CARGO_BIN_EXE_provision"))
        .args(["check-token", "--help"])
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    assert!(output.status.success());
    insta::assert_snapshot!(
        "provision_check_token",
        String::from_utf8(output.stdout).unwrap()
    );
}
