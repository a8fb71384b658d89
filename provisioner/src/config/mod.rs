//! The provisioner's one YAML file: schema with the guide's defaults, loading, and validation that
//! reports every problem at once.

mod accounts;
mod closed;
mod cron;
mod feed;
mod names;
mod problem;
mod regions;
mod schema;
mod services;
mod sizing;
mod validate;

pub use accounts::{Account, AccountChoiceError, AccountEntry, events_base_url};
pub use closed::{Closed, OneOf, spelling};
pub use cron::{ABSENCE_LIMIT_SECONDS, longest_interval_seconds, runs_per_year, silence_seconds};
pub use feed::{FeedKind, notification_topic, subscription, subscription_filter};
pub use problem::Problem;
pub use schema::DEFAULT_EVENTS_BASE_URL;
pub use schema::{
    Alerting, Bucket, Collector, Config, Dashboard, Github, Schedule, Secops, SecopsInstance,
    ServiceAccounts, SourceDeletion, StorageClass, Terraform,
};
pub use services::{
    MAX_ACCOUNTS_PER_SERVICE, MAX_SERVICES, push_subscription, service_name, service_of,
};
pub use sizing::{CONCURRENCY, DEFAULT_CPU, DEFAULT_MEMORY, cpu_count, memory_mib};
pub use validate::validate;

/// The commented starter written by `provision init`.
pub const STARTER: &str = include_str!("../../../templates/onepassword-secops.yaml");

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A command needs the file, and it does not exist.
    #[error("{path} does not exist; create it with `provision init --config {path}`")]
    Missing {
        /// The file.
        path: String,
    },
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// Not YAML of the right shape.
    #[error("{path} is not a valid config: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, with the location.
        message: String,
    },
    /// Values that break the rules.
    #[error("{path} has {} problem(s):\n{}", .problems.len(), .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The file.
        path: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

/// Parses and validates config text; `path` names it in messages.
pub fn parse(path: &str, text: &str) -> Result<Config, ConfigError> {
    let mut unknown = Vec::new();
    let deserializer = yaml_serde::Deserializer::from_str(text);
    let config: Config =
        serde_ignored::deserialize(deserializer, |key| unknown.push(key.to_string())).map_err(
            |e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            },
        )?;
    let mut problems: Vec<Problem> = unknown
        .into_iter()
        .map(|key| {
            Problem::new(
                &key,
                "",
                "unknown key; check its spelling against `provision init`'s starter",
            )
        })
        .collect();
    problems.extend(validate(&config));
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid {
            path: path.to_owned(),
            problems,
        })
    }
}

/// Reads, parses and validates a config file.
pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: name.clone(),
        error,
    })?;
    parse(&name, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_file_names_its_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        // A folder cannot be read as a file: the OS says why, once.
        let error = load(dir.path()).unwrap_err();
        assert!(matches!(error, ConfigError::Read { .. }));
        let chain = format!("{:#}", anyhow::Error::from(error));
        assert_eq!(chain.matches("os error").count(), 1, "{chain}");
    }
}
