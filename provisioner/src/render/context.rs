//! The values templates see, derived from the config (the collector's environment in
//! `environment.rs`, the alerts in `alerts.rs`).

use serde::Serialize;

use super::{alerts, dashboard, environment};
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
    /// Every Cloud Run service, the first first (one unless `collector.services` splits the
    /// accounts).
    services: Vec<ServiceContext>,
    state_bucket: Option<String>,
    state_prefix: String,
    secops_service_account: Option<String>,
    secops_source_deletion: String,
    secops_max_file_age_days: u32,
    secops_instance: Option<crate::config::SecopsInstance>,
    /// `storage_v2` or `event_driven`.
    secops_feed: String,
    /// With `event_driven`: the notifications' topic and each feed's subscription.
    event_feed: Option<super::event_feed::EventFeed>,
    alerting: crate::config::Alerting,
    alert_silence_seconds: u64,
    alert_metric_filter: String,
    /// With several accounts, the per-account metric's LogMetric JSON.
    alert_metric_config: Option<String>,
    alert_policies: Vec<String>,
    alert_policy_names: Vec<String>,
    /// The dashboard and its metrics, when `dashboard.enabled`.
    dashboard: Option<DashboardContext>,
    github: crate::config::Github,
    /// Every secret holding a token (one, or one per account).
    secret_ids: Vec<String>,
    accounts_in_parallel: u32,
    /// `collector.cpu` and `collector.memory`: the instance's limits.
    cpu: String,
    memory: String,
    /// Maximum concurrent requests per instance.
    concurrency: u32,
    /// With several accounts, each (in the config's order); empty with one.
    accounts: Vec<AccountContext>,
}

/// One Cloud Run service of the deployment and what ticks it.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceContext {
    /// Its name.
    name: String,
    /// Its push subscription on the trigger topic.
    subscription: String,
    /// `--set-env-vars`: its settings, '@' between them.
    env_vars: String,
    /// `--set-secrets`: the token variable of each account it collects, from its secret.
    token_secrets: String,
}

/// The dashboard as the templates use it.
#[derive(Debug, Clone, Serialize)]
pub struct DashboardContext {
    /// Its display name (the gcloud script finds it by it).
    name: String,
    /// Its JSON, on one line (the gcloud script's `--config-from-file`).
    json: String,
    /// Its metrics, in the order they are created.
    metrics: Vec<DashboardMetric>,
}

/// One of the dashboard's log-based metrics.
#[derive(Debug, Clone, Serialize)]
pub struct DashboardMetric {
    name: String,
    /// The LogMetric JSON `gcloud logging metrics create --config-from-file` reads.
    config: String,
}

/// One account of a deployment of several, as the Terraform root passes it to the module.
#[derive(Debug, Clone, Serialize)]
pub struct AccountContext {
    name: String,
    events_api_base_url: String,
    streams: Vec<String>,
    secret: String,
    lookback_hours: u32,
    asset_namespace: String,
    /// The service (1-based) that collects it.
    service: u32,
}

/// The collector services' log entries (a Cloud Logging filter).
pub fn collector_logs(config: &Config) -> String {
    let names = config.service_names();
    let services = names
        .iter()
        .map(|name| format!("resource.labels.service_name=\"{name}\""))
        .collect::<Vec<_>>();
    let services = if services.len() == 1 {
        services.concat()
    } else {
        format!("({})", services.join(" OR "))
    };
    format!("resource.type=\"cloud_run_revision\" AND {services}")
}

impl Context {
    /// The context of `config`; `image`, when given, is the image the service runs instead of
    /// the config's.
    pub fn from_config(config: &Config, image: Option<&str>) -> Self {
        let logs = collector_logs(config);
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
        let checkpoint_folder = config.checkpoint_prefix.trim_matches('/').to_owned();
        let services: Vec<ServiceContext> = (1..=config.services())
            .map(|n| ServiceContext {
                name: crate::config::service_name(&config.collector.service_name, n),
                subscription: crate::config::push_subscription(&config.topic, n),
                env_vars: environment::gcloud_env_list(&environment::variables(config, n)),
                token_secrets: environment::gcloud_secrets_list(
                    &environment::service_token_secrets(config, n),
                ),
            })
            .collect();
        let token_secrets = environment::token_secrets(config);
        let accounts: Vec<AccountContext> = config
            .accounts()
            .into_iter()
            .filter_map(|account| {
                let name = account.name.clone()?;
                Some(AccountContext {
                    name: name.to_string(),
                    events_api_base_url: account.events_base_url(),
                    streams: account
                        .streams
                        .iter()
                        .map(|s| s.name().to_owned())
                        .collect(),
                    secret: account.secret.clone(),
                    lookback_hours: account.lookback_hours,
                    asset_namespace: account.asset_namespace.clone().unwrap_or_default(),
                    service: account.service,
                })
            })
            .collect();
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
            services,
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
            secops_feed: config.secops.feed.get().to_string(),
            event_feed: super::event_feed::EventFeed::of(config),
            alerting: config.alerting.clone(),
            github: config.github.clone(),
            dashboard: config.dashboard.enabled.then(|| DashboardContext {
                name: dashboard::display_name(config),
                json: dashboard::dashboard(config, &logs).to_string(),
                metrics: dashboard::metrics(config, &logs)
                    .into_iter()
                    .map(|m| DashboardMetric {
                        config: m.log_metric().to_string(),
                        name: m.name,
                    })
                    .collect(),
            }),
            alert_silence_seconds: alerts::silence_seconds(config),
            alert_metric_filter: alerts::silence_metric_filter(config, &logs),
            alert_metric_config: alerts::silence_metric_config(config, &logs),
            alert_policies: alerts::alert_policies(config, &logs),
            alert_policy_names: alerts::ALERT_POLICY_NAMES
                .iter()
                .map(|n| (*n).to_owned())
                .collect(),
            secret_ids: token_secrets
                .into_iter()
                .map(|(_, secret)| secret)
                .collect(),
            accounts_in_parallel: config.collector.accounts_in_parallel,
            cpu: config.collector.cpu.trim().to_owned(),
            memory: config.collector.memory.trim().to_owned(),
            concurrency: crate::config::CONCURRENCY,
            accounts,
        }
    }
}
