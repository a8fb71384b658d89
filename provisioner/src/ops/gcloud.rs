//! The `gcloud` calls day-2 commands make, each read back as text or JSON.

use std::path::PathBuf;

use crate::config::Config;
use crate::runner::{self, StepError};

/// Runs `gcloud` for one deployment.
#[derive(Debug, Clone)]
pub struct Gcloud {
    project: String,
    region: String,
    cwd: PathBuf,
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
    pub fn run(&self, args: &[&str]) -> Result<String, StepError> {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--project", &self.project]);
        runner::capture("gcloud", &all, &self.cwd)
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Forces the scheduler job to run now.
    pub fn run_job(&self, job: &str) -> Result<(), StepError> {
        self.run(&["scheduler", "jobs", "run", job, "--location", &self.region])
            .map(|_| ())
    }

    /// Log entries matching `filter`, newest first, as JSON values.
    pub fn logs(&self, filter: &str, limit: u32) -> Result<Vec<serde_json::Value>, StepError> {
        let limit = limit.to_string();
        let text = self.run(&[
            "logging", "read", filter, "--limit", &limit, "--order", "desc", "--format", "json",
        ])?;
        Ok(serde_json::from_str(&text).unwrap_or_default())
    }

    /// An object's text, or `None` when it does not exist.
    pub fn cat(&self, url: &str) -> Option<String> {
        self.run(&["storage", "cat", url]).ok()
    }

    /// Names of the objects under `url` (a `gs://bucket/prefix/` folder) created at or after `since`.
    pub fn objects_since(&self, url: &str, since: &str) -> Result<Vec<String>, StepError> {
        let pattern = format!("{}**", url);
        let filter = format!("timeCreated>={since}");
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
