//! The real gcloud as an argument checker: with an empty `CLOUDSDK_CONFIG` (no account, no default
//! project) gcloud parses the whole command line before it needs credentials, so a valid line fails
//! with "You do not currently have an active account selected" and an invalid one with gcloud's own
//! complaint ("unrecognized arguments", "Invalid choice", a missing resource field, a missing
//! Dockerfile, …). About a second a call; lines gcloud accepted are remembered in a cache folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// What gcloud prints when the line parsed and it only lacks credentials.
pub const ACCEPTED: &str = "You do not currently have an active account selected";

/// Where the real gcloud is and where accepted lines are remembered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseCheck {
    /// The real gcloud.
    pub gcloud: PathBuf,
    /// Folder of markers for lines gcloud accepted (keyed by a hash of gcloud's path, the
    /// arguments and standard input).
    pub cache_dir: PathBuf,
}

impl Default for ParseCheck {
    fn default() -> Self {
        Self::new()
    }
}

impl ParseCheck {
    /// The gcloud [`crate::tool`] finds (fails the test, naming the fix, when it is missing).
    pub fn new() -> Self {
        Self {
            gcloud: crate::tool("gcloud"),
            cache_dir: std::env::temp_dir().join("testkit-gcloud-parse"),
        }
    }

    /// `Ok` when the real gcloud parses `gcloud args…` (run in `cwd`, given `stdin`), else its
    /// message.
    pub fn check(&self, args: &[&str], cwd: &Path, stdin: &[u8]) -> Result<(), String> {
        let marker = self.cache_dir.join(self.key(args, stdin));
        if marker.exists() {
            return Ok(());
        }
        let home = tempfile::tempdir().map_err(|e| format!("cannot create a config dir: {e}"))?;
        let mut command = Command::new(&self.gcloud);
        command
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // No account, project or endpoint of the caller's may leak in.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if (name.starts_with("CLOUDSDK_") && name != "CLOUDSDK_PYTHON")
                || name == "GOOGLE_APPLICATION_CREDENTIALS"
            {
                command.env_remove(name.as_ref());
            }
        }
        command
            .env("CLOUDSDK_CONFIG", home.path())
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1");
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.gcloud.display()))?;
        if let Some(mut input) = child.stdin.take() {
            use std::io::Write as _;
            // gcloud may not read standard input at all; a closed pipe is not an error here.
            let _ = input.write_all(stdin);
        }
        let output = child
            .wait_with_output()
            .map_err(|e| format!("gcloud did not finish: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if output.status.success() || text.contains(ACCEPTED) {
            std::fs::create_dir_all(&self.cache_dir)
                .and_then(|()| std::fs::write(&marker, b""))
                .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
            return Ok(());
        }
        Err(text.trim().to_owned())
    }

    fn key(&self, args: &[&str], stdin: &[u8]) -> String {
        let mut text = self.gcloud.display().to_string().into_bytes();
        for arg in args {
            text.push(0);
            text.extend_from_slice(arg.as_bytes());
        }
        text.push(0);
        text.extend_from_slice(stdin);
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&text))
    }
}

/// The same check for the Python stand-ins (`gcloud_parse.check(config, args, stdin)` returns
/// `None` when gcloud accepts the line, else its message); the cache key matches [`ParseCheck`]'s
/// only in spirit, the two caches are separate files in one folder.
pub const PYTHON: &str = r#""""The real gcloud as an argument checker (written by testkit)."""
import hashlib, os, shutil, subprocess, tempfile

ACCEPTED = "You do not currently have an active account selected"


def check(config, args, stdin):
    key = hashlib.sha256("\0".join([config["gcloud"]] + args).encode() + b"\0" + stdin).hexdigest()
    marker = os.path.join(config["cache_dir"], "py-" + key)
    if os.path.exists(marker):
        return None
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("CLOUDSDK_") and k != "CLOUDSDK_PYTHON")
           and k != "GOOGLE_APPLICATION_CREDENTIALS"}
    here = os.path.dirname(os.path.abspath(__file__))
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if os.path.abspath(p or ".") != here)
    home = tempfile.mkdtemp(prefix="gcloud-parse-")
    env["CLOUDSDK_CONFIG"] = home
    env["CLOUDSDK_CORE_DISABLE_PROMPTS"] = "1"
    try:
        done = subprocess.run([config["gcloud"]] + args, input=stdin, capture_output=True,
                              env=env, timeout=180)
    except subprocess.TimeoutExpired:
        return "gcloud did not answer within 180 s"
    finally:
        shutil.rmtree(home, ignore_errors=True)
    text = (done.stdout + done.stderr).decode("utf-8", "replace")
    if done.returncode == 0 or ACCEPTED in text:
        os.makedirs(config["cache_dir"], exist_ok=True)
        open(marker, "w").close()
        return None
    return text.strip() or "exit %d without a message" % done.returncode
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_valid_line_and_names_what_is_wrong_with_an_invalid_one() {
        let check = ParseCheck {
            cache_dir: tempfile::tempdir().unwrap().keep(),
            ..ParseCheck::new()
        };
        let cwd = std::env::temp_dir();
        check
            .check(
                &["pubsub", "topics", "describe", "t", "--project", "p"],
                &cwd,
                b"",
            )
            .unwrap();
        let error = check
            .check(
                &[
                    "pubsub",
                    "topics",
                    "describe",
                    "t",
                    "--project",
                    "p",
                    "--bogus-flag",
                ],
                &cwd,
                b"",
            )
            .unwrap_err();
        assert!(
            error.contains("unrecognized arguments: --bogus-flag"),
            "{error}"
        );
        // The flag-order trap the deploy issue names: --topic resolved before --project applies.
        let error = check
            .check(
                &[
                    "scheduler",
                    "jobs",
                    "create",
                    "pubsub",
                    "j",
                    "--location",
                    "us-central1",
                    "--topic",
                    "t",
                    "--schedule",
                    "0 * * * *",
                    "--message-body",
                    "{}",
                    "--project",
                    "p",
                ],
                &cwd,
                b"",
            )
            .unwrap_err();
        assert!(error.contains("projectsId"), "{error}");
    }
}
