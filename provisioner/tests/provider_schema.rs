//! Every argument and block of the module and of every rendered root, checked against the google
//! provider's schema at the module's floor (7.41.0) and the newest supported release (8.7.0), since
//! the provider cannot be downloaded here for `terraform validate`. The schemas come from the JSII
//! assemblies of the PyPI packages cdktn-provider-google, extracted by scripts/install-test-deps.sh
//! (scripts/provider-schema.py) into `.tools/provider-schema/VERSION/schema.json`. A misspelled or
//! unknown argument or block, or a missing required one, fails; the check counts what it saw and
//! is itself tested with planted mistakes.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use provisioner::config;
use provisioner::render::{self, Engine};
use serde::Deserialize;
use support::workspace;

const VERSIONS: [&str; 2] = ["7.41.0", "8.7.0"];

#[derive(Debug, Deserialize)]
struct Schema {
    #[serde(default)]
    arguments: BTreeMap<String, bool>,
    #[serde(default)]
    blocks: BTreeMap<String, Block>,
}

#[derive(Debug, Deserialize)]
struct Block {
    required: bool,
    schema: Schema,
}

#[derive(Debug, Deserialize)]
struct Provider {
    provider_version: String,
    provider: Schema,
    resources: BTreeMap<String, Schema>,
    data_sources: BTreeMap<String, Schema>,
}

fn provider(version: &str) -> Provider {
    let path = workspace().join(format!(".tools/provider-schema/{version}/schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the google provider's {version} schema is missing ({}: {e}): run scripts/install-test-deps.sh",
            path.display()
        )
    });
    let provider: Provider = serde_json::from_str(&text).unwrap();
    assert_eq!(provider.provider_version, version);
    assert!(
        provider.resources.len() > 1000,
        "{version}: a partial schema"
    );
    provider
}

/// What a check saw.
#[derive(Debug, Default)]
struct Checked {
    resources: usize,
    arguments: usize,
    blocks: usize,
    problems: Vec<String>,
}

/// Meta-arguments Terraform itself handles in every resource and data source.
const META_ARGUMENTS: [&str; 4] = ["count", "for_each", "depends_on", "provider"];
/// Meta-blocks Terraform itself handles.
const META_BLOCKS: [&str; 4] = ["lifecycle", "provisioner", "connection", "precondition"];

fn check_body(body: &hcl::Body, schema: &Schema, at: &str, top: bool, checked: &mut Checked) {
    let mut present: Vec<String> = Vec::new();
    for attr in body.attributes() {
        let key = attr.key();
        present.push(key.to_owned());
        if top && META_ARGUMENTS.contains(&key) {
            continue;
        }
        checked.arguments += 1;
        if schema.blocks.contains_key(key) {
            checked
                .problems
                .push(format!("{at}: {key} is a block, written as an argument"));
        } else if !schema.arguments.contains_key(key) {
            checked
                .problems
                .push(format!("{at}: unknown argument {key}"));
        }
    }
    for block in body.blocks() {
        let identifier = block.identifier();
        if top && META_BLOCKS.contains(&identifier) {
            continue;
        }
        let (name, inner) = if identifier == "dynamic" {
            let name = block.labels()[0].as_str();
            let content = block.body().blocks().find(|b| b.identifier() == "content");
            match content {
                Some(content) => (name, content.body()),
                None => {
                    checked
                        .problems
                        .push(format!("{at}: dynamic {name} has no content"));
                    continue;
                }
            }
        } else {
            (identifier, block.body())
        };
        present.push(name.to_owned());
        checked.blocks += 1;
        match schema.blocks.get(name) {
            Some(nested) => check_body(
                inner,
                &nested.schema,
                &format!("{at}.{name}"),
                false,
                checked,
            ),
            None if schema.arguments.contains_key(name) => checked
                .problems
                .push(format!("{at}: {name} is an argument, written as a block")),
            None => checked.problems.push(format!("{at}: unknown block {name}")),
        }
    }
    for (name, required) in &schema.arguments {
        if *required && !present.contains(name) && name != "id" {
            checked
                .problems
                .push(format!("{at}: the required argument {name} is missing"));
        }
    }
    for (name, block) in &schema.blocks {
        if block.required && !present.contains(name) {
            checked
                .problems
                .push(format!("{at}: the required block {name} is missing"));
        }
    }
}

/// Checks each resource, data source and provider block of HCL `text` (named `file`).
fn check_text(provider: &Provider, file: &str, text: &str, checked: &mut Checked) {
    let body: hcl::Body = hcl::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
    for block in body.blocks() {
        let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
        let (schema, at) = match block.identifier() {
            "resource" => (
                provider.resources.get(labels[0]),
                format!("{file}: resource {}.{}", labels[0], labels[1]),
            ),
            "data" => (
                provider.data_sources.get(labels[0]),
                format!("{file}: data {}.{}", labels[0], labels[1]),
            ),
            "provider" if labels[0] == "google" => {
                (Some(&provider.provider), format!("{file}: provider google"))
            }
            _ => continue,
        };
        match schema {
            Some(schema) => {
                checked.resources += 1;
                check_body(block.body(), schema, &at, true, checked);
            }
            None => checked.problems.push(format!(
                "{at}: no such type in google {}",
                provider.provider_version
            )),
        }
    }
}

/// The module's files, and every rendered root (minimal, everything on, several accounts).
fn sources() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let module = workspace().join("terraform");
    let mut names: Vec<_> = std::fs::read_dir(&module)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .collect();
    names.sort();
    for path in names {
        out.push((
            format!("terraform/{}", path.file_name().unwrap().to_string_lossy()),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    for example in ["minimal", "full", "accounts", "event_driven", "fleet"] {
        let config =
            config::load(&workspace().join(format!("provisioner/examples/{example}.yaml")))
                .unwrap();
        for file in render::render(&config, Engine::Terraform).unwrap() {
            if Path::new(&file.path).extension().is_some_and(|e| e == "tf") {
                out.push((format!("{example}/{}", file.path), file.contents));
            }
        }
    }
    out
}

#[test]
fn the_module_and_every_render_match_the_provider_schema_at_the_floor_and_the_newest() {
    let sources = sources();
    for version in VERSIONS {
        let provider = provider(version);
        let mut checked = Checked::default();
        for (file, text) in &sources {
            check_text(&provider, file, text, &mut checked);
        }
        assert!(
            checked.problems.is_empty(),
            "google {version}:\n{}",
            checked.problems.join("\n")
        );
        eprintln!(
            "google {version}: {} resources, {} arguments, {} blocks",
            checked.resources, checked.arguments, checked.blocks
        );
        // The module's resources and data source, and each render's provider block (the embedded
        // module copies are the module's files, checked once above and again in each render).
        // 46 resources and data sources in the module today.
        assert!(checked.resources >= 4 * 44 + 3, "{version}: {checked:?}");
        assert!(checked.arguments >= 900, "{version}: {checked:?}");
        assert!(checked.blocks >= 180, "{version}: {checked:?}");
    }
}

#[test]
fn the_check_finds_planted_mistakes() {
    let provider = provider(VERSIONS[0]);
    let main = std::fs::read_to_string(workspace().join("terraform/main.tf")).unwrap();
    for (from, to, expected) in [
        (
            "uniform_bucket_level_access = true",
            "uniform_bucket_level_acess = true",
            "unknown argument uniform_bucket_level_acess",
        ),
        (
            "  versioning {\n",
            "  versionning {\n",
            "unknown block versionning",
        ),
        (
            "  repository_id = var.repository_id\n",
            "",
            "the required argument repository_id is missing",
        ),
        (
            "            secret_key_ref {",
            "            secret_key_reference {",
            "unknown block secret_key_reference",
        ),
        (
            "  replication {\n    auto {}\n  }\n",
            "",
            "the required block replication is missing",
        ),
    ] {
        assert!(main.contains(from), "{from}");
        let planted = main.replacen(from, to, 1);
        let mut checked = Checked::default();
        check_text(&provider, "main.tf", &planted, &mut checked);
        assert!(
            checked.problems.iter().any(|p| p.contains(expected)),
            "{expected}: {:?}",
            checked.problems
        );
    }
    let mut checked = Checked::default();
    check_text(
        &provider,
        "x.tf",
        "resource \"google_storage_buckets\" \"b\" {\n}\n",
        &mut checked,
    );
    assert_eq!(checked.problems.len(), 1, "{:?}", checked.problems);
}

/// The module and the rendered root accept the same provider versions: the floor and every 8.x.
#[test]
fn the_module_and_the_rendered_root_accept_google_8() {
    let module = std::fs::read_to_string(workspace().join("terraform/versions.tf")).unwrap();
    let config = config::load(&workspace().join("provisioner/examples/minimal.yaml")).unwrap();
    let files = render::render(&config, Engine::Terraform).unwrap();
    let root = &files
        .iter()
        .find(|f| f.path == render::files::TF_MAIN)
        .unwrap()
        .contents;
    for (name, text) in [
        ("terraform/versions.tf", &module),
        ("the rendered root", root),
    ] {
        let body: serde_json::Value = hcl::from_str(text).unwrap();
        let terraform = &body["terraform"];
        let google = &terraform["required_providers"]["google"];
        assert_eq!(google["version"], ">= 7.38, < 9.0", "{name}: {google}");
        assert_eq!(google["source"], "hashicorp/google", "{name}");
    }
    // Each tested schema version is inside the bound.
    for version in VERSIONS {
        let major: u32 = version.split('.').next().unwrap().parse().unwrap();
        assert!((7..9).contains(&major), "{version}");
    }
}

/// The dashboard's resources (`dashboard.tf`) are in the check, at both versions, and a mistake in
/// them is caught: a misspelled argument of a metric, a misspelled block inside its dynamic
/// labels, and the dashboard without its JSON.
#[test]
fn the_dashboard_resources_are_checked_and_their_mistakes_caught() {
    let text = std::fs::read_to_string(workspace().join("terraform/dashboard.tf")).unwrap();
    for version in VERSIONS {
        let provider = provider(version);
        let mut checked = Checked::default();
        check_text(&provider, "dashboard.tf", &text, &mut checked);
        assert_eq!(checked.problems, Vec::<String>::new(), "{version}");
        assert_eq!(
            checked.resources, 3,
            "{version}: two metric resources and the dashboard"
        );
        for (from, to, expected) in [
            (
                "  value_extractor = ",
                "  value_extracter = ",
                "unknown argument value_extracter",
            ),
            (
                "    exponential_buckets {",
                "    exponential_bucket {",
                "unknown block exponential_bucket",
            ),
            (
                "        value_type  = \"STRING\"",
                "        value_typ   = \"STRING\"",
                "unknown argument value_typ",
            ),
            (
                "  dashboard_json = var.dashboard_json\n",
                "",
                "the required argument dashboard_json is missing",
            ),
        ] {
            assert!(text.contains(from), "{from}");
            let mut checked = Checked::default();
            check_text(
                &provider,
                "dashboard.tf",
                &text.replacen(from, to, 1),
                &mut checked,
            );
            assert!(
                checked.problems.iter().any(|p| p.contains(expected)),
                "{version} {expected}: {:?}",
                checked.problems
            );
        }
    }
}
