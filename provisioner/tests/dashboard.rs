//! The operator's dashboard, judged against the APIs' published schemas: the rendered dashboard
//! (one account, several streams, several accounts; both engines, which must hand Cloud Monitoring
//! the same JSON) is walked against the Monitoring API's `Dashboard` schema and each of its
//! log-based metrics against the Logging API's `LogMetric`, from the discovery documents
//! google-api-python-client ships (`.tools/discovery/`, scripts/install-test-deps.sh): every key
//! is a property of its schema (recursively through `$ref`), every enum value is in its enum, every
//! type matches. The checker itself is tested with planted mistakes. Every metric the dashboard
//! charts is one the same render creates, in both engines, whether alerting is on or not.

mod support;

use std::collections::BTreeSet;

use provisioner::config::{self, Config};
use provisioner::render::{self, Engine, dashboard};
use serde_json::Value;
use support::workspace;

/// The google-api-python-client release whose discovery documents the tests read.
const API_CLIENT: &str = "2.202.0";

fn discovery(document: &str) -> Value {
    let path = workspace().join(format!(".tools/discovery/{API_CLIENT}/{document}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the discovery document {document} is missing ({}: {e}): run scripts/install-test-deps.sh",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// What the walk saw, and what was wrong.
#[derive(Debug, Default)]
struct Walk {
    keys: usize,
    enums: usize,
    problems: Vec<String>,
}

/// Walks `value` at `path` against the discovery `schema` (a schema object of `doc`).
fn walk(doc: &Value, schema: &Value, value: &Value, path: &str, out: &mut Walk) {
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        let Some(target) = doc["schemas"].get(name) else {
            out.problems
                .push(format!("{path}: schema {name} is not in the document"));
            return;
        };
        return walk(doc, target, value, path, out);
    }
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("any");
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    let type_ok = match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        // 64-bit integers and some numbers travel as strings; JSON numbers are read as well.
        "string" if matches!(format, "int64" | "uint64" | "double") => {
            value.is_string() || value.is_number()
        }
        "string" => value.is_string(),
        _ => true,
    };
    if !type_ok {
        out.problems
            .push(format!("{path}: {value} is not of type {kind}"));
        return;
    }
    if let (Some(allowed), Some(text)) = (schema.get("enum"), value.as_str()) {
        out.enums += 1;
        if !allowed.as_array().unwrap().iter().any(|a| a == text) {
            out.problems
                .push(format!("{path}: {text:?} is not one of {allowed}"));
        }
    }
    match value {
        Value::Object(map) if kind == "object" => {
            for (key, item) in map {
                let at = format!("{path}.{key}");
                if let Some(property) = schema.get("properties").and_then(|p| p.get(key)) {
                    out.keys += 1;
                    walk(doc, property, item, &at, out);
                } else if let Some(values) = schema.get("additionalProperties") {
                    out.keys += 1;
                    walk(doc, values, item, &at, out);
                } else {
                    out.problems.push(format!("{at}: unknown key"));
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(doc, &schema["items"], item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Checks `value` against the schema `name` of `doc`.
fn check(doc: &Value, name: &str, value: &Value) -> Walk {
    let mut out = Walk::default();
    let schema = serde_json::json!({"$ref": name});
    walk(doc, &schema, value, name, &mut out);
    out
}

fn example(name: &str) -> Config {
    config::load(&workspace().join(format!("provisioner/examples/{name}.yaml"))).unwrap()
}

/// A shell variable's value as the rendered script assigns it (`NAME='…'` or `NAME=('…' '…')`).
fn shell_values(script: &str, name: &str) -> Vec<String> {
    let line = script
        .lines()
        .find(|l| l.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} is not assigned in the script"));
    let mut rest = &line[name.len() + 1..];
    rest = rest.trim_start_matches('(').trim_end_matches(')');
    let mut values = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => quoted = !quoted,
            '\\' if !quoted => current.extend(chars.next()),
            ' ' if !quoted => values.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    values.push(current);
    values
}

/// The dashboard and the metrics each engine renders for `config`: (Terraform's dashboard.json,
/// gcloud's dashboard JSON, gcloud's metric names, gcloud's LogMetric documents).
fn rendered(config: &Config) -> (Value, Value, Vec<String>, Vec<Value>) {
    let terraform = render::render(config, Engine::Terraform).unwrap();
    let file = terraform
        .iter()
        .find(|f| f.path == render::files::TF_DASHBOARD)
        .expect("the Terraform root's dashboard.json");
    let main = terraform
        .iter()
        .find(|f| f.path == render::files::TF_MAIN)
        .unwrap();
    assert!(
        main.contents
            .contains("dashboard_json = file(\"${path.module}/dashboard.json\")"),
        "the root passes the module its dashboard"
    );
    let gcloud = render::render(config, Engine::Gcloud).unwrap();
    let deploy = &gcloud
        .iter()
        .find(|f| f.path == render::files::GCLOUD_DEPLOY)
        .unwrap()
        .contents;
    let [json] = &shell_values(deploy, "DASHBOARD_JSON")[..] else {
        panic!("one DASHBOARD_JSON");
    };
    let metrics = shell_values(deploy, "DASHBOARD_METRICS");
    let configs = shell_values(deploy, "DASHBOARD_METRIC_CONFIGS")
        .iter()
        .map(|c| serde_json::from_str(c).unwrap())
        .collect();
    (
        serde_json::from_str(&file.contents).unwrap(),
        serde_json::from_str(json).unwrap(),
        metrics,
        configs,
    )
}

#[test]
fn every_rendered_dashboard_and_metric_is_valid_against_the_apis_discovery_documents() {
    let monitoring = discovery("monitoring.v1.json");
    let logging = discovery("logging.v2.json");
    for name in ["minimal", "full", "accounts", "fleet"] {
        let config = example(name);
        let (terraform, gcloud, metric_names, metric_configs) = rendered(&config);
        assert_eq!(
            terraform, gcloud,
            "{name}: both engines create one dashboard"
        );
        let walk = check(&monitoring, "Dashboard", &terraform);
        assert_eq!(walk.problems, Vec::<String>::new(), "{name}: {terraform:#}");
        assert!(
            walk.keys > 150 && walk.enums > 30,
            "{name}: the walk saw the whole dashboard: {walk:?}"
        );
        let tiles = terraform["mosaicLayout"]["tiles"].as_array().unwrap();
        assert_eq!(tiles.len(), 10, "{name}");
        for tile in tiles {
            let right = tile["xPos"].as_i64().unwrap() + tile["width"].as_i64().unwrap();
            assert!(right <= 48, "{name}: a tile fits the 48 columns: {tile}");
        }
        assert_eq!(metric_names.len(), dashboard::METRIC_SUFFIXES.len());
        for (metric, document) in metric_names.iter().zip(&metric_configs) {
            let walk = check(&logging, "LogMetric", document);
            assert_eq!(walk.problems, Vec::<String>::new(), "{name} {metric}");
            assert!(walk.keys >= 8, "{name} {metric}: {walk:?}");
        }
        eprintln!(
            "{name}: dashboard {} keys, {} enum values checked; {} metrics",
            walk.keys,
            walk.enums,
            metric_names.len()
        );
    }
}

#[test]
fn the_checker_catches_an_unknown_key_a_bad_enum_and_a_wrong_type() {
    let monitoring = discovery("monitoring.v1.json");
    let (dashboard, ..) = rendered(&example("full"));

    let mut planted = dashboard.clone();
    planted["mosaicLayout"]["tiles"][3]["widget"]["xyChart"]["dataSets"][0]["plotTyp"] =
        "LINE".into();
    let walk = check(&monitoring, "Dashboard", &planted);
    assert_eq!(
        walk.problems,
        ["Dashboard.mosaicLayout.tiles[3].widget.xyChart.dataSets[0].plotTyp: unknown key"]
    );

    let mut planted = dashboard.clone();
    planted["mosaicLayout"]["tiles"][3]["widget"]["xyChart"]["dataSets"][0]["timeSeriesQuery"]["timeSeriesFilter"]
        ["aggregation"]["perSeriesAligner"] = "ALIGN_MAXIMUM".into();
    let walk = check(&monitoring, "Dashboard", &planted);
    assert_eq!(walk.problems.len(), 1, "{:?}", walk.problems);
    assert!(
        walk.problems[0].contains("perSeriesAligner: \"ALIGN_MAXIMUM\" is not one of"),
        "{:?}",
        walk.problems
    );

    let mut planted = dashboard;
    planted["mosaicLayout"]["columns"] = "forty-eight".into();
    let walk = check(&monitoring, "Dashboard", &planted);
    assert_eq!(
        walk.problems,
        ["Dashboard.mosaicLayout.columns: \"forty-eight\" is not of type integer"]
    );

    let logging = discovery("logging.v2.json");
    let metric =
        serde_json::json!({"filter": "f", "metricDescriptor": {"metricKind": "SOMETIMES"}});
    let walk = check(&logging, "LogMetric", &metric);
    assert_eq!(walk.problems.len(), 1, "{:?}", walk.problems);
    assert!(walk.problems[0].starts_with("LogMetric.metricDescriptor.metricKind"));
}

/// Every metric type the dashboard charts, and only those, is created by the same render: the
/// gcloud script's metrics, and the module's (`dashboard.tf`: the counter and each distribution,
/// with the same fields, units and buckets as the script's), with alerting off as well as on.
#[test]
fn every_metric_the_dashboard_charts_is_created_by_the_same_render_in_both_engines() {
    let module = std::fs::read_to_string(workspace().join("terraform/dashboard.tf")).unwrap();
    let body: hcl::Body = hcl::from_str(&module).unwrap();
    let locals: Value = body
        .blocks()
        .filter(|b| b.identifier() == "locals")
        .map(|b| hcl::from_body::<Value>(b.body().clone()).unwrap())
        .next()
        .unwrap();
    let distributions = locals["dashboard_distributions"].as_object().unwrap();
    let counter: Value = hcl::from_str::<Value>(&module).unwrap()["resource"]
        ["google_logging_metric"]["dashboard_runs"]
        .clone();
    let counter_name = counter["name"].as_str().unwrap();
    let mut module_suffixes: BTreeSet<String> = distributions.keys().cloned().collect();
    module_suffixes.insert(
        counter_name
            .strip_prefix("${var.service_name}-")
            .unwrap()
            .to_owned(),
    );

    for name in ["minimal", "full", "accounts", "fleet"] {
        for alerting in [true, false] {
            let mut config = example(name);
            config.alerting.enabled = alerting;
            let service = config.collector.service_name.clone();
            let (dashboard_json, _, metric_names, configs) = rendered(&config);
            let charted: BTreeSet<String> = dashboard::referenced_metric_types(&dashboard_json)
                .into_iter()
                .collect();
            let created: BTreeSet<String> = metric_names
                .iter()
                .map(|m| format!("logging.googleapis.com/user/{m}"))
                .collect();
            assert_eq!(charted, created, "{name}, alerting {alerting}");
            let module_created: BTreeSet<String> = module_suffixes
                .iter()
                .map(|s| format!("logging.googleapis.com/user/{service}-{s}"))
                .collect();
            assert_eq!(charted, module_created, "{name}, alerting {alerting}");

            // The module's distributions read the fields the script's read, in the same units.
            for (metric, document) in metric_names.iter().zip(&configs) {
                let suffix = metric.strip_prefix(&format!("{service}-")).unwrap();
                let Some(settings) = distributions.get(suffix) else {
                    assert_eq!(document["metricDescriptor"]["valueType"], "INT64");
                    continue;
                };
                assert_eq!(
                    document["valueExtractor"],
                    format!(
                        "EXTRACT(jsonPayload.{})",
                        settings["field"].as_str().unwrap()
                    ),
                    "{metric}"
                );
                assert_eq!(
                    document["metricDescriptor"]["unit"], settings["unit"],
                    "{metric}"
                );
                let buckets = &document["bucketOptions"]["exponentialBuckets"];
                assert_eq!(buckets["numFiniteBuckets"], settings["buckets"], "{metric}");
                assert_eq!(buckets["scale"], settings["scale"], "{metric}");
            }
        }
    }

    // The module's own check (variables.tf) names the same suffixes.
    let variables = std::fs::read_to_string(workspace().join("terraform/variables.tf")).unwrap();
    for suffix in dashboard::METRIC_SUFFIXES {
        assert!(
            variables.contains(&format!("\"{suffix}\"")),
            "{suffix} in dashboard_json's validation"
        );
    }
}

/// `dashboard.enabled: false` renders no dashboard and none of its metrics, in either engine; on
/// (the default) with alerting off, the metrics it charts come with it.
#[test]
fn the_dashboard_and_its_metrics_come_and_go_together() {
    let mut config = example("minimal");
    assert!(config.dashboard.enabled, "on by default");
    assert!(!config.alerting.enabled);
    let (_, _, metrics, _) = rendered(&config);
    assert_eq!(metrics.len(), 5);

    config.dashboard.enabled = false;
    let terraform = render::render(&config, Engine::Terraform).unwrap();
    assert!(
        terraform
            .iter()
            .all(|f| f.path != render::files::TF_DASHBOARD)
    );
    let main = &terraform
        .iter()
        .find(|f| f.path == render::files::TF_MAIN)
        .unwrap()
        .contents;
    assert!(!main.contains("dashboard"), "{main}");
    for file in render::render(&config, Engine::Gcloud).unwrap() {
        assert!(!file.contents.contains("DASHBOARD"), "{}", file.path);
    }
}

/// The module's metric filters, evaluated by `terraform console` with the arguments each render
/// passes (its locals only: no provider needed), are the filters of the gcloud script's metrics:
/// the same lines counted in both engines, for one account and for several.
#[test]
fn the_modules_metric_filters_are_the_scripts() {
    let read =
        |name: &str| std::fs::read_to_string(workspace().join("terraform").join(name)).unwrap();
    let alerting = read("alerting.tf");
    let collector_logs = alerting
        .lines()
        .find(|l| l.trim_start().starts_with("collector_logs = "))
        .expect("alerting.tf defines collector_logs");
    let module = read("dashboard.tf");
    let start = module.find("\nlocals {\n").unwrap() + 1;
    let end = start + module[start..].find("\n}\n").unwrap() + 3;
    for name in ["minimal", "accounts"] {
        let config = example(name);
        let files = render::render(&config, Engine::Terraform).unwrap();
        let main = &files
            .iter()
            .find(|f| f.path == render::files::TF_MAIN)
            .unwrap()
            .contents;
        let root: Value = hcl::from_str(main).unwrap();
        let mut arguments = root["module"]["onepassword_secops"].clone();
        arguments.as_object_mut().unwrap().remove("source");
        arguments["dashboard_json"] = files
            .iter()
            .find(|f| f.path == render::files::TF_DASHBOARD)
            .unwrap()
            .contents
            .clone()
            .into();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("variables.tf"), read("variables.tf")).unwrap();
        std::fs::write(dir.path().join("layout.tf"), read("layout.tf")).unwrap();
        std::fs::write(
            dir.path().join("locals.tf"),
            format!("locals {{\n{collector_logs}\n}}\n\n{}", &module[start..end]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("terraform.tfvars.json"),
            arguments.to_string(),
        )
        .unwrap();
        let mut child = std::process::Command::new(testkit::tool("terraform"))
            .arg("console")
            .current_dir(dir.path())
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("terraform runs (Terraform 1.11 must be on PATH)");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"jsonencode({runs = local.stream_lines, distributions = local.dashboard_distributions})\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "terraform console: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let quoted: String =
            serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
        let module: Value = serde_json::from_str(&quoted).unwrap();
        let logs = format!(
            "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"{}\"",
            config.collector.service_name
        );
        for metric in dashboard::metrics(&config, &logs) {
            let filter = if metric.suffix == "stream-runs" {
                &module["runs"]
            } else {
                &module["distributions"][metric.suffix]["filter"]
            };
            assert_eq!(
                filter,
                &Value::from(metric.filter.clone()),
                "{name} {}",
                metric.name
            );
        }
    }
}
