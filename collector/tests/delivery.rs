//! The collector's delivery files, checked by the tools their users trust (hadolint, actionlint,
//! zizmor) and against the image's contract.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(tool: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(testkit::tool(tool))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn hadolint_reports_nothing() {
    let (ok, text) = run("hadolint", &["Dockerfile"]);
    assert!(ok && text.trim().is_empty(), "{text}");
}

#[test]
fn actionlint_and_zizmor_report_nothing() {
    let (ok, text) = run(
        "actionlint",
        &[
            ".github/workflows/ci.yml",
            ".github/workflows/deploy-collector.yml",
            ".github/workflows/release.yml",
        ],
    );
    assert!(ok && text.trim().is_empty(), "{text}");
    let (ok, text) = run(
        "zizmor",
        &["--offline", "--no-progress", ".github/workflows"],
    );
    assert!(ok && text.contains("No findings"), "{text}");
}

#[test]
fn the_image_is_multi_stage_distroless_non_root_with_a_vector_entrypoint() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 3, "{stages:?}");
    assert!(
        stages
            .last()
            .unwrap()
            .contains("gcr.io/distroless/cc-debian12:nonroot")
    );
    assert!(
        dockerfile.contains("cargo chef cook"),
        "dependencies are cooked in their own layer"
    );
    assert!(dockerfile.contains("USER 65532:65532"));
    assert!(
        dockerfile.contains("ENTRYPOINT [\"/collector\"]")
            && dockerfile.contains("CMD [\"serve\"]")
    );
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    for entry in [
        "target/",
        ".tools/",
        ".git/",
        "**/*.pem",
        "**/*.key",
        "**/.env",
        "**/*.tfstate",
        "**/*.tfvars",
    ] {
        assert!(
            ignore.lines().any(|l| l == entry),
            "{entry} missing from .dockerignore"
        );
    }
}

#[test]
fn workflows_pin_actions_by_commit_and_keep_least_privilege() {
    for name in ["ci.yml", "deploy-collector.yml", "release.yml"] {
        let text = std::fs::read_to_string(root().join(".github/workflows").join(name)).unwrap();
        for line in text.lines().filter(|l| {
            l.trim_start().starts_with("- uses:") || l.trim_start().starts_with("uses:")
        }) {
            let reference = line.split('@').nth(1).unwrap_or_default();
            let sha = reference.split_whitespace().next().unwrap_or_default();
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{name}: {line}"
            );
        }
        assert!(text.contains("persist-credentials: false"), "{name}");
    }
    let deploy =
        std::fs::read_to_string(root().join(".github/workflows/deploy-collector.yml")).unwrap();
    assert!(deploy.contains("permissions: {}") && deploy.contains("id-token: write"));
    assert!(
        deploy.contains("workload_identity_provider"),
        "keyless authentication"
    );
}

#[test]
fn shellcheck_finds_nothing_in_the_project_scripts() {
    // Every script, so a new one is checked too; -x follows what they source.
    let mut scripts: Vec<String> = std::fs::read_dir(root().join("scripts"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sh"))
        .map(|name| format!("scripts/{name}"))
        .collect();
    scripts.sort();
    for expected in [
        "scripts/test.sh",
        "scripts/bench-accounts.sh",
        "scripts/lib.sh",
    ] {
        assert!(scripts.iter().any(|s| s == expected), "{scripts:?}");
    }
    scripts.push(".ci/run".into());
    let mut args = vec!["-x"];
    args.extend(scripts.iter().map(String::as_str));
    let (ok, text) = run("shellcheck", &args);
    assert!(ok && text.trim().is_empty(), "{text}");
}
