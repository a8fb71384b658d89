//! The GitHub workflows against what a first real release and deployment meet: the release fails,
//! naming the fix, when its image cannot be pulled anonymously (a registry stand-in on loopback
//! answers as ghcr.io does for a public and a private package); the image job may write the
//! attestation's storage record; the deploy workflow runs on every change to what the image is built
//! from, in the environment the identity pool trusts, and rolls the image to every further service
//! when the accounts are split (its gcloud lines parsed by the real gcloud).

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::process::Command;

use support::workspace;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A registry on 127.0.0.1 that hands out anonymous tokens and answers manifest HEADs with
/// `manifest_status`; returns its base URL and the request lines it saw.
fn registry(manifest_status: u16) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut auth = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.to_ascii_lowercase().starts_with("authorization:") {
                    auth = line.trim().to_owned();
                }
                if line.trim().is_empty() {
                    break;
                }
            }
            log.lock()
                .unwrap()
                .push(format!("{} {auth}", request.trim()));
            let response = if request.starts_with("GET /token?") {
                let body = "{\"token\":\"anonymous-pull-token\"}";
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else if request.starts_with("HEAD /v2/") && auth.ends_with("anonymous-pull-token") {
                format!(
                    "HTTP/1.1 {manifest_status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            } else {
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned()
            };
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    (base, seen)
}

fn check_pull(base: &str) -> std::process::Output {
    Command::new("bash")
        .arg(workspace().join("scripts/check-anonymous-pull.sh"))
        .args(["ghcr.io/acme/onepassword-secops/collector", DIGEST])
        .env("REGISTRY_URL", base)
        .env("ANONYMOUS_PULL_TRIES", "2")
        .env("ANONYMOUS_PULL_PAUSE_SECONDS", "0")
        .output()
        .expect("run bash")
}

#[test]
fn the_release_passes_when_the_image_pulls_anonymously() {
    let (base, seen) = registry(200);
    let out = check_pull(&base);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen[0].starts_with(
            "GET /token?scope=repository:acme/onepassword-secops/collector:pull&service=ghcr.io "
        ),
        "{seen:?}"
    );
    assert!(
        seen[1].starts_with(&format!(
            "HEAD /v2/acme/onepassword-secops/collector/manifests/{DIGEST} "
        )),
        "{seen:?}"
    );
}

#[test]
fn the_release_fails_with_the_fix_when_the_package_is_private() {
    for status in [401, 403, 404] {
        let (base, seen) = registry(status);
        let out = check_pull(&base);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("cannot be pulled anonymously")
                && stderr.contains("Package settings → Change visibility → Public")
                && stderr.contains(&status.to_string()),
            "{stderr}"
        );
        // Tried again before failing (a visibility change takes a moment).
        assert_eq!(seen.lock().unwrap().len(), 4);
    }
    // No registry at all: fails too, never passes by accident.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    assert_eq!(check_pull(&base).status.code(), Some(1));
}

fn workflow(name: &str) -> yaml_serde::Value {
    yaml_serde::from_str(
        &std::fs::read_to_string(workspace().join(".github/workflows").join(name)).unwrap(),
    )
    .unwrap()
}

#[test]
fn the_release_checks_the_pushed_digest_and_may_write_its_storage_record() {
    let release = workflow("release.yml");
    let image = &release["jobs"]["image"];
    assert_eq!(
        image["permissions"]["artifact-metadata"].as_str(),
        Some("write")
    );
    let steps = image["steps"].as_sequence().unwrap();
    let push = steps
        .iter()
        .position(|s| s["id"].as_str() == Some("push"))
        .unwrap();
    let check = steps
        .iter()
        .position(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("scripts/check-anonymous-pull.sh"))
        })
        .expect("the image job checks the anonymous pull");
    assert!(check > push);
    assert_eq!(
        steps[check]["env"]["DIGEST"].as_str(),
        Some("${{ steps.push.outputs.digest }}")
    );
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    assert!(readme.contains("## Release checklist"));
}

/// The workspace crates `krate` is built from (itself and its workspace dependencies).
fn built_from(krate: &str, out: &mut BTreeSet<String>) {
    if !out.insert(krate.to_owned()) {
        return;
    }
    let manifest = std::fs::read_to_string(workspace().join(krate).join("Cargo.toml")).unwrap();
    let mut in_dependencies = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            in_dependencies = line.trim() == "[dependencies]";
            continue;
        }
        if !in_dependencies {
            continue;
        }
        let name = line.split(['.', ' ', '=']).next().unwrap_or("");
        if !name.is_empty() && workspace().join(name).join("Cargo.toml").is_file() {
            built_from(name, out);
        }
    }
}

#[test]
fn the_deploy_workflow_runs_on_every_change_to_what_the_image_is_built_from() {
    let deploy = workflow("deploy-collector.yml");
    let paths: Vec<&str> = deploy["on"]["push"]["paths"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let mut crates = BTreeSet::new();
    built_from("collector", &mut crates);
    assert!(crates.len() >= 4, "{crates:?}");
    for krate in &crates {
        assert!(
            paths.contains(&format!("{krate}/**").as_str()),
            "{krate}/** missing from {paths:?}"
        );
    }
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "*/Cargo.toml",
        "rust-toolchain.toml",
        "Dockerfile",
        ".dockerignore",
    ] {
        assert!(paths.contains(&file), "{file} missing from {paths:?}");
    }
    // The environment the identity pool trusts comes from a variable the module's output names.
    let environment = deploy["jobs"]["deploy"]["environment"].as_str().unwrap();
    assert!(
        environment.contains("vars.GCP_DEPLOY_ENVIRONMENT"),
        "{environment}"
    );
    let outputs = std::fs::read_to_string(workspace().join("terraform/outputs.tf")).unwrap();
    assert!(outputs.contains("GCP_DEPLOY_ENVIRONMENT"));
    let ci = std::fs::read_to_string(workspace().join("terraform/ci.tf")).unwrap();
    assert!(ci.contains(":environment:${var.github_environment}"));
}

/// The deploy workflow's step for the services after the first: its script, run with the value
/// of `CLOUD_RUN_EXTRA_SERVICES` for the fleet example (the module's output is those names, space
/// separated), deploys the new image to each of them, and the real gcloud accepts every line; with
/// one service the variable is empty and the step does not run.
#[test]
fn the_deploy_workflow_rolls_the_image_to_every_further_service() {
    let deploy = workflow("deploy-collector.yml");
    let steps = deploy["jobs"]["deploy"]["steps"].as_sequence().unwrap();
    let step = steps
        .iter()
        .find(|s| s["name"].as_str() == Some("Roll the further services"))
        .expect("the deploy job rolls the further services");
    assert_eq!(
        step["if"].as_str(),
        Some("${{ vars.CLOUD_RUN_EXTRA_SERVICES != '' }}")
    );
    assert_eq!(
        step["env"]["SERVICES"].as_str(),
        Some("${{ vars.CLOUD_RUN_EXTRA_SERVICES }}")
    );
    let script = step["run"].as_str().unwrap();

    let fleet =
        provisioner::config::load(&workspace().join("provisioner/examples/fleet.yaml")).unwrap();
    let extra = fleet.service_names()[1..].join(" ");
    assert_eq!(extra, "op-fleet-collector-2");
    // Three further services, as collector.services: 4 would give.
    let three = "op-fleet-collector-2 op-fleet-collector-3 op-fleet-collector-4";
    for (services, expected) in [(extra.as_str(), 1), (three, 3)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("step.sh");
        std::fs::write(&path, format!("set -euo pipefail\n{script}")).unwrap();
        let s = support::bare_stand_ins();
        let image = "us-central1-docker.pkg.dev/mssp-secops-prod/onepassword-secops/collector:abc";
        let out = support::bash(
            &s,
            dir.path(),
            &path,
            &[],
            &[
                ("SERVICES", services),
                ("PROJECT", "mssp-secops-prod"),
                ("REGION", "us-central1"),
                ("IMAGE", image),
            ],
        );
        assert!(
            out.status.success(),
            "{}\nrejected: {:#?}",
            String::from_utf8_lossy(&out.stderr),
            s.parse_errors()
        );
        assert_eq!(s.parse_errors(), Vec::<String>::new());
        let lines = support::lines(&s.calls());
        let deployed: Vec<String> = services
            .split(' ')
            .map(|name| {
                format!(
                    "gcloud run deploy {name} --image {image} --project mssp-secops-prod --region us-central1 --quiet"
                )
            })
            .collect();
        assert_eq!(lines, deployed);
        assert_eq!(lines.len(), expected);
    }
}
