//! A workspace binary for a test of another package (Cargo only hands a test the binaries of its
//! own package): built on first use with the cargo running the tests, same profile, path from
//! cargo's own build report.

use std::path::PathBuf;
use std::process::Command;

use crate::tools::workspace_root;

/// The path of binary `bin` of workspace package `package`, built (debug profile) if needed.
/// Panics with cargo's own error when it cannot be built.
pub fn cargo_bin(package: &str, bin: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "--message-format=json", "-p", package, "--bin", bin])
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {package}'s {bin}: {e}"));
    assert!(
        output.status.success(),
        "cargo build -p {package} --bin {bin} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == bin)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo built no executable named {bin} in {package}"))
}
