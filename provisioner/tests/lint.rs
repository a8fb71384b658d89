//! The rendered infrastructure checked by the tools its users trust: checkov (zero failed checks),
//! shellcheck (zero findings), the real `terraform fmt -check`, and hcl-rs parsing every file.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use provisioner::config;
use provisioner::render::{self, Engine};

/// Renders the minimal, full, three-account and event-driven examples (both engines) below a temp dir, next to a copy of the
/// module folder with its examples.
fn rendered_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["minimal", "full", "accounts", "event_driven", "fleet"] {
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
    assert_eq!(scripts.len(), 10);
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
fn terraform_fmt_finds_nothing_to_change() {
    // The real Terraform's formatter over the module (with its examples) and every rendered root;
    // it needs no provider, so it runs here although `terraform init` cannot.
    let tree = rendered_tree();
    let output = Command::new(testkit::tool("terraform"))
        .args(["fmt", "-check", "-recursive", "-diff"])
        .arg(tree.path())
        .output()
        .expect("run terraform fmt");
    assert!(
        output.status.success(),
        "terraform fmt would change these files:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // And it does fail on a file it would change, so the check above can fail.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("x.tf"), "locals {\na=1\n}\n").unwrap();
    let output = Command::new(testkit::tool("terraform"))
        .args(["fmt", "-check", "-recursive"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn every_tf_file_parses() {
    let tree = rendered_tree();
    let tf_files = files(tree.path(), "tf");
    assert!(tf_files.len() >= 14, "{tf_files:?}");
    for file in &tf_files {
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

/// Dotted references (`var.x`, `local.x`, `data.t.n`, `module.m.o`, `google_t.n`) in HCL text,
/// comment lines left out.
fn references(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut chain = String::new();
        for c in line.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                chain.push(c);
            } else if !chain.is_empty() {
                let parts: Vec<String> = chain.split('.').map(str::to_owned).collect();
                if parts.len() >= 2 {
                    out.push(parts);
                }
                chain.clear();
            }
        }
    }
    out
}

/// What a folder of `.tf` files declares, by kind: `variable`, `variable_required`, `local`,
/// `resource` (`type.name`), `data` (`type.name`), `output`, and its `module` blocks' inputs.
#[derive(Default)]
struct Declared {
    variables: Vec<String>,
    required_variables: Vec<String>,
    locals: Vec<String>,
    resources: Vec<String>,
    data: Vec<String>,
    outputs: Vec<String>,
    module_inputs: Vec<(String, Vec<String>)>,
    text: String,
}

fn declared(dir: &Path) -> Declared {
    let mut d = Declared::default();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "tf") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let body: hcl::Body = hcl::from_str(&text).unwrap();
        d.text.push_str(&text);
        for block in body.blocks() {
            let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
            match block.identifier() {
                "variable" => {
                    d.variables.push(labels[0].to_owned());
                    if !block.body().attributes().any(|a| a.key() == "default") {
                        d.required_variables.push(labels[0].to_owned());
                    }
                }
                "locals" => d
                    .locals
                    .extend(block.body().attributes().map(|a| a.key().to_owned())),
                "resource" => d.resources.push(format!("{}.{}", labels[0], labels[1])),
                "data" => d.data.push(format!("{}.{}", labels[0], labels[1])),
                "output" => d.outputs.push(labels[0].to_owned()),
                "module" => d.module_inputs.push((
                    labels[0].to_owned(),
                    block
                        .body()
                        .attributes()
                        .map(|a| a.key().to_owned())
                        .filter(|k| k != "source")
                        .collect(),
                )),
                _ => {}
            }
        }
    }
    d
}

/// Problems of references in `d` that point at nothing it declares (`module` references checked
/// against `module_outputs`).
fn dangling(d: &Declared, module_outputs: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for parts in references(&d.text) {
        let known = match parts[0].as_str() {
            "var" => d.variables.contains(&parts[1]),
            "local" => d.locals.contains(&parts[1]),
            "data" if parts.len() >= 3 => d.data.contains(&format!("{}.{}", parts[1], parts[2])),
            "module" if parts.len() >= 3 => module_outputs.contains(&parts[2]),
            kind if kind.starts_with("google_") => {
                d.resources.contains(&format!("{}.{}", parts[0], parts[1]))
            }
            _ => true,
        };
        if !known {
            problems.push(parts.join("."));
        }
    }
    problems
}

/// Stands in for `terraform validate`, which cannot run here: every reference in the rendered root
/// and its embedded module resolves, the root passes only the module's variables and every
/// required one, and `apply`'s `-target` addresses name resources of the module.
#[test]
fn every_reference_in_the_rendered_terraform_resolves() {
    let tree = rendered_tree();
    for name in ["minimal", "full", "accounts", "event_driven", "fleet"] {
        let root_dir = tree.path().join(name).join("terraform");
        let module = declared(&root_dir.join("modules/onepassword-secops"));
        assert!(
            module.resources.len() >= 20 && module.outputs.len() >= 10,
            "{:?}",
            module.resources
        );
        let problems = dangling(&module, &[]);
        assert!(problems.is_empty(), "module of {name}: {problems:?}");

        let root = declared(&root_dir);
        let problems = dangling(&root, &module.outputs);
        assert!(problems.is_empty(), "root of {name}: {problems:?}");
        let (_, inputs) = root
            .module_inputs
            .iter()
            .find(|(label, _)| label == "onepassword_secops")
            .expect("the root calls the module");
        for input in inputs {
            assert!(
                module.variables.contains(input),
                "{name}: the root passes {input}, which the module does not declare"
            );
        }
        for required in &module.required_variables {
            assert!(
                inputs.contains(required),
                "{name}: the root does not pass the required variable {required}"
            );
        }

        let config = config::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{name}.yaml")),
        )
        .unwrap();
        let image = provisioner::steps::ImageSource::of(&config, false);
        let plan = provisioner::steps::apply(
            Engine::Terraform,
            tree.path(),
            &config,
            Vec::new(),
            tree.path(),
            &image,
        );
        let targets: Vec<&str> = plan
            .foundation
            .iter()
            .chain(&plan.service)
            .flat_map(|s| s.args.iter())
            .filter_map(|a| a.strip_prefix("-target=module.onepassword_secops."))
            .collect();
        assert_eq!(
            targets.len(),
            provisioner::steps::foundation_resources(&config).len(),
            "{targets:?}"
        );
        assert!(targets.len() >= 6, "{targets:?}");
        for target in targets {
            assert!(
                module.resources.iter().any(|r| r == target),
                "-target={target} names no resource of the module"
            );
        }
    }
}

#[test]
fn the_reference_check_catches_what_terraform_validate_would() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "variable \"a\" {\n  type = string\n}\n\nresource \"google_x\" \"y\" {\n  name  = var.a\n  other = \"${var.b}-${local.c}\"\n  z     = google_x.w.id\n  d     = data.google_project.p.number\n}\n",
    )
    .unwrap();
    assert_eq!(
        dangling(&declared(dir.path()), &[]),
        [
            "var.b",
            "local.c",
            "google_x.w.id",
            "data.google_project.p.number"
        ]
    );
}

#[test]
fn each_further_services_resources_are_the_first_services_but_for_name_and_share() {
    // The first service's resources keep their addresses (every deployment made before
    // collector.services has them in its state); the others are `_extra` copies over
    // local.extra_services. A setting changed in one and not the other would make the services
    // differ, so each pair must be the same text once the expected differences are replaced.
    let pairs = [
        (
            "main.tf",
            "google_cloud_run_v2_service",
            "collector",
            vec![
                (
                    "  name                = each.value\n",
                    "  name                = var.service_name\n",
                ),
                ("local.service_env[each.key]", "local.collector_env"),
                ("local.service_token_env[each.key]", "local.token_env"),
            ],
        ),
        (
            "main.tf",
            "google_cloud_run_v2_service_iam_member",
            "invoker",
            vec![],
        ),
        (
            "main.tf",
            "google_pubsub_subscription",
            "push",
            vec![
                (
                    "\"${var.topic_name}-push-${each.key}\"",
                    "\"${var.topic_name}-push\"",
                ),
                ("iam_member.invoker_extra]", "iam_member.invoker]"),
            ],
        ),
        (
            "main.tf",
            "google_pubsub_subscription_iam_member",
            "dead_letter_subscriber",
            vec![("push_extra[each.key]", "push")],
        ),
        (
            "ci.tf",
            "google_cloud_run_v2_service_iam_member",
            "deployer_deploys",
            vec![(
                "  for_each = local.github_enabled ? local.extra_services : {}\n",
                "  count = local.github_enabled ? 1 : 0\n",
            )],
        ),
    ];
    for (file, kind, name, differences) in pairs {
        let first = support::module_resource(file, kind, name);
        let mut extra = support::module_resource(file, kind, &format!("{name}_extra"))
            .replacen(&format!("\"{name}_extra\""), &format!("\"{name}\""), 1)
            .replacen("  for_each = local.extra_services\n\n", "", 1)
            .replace("collector_extra[each.key]", "collector");
        for (from, to) in differences {
            assert!(extra.contains(from), "{kind}.{name}_extra: no {from:?}");
            extra = extra.replace(from, to);
        }
        assert_eq!(
            extra, first,
            "{kind}.{name}_extra differs from {kind}.{name} beyond its name and share"
        );
    }
}
