//! Shared by opsim's integration tests: the `opsim` binary serving on a free port.
#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

/// `opsim serve --port 0 ARGS…`, running until dropped.
#[derive(Debug)]
pub struct Served {
    child: Child,
    /// Its base URL, from the listening line.
    pub base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        // Already gone is fine: the test is over either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `opsim serve --port 0 args…` and waits for its listening line.
pub fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opsim"))
        .args(["serve", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start opsim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    let base = line
        .trim()
        .strip_prefix("opsim listening on ")
        .unwrap_or_else(|| panic!("not a listening line: {line:?}"))
        .to_owned();
    Served { child, base }
}
