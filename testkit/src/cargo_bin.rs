//! A workspace binary for a test of another package (Cargo only hands a test the binaries of its
//! own package): the one the same cargo run built next to the test, when it is newer than the
//! package's sources; otherwise built with the cargo running the tests (path from cargo's report).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::tools::workspace_root;

fn newest(path: &Path) -> SystemTime {
    let own = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    match std::fs::read_dir(path) {
        Ok(entries) => entries
            .flatten()
            .map(|e| newest(&e.path()))
            .fold(own, SystemTime::max),
        Err(_) => own,
    }
}

fn sibling(package: &str, bin: &str) -> Option<PathBuf> {
    // A test runs from target/<profile>/deps/; the workspace's binaries sit in target/<profile>/.
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join(bin);
    let built = std::fs::metadata(&candidate).ok()?.modified().ok()?;
    let root = workspace_root();
    let sources = [
        root.join(package).join("src"),
        root.join(package).join("Cargo.toml"),
        root.join("Cargo.lock"),
    ]
    .iter()
    .map(|p| newest(p))
    .fold(SystemTime::UNIX_EPOCH, SystemTime::max);
    (built >= sources).then_some(candidate)
}

/// The path of binary `bin` of workspace package `package`; built (debug profile) when the one next
/// to the test is missing or older than the package's sources. Panics with cargo's own error when
/// it cannot be built.
pub fn cargo_bin(package: &str, bin: &str) -> PathBuf {
    if let Some(found) = sibling(package, bin) {
        return found;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--message-format=json",
            "-p",
            package,
            "--bin",
            bin,
        ])
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
