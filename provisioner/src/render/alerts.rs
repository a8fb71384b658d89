//! The alerts as the gcloud engine renders them (Cloud Monitoring JSON and the log-based metric),
//! the same as the Terraform module's `alerting.tf`: no successful run (per account, with several
//! accounts), any ERROR, a token that expires within 14 days; with several accounts each alert
//! names the account. The silence condition differs in form: the module's is PromQL with metric
//! validation off (it must succeed on a first apply); this one is a metric-absence condition,
//! which the script creates after waiting for the new metric (deploy.sh's METRIC_WAIT_SECONDS).

use crate::config::Config;

/// Display names of the alert policies, in the order of [`alert_policies`]; the gcloud script finds
/// existing policies by them.
pub(super) const ALERT_POLICY_NAMES: [&str; 3] = [
    "1Password collector: no successful run",
    "1Password collector: error needing an operator",
    "1Password collector: bearer token expires within 14 days",
];

/// The alert policies as Cloud Monitoring JSON for the gcloud script; `@CHANNELS@` stands for the
/// notification channel list, which the script completes at run time.
pub(super) fn alert_policies(config: &Config, logs: &str) -> Vec<String> {
    let silence = silence_seconds(config);
    let metric = silence_metric(config);
    let multi = config.has_accounts();
    let group_by: Vec<&str> = if multi {
        vec!["resource.label.service_name", "metric.label.account"]
    } else {
        vec!["resource.label.service_name"]
    };
    let policies = [
        serde_json::json!({
            "displayName": ALERT_POLICY_NAMES[0],
            "combiner": "OR",
            "notificationChannels": "@CHANNELS@",
            "conditions": [{
                "displayName": "No successful collection run for twice the schedule interval",
                "conditionAbsent": {
                    "filter": format!("metric.type=\"logging.googleapis.com/user/{metric}\" AND resource.type=\"cloud_run_revision\""),
                    "duration": format!("{silence}s"),
                    // One series per revision: summed across revisions, grouped by service, so the
                    // series a deploy retires is not read as silence.
                    "aggregations": [{
                        "alignmentPeriod": "300s",
                        "perSeriesAligner": "ALIGN_COUNT",
                        "crossSeriesReducer": "REDUCE_SUM",
                        "groupByFields": group_by,
                    }],
                },
            }],
            "documentation": {"mimeType": "text/markdown", "content": "No 1Password events were collected successfully for twice the schedule interval. Run: provision verify"},
        }),
        serde_json::json!({
            "displayName": ALERT_POLICY_NAMES[1],
            "combiner": "OR",
            "notificationChannels": "@CHANNELS@",
            "conditions": [{"displayName": "The collector logged an ERROR", "conditionMatchedLog": matched_log(multi, format!("{} AND severity>=ERROR", own_logs(config, logs)), contract::summary::fields::ACCOUNT)}],
            "alertStrategy": {"notificationRateLimit": {"period": "3600s"}, "autoClose": "86400s"},
            "documentation": {"mimeType": "text/markdown", "content": "The collector logged an ERROR; the log line says what to do."},
        }),
        serde_json::json!({
            "displayName": ALERT_POLICY_NAMES[2],
            "combiner": "OR",
            "notificationChannels": "@CHANNELS@",
            "conditions": [{"displayName": "Token expiry read at a run is 14 days away or less", "conditionMatchedLog": matched_log(multi, format!("{logs} AND jsonPayload.message=\"{}\" AND jsonPayload.token_days_left>=0 AND jsonPayload.token_days_left<=14", contract::SUMMARY_MESSAGE), contract::summary::fields::TOKEN_ACCOUNT)}],
            "alertStrategy": {"notificationRateLimit": {"period": "86400s"}, "autoClose": "604800s"},
            "documentation": {"mimeType": "text/markdown", "content": "The 1Password token expires within 14 days: issue a new one and run: provision set-token"},
        }),
    ];
    policies
        .iter()
        .map(|p| p.to_string().replace("\"@CHANNELS@\"", "@CHANNELS@"))
        .collect()
}

/// The collector's own lines among `logs`: its JSON on stdout (every line has `target`), not Cloud
/// Run's request log, whose 5xx entries are ERROR too (as the module's `collector_own_logs`).
pub(super) fn own_logs(config: &Config, logs: &str) -> String {
    format!(
        "{logs} AND logName=\"projects/{}/logs/run.googleapis.com%2Fstdout\" AND jsonPayload.target:*",
        config.project_id
    )
}

/// The silence alert's window; validation refused a schedule without one, so the limit stands in
/// only for a config that skipped validation.
pub(super) fn silence_seconds(config: &Config) -> u64 {
    crate::config::silence_seconds(&config.schedule.cron)
        .unwrap_or(crate::config::ABSENCE_LIMIT_SECONDS)
}

/// A log-match condition on `filter`; with several accounts, it extracts the account from the
/// line's `field` so the alert names it.
fn matched_log(multi: bool, filter: String, field: &str) -> serde_json::Value {
    if multi {
        serde_json::json!({"filter": filter, "labelExtractors": {"account": format!("EXTRACT(jsonPayload.{field})")}})
    } else {
        serde_json::json!({"filter": filter})
    }
}

/// The log-based metric the silence alert watches: clean runs, or with several accounts each
/// account's clean runs.
pub(super) fn silence_metric(config: &Config) -> String {
    if config.has_accounts() {
        format!("{}-successful-account-runs", config.collector.service_name)
    } else {
        format!("{}-successful-runs", config.collector.service_name)
    }
}

/// What the silence metric counts: the summary lines with `ok`, or with several accounts the
/// account summary lines with `ok`.
pub(super) fn silence_metric_filter(config: &Config, logs: &str) -> String {
    let message = if config.has_accounts() {
        contract::summary::ACCOUNT_SUMMARY_MESSAGE
    } else {
        contract::SUMMARY_MESSAGE
    };
    format!("{logs} AND jsonPayload.message=\"{message}\" AND jsonPayload.ok=true")
}

/// With several accounts, the per-account metric as `gcloud logging metrics create
/// --config-from-file` reads it (a LogMetric with the `account` label); `None` with one account,
/// whose metric is a plain counter.
pub(super) fn silence_metric_config(config: &Config, logs: &str) -> Option<String> {
    config.has_accounts().then(|| {
        serde_json::json!({
            "description": "Successful 1Password collector runs per account",
            "filter": silence_metric_filter(config, logs),
            "metricDescriptor": {
                "metricKind": "DELTA",
                "valueType": "INT64",
                "unit": "1",
                "labels": [{"key": "account", "valueType": "STRING", "description": "The 1Password account"}],
            },
            "labelExtractors": {"account": format!("EXTRACT(jsonPayload.{})", contract::summary::fields::ACCOUNT)},
        })
        .to_string()
    })
}
