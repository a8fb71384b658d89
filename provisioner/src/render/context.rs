//! The values templates see, derived from the config.

use contract::Stream;
use contract::env;
use serde::Serialize;

use crate::config::Config;

/// One collected stream and its feed prefix.
#[derive(Debug, Clone, Serialize)]
pub struct StreamContext {
    /// Stream name.
    pub name: String,
    /// Feed prefix, without slashes at either end.
    pub prefix: String,
    /// The name padded to the longest stream name, so `=` signs align as `terraform fmt` wants.
    pub padded: String,
}

/// Everything a template may use.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    project_id: String,
    region: String,
    bucket_name: String,
    bucket_location: String,
    storage_class: String,
    retention_days: u32,
    checkpoint_prefix: String,
    state_key: String,
    collector_sa: String,
    invoker_sa: String,
    topic: String,
    job_name: String,
    cron: String,
    time_zone: String,
    service_name: String,
    image: String,
    repository: String,
    /// The remote repository of released images, when the config names no image.
    release_repository: Option<String>,
    release_upstream: String,
    secret: String,
    events_api_base_url: String,
    max_records: u64,
    page_size: u16,
    lookback_hours: u32,
    streams: Vec<StreamContext>,
    env_vars: String,
    state_bucket: Option<String>,
    state_prefix: String,
    secops_service_account: Option<String>,
    secops_source_deletion: String,
    secops_max_file_age_days: u32,
    secops_instance: Option<crate::config::SecopsInstance>,
    alerting: crate::config::Alerting,
    alert_silence_seconds: u64,
    alert_metric_filter: String,
    alert_policies: Vec<String>,
    alert_policy_names: Vec<String>,
    github: crate::config::Github,
}

/// Display names of the alert policies, in the order of [`alert_policies`]; the gcloud script finds
/// existing policies by them.
const ALERT_POLICY_NAMES: [&str; 3] = [
    "1Password collector: no successful run",
    "1Password collector: error needing an operator",
    "1Password collector: bearer token expires within 14 days",
];

/// The alert policies as Cloud Monitoring JSON for the gcloud script; `@CHANNELS@` stands for the
/// notification channel list, which the script completes at run time.
fn alert_policies(config: &Config, logs: &str) -> Vec<String> {
    let silence = silence_seconds(config);
    let metric = format!("{}-successful-runs", config.collector.service_name);
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
                        "groupByFields": ["resource.label.service_name"],
                    }],
                },
            }],
            "documentation": {"mimeType": "text/markdown", "content": "No 1Password events were collected successfully for twice the schedule interval. Run: provision verify"},
        }),
        serde_json::json!({
            "displayName": ALERT_POLICY_NAMES[1],
            "combiner": "OR",
            "notificationChannels": "@CHANNELS@",
            "conditions": [{"displayName": "The collector logged an ERROR", "conditionMatchedLog": {"filter": format!("{logs} AND severity>=ERROR")}}],
            "alertStrategy": {"notificationRateLimit": {"period": "3600s"}, "autoClose": "86400s"},
            "documentation": {"mimeType": "text/markdown", "content": "The collector logged an ERROR; the log line says what to do."},
        }),
        serde_json::json!({
            "displayName": ALERT_POLICY_NAMES[2],
            "combiner": "OR",
            "notificationChannels": "@CHANNELS@",
            "conditions": [{"displayName": "Token expiry read at a run is 14 days away or less", "conditionMatchedLog": {"filter": format!("{logs} AND jsonPayload.message=\"{}\" AND jsonPayload.token_days_left>=0 AND jsonPayload.token_days_left<=14", contract::SUMMARY_MESSAGE)}}],
            "alertStrategy": {"notificationRateLimit": {"period": "86400s"}, "autoClose": "604800s"},
            "documentation": {"mimeType": "text/markdown", "content": "The 1Password token expires within 14 days: issue a new one and run: provision set-token"},
        }),
    ];
    policies
        .iter()
        .map(|p| p.to_string().replace("\"@CHANNELS@\"", "@CHANNELS@"))
        .collect()
}

/// The silence alert's window; validation refused a schedule without one, so the limit stands in
/// only for a config that skipped validation.
fn silence_seconds(config: &Config) -> u64 {
    crate::config::silence_seconds(&config.schedule.cron)
        .unwrap_or(crate::config::ABSENCE_LIMIT_SECONDS)
}

impl Context {
    /// The context of `config`; `image`, when given, is the image the service runs instead of
    /// the config's.
    pub fn from_config(config: &Config, image: Option<&str>) -> Self {
        let logs = format!(
            "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"{}\"",
            config.collector.service_name
        );
        let pairs = config.stream_prefixes();
        let width = pairs
            .iter()
            .map(|(stream, _)| stream.name().len())
            .max()
            .unwrap_or(0);
        let streams: Vec<StreamContext> = pairs
            .into_iter()
            .map(|(stream, prefix)| StreamContext {
                padded: format!("{:width$}", stream.name()),
                name: stream.name().to_owned(),
                prefix,
            })
            .collect();
        let prefix_of = |stream: Stream, default: &str| {
            streams
                .iter()
                .find(|s| s.name == stream.name())
                .map_or(default.to_owned(), |s| s.prefix.clone())
        };
        let checkpoint_folder = config.checkpoint_prefix.trim_matches('/').to_owned();
        let mut names: Vec<&str> = streams.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        // The collector's environment, named and defaulted by the contract (`contract::env`).
        let env = [
            (env::OP_API_BASE, config.events_base_url()),
            (env::GCS_BUCKET, config.bucket.name.clone()),
            (
                env::prefix_variable(Stream::AuditEvents),
                prefix_of(Stream::AuditEvents, config.feed_prefix.trim_matches('/')),
            ),
            (
                env::prefix_variable(Stream::SignInAttempts),
                prefix_of(
                    Stream::SignInAttempts,
                    config.signinattempts_prefix.trim_matches('/'),
                ),
            ),
            (
                env::prefix_variable(Stream::ItemUsages),
                prefix_of(
                    Stream::ItemUsages,
                    config.itemusages_prefix.trim_matches('/'),
                ),
            ),
            (env::STREAMS, names.join(",")),
            (env::STATE_KEY, config.state_key()),
            (env::STATE_PREFIX, format!("{checkpoint_folder}/")),
            (
                env::MAX_RECORDS.name,
                config.collector.max_records.to_string(),
            ),
            (env::PAGE_SIZE.name, config.collector.page_size.to_string()),
            (
                env::LOOKBACK_HOURS.name,
                config.collector.lookback_hours.to_string(),
            ),
            (
                env::RUN_BUDGET_SECONDS.name,
                env::RUN_BUDGET_SECONDS.default.to_string(),
            ),
            (env::LOG_FORMAT, "json".to_owned()),
        ];
        let env_vars = format!(
            "^@^{}",
            env.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("@")
        );
        Context {
            project_id: config.project_id.clone(),
            region: config.region.clone(),
            bucket_name: config.bucket.name.clone(),
            bucket_location: config.bucket_location(),
            storage_class: config.bucket.storage_class.get().to_string(),
            retention_days: config.bucket.retention_days,
            checkpoint_prefix: format!("{checkpoint_folder}/"),
            state_key: config.state_key(),
            collector_sa: config.service_accounts.collector.clone(),
            invoker_sa: config.service_accounts.invoker.clone(),
            topic: config.topic.clone(),
            job_name: config.schedule.job_name.clone(),
            cron: config.schedule.cron.clone(),
            time_zone: config.schedule.time_zone.clone(),
            service_name: config.collector.service_name.clone(),
            image: image.map_or_else(|| config.image(), str::to_owned),
            repository: config.collector.repository.clone(),
            release_repository: config
                .collector
                .image
                .is_none()
                .then(|| config.release_repository()),
            release_upstream: config.release_upstream(),
            secret: config.secret.clone(),
            events_api_base_url: config.events_base_url(),
            max_records: config.collector.max_records,
            page_size: config.collector.page_size,
            lookback_hours: config.collector.lookback_hours,
            streams,
            env_vars,
            state_bucket: config.terraform.state_bucket.clone(),
            state_prefix: config
                .terraform
                .state_prefix
                .clone()
                .unwrap_or_else(|| "onepassword-secops".to_owned()),
            secops_service_account: config.secops.service_account.clone(),
            secops_source_deletion: config.secops.source_deletion.get().feed_option().to_owned(),
            secops_max_file_age_days: config.secops.max_file_age_days,
            secops_instance: config.secops.instance.clone(),
            alerting: config.alerting.clone(),
            github: config.github.clone(),
            alert_silence_seconds: silence_seconds(config),
            alert_metric_filter: format!(
                "{logs} AND jsonPayload.message=\"{}\" AND jsonPayload.ok=true",
                contract::SUMMARY_MESSAGE
            ),
            alert_policies: alert_policies(config, &logs),
            alert_policy_names: ALERT_POLICY_NAMES.iter().map(|n| (*n).to_owned()).collect(),
        }
    }
}
