//! The `gcloud` calls day-2 commands make, each read back as text or JSON; a failure keeps gcloud's
//! own message and says whether it was a missing permission.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::config::Config;
use crate::runner::StepError;

/// A `gcloud` call that did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum GcloudError {
    /// gcloud could not be started.
    #[error("cannot run `gcloud`: {0}; install the Google Cloud CLI and make sure it is on PATH")]
    Spawn(std::io::Error),
    /// The caller's credentials lack a permission.
    #[error(
        "`gcloud {command}` was refused: permission denied ({message}); grant your account the role named there (or run with an account that has it) and try again"
    )]
    PermissionDenied {
        /// The arguments.
        command: String,
        /// gcloud's message.
        message: String,
    },
    /// Any other failure.
    #[error("`gcloud {command}` failed ({status}): {message}")]
    Failed {
        /// The arguments.
        command: String,
        /// Exit status.
        status: std::process::ExitStatus,
        /// gcloud's message.
        message: String,
    },
    /// gcloud answered something that is not what `--format json` gives.
    #[error("`gcloud {command}` printed something that is not the expected JSON ({reason})")]
    Unreadable {
        /// The arguments.
        command: String,
        /// Why.
        reason: String,
    },
    /// A step that writes (e.g. storing the token) failed.
    #[error(transparent)]
    Step(#[from] StepError),
}

/// Runs `gcloud` for one deployment.
#[derive(Debug, Clone)]
pub struct Gcloud {
    project: String,
    region: String,
    cwd: PathBuf,
}

/// How many days back `gcloud logging read` looks when the filter names no time (`--freshness`;
/// gcloud's own default would be one day).
pub const LOG_WINDOW_DAYS: u32 = 7;

fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .trim()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(3)..].join(" ")
}

impl Gcloud {
    /// `gcloud` for the deployment `config` describes.
    pub fn new(config: &Config) -> Self {
        Self {
            project: config.project_id.clone(),
            region: config.region.clone(),
            cwd: PathBuf::from("."),
        }
    }

    /// Runs `gcloud args… --project P` and returns its standard output.
    pub fn run(&self, args: &[&str]) -> Result<String, GcloudError> {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--project", &self.project]);
        let command = all.join(" ");
        let output = Command::new("gcloud")
            .args(&all)
            .current_dir(&self.cwd)
            .env_remove("OP_BEARER_TOKEN")
            .stdin(Stdio::null())
            .output()
            .map_err(GcloudError::Spawn)?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = last_lines(&stderr);
        // gcloud exits 1 for every failure; its message is the only place the cause is told.
        let lower = stderr.to_lowercase();
        let denied = lower.contains("httperror 403")
            || lower.contains("permission_denied")
            || lower.contains("permission denied")
            || (lower.contains("does not have") && lower.contains(" access"));
        if denied {
            return Err(GcloudError::PermissionDenied { command, message });
        }
        Err(GcloudError::Failed {
            command,
            status: output.status,
            message,
        })
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Forces the scheduler job to run now.
    pub fn run_job(&self, job: &str) -> Result<(), GcloudError> {
        self.run(&["scheduler", "jobs", "run", job, "--location", &self.region])
            .map(|_| ())
    }

    /// Log entries matching `filter`, newest first, as JSON values. A filter without a `timestamp`
    /// term reads the last [`LOG_WINDOW_DAYS`] days.
    pub fn logs(&self, filter: &str, limit: u32) -> Result<Vec<serde_json::Value>, GcloudError> {
        let limit = limit.to_string();
        let freshness = format!("{LOG_WINDOW_DAYS}d");
        let mut args = vec![
            "logging", "read", filter, "--limit", &limit, "--order", "desc", "--format", "json",
        ];
        if !filter.contains("timestamp") {
            args.extend(["--freshness", &freshness]);
        }
        let text = self.run(&args)?;
        if text.is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_str(&text).map_err(|e| GcloudError::Unreadable {
            command: format!("logging read {filter}"),
            reason: e.to_string(),
        })
    }

    /// An object's text, or `None` when it does not exist. Any other failure (a missing
    /// permission first of all) is an error, never "no object".
    pub fn cat(&self, url: &str) -> Result<Option<String>, GcloudError> {
        match self.run(&["storage", "cat", url]) {
            Ok(text) => Ok(Some(text)),
            Err(GcloudError::Failed { message, .. }) if message.contains("matched no objects") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Names of the objects under `url` (a `gs://bucket/prefix/` folder) created at or after `since`
    /// (RFC 3339). `gcloud storage` names the field `creation_time`.
    pub fn objects_since(&self, url: &str, since: &str) -> Result<Vec<String>, GcloudError> {
        let pattern = format!("{url}**");
        let filter = format!("creation_time>=\"{since}\"");
        let text = self.run(&[
            "storage",
            "objects",
            "list",
            &pattern,
            "--filter",
            &filter,
            "--format",
            "value(name)",
        ])?;
        Ok(text
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect())
    }
}
