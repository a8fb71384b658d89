//! `provision init`: the commented starter config, written where asked unless a file is there.

use std::path::{Path, PathBuf};

use crate::config::STARTER;

/// Why the starter was not written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A file is there and `--force` was not given.
    #[error("{} exists; pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    /// The file system refused.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Writes the starter config to `path`; an existing file is overwritten only with `force`.
pub fn init(path: &Path, force: bool) -> Result<(), InitError> {
    if path.exists() && !force {
        return Err(InitError::Exists(path.to_path_buf()));
    }
    std::fs::write(path, STARTER).map_err(|source| InitError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_file_is_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onepassword-secops.yaml");
        std::fs::write(&path, "mine").unwrap();
        let refused = init(&path, false).unwrap_err();
        assert!(matches!(refused, InitError::Exists(_)), "{refused:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        init(&path, true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), STARTER);
    }
}
