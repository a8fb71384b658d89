//! Both sides keep the contract: the environment each engine renders for the collector goes through
//! the collector's own settings parser, and what the collector then does (where each account's
//! objects and checkpoints go, which secret each token comes from, how long a run may take) is what
//! the provisioner believes it does, and what the SecOps feeds read.
//!
//! - Terraform: the module's `layout.tf` and `collector_env.tf` are evaluated by the real
//!   `terraform console` with the values the rendered root passes the module (which also runs the
//!   module's own variable validations); the service's env blocks are checked to take each token
//!   from the secret `token_env` names, and each feed to read where the collector writes. With the
//!   accounts split across services (`collector.services`), each service's environment holds its
//!   share and nothing else, and every account is collected by exactly one service.
//! - gcloud: the rendered `deploy.sh service` runs against a recording `gcloud` that the real
//!   gcloud parses first; `--set-env-vars` and `--set-secrets` are read with gcloud's own syntax.

use std::collections::BTreeMap;
use std::process::Command;

use collector::config::{Settings, Sink, Vars};
use contract::Stream;
use contract::env;
use provisioner::config::{self, Config};
use provisioner::render::{self, Engine, RenderedFile};
use testkit::{Reply, StandIns, TerraformRoot};

const EXAMPLES: [&str; 4] = ["minimal", "full", "accounts", "fleet"];

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

/// The accounts service `service` (1-based) collects, as the provisioner means it.
fn accounts_of(config: &Config, service: u32) -> Vec<config::Account> {
    config
        .accounts()
        .into_iter()
        .filter(|a| a.service == service)
        .collect()
}

/// The token variable of each account of `service` and the secret it comes from, as the
/// provisioner means it.
fn expected_tokens(config: &Config, service: u32) -> BTreeMap<String, String> {
    accounts_of(config, service)
        .into_iter()
        .map(|account| {
            let variable = match &account.name {
                None => env::OP_BEARER_TOKEN.to_owned(),
                Some(name) => env::for_account(env::OP_BEARER_TOKEN, name),
            };
            (variable, account.secret)
        })
        .collect()
}

/// The collector's settings from `vars` and a token in each variable of `tokens` (as the secrets
/// would fill them), which must be valid, and checked against what `config` says service `service`
/// of the deployment does.
fn check_against(
    config: &Config,
    service: u32,
    mut vars: Vars,
    tokens: &BTreeMap<String, String>,
    engine: &str,
) -> Settings {
    assert_eq!(
        tokens,
        &expected_tokens(config, service),
        "{engine}: each token comes from its account's secret"
    );
    for variable in tokens.keys() {
        vars.insert(variable.clone(), format!("token-in-{variable}"));
    }
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
    let accounts = accounts_of(config, service);
    assert!(
        !accounts.is_empty(),
        "{engine}: service {service} collects some account"
    );
    assert_eq!(settings.accounts.len(), accounts.len(), "{engine}");
    for account in &accounts {
        let label = format!("{engine}/{}", account.label());
        let collected = settings
            .accounts
            .iter()
            .find(|a| a.name == account.name)
            .unwrap_or_else(|| panic!("{label}: the collector collects the account"));
        assert_eq!(
            collected.api_base.as_str().trim_end_matches('/'),
            account.events_base_url(),
            "{label}"
        );
        let mut planned: Vec<(Stream, String, String)> = collected
            .plans
            .iter()
            .map(|p| (p.stream, p.prefix.clone(), p.checkpoint_key.clone()))
            .collect();
        let mut expected: Vec<(Stream, String, String)> = account
            .streams
            .iter()
            .map(|&stream| {
                (
                    stream,
                    account.folder(config, stream),
                    account.checkpoint_key(config, stream),
                )
            })
            .collect();
        planned.sort();
        expected.sort();
        assert_eq!(
            planned, expected,
            "{label}: the collector writes each stream where its feed reads and keeps its checkpoint where `provision status` reads it"
        );
        for plan in &collected.plans {
            assert_eq!(
                plan.start,
                collector::pipeline::Start::Lookback(chrono::Duration::hours(i64::from(
                    account.lookback_hours
                ))),
                "{label}"
            );
        }
    }
    if config.has_accounts() {
        assert_eq!(
            settings.accounts_in_parallel, config.collector.accounts_in_parallel as usize,
            "{engine}"
        );
    }
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
    for name in vars.keys() {
        let per_account = accounts.iter().filter_map(|a| a.name.as_ref()).any(|a| {
            env::PER_ACCOUNT
                .iter()
                .any(|base| env::for_account(base, a) == *name)
        });
        assert!(
            env::VARIABLES.contains(&name.as_str()) || per_account,
            "{engine} renders {name}, which the collector does not read"
        );
    }
    settings
}

/// The module block's arguments in the rendered root, the dashboard's JSON read from its own
/// rendered file as the root's `file(…)` reads it.
fn module_arguments(files: &[RenderedFile]) -> serde_json::Value {
    let mut arguments = testkit::module_arguments(file(files, render::files::TF_MAIN));
    if let Some(dashboard) = files.iter().find(|f| f.path == render::files::TF_DASHBOARD) {
        arguments["dashboard_json"] = dashboard.contents.clone().into();
    }
    arguments
}

/// What the module's layout and environment evaluate to with `arguments`.
#[derive(Debug, serde::Deserialize)]
struct Evaluated {
    env: Vec<BTreeMap<String, String>>,
    tokens: Vec<BTreeMap<String, String>>,
    feeds: BTreeMap<String, BTreeMap<String, String>>,
    /// The services after the first, by number: the environment main.tf's `collector_extra` gets.
    extra: BTreeMap<String, ServiceEnv>,
}

#[derive(Debug, serde::Deserialize)]
struct ServiceEnv {
    env: Vec<BTreeMap<String, String>>,
    tokens: Vec<BTreeMap<String, String>>,
}

/// The module's `local.collector_env`, `local.token_env`, `local.feeds` and the further services'
/// environments, evaluated by Terraform.
fn evaluate(module: &[RenderedFile], arguments: &serde_json::Value) -> Evaluated {
    let mut root = TerraformRoot::new();
    for name in [
        "variables.tf",
        "feed_variables.tf",
        "layout.tf",
        "collector_env.tf",
    ] {
        let path = format!("{}/{name}", render::files::TF_MODULE_DIR);
        root = root.file(name, file(module, &path));
    }
    let value = root
        .variables(arguments)
        .eval("{env = local.collector_env, tokens = local.token_env, feeds = local.feeds, extra = {for n, _ in local.extra_services : n => {env = local.service_env[n], tokens = local.service_token_env[n]}}}");
    serde_json::from_value(value).unwrap()
}

/// `pairs` of `{name, value}` as variables, each once.
fn unique(pairs: &[BTreeMap<String, String>], value: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for pair in pairs {
        let previous = vars.insert(pair["name"].clone(), pair[value].clone());
        assert!(previous.is_none(), "{} is set twice", pair["name"]);
    }
    vars
}

/// Whether some `dynamic "env"` block of `body` (at any depth) iterates `tokens` (an expression)
/// and takes each value from the secret its `secret_id` names.
fn tokens_from_secrets(body: &hcl::Body, tokens: &str) -> bool {
    body.blocks().any(|block| {
        let iterates = block.identifier() == "dynamic"
            && block.labels().first().is_some_and(|l| l.as_str() == "env")
            && block
                .body()
                .attributes()
                .any(|a| a.key() == "for_each" && a.expr().to_string() == tokens);
        let from_secret = block
            .body()
            .blocks()
            .filter(|b| b.identifier() == "content")
            .flat_map(|b| b.body().blocks())
            .filter(|b| b.identifier() == "value_source")
            .flat_map(|b| b.body().blocks())
            .filter(|b| b.identifier() == "secret_key_ref")
            .flat_map(|b| b.body().attributes())
            .any(|a| a.key() == "secret" && a.expr().to_string() == "env.value.secret_id");
        (iterates && from_secret) || tokens_from_secrets(block.body(), tokens)
    })
}

#[test]
fn the_terraform_engine_renders_an_environment_the_collector_accepts_and_agrees_with() {
    for name in EXAMPLES {
        let config = example(name);
        let files = render::render(&config, Engine::Terraform).unwrap();
        let evaluated = evaluate(&files, &module_arguments(&files));
        let mut services = vec![(1, &evaluated.env, &evaluated.tokens)];
        for (n, service) in &evaluated.extra {
            services.push((n.parse().unwrap(), &service.env, &service.tokens));
        }
        let numbers: Vec<u32> = services.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(
            numbers,
            (1..=config.services()).collect::<Vec<_>>(),
            "{name}: one environment per service"
        );

        // Each feed reads exactly where the collector writes that account's stream, whichever
        // service collects it.
        let mut written: Vec<(String, String)> = Vec::new();
        for (service, env, tokens) in services {
            let vars = unique(env, "value");
            assert_eq!(vars[env::GCS_BUCKET], config.bucket.name, "{name}");
            let tokens = unique(tokens, "secret_id");
            let settings = check_against(
                &config,
                service,
                vars,
                &tokens,
                &format!("terraform/{name}/service {service}"),
            );
            written.extend(settings.accounts.iter().flat_map(|a| {
                a.plans.iter().map(|p| {
                    let key = match &a.name {
                        None => p.stream.to_string(),
                        Some(account) => format!("{account}/{}", p.stream),
                    };
                    (key, p.prefix.clone())
                })
            }));
        }
        let mut read: Vec<(String, String)> = evaluated
            .feeds
            .iter()
            .map(|(key, feed)| (key.clone(), feed["folder"].clone()))
            .collect();
        written.sort();
        read.sort();
        assert_eq!(read, written, "{name}: one feed per account and stream");

        let module_main: hcl::Body = hcl::from_str(file(
            &files,
            &format!("{}/main.tf", render::files::TF_MODULE_DIR),
        ))
        .unwrap();
        for tokens in ["local.token_env", "local.service_token_env[each.key]"] {
            assert!(
                tokens_from_secrets(&module_main, tokens),
                "{name}: the service takes each token of {tokens} from its secret"
            );
        }
    }
}

/// A list in gcloud's syntax: `^D^K=V` + `D` + … (a custom delimiter), or `K=V,K=V`.
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
    for name in EXAMPLES {
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
        let deploys: Vec<_> = s
            .calls()
            .into_iter()
            .filter(|c| c.args.starts_with(&["run".to_owned(), "deploy".to_owned()]))
            .collect();
        let names: Vec<&str> = deploys.iter().map(|d| d.args[2].as_str()).collect();
        assert_eq!(
            names,
            config.service_names(),
            "{name}: every service is deployed, the first first"
        );
        for (deploy, service) in deploys.iter().zip(1..) {
            let vars = gcloud_list(flag(&deploy.args, "--set-env-vars"));
            let tokens: BTreeMap<String, String> = gcloud_list(flag(&deploy.args, "--set-secrets"))
                .into_iter()
                .map(|(variable, reference)| {
                    let secret = reference
                        .strip_suffix(":latest")
                        .unwrap_or_else(|| panic!("{name}: {reference} is the latest version"));
                    (variable, secret.to_owned())
                })
                .collect();
            check_against(
                &config,
                service,
                vars,
                &tokens,
                &format!("gcloud/{name}/service {service}"),
            );
        }
    }
}

#[test]
fn a_renamed_variable_or_a_wrong_folder_fails_these_checks() {
    // The check itself must fail on a drifted environment.
    let config = example("minimal");
    let files = render::render(&config, Engine::Terraform).unwrap();
    let evaluated = evaluate(&files, &module_arguments(&files));
    let rendered = unique(&evaluated.env, "value");
    let tokens = unique(&evaluated.tokens, "secret_id");
    check_against(&config, 1, rendered.clone(), &tokens, "as rendered");

    let mut moved = rendered.clone();
    moved.insert(env::STATE_KEY.into(), "elsewhere/auditevents.json".into());
    let moved = std::panic::catch_unwind(|| check_against(&config, 1, moved, &tokens, "moved"));
    assert!(
        moved.is_err(),
        "checkpoints where `provision status` does not read them are caught"
    );

    let mut renamed = rendered.clone();
    let value = renamed.remove(env::MAX_RECORDS.name).unwrap();
    renamed.insert("MAX_RECORD".into(), value);
    let renamed =
        std::panic::catch_unwind(|| check_against(&config, 1, renamed, &tokens, "renamed"));
    assert!(renamed.is_err(), "a misspelled variable is caught");

    let mut wrong_secret = tokens.clone();
    wrong_secret.insert(env::OP_BEARER_TOKEN.into(), "another-secret".into());
    let wrong_secret =
        std::panic::catch_unwind(|| check_against(&config, 1, rendered, &wrong_secret, "secret"));
    assert!(
        wrong_secret.is_err(),
        "a token from another secret is caught"
    );

    // A service given another service's share is caught.
    let fleet = example("fleet");
    let files = render::render(&fleet, Engine::Terraform).unwrap();
    let evaluated = evaluate(&files, &module_arguments(&files));
    let first = unique(&evaluated.env, "value");
    let first_tokens = unique(&evaluated.tokens, "secret_id");
    check_against(&fleet, 1, first.clone(), &first_tokens, "service 1");
    let swapped =
        std::panic::catch_unwind(|| check_against(&fleet, 2, first, &first_tokens, "swapped"));
    assert!(
        swapped.is_err(),
        "a service collecting another's accounts is caught"
    );
}
