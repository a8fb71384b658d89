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
    use std::process::Command;

    /// The `version` of the workspace's `[workspace.package]`, read from its Cargo.toml.
    fn workspace_version() -> String {
        let manifest =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
        let section = manifest
            .split("[workspace.package]")
            .nth(1)
            .expect("a [workspace.package] section");
        section
            .lines()
            .find_map(|line| line.strip_prefix("version = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .expect("a version line")
            .to_owned()
    }

    /// The commit this checkout is at, as the build script names it: `SOURCE_COMMIT` when the build
    /// had it, else `git rev-parse`, else `unknown` (a source tree without .git).
    fn this_commit() -> String {
        if let Some(given) = option_env!("SOURCE_COMMIT").filter(|c| !c.is_empty()) {
            return given.to_owned();
        }
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map_or_else(
                || "unknown".to_owned(),
                |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
            )
    }

    #[test]
    fn the_long_version_names_the_workspace_version_and_this_commit() {
        assert_eq!(super::VERSION, workspace_version());
        assert_eq!(super::COMMIT, this_commit());
        assert_eq!(
            super::LONG,
            format!("{} ({})", workspace_version(), this_commit())
        );
    }
}
