//! The module's alerts as a first apply meets them: the silence policy is a PromQL condition with
//! metric validation off (Cloud Monitoring refuses any other condition on a log-based metric it does
//! not know yet, and the provider does not retry), its query evaluated by Terraform for one and for
//! several accounts and parsed by a real PromQL parser (promql-parser, from
//! scripts/install-test-deps.sh); the ERROR alert matches only the collector's own lines, the same
//! in both engines.

mod support;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use provisioner::config::{self, Config};
use provisioner::render::{self, Engine};
use support::workspace;
use testkit::TerraformRoot;

fn example(name: &str) -> Config {
    config::load(&workspace().join(format!("provisioner/examples/{name}.yaml"))).unwrap()
}

/// The values `config`'s rendered root passes the module.
fn module_arguments(config: &Config) -> serde_json::Value {
    let files = render::render(config, Engine::Terraform).unwrap();
    let main = &files
        .iter()
        .find(|f| f.path == render::files::TF_MAIN)
        .unwrap()
        .contents;
    let mut arguments = testkit::module_arguments(main);
    // The dashboard's JSON is read from its own rendered file (`file(…)` in the root).
    if let Some(dashboard) = files.iter().find(|f| f.path == render::files::TF_DASHBOARD) {
        arguments["dashboard_json"] = dashboard.contents.clone().into();
    }
    arguments
}

/// The locals of alerting.tf that name no resource, with the module's variables and layout, as a
/// folder `terraform console` can evaluate without the provider.
fn alerting_locals(arguments: &serde_json::Value) -> TerraformRoot {
    // The locals block as written (hcl-rs would not write the escaped quotes back), less each
    // attribute that names a resource: its lines up to the next attribute at the block's indent.
    let text = std::fs::read_to_string(workspace().join("terraform/alerting.tf")).unwrap();
    let start = text
        .find("\nlocals {\n")
        .expect("alerting.tf has a locals block")
        + 1;
    let end = start + text[start..].find("\n}\n").unwrap() + 3;
    let mut kept = String::new();
    let mut attribute = String::new();
    let mut count = 0;
    let mut flush = |attribute: &mut String, kept: &mut String| {
        if !attribute.contains("google_") {
            kept.push_str(attribute);
            count += usize::from(attribute.contains(" = "));
        }
        attribute.clear();
    };
    for line in text[start..end].lines() {
        let top_level = line.starts_with("  ") && !line.starts_with("   ") && line.contains(" = ");
        if top_level
            || line == "}"
            || line.starts_with("locals")
            || line.trim_start().starts_with('#')
        {
            flush(&mut attribute, &mut kept);
        }
        attribute.push_str(line);
        attribute.push('\n');
    }
    flush(&mut attribute, &mut kept);
    assert!(count >= 6, "{kept}");
    TerraformRoot::new()
        .module_files(&["variables.tf", "layout.tf"])
        .file("alerting.tf", &kept)
        .variables(arguments)
}

/// The string `expression` evaluates to in `root`.
fn console(root: &TerraformRoot, expression: &str) -> String {
    match root.eval(expression) {
        serde_json::Value::String(text) => text,
        other => panic!("{expression} is not a string: {other}"),
    }
}

fn python() -> PathBuf {
    let python = workspace().join(".tools/venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/install-test-deps.sh",
        python.display()
    );
    python
}

/// The PromQL parser's reading of `query`, or its error.
fn parse_promql(query: &str) -> Result<String, String> {
    let out = Command::new(python())
        .args([
            "-c",
            "import sys\ntry:\n    import promql_parser\nexcept ImportError:\n    sys.exit('promql-parser is not installed: run scripts/install-test-deps.sh')\ntry:\n    print(promql_parser.parse(sys.stdin.read()))\nexcept Exception as e:\n    print(e, file=sys.stderr)\n    sys.exit(1)\n",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(query.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("not installed"), "{stderr}");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(stderr)
    }
}

#[test]
fn the_silence_policy_needs_no_known_metric_and_its_query_parses() {
    let alerting = std::fs::read_to_string(workspace().join("terraform/alerting.tf")).unwrap();
    let body: hcl::Body = hcl::from_str(&alerting).unwrap();
    let silence = body
        .blocks()
        .find(|b| {
            b.identifier() == "resource"
                && b.labels()
                    .iter()
                    .map(|l| l.as_str())
                    .eq(["google_monitoring_alert_policy", "silence"])
        })
        .unwrap();
    let condition = silence
        .body()
        .blocks()
        .find(|b| b.identifier() == "conditions")
        .unwrap();
    let kinds: Vec<&str> = condition.body().blocks().map(|b| b.identifier()).collect();
    assert_eq!(kinds, ["condition_prometheus_query_language"]);
    let promql = condition.body().blocks().next().unwrap();
    let attr = |k: &str| {
        promql
            .body()
            .attributes()
            .find(|a| a.key() == k)
            .map(|a| a.expr().to_string())
    };
    assert_eq!(attr("disable_metric_validation").as_deref(), Some("true"));
    assert_eq!(attr("query").as_deref(), Some("local.silence_query"));

    for (name, config) in [
        ("full", example("full")),
        ("accounts", example("accounts")),
        ("fleet", example("fleet")),
    ] {
        let dir = alerting_locals(&module_arguments(&config));
        let query = console(&dir, "local.silence_query");
        let metric = if config.has_accounts() {
            "successful-account-runs"
        } else {
            "successful-runs"
        };
        let parsed = parse_promql(&query)
            .unwrap_or_else(|e| panic!("{name}: PromQL does not parse ({e}): {query}"));
        assert!(
            parsed.contains(&format!(
                "__name__=\"logging.googleapis.com/user/{}-{metric}\"",
                config.collector.service_name
            )) && parsed.contains("absent_over_time")
                && parsed.contains("monitored_resource=\"cloud_run_revision\""),
            "{name}: {parsed}"
        );
        let window = console(&dir, "local.silence_window");
        assert!(query.contains(&format!("[{window}]")), "{query}");
        if config.has_accounts() {
            assert!(parsed.contains("account"), "{parsed}");
        }
    }
}

#[test]
fn the_promql_check_refuses_a_broken_query() {
    assert!(parse_promql("sum by (a) (rate(x[5m])").is_err());
    assert!(parse_promql("absent_over_time({\"__name__\"=\"a/b\"}[10m]").is_err());
    assert!(parse_promql("absent_over_time({\"__name__\"=\"a/b\"}[10m])").is_ok());
}

#[test]
fn the_error_alert_matches_only_the_collectors_own_lines_in_both_engines() {
    for name in ["full", "accounts", "fleet"] {
        let config = example(name);
        let dir = alerting_locals(&module_arguments(&config));
        let own = console(&dir, "local.collector_own_logs");
        assert!(
            own.contains(&format!(
                "logName=\"projects/{}/logs/run.googleapis.com%2Fstdout\"",
                config.project_id
            )) && own.contains("jsonPayload.target:*"),
            "{own}"
        );
        let module_filter = format!("{own} AND severity>=ERROR");
        let alerting = std::fs::read_to_string(workspace().join("terraform/alerting.tf")).unwrap();
        assert!(
            alerting
                .contains("filter           = \"${local.collector_own_logs} AND severity>=ERROR\"")
        );
        // The gcloud engine's policy carries the same filter.
        let files = render::render(&config, Engine::Gcloud).unwrap();
        let script = &files
            .iter()
            .find(|f| f.path == render::files::GCLOUD_DEPLOY)
            .unwrap()
            .contents;
        let json_filter = serde_json::to_string(&module_filter).unwrap();
        assert!(
            script.contains(json_filter.trim_matches('"')),
            "{name}: the gcloud engine's ERROR filter differs from {module_filter}"
        );
    }
}
