//! Finds the commit the binaries are built from: `SOURCE_COMMIT` (set by scripts/dist.sh and the
//! Dockerfile, whose build context has no .git), else `git rev-parse`, else "unknown".

use std::process::Command;

/// What `git ARGS` prints, trimmed, when it succeeds.
fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_COMMIT");
    let git_dir = git(&["rev-parse", "--git-dir"]);
    if let Some(dir) = &git_dir {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/refs");
        // The branch's own ref file, which a worktree keeps in the common directory, not in its
        // own git dir; and the packed refs, where a ref can move to.
        for path in [
            git(&["symbolic-ref", "-q", "HEAD"]),
            Some("packed-refs".to_owned()),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(file) = git(&["rev-parse", "--git-path", &path]) {
                println!("cargo:rerun-if-changed={file}");
            }
        }
    }
    let commit = std::env::var("SOURCE_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .filter(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric()) && !c.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=BUILDINFO_COMMIT={commit}");
}
