//! Processes that cannot outlive their test: each runs in its own process group under a small
//! watchdog that ends the whole group when the handle drops, when the test panics, and when the test
//! process itself dies (the watchdog's standard input closes), even for a process held in a static.

use std::process::{Child, ChildStdin, Command, Stdio};

const WATCHDOG: &str = r#"
import os, signal, subprocess, sys, time
child = subprocess.Popen(sys.argv[2:], start_new_session=True, stdin=subprocess.DEVNULL)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(child.pid))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
try:
    sys.stdin.buffer.read()
except Exception:
    pass
for sig in (signal.SIGTERM, signal.SIGKILL):
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        break
    deadline = time.time() + 5
    while time.time() < deadline and child.poll() is None:
        time.sleep(0.05)
    if child.poll() is not None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        break
child.wait()
"#;

/// A process (and everything it starts) that is ended on drop.
#[derive(Debug)]
pub struct Reaped {
    watchdog: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
}

impl Reaped {
    /// Starts `command` (its program, arguments, environment and working folder as given; standard
    /// input null) under the watchdog, with `stdout` and `stderr` as its output.
    pub fn spawn(command: &Command, stdout: Stdio, stderr: Stdio) -> std::io::Result<Reaped> {
        let pid_dir = tempfile::tempdir()?;
        let pid_file = pid_dir.path().join("pid");
        let mut watchdog = Command::new("python3");
        watchdog
            .args(["-c", WATCHDOG])
            .arg(&pid_file)
            .arg(command.get_program())
            .args(command.get_args());
        if let Some(dir) = command.get_current_dir() {
            watchdog.current_dir(dir);
        }
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => watchdog.env(name, value),
                None => watchdog.env_remove(name),
            };
        }
        let mut child = watchdog
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()?;
        let stdin = child.stdin.take();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let pid = loop {
            if let Ok(text) = std::fs::read_to_string(&pid_file)
                && let Ok(pid) = text.trim().parse()
            {
                break pid;
            }
            if std::time::Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::io::Error::other(format!(
                    "the watchdog (python3) did not start {:?}",
                    command.get_program()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        Ok(Reaped {
            watchdog: child,
            stdin,
            pid,
        })
    }

    /// The process id (and process group id) of the started program.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the program is still running (not exited, not a zombie).
    pub fn is_running(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .map(|stat| !stat.contains(") Z ") && !stat.contains(") X "))
            .unwrap_or(false)
    }

    /// Ends the program and everything it started, and waits for that.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        let _ = self.watchdog.wait();
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        self.stop();
    }
}
