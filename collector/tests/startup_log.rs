//! A collector that cannot start says so where Cloud Logging reads it: one JSON line on standard
//! output with severity ERROR (what `provision verify` reports as invalid-configuration), and the
//! token in none of it.

use std::process::{Command, Stdio};

#[test]
fn a_refused_configuration_is_logged_as_a_json_error_line() {
    let token = "startup-log-test-token";
    let output = Command::new(env!("CARGO_BIN_EXE_collector"))
        .arg("serve")
        .env_clear()
        .env("OP_BEARER_TOKEN", token)
        .env("GCS_BUCKET", "b")
        .env("PAGE_SIZE", "5000")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line: serde_json::Value = stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON line in {stdout:?}"));
    assert_eq!(line["severity"], "ERROR");
    assert_eq!(line["message"], "collector cannot start");
    assert!(
        line["error"].as_str().unwrap().contains("PAGE_SIZE"),
        "{line}"
    );
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
    let errors = stdout.matches(r#""severity":"ERROR""#).count();
    assert_eq!(errors, 1, "one ERROR line: {stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("PAGE_SIZE"),
        "a person reads the same on standard error: {stderr}"
    );
    let all = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(!all.contains(token));

    let text = Command::new(env!("CARGO_BIN_EXE_collector"))
        .arg("serve")
        .env_clear()
        .env("LOG_FORMAT", "text")
        .env("PAGE_SIZE", "5000")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(2));
    assert!(
        !String::from_utf8_lossy(&text.stdout).starts_with('{'),
        "LOG_FORMAT=text keeps plain text"
    );
}
