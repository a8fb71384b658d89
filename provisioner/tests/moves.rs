//! Every `moved` block (the module's, and those a render adds to the root) against the first,
//! targeted `terraform apply` of `provision apply`: Terraform refuses a targeted plan while the
//! state holds an instance whose pending move is not targeted ("Moved resource instances excluded
//! by targeting"; `prePlanVerifyTargetedMoves` in Terraform's context_plan.go checks that a target
//! contains both ends of every move). Checked twice: by that rule, and by the real Terraform on a
//! mirror of the module made of built-in `terraform_data` resources (the google provider cannot be
//! downloaded here), upgrading a real local state exactly as the provisioner's steps would.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use provisioner::config::{self, Config};
use provisioner::render::{self, Engine};
use support::workspace;

const MODULE: &str = "module.onepassword_secops";

/// A `moved` block: its `from` and `to` addresses as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Move {
    from: String,
    to: String,
}

/// The `moved` blocks of HCL `text`, with `prefix` put before each address (the module's own
/// blocks speak of its resources without the module's address).
fn moves_in(text: &str, prefix: &str) -> Vec<Move> {
    let body: hcl::Body = hcl::from_str(text).unwrap();
    body.blocks()
        .filter(|b| b.identifier() == "moved")
        .map(|b| {
            let attr = |key: &str| {
                let expr = b
                    .body()
                    .attributes()
                    .find(|a| a.key() == key)
                    .unwrap_or_else(|| panic!("a moved block without {key}"))
                    .expr();
                format!("{prefix}{expr}")
            };
            Move {
                from: attr("from"),
                to: attr("to"),
            }
        })
        .collect()
}

/// Every `moved` block of the module (terraform/*.tf), addressed from the root.
fn module_moves() -> Vec<Move> {
    let mut moves = Vec::new();
    for entry in std::fs::read_dir(workspace().join("terraform")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tf") {
            moves.extend(moves_in(
                &std::fs::read_to_string(&path).unwrap(),
                &format!("{MODULE}."),
            ));
        }
    }
    moves
}

/// The `moved` blocks of `config`'s rendered root.
fn root_moves(config: &Config) -> Vec<Move> {
    let files = render::render(config, Engine::Terraform).unwrap();
    let main = files
        .iter()
        .find(|f| f.path == render::files::TF_MAIN)
        .unwrap();
    moves_in(&main.contents, "")
}

/// The resource an instance address belongs to: `module.m.t.n["k"]` is `module.m.t.n`.
fn resource_of(address: &str) -> &str {
    address.split_once('[').map_or(address, |(r, _)| r)
}

/// The resources the first targeted apply of `provision apply` names.
fn foundation_targets(config: &Config) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let image = provisioner::steps::ImageSource::of(config, false);
    let plan = provisioner::steps::apply(
        Engine::Terraform,
        dir.path(),
        config,
        Vec::new(),
        dir.path(),
        &image,
    );
    let targeted: Vec<&provisioner::runner::Step> = plan
        .foundation
        .iter()
        .filter(|s| s.args.iter().any(|a| a.starts_with("-target=")))
        .collect();
    assert_eq!(targeted.len(), 1, "one targeted apply: {targeted:?}");
    targeted[0]
        .args
        .iter()
        .filter_map(|a| a.strip_prefix("-target="))
        .map(str::to_owned)
        .collect()
}

/// The moves of `moves` whose ends no target contains (a resource target contains its instances).
fn uncovered(moves: &[Move], targets: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for m in moves {
        for end in [&m.from, &m.to] {
            if !targets.iter().any(|t| t == resource_of(end)) {
                out.push(format!("{end} (moved from {} to {})", m.from, m.to));
            }
        }
    }
    out
}

fn example(name: &str) -> Config {
    config::load(&workspace().join(format!("provisioner/examples/{name}.yaml"))).unwrap()
}

/// The accounts example with the first account (acme) keeping the single-account deployment's
/// secret: the way from one account to several that keeps the token (README).
fn accounts_reusing_the_secret() -> Config {
    let text = std::fs::read_to_string(workspace().join("provisioner/examples/accounts.yaml"))
        .unwrap()
        .replace(
            "  - name: acme                      # the top-level streams and events host",
            "  - name: acme\n    secret: onepassword-events-token",
        );
    let config = config::parse("accounts-reusing.yaml", &text).unwrap();
    assert_eq!(config.accounts()[0].secret, config.secret);
    config
}

fn shapes() -> Vec<(&'static str, Config)> {
    vec![
        ("minimal", example("minimal")),
        ("full", example("full")),
        ("accounts", example("accounts")),
        ("accounts reusing the secret", accounts_reusing_the_secret()),
    ]
}

#[test]
fn the_first_targeted_apply_covers_every_moved_block() {
    let module = module_moves();
    assert!(
        module.len() >= 2,
        "the module's moved blocks were not found: {module:?}"
    );
    let mut root_seen = 0;
    for (name, config) in shapes() {
        let targets = foundation_targets(&config);
        let mut moves = module.clone();
        let root = root_moves(&config);
        root_seen += root.len();
        moves.extend(root);
        let missing = uncovered(&moves, &targets);
        assert!(
            missing.is_empty(),
            "{name}: the first apply's -target list {targets:?} leaves out {missing:?}"
        );
    }
    assert!(root_seen >= 2, "the reusing config renders its moves");
}

#[test]
fn the_coverage_rule_finds_an_untargeted_move() {
    let moves = vec![Move {
        from: "module.m.a.b".into(),
        to: "module.m.a.b[0]".into(),
    }];
    assert!(uncovered(&moves, &["module.m.a.b".into()]).is_empty());
    assert_eq!(uncovered(&moves, &["module.m.a.c".into()]).len(), 2);
}

// --- The real Terraform on a mirror -----------------------------------------------------------

/// The mirror's address of a module address: `google_T.N` becomes `terraform_data.google_T__N`.
fn mirror(address: &str) -> String {
    let (resource, index) = match address.find('[') {
        Some(i) => address.split_at(i),
        None => (address, ""),
    };
    let parts: Vec<&str> = resource.split('.').collect();
    let (modules, rest) = parts.split_at(parts.len() - 2);
    let mut out: Vec<String> = modules.iter().map(|s| (*s).to_owned()).collect();
    out.push(format!("terraform_data.{}__{}", rest[0], rest[1]));
    format!("{}{index}", out.join("."))
}

/// The `count` or `for_each` line of each resource of the module (`type.name`), as written.
fn meta_arguments() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(workspace().join("terraform")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "tf") {
            continue;
        }
        let body: hcl::Body = hcl::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for block in body.blocks().filter(|b| b.identifier() == "resource") {
            let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
            let meta = block
                .body()
                .attributes()
                .find(|a| a.key() == "count" || a.key() == "for_each")
                .map(|a| format!("  {} = {}\n", a.key(), a.expr()))
                .unwrap_or_default();
            out.insert(format!("{}.{}", labels[0], labels[1]), meta);
        }
    }
    out
}

/// A Terraform root in `dir` calling a mirror module: for each of `resources` (module addresses
/// without the module prefix) a `terraform_data` with the module's own `count`/`for_each`, the
/// module's `moved` blocks when `with_module_moves`, the root's `root_moves`, and `accounts`.
fn write_mirror(
    dir: &Path,
    resources: &BTreeMap<String, String>,
    with_module_moves: bool,
    root_moves: &[Move],
    accounts: &[String],
) {
    let module_dir = dir.join("module");
    std::fs::create_dir_all(&module_dir).unwrap();
    let mut module = String::from(
        // Stand-ins for the module's locals the moved resources' count and for_each read:
        // `services` is the set of APIs `required` enables, empty here (no move ends in it).
        "variable \"accounts\" {\n  type    = map(any)\n  default = {}\n}\n\nlocals {\n  multi_account = length(var.accounts) > 0\n  services      = []\n}\n",
    );
    for (resource, meta) in resources {
        let (t, n) = resource.split_once('.').unwrap();
        module.push_str(&format!(
            "\nresource \"terraform_data\" \"{t}__{n}\" {{\n{meta}  input = \"{resource}\"\n}}\n"
        ));
    }
    if with_module_moves {
        let prefix = format!("{MODULE}.");
        for m in module_moves() {
            module.push_str(&format!(
                "\nmoved {{\n  from = {}\n  to   = {}\n}}\n",
                mirror(m.from.strip_prefix(&prefix).unwrap()),
                mirror(m.to.strip_prefix(&prefix).unwrap())
            ));
        }
    }
    std::fs::write(module_dir.join("main.tf"), module).unwrap();
    let accounts: Vec<String> = accounts
        .iter()
        .map(|a| format!("    {a:?} = {{ name = {a:?} }}\n"))
        .collect();
    let mut root = format!(
        "module \"onepassword_secops\" {{\n  source = \"./module\"\n  accounts = {{\n{}  }}\n}}\n",
        accounts.concat()
    );
    for m in root_moves {
        root.push_str(&format!(
            "\nmoved {{\n  from = {}\n  to   = {}\n}}\n",
            mirror(&m.from),
            mirror(&m.to)
        ));
    }
    std::fs::write(dir.join("main.tf"), root).unwrap();
}

fn terraform(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(testkit::tool("terraform"))
        .args(args)
        .current_dir(dir)
        .env("TF_IN_AUTOMATION", "1")
        .env("NO_COLOR", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("run terraform (Terraform 1.11 must be installed)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// Resource instances by address, with their ids.
type State = BTreeMap<String, String>;

/// Each resource instance of the state in `dir`, with its id.
fn state(dir: &Path) -> State {
    let text = std::fs::read_to_string(dir.join("terraform.tfstate")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = BTreeMap::new();
    for r in state["resources"].as_array().unwrap() {
        let address = format!(
            "{}.{}.{}",
            r["module"].as_str().unwrap_or(""),
            r["type"].as_str().unwrap(),
            r["name"].as_str().unwrap()
        );
        for i in r["instances"].as_array().unwrap() {
            let key = match &i["index_key"] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => format!("[{s:?}]"),
                n => format!("[{n}]"),
            };
            out.insert(
                format!("{address}{key}"),
                i["attributes"]["id"].as_str().unwrap().to_owned(),
            );
        }
    }
    out
}

/// The module's resources the mirror needs: every target and every resource a move ends at.
fn mirrored(targets: &[String], moves: &[Move]) -> BTreeMap<String, String> {
    let meta = meta_arguments();
    let prefix = format!("{MODULE}.");
    // Targets that no move names are plain resources: their own count or for_each does not
    // matter to targeting (a resource target contains all its instances).
    let mut out: BTreeMap<String, String> = targets
        .iter()
        .map(|t| t.strip_prefix(&prefix).unwrap().to_owned())
        .filter(|n| meta.contains_key(n))
        .map(|n| (n, String::new()))
        .collect();
    let moved: BTreeSet<String> = moves
        .iter()
        .flat_map(|m| {
            [&m.from, &m.to]
                .into_iter()
                .map(|a| resource_of(a.strip_prefix(&prefix).unwrap()).to_owned())
        })
        .collect();
    for n in moved {
        if let Some(m) = meta.get(&n) {
            out.insert(n, m.clone());
        }
    }
    out
}

/// Upgrades a state made by `old` (a root in `dir`) to `config` with the provisioner's first
/// targeted apply, on the mirror; returns the state before and after.
fn upgrade(dir: &Path, config: &Config) -> Result<(State, State), String> {
    let before = state(dir);
    let targets = foundation_targets(config);
    let root = root_moves(config);
    let mut all_moves = module_moves();
    all_moves.extend(root.iter().cloned());
    let accounts: Vec<String> = config
        .accounts()
        .into_iter()
        .filter_map(|a| a.name.map(|n| n.to_string()))
        .collect();
    write_mirror(dir, &mirrored(&targets, &all_moves), true, &root, &accounts);
    terraform(dir, &["init", "-input=false"])?;
    let mut args = vec!["apply", "-input=false", "-auto-approve"];
    let mirrored_targets: Vec<String> = targets
        .iter()
        .map(|t| format!("-target={}", mirror(t)))
        .collect();
    args.extend(mirrored_targets.iter().map(String::as_str));
    terraform(dir, &args)?;
    Ok((before, state(dir)))
}

/// A state as a deployment made before the module's moves left it: every module move's `from`
/// (a resource without an index, or with `count`/`for_each` giving exactly the moved instances).
fn pre_accounts_state(dir: &Path) {
    let prefix = format!("{MODULE}.");
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in module_moves() {
        let from = m.from.strip_prefix(&prefix).unwrap();
        let entry = keys.entry(resource_of(from).to_owned()).or_default();
        if let Some((_, index)) = from.split_once('[') {
            entry.push(index.trim_end_matches(']').to_owned());
        }
    }
    let mut resources = BTreeMap::new();
    for (resource, keys) in keys {
        let meta = if keys.is_empty() {
            String::new()
        } else if keys.iter().all(|k| k.starts_with('"')) {
            format!("  for_each = toset([{}])\n", keys.join(", "))
        } else {
            format!("  count = {}\n", keys.len())
        };
        resources.insert(resource, meta);
    }
    write_mirror(dir, &resources, false, &[], &[]);
    terraform(dir, &["init", "-input=false"]).unwrap();
    terraform(dir, &["apply", "-input=false", "-auto-approve"]).unwrap();
}

#[test]
fn a_deployment_from_before_accounts_upgrades_with_the_first_targeted_apply() {
    for (name, config) in shapes() {
        let dir = tempfile::tempdir().unwrap();
        pre_accounts_state(dir.path());
        let (before, after) = upgrade(dir.path(), &config).unwrap_or_else(|e| {
            panic!("{name}: the first targeted apply fails on an old state:\n{e}")
        });
        let moves = module_moves();
        assert_eq!(before.len(), moves.len(), "{name}: {before:?}");
        // Every instance the config keeps moved, not replaced: the same id at its new address
        // (with several accounts the single-account secret and reader are not kept, count 0).
        let mut kept = 0;
        for m in &moves {
            let (from, to) = (mirror(&m.from), mirror(&m.to));
            assert!(before.contains_key(&from), "{name}: {from}: {before:?}");
            if let Some(id) = after.get(&to) {
                assert_eq!(Some(id), before.get(&from), "{name}: {from} -> {to}");
                kept += 1;
            }
        }
        let expected = if config.has_accounts() {
            moves.len() - 2
        } else {
            moves.len()
        };
        assert_eq!(kept, expected, "{name}: {after:?}");
    }
}

/// The same first apply with the targets the provisioner used before this fix fails on Terraform
/// 1.11 as users saw it: the check above can fail.
#[test]
fn terraform_refuses_a_targeted_apply_that_leaves_out_a_pending_move() {
    let dir = tempfile::tempdir().unwrap();
    pre_accounts_state(dir.path());
    let config = example("minimal");
    let targets = [
        "google_project_service.required",
        "google_secret_manager_secret.token",
        "google_artifact_registry_repository.collector",
        "google_artifact_registry_repository.releases",
    ]
    .map(|r| format!("{MODULE}.{r}"));
    write_mirror(
        dir.path(),
        &mirrored(&targets, &module_moves()),
        true,
        &root_moves(&config),
        &[],
    );
    terraform(dir.path(), &["init", "-input=false"]).unwrap();
    let mut args = vec!["apply", "-input=false", "-auto-approve"];
    let t: Vec<String> = targets
        .iter()
        .map(|t| format!("-target={}", mirror(t)))
        .collect();
    args.extend(t.iter().map(String::as_str));
    let error = terraform(dir.path(), &args).unwrap_err();
    assert!(
        error.contains("Moved resource instances excluded by targeting"),
        "{error}"
    );
}

/// One account to several, the first account keeping the old secret id: its secret (and the token
/// in it) and its reader move to the account, never destroyed and created again (which would also
/// race the deletion of a secret with the same id).
#[test]
fn one_account_to_several_keeps_the_secret_when_an_account_reuses_its_id() {
    let dir = tempfile::tempdir().unwrap();
    // Today's single-account deployment, fully applied.
    let single = example("minimal");
    let all = mirrored(&foundation_targets(&single), &module_moves());
    write_mirror(dir.path(), &all, true, &[], &[]);
    terraform(dir.path(), &["init", "-input=false"]).unwrap();
    terraform(dir.path(), &["apply", "-input=false", "-auto-approve"]).unwrap();

    let (before, after) = upgrade(dir.path(), &accounts_reusing_the_secret()).unwrap();
    let secret = format!("{MODULE}.terraform_data.google_secret_manager_secret__token[0]");
    let reader = format!(
        "{MODULE}.terraform_data.google_secret_manager_secret_iam_member__collector_reads_token[0]"
    );
    let account_secret =
        format!("{MODULE}.terraform_data.google_secret_manager_secret__account_token[\"acme\"]");
    let account_reader = format!(
        "{MODULE}.terraform_data.google_secret_manager_secret_iam_member__collector_reads_account_token[\"acme\"]"
    );
    assert_eq!(after.get(&account_secret), before.get(&secret), "{after:?}");
    assert!(before.contains_key(&secret));
    assert_eq!(after.get(&account_reader), before.get(&reader), "{after:?}");
    assert!(!after.contains_key(&secret), "{after:?}");
}
