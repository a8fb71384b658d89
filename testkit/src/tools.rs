//! Finding the tools `scripts/install-test-deps.sh` installs, and free loopback ports.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives one level below the workspace root")
        .to_path_buf()
}

/// The path of test tool `name`: `$TESTKIT_<NAME>` if set (upper snake case, e.g.
/// `TESTKIT_FAKE_GCS_SERVER`), else `.tools/bin/<name>` in the workspace, else the first `name` on
/// `PATH`. Panics, naming the fix, when it is nowhere: a missing tool fails a test, never skips it.
pub fn tool(name: &str) -> PathBuf {
    let var = format!("TESTKIT_{}", name.to_uppercase().replace(['-', '.'], "_"));
    if let Some(path) = std::env::var_os(&var) {
        return PathBuf::from(path);
    }
    let local = workspace_root().join(".tools/bin").join(name);
    if local.exists() {
        return local;
    }
    if let Some(found) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
    {
        return found;
    }
    panic!(
        "test tool `{name}` is not installed: run scripts/install-test-deps.sh \
         (or set {var} to its path)"
    );
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("cannot bind 127.0.0.1:0 to find a free port")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tools_by_override_and_path() {
        assert!(workspace_root().join("Cargo.toml").exists());
        // `sh` is on every PATH.
        assert!(tool("sh").ends_with("sh"));
        let result = std::panic::catch_unwind(|| tool("definitely-not-a-tool-xyz"));
        let message = *result.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("scripts/install-test-deps.sh"),
            "{message}"
        );
    }
}
