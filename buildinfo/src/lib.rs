//! The workspace's version and the commit it was built from, one string for every binary.

/// The release version (the workspace's `version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit the binary was built from (12 hex digits), or `unknown`.
pub const COMMIT: &str = env!("BUILDINFO_COMMIT");

/// What `--version` prints after the binary's name: `VERSION (COMMIT)`.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("BUILDINFO_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    #[test]
    fn the_long_version_names_version_and_commit() {
        assert_eq!(
            super::LONG,
            format!("{} ({})", super::VERSION, super::COMMIT)
        );
        assert!(super::COMMIT == "unknown" || super::COMMIT.len() >= 7);
    }
}
