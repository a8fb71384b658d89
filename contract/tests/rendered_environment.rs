//! Both sides keep the contract: the environment each engine renders for the collector goes through
//! the collector's own settings parser, and what the collector then does (where it writes, where
//! its checkpoints are, how long a run may take) is what the provisioner believes it does.
//!
//! - Terraform: the module's `collector_env.tf` is evaluated by the real `terraform console` with
//!   the values the rendered root passes the module (which also runs the module's own variable
//!   validations), and the token's env block is checked to come from the secret.
//! - gcloud: the rendered `deploy.sh service` runs against a recording `gcloud` that the real
//!   gcloud parses first; `--set-env-vars` is read with gcloud's own `^DELIMITER^` list syntax.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use collector::config::{Settings, Sink, Vars};
use contract::Stream;
use contract::env;
use provisioner::config::{self, Config};
use provisioner::render::{self, Engine, RenderedFile};
use testkit::{Reply, StandIns};

const TOKEN: &str = "contract-test-token";

fn example(name: &str) -> Config {
    let path = testkit::workspace_root().join(format!("provisioner/examples/{name}.yaml"));
    config::load(&path).unwrap()
}

fn file<'a>(files: &'a [RenderedFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} is rendered"))
        .contents
}

/// The collector's settings from `vars` (the token added as the secret would add it), which must
/// be valid, and checked against what `config` says the deployment does.
fn check_against(config: &Config, mut vars: Vars, engine: &str) {
    vars.insert(env::OP_BEARER_TOKEN.into(), TOKEN.into());
    let settings = Settings::from_vars(&vars)
        .unwrap_or_else(|e| panic!("{engine}: the collector refuses what is rendered: {e}"));
    assert_eq!(
        settings.sink,
        Sink::Gcs {
            bucket: config.bucket.name.clone(),
            emulator: None
        },
        "{engine}"
    );
    assert_eq!(settings.accounts.len(), 1, "{engine}");
    assert_eq!(
        settings.accounts[0].api_base.as_str().trim_end_matches('/'),
        config.events_base_url(),
        "{engine}"
    );
    let expected: Vec<(Stream, String, String)> = config
        .stream_prefixes()
        .into_iter()
        .map(|(stream, prefix)| {
            let key = contract::checkpoint::key(&config.checkpoint_prefix, stream);
            (stream, prefix, key)
        })
        .collect();
    let mut planned: Vec<(Stream, String, String)> = settings
        .plans()
        .map(|p| (p.stream, p.prefix.clone(), p.checkpoint_key.clone()))
        .collect();
    planned.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(
        planned, expected_sorted,
        "{engine}: the collector writes each stream where its feed reads and keeps its checkpoint where `provision status` reads it"
    );
    assert_eq!(
        settings.limits.max_records, config.collector.max_records,
        "{engine}"
    );
    assert_eq!(
        settings.limits.page_size, config.collector.page_size,
        "{engine}"
    );
    assert_eq!(
        settings.limits.budget.as_secs(),
        env::RUN_BUDGET_SECONDS.default,
        "{engine}: the run budget is the contract's"
    );
    assert!(
        settings.limits.budget.as_secs() < 600,
        "{engine}: a run ends before Cloud Run's 600 s request timeout cuts it"
    );
    for plan in settings.plans() {
        assert_eq!(
            plan.start,
            collector::pipeline::Start::Lookback(chrono::Duration::hours(i64::from(
                config.collector.lookback_hours
            ))),
            "{engine}"
        );
    }
    for name in vars.keys() {
        assert!(
            env::VARIABLES.contains(&name.as_str()),
            "{engine} renders {name}, which the collector does not read"
        );
    }
}

/// The values the rendered root passes the module, as Terraform variables (JSON).
fn module_arguments(root_main: &str) -> serde_json::Value {
    let root: serde_json::Value = hcl::from_str(root_main).unwrap();
    let mut arguments = root["module"]["onepassword_secops"].clone();
    arguments
        .as_object_mut()
        .expect("the root calls the module")
        .remove("source");
    arguments
}

/// `local.collector_env` of the module, evaluated by Terraform with `arguments`.
fn terraform_env(module: &[RenderedFile], arguments: &serde_json::Value) -> Vars {
    let dir = tempfile::tempdir().unwrap();
    for name in ["variables.tf", "layout.tf", "collector_env.tf"] {
        let path = format!("{}/{name}", render::files::TF_MODULE_DIR);
        std::fs::write(dir.path().join(name), file(module, &path)).unwrap();
    }
    std::fs::write(
        dir.path().join("terraform.tfvars.json"),
        arguments.to_string(),
    )
    .unwrap();
    let mut console = Command::new(testkit::tool("terraform"))
        .arg("console")
        .current_dir(dir.path())
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("terraform runs (Terraform 1.11 must be on PATH)");
    use std::io::Write as _;
    console
        .stdin
        .take()
        .unwrap()
        .write_all(b"jsonencode(local.collector_env)\n")
        .unwrap();
    let out = console.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "terraform console: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Terraform prints the JSON text as a quoted string.
    let quoted = String::from_utf8(out.stdout).unwrap();
    let json: String = serde_json::from_str(quoted.trim()).unwrap();
    let pairs: Vec<BTreeMap<String, String>> = serde_json::from_str(&json).unwrap();
    let mut vars = Vars::new();
    for pair in pairs {
        let previous = vars.insert(pair["name"].clone(), pair["value"].clone());
        assert!(previous.is_none(), "{} is set twice", pair["name"]);
    }
    vars
}

/// Whether some `env` block of `body` (at any depth) sets `name` from the secret `secret`.
fn env_from_secret(body: &hcl::Body, name: &str, secret: &str) -> bool {
    body.blocks().any(|block| {
        let sets_name = block.identifier() == "env"
            && block
                .body()
                .attributes()
                .any(|a| a.key() == "name" && a.expr() == &hcl::Expression::from(name));
        let from_secret = block
            .body()
            .blocks()
            .filter(|b| b.identifier() == "value_source")
            .flat_map(|b| b.body().blocks())
            .filter(|b| b.identifier() == "secret_key_ref")
            .flat_map(|b| b.body().attributes())
            .any(|a| a.key() == "secret" && a.expr().to_string().contains(secret));
        (sets_name && from_secret) || env_from_secret(block.body(), name, secret)
    })
}

#[test]
fn the_terraform_engine_renders_an_environment_the_collector_accepts_and_agrees_with() {
    for name in ["minimal", "full"] {
        let config = example(name);
        let files = render::render(&config, Engine::Terraform).unwrap();
        let arguments = module_arguments(file(&files, render::files::TF_MAIN));
        let vars = terraform_env(&files, &arguments);
        assert_eq!(vars[env::GCS_BUCKET], config.bucket.name, "{name}");
        check_against(&config, vars, &format!("terraform/{name}"));

        let module_main: hcl::Body = hcl::from_str(file(
            &files,
            &format!("{}/main.tf", render::files::TF_MODULE_DIR),
        ))
        .unwrap();
        assert!(
            env_from_secret(
                &module_main,
                env::OP_BEARER_TOKEN,
                "google_secret_manager_secret.token"
            ),
            "{name}: the token comes from the secret"
        );
    }
}

/// The `--set-env-vars` list in gcloud's syntax: `^D^K=V` + `D` + … (a custom delimiter), or
/// `K=V,K=V`.
fn gcloud_list(value: &str) -> Vars {
    let (delimiter, rest) = match value.strip_prefix('^') {
        Some(rest) => {
            let (delimiter, rest) = rest.split_once('^').expect("^DELIMITER^");
            (delimiter.to_owned(), rest)
        }
        None => (",".to_owned(), value),
    };
    rest.split(delimiter.as_str())
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("KEY=VALUE");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn flag<'a>(args: &'a [String], name: &str) -> &'a str {
    let at = args
        .iter()
        .position(|a| a == name)
        .unwrap_or_else(|| panic!("{name} in {args:?}"));
    &args[at + 1]
}

#[test]
fn the_gcloud_engine_renders_an_environment_the_collector_accepts_and_agrees_with() {
    for name in ["minimal", "full"] {
        let config = example(name);
        let dir = tempfile::tempdir().unwrap();
        render::write(
            dir.path(),
            &render::render(&config, Engine::Gcloud).unwrap(),
        )
        .unwrap();
        let mut s = StandIns::new();
        s.check_gcloud_syntax();
        s.on(
            "gcloud",
            &["describe", "--format"],
            Reply::ok("https://collector-abc-uc.a.run.app\n"),
        );
        s.on(
            "gcloud",
            &["describe"],
            Reply::fail(
                1,
                "ERROR: (gcloud.x.describe) NOT_FOUND: Resource not found\n",
            ),
        );
        let out = Command::new("bash")
            .arg(dir.path().join(render::files::GCLOUD_DEPLOY))
            .arg("service")
            .current_dir(dir.path())
            .env("PATH", s.path_env())
            .env("METRIC_WAIT_SECONDS", "0")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}\nrejected: {:?}",
            String::from_utf8_lossy(&out.stderr),
            s.parse_errors()
        );
        assert!(s.parse_errors().is_empty(), "{:?}", s.parse_errors());
        let deploy = s
            .calls()
            .into_iter()
            .find(|c| c.args.starts_with(&["run".to_owned(), "deploy".to_owned()]))
            .expect("the service is deployed");
        let vars = gcloud_list(flag(&deploy.args, "--set-env-vars"));
        assert_eq!(
            flag(&deploy.args, "--set-secrets"),
            format!("{}={}:latest", env::OP_BEARER_TOKEN, config.secret),
            "{name}: the token comes from the secret"
        );
        check_against(&config, vars, &format!("gcloud/{name}"));
    }
}

#[test]
fn a_renamed_variable_or_a_wrong_folder_fails_these_checks() {
    // The check itself must fail on a drifted environment.
    let config = example("minimal");
    let files = render::render(&config, Engine::Terraform).unwrap();
    let rendered = terraform_env(
        &files,
        &module_arguments(file(&files, render::files::TF_MAIN)),
    );
    check_against(&config, rendered.clone(), "as rendered");

    let mut moved = rendered.clone();
    moved.insert(env::STATE_KEY.into(), "elsewhere/auditevents.json".into());
    let moved = std::panic::catch_unwind(|| check_against(&config, moved, "moved"));
    assert!(
        moved.is_err(),
        "checkpoints where `provision status` does not read them are caught"
    );

    let mut renamed = rendered;
    let value = renamed.remove(env::MAX_RECORDS.name).unwrap();
    renamed.insert("MAX_RECORD".into(), value);
    let renamed = std::panic::catch_unwind(|| check_against(&config, renamed, "renamed"));
    assert!(renamed.is_err(), "a misspelled variable is caught");
}
