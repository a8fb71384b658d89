//! The rendered infrastructure checked by the tools its users trust: checkov (zero failed checks),
//! shellcheck (zero findings), `terraform fmt`'s formatter (hclfmt), and hcl-rs parsing every file.

use std::path::{Path, PathBuf};
use std::process::Command;

use provisioner::config;
use provisioner::render::{self, Engine};

/// Renders the minimal and full examples (both engines) below a temp dir, next to a copy of the
/// module folder with its examples.
fn rendered_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["minimal", "full"] {
        let config = config::load(&manifest.join(format!("examples/{name}.yaml"))).unwrap();
        for engine in [Engine::Terraform, Engine::Gcloud] {
            render::write(
                &dir.path().join(name),
                &render::render(&config, engine).unwrap(),
            )
            .unwrap();
        }
    }
    copy_dir(&manifest.join("../terraform"), &dir.path().join("module"));
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path, extension));
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn checkov_finds_no_failed_check() {
    let tree = rendered_tree();
    let output = Command::new(testkit::tool("checkov"))
        .args(["-d"])
        .arg(tree.path())
        .args([
            "--framework",
            "terraform",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov output is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let reports = match report {
        serde_json::Value::Array(items) => items,
        single => vec![single],
    };
    let summary = &reports
        .iter()
        .find(|r| r["check_type"] == "terraform")
        .expect("a terraform report")["summary"];
    let failed: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            r["results"]["failed_checks"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|c| format!("{} {} {}", c["check_id"], c["resource"], c["file_path"]))
        .collect();
    assert!(
        failed.is_empty(),
        "checkov failed checks:\n{}",
        failed.join("\n")
    );
    assert_eq!(summary["parsing_errors"], 0, "{summary}");
    assert!(summary["passed"].as_u64().unwrap() >= 5, "{summary}");
    assert!(
        summary["resource_count"].as_u64().unwrap() >= 20,
        "{summary}"
    );
}

#[test]
fn shellcheck_finds_nothing_in_the_rendered_scripts() {
    let tree = rendered_tree();
    let scripts = files(tree.path(), "sh");
    assert_eq!(scripts.len(), 4);
    let output = Command::new(testkit::tool("shellcheck"))
        .args(&scripts)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    for script in &scripts {
        let syntax = Command::new("bash").arg("-n").arg(script).output().unwrap();
        assert!(syntax.status.success(), "{}", script.display());
    }
}

#[test]
fn every_tf_file_is_formatted_and_parses() {
    let tree = rendered_tree();
    let tf_files = files(tree.path(), "tf");
    assert!(tf_files.len() >= 14, "{tf_files:?}");
    for file in &tf_files {
        let output = Command::new(testkit::tool("hclfmt"))
            .arg("-require-no-change")
            .arg(file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{} is not terraform fmt-clean:\n{}",
            file.display(),
            String::from_utf8_lossy(&output.stdout)
        );
        let text = std::fs::read_to_string(file).unwrap();
        let body: hcl::Body = hcl::from_str(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
        assert!(
            body.iter().count() > 0
                || text
                    .lines()
                    .all(|l| l.starts_with('#') || l.trim().is_empty()),
            "{}",
            file.display()
        );
    }
}

#[test]
fn every_variable_is_typed_described_and_every_output_described() {
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("../terraform");
    let variables: hcl::Body =
        hcl::from_str(&std::fs::read_to_string(module.join("variables.tf")).unwrap()).unwrap();
    let mut count = 0;
    for block in variables.blocks().filter(|b| b.identifier() == "variable") {
        count += 1;
        let name = block.labels()[0].as_str();
        let attrs: Vec<&str> = block.body().attributes().map(|a| a.key()).collect();
        assert!(
            attrs.contains(&"type") && attrs.contains(&"description"),
            "variable {name}: {attrs:?}"
        );
        let is_bool = block.body().attributes().any(|a| {
            a.key() == "type" && format!("{:?}", a.expr()) == "Variable(Variable(Identifier(bool)))"
        });
        let validated = block
            .body()
            .blocks()
            .any(|b| b.identifier() == "validation");
        assert!(
            is_bool || validated,
            "variable {name} has no validation block"
        );
    }
    assert!(count >= 20);
    let outputs: hcl::Body =
        hcl::from_str(&std::fs::read_to_string(module.join("outputs.tf")).unwrap()).unwrap();
    for block in outputs.blocks().filter(|b| b.identifier() == "output") {
        assert!(
            block.body().attributes().any(|a| a.key() == "description"),
            "output {:?}",
            block.labels()
        );
    }
}
