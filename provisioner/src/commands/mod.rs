//! What each `provision` command does beyond reading its arguments, one file per command: the
//! binary parses the command line, calls the command's function here and prints what it returns.
//! Each command fails with its own error enum, which keeps the cause's type (a failed step, a
//! missing release, an unreadable token) for callers to tell apart.

pub mod apply;
pub mod check_token;
pub mod deploy;
pub mod destroy;
pub mod init;
pub mod plan;
pub mod preflight;
pub mod render;

use std::path::Path;

use crate::config::{self, Config, ConfigError};

/// The config of a command that needs one: a file that does not exist is answered with how to
/// create it.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    if !path.exists() {
        return Err(ConfigError::Missing {
            path: path.display().to_string(),
        });
    }
    config::load(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_config_is_answered_with_how_to_create_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("op.yaml");
        let missing = load(&path).unwrap_err();
        assert!(
            matches!(missing, ConfigError::Missing { .. }),
            "{missing:?}"
        );
        assert_eq!(
            missing.to_string(),
            format!(
                "{p} does not exist; create it with `provision init --config {p}`",
                p = path.display()
            )
        );
        init::init(&path, false).unwrap();
        assert!(load(&path).is_ok(), "the starter loads");
    }
}
