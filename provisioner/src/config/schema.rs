//! The config's shape and defaults (the guide's names).

use std::fmt;

use contract::Stream;
use serde::{Deserialize, Serialize};

use super::closed::{Closed, OneOf, spelling};

fn d_bucket() -> String {
    "onepassword-audit-secops-logs".into()
}
fn d_retention() -> u32 {
    180
}
fn d_prefix() -> String {
    "onepassword-audit".into()
}
fn d_signin_prefix() -> String {
    "onepassword-signinattempts".into()
}
fn d_items_prefix() -> String {
    "onepassword-itemusages".into()
}
fn d_state_prefix() -> String {
    "onepassword-secops-state/".into()
}
fn d_collector_sa() -> String {
    "onepassword-audit-collector-sa".into()
}
fn d_invoker_sa() -> String {
    "onepassword-audit-invoker-sa".into()
}
fn d_topic() -> String {
    "onepassword-audit-trigger".into()
}
fn d_job() -> String {
    "onepassword-audit-collector-hourly".into()
}
/// Every minute: an empty run costs one storage read and a billed 100 ms (`provision cost`, README
/// "Cost"), so minute-level freshness costs cents a month; the guide collects hourly.
fn d_cron() -> String {
    "* * * * *".into()
}
fn d_tz() -> String {
    "UTC".into()
}
fn d_streams() -> Vec<OneOf<Stream>> {
    vec![Stream::AuditEvents.into()]
}
/// The Events API of accounts on 1password.com.
pub const DEFAULT_EVENTS_BASE_URL: &str = "https://events.1password.com";

fn d_service() -> String {
    "onepassword-audit-collector".into()
}
fn d_repository() -> String {
    "onepassword-secops".into()
}
fn d_release_image() -> String {
    RELEASE_IMAGE.into()
}

/// Where the release workflow publishes the collector image (`ghcr.io/OWNER/REPO/collector`).
pub const RELEASE_IMAGE: &str = "ghcr.io/onepassword-secops/onepassword-secops/collector";
fn d_secret() -> String {
    "onepassword-events-token".into()
}
fn d_max_records() -> u64 {
    100_000
}
fn d_page_size() -> u16 {
    1000
}
fn d_lookback() -> u32 {
    24
}

/// The whole config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Google Cloud project id.
    pub project_id: String,
    /// Region of Cloud Run, Scheduler, Artifact Registry (and the bucket, by default).
    pub region: String,
    /// The bucket the SecOps feed reads.
    #[serde(default)]
    pub bucket: Bucket,
    /// Object prefix of audit events (the feed's folder).
    #[serde(default = "d_prefix")]
    pub feed_prefix: String,
    /// Object prefix of sign-in attempts.
    #[serde(default = "d_signin_prefix")]
    pub signinattempts_prefix: String,
    /// Object prefix of item usages.
    #[serde(default = "d_items_prefix")]
    pub itemusages_prefix: String,
    /// Folder of the collector's checkpoints; must lie outside every feed prefix.
    #[serde(default = "d_state_prefix")]
    pub checkpoint_prefix: String,
    /// Service account ids.
    #[serde(default)]
    pub service_accounts: ServiceAccounts,
    /// Pub/Sub topic the scheduler publishes to.
    #[serde(default = "d_topic")]
    pub topic: String,
    /// The scheduler job.
    #[serde(default)]
    pub schedule: Schedule,
    /// Streams to collect; read them with [`Config::streams`].
    #[serde(default = "d_streams")]
    pub streams: Vec<OneOf<Stream>>,
    /// The Events API: a region (`1password.com`, `ent.1password.com`, `1password.ca`,
    /// `1password.eu`) or an explicit `https://` base URL.
    #[serde(default)]
    pub events_api: Option<String>,
    /// The collector service.
    #[serde(default)]
    pub collector: Collector,
    /// Secret Manager secret id holding the bearer token.
    #[serde(default = "d_secret")]
    pub secret: String,
    /// Terraform state.
    #[serde(default)]
    pub terraform: Terraform,
    /// Google SecOps: the feed's service account and, optionally, the instance to create feeds in.
    #[serde(default)]
    pub secops: Secops,
    /// Alert policies and where their notifications go.
    #[serde(default)]
    pub alerting: Alerting,
    /// The Cloud Monitoring dashboard and the log-based metrics it charts.
    #[serde(default)]
    pub dashboard: Dashboard,
    /// A GitHub repository whose deploy workflow may roll out the collector (Workload Identity
    /// Federation; no key).
    #[serde(default)]
    pub github: Github,
    /// Several 1Password accounts, one entry each; read them with [`Config::accounts`]. Empty: the
    /// one account `events_api`, `streams` and `secret` describe.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<super::accounts::AccountEntry>,
}

/// The CI deployer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Github {
    /// `owner/name`; none: no CI deployer.
    pub repository: Option<String>,
    /// The GitHub environment of the deploy job; only jobs in it may deploy.
    pub environment: String,
}

impl Default for Github {
    fn default() -> Self {
        Self {
            repository: None,
            environment: "production".into(),
        }
    }
}

/// Alerting settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Alerting {
    /// Create the metric and the alert policies.
    pub enabled: bool,
    /// Email addresses to notify.
    pub emails: Vec<String>,
    /// Existing notification channel ids (`projects/P/notificationChannels/N`).
    pub channels: Vec<String>,
}

/// The operator's dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dashboard {
    /// Create the dashboard and, always with it, the log-based metrics it charts (on by default:
    /// log-based metrics and dashboards cost nothing at the collector's volume).
    pub enabled: bool,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// Google SecOps settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Secops {
    /// The feed's service account ("Get Service Account" on the feed page); granted bucket read.
    pub service_account: Option<String>,
    /// What SecOps does with the objects it ingested.
    pub source_deletion: OneOf<SourceDeletion>,
    /// Maximum file age in days.
    pub max_file_age_days: u32,
    /// When set, Terraform creates the feeds in this instance.
    pub instance: Option<SecopsInstance>,
    /// How the feeds learn of new objects: listing the bucket (V2) or the bucket's notifications.
    pub feed: OneOf<super::feed::FeedKind>,
}

impl Default for Secops {
    fn default() -> Self {
        Self {
            service_account: None,
            source_deletion: SourceDeletion::Never.into(),
            max_file_age_days: 180,
            instance: None,
            feed: super::feed::FeedKind::StorageV2.into(),
        }
    }
}

/// What a SecOps feed does with the objects it ingested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceDeletion {
    /// Keep them; the bucket's lifecycle rule deletes them (recommended).
    Never,
    /// SecOps deletes each object once ingested, which needs write access to the bucket.
    OnSuccess,
}

impl Closed for SourceDeletion {
    const ALL: &'static [Self] = &[SourceDeletion::Never, SourceDeletion::OnSuccess];
}

impl SourceDeletion {
    /// What the option means, for messages.
    pub fn meaning(self) -> &'static str {
        match self {
            SourceDeletion::Never => "the bucket's lifecycle rule deletes objects",
            SourceDeletion::OnSuccess => "SecOps deletes what it ingested",
        }
    }

    /// The feed's `source_deletion_option` as the SecOps API (and the Terraform module) name it.
    pub fn feed_option(self) -> &'static str {
        match self {
            SourceDeletion::Never => "NEVER",
            SourceDeletion::OnSuccess => "ON_SUCCESS",
        }
    }
}

impl fmt::Display for SourceDeletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&spelling(*self))
    }
}

/// A Google SecOps instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecopsInstance {
    /// Project the instance is bound to.
    pub project: String,
    /// Location, e.g. `us` or `europe`.
    pub location: String,
    /// The instance's customer id (a UUID).
    pub customer_id: String,
}

/// Bucket settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bucket {
    /// Globally unique name.
    pub name: String,
    /// Location; defaults to the region.
    pub location: Option<String>,
    /// Storage class.
    pub storage_class: OneOf<StorageClass>,
    /// Objects are deleted this many days after creation (lifecycle rule).
    pub retention_days: u32,
}

impl Default for Bucket {
    fn default() -> Self {
        Self {
            name: d_bucket(),
            location: None,
            storage_class: StorageClass::Standard.into(),
            retention_days: d_retention(),
        }
    }
}

/// A Cloud Storage class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StorageClass {
    /// No minimum storage duration; for data read often.
    Standard,
    /// 30 days' minimum storage; for data read once a month or less.
    Nearline,
    /// 90 days' minimum storage; for data read once a quarter or less.
    Coldline,
    /// 365 days' minimum storage; for data read less than once a year.
    Archive,
}

impl Closed for StorageClass {
    const ALL: &'static [Self] = &[
        StorageClass::Standard,
        StorageClass::Nearline,
        StorageClass::Coldline,
        StorageClass::Archive,
    ];
}

impl fmt::Display for StorageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&spelling(*self))
    }
}

/// Service account ids (the part before `@`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceAccounts {
    /// The collector's runtime identity.
    pub collector: String,
    /// The identity Pub/Sub uses to invoke the service.
    pub invoker: String,
}

impl Default for ServiceAccounts {
    fn default() -> Self {
        Self {
            collector: d_collector_sa(),
            invoker: d_invoker_sa(),
        }
    }
}

/// The Cloud Scheduler job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Schedule {
    /// Job name.
    pub job_name: String,
    /// Cron expression (five fields).
    pub cron: String,
    /// IANA time zone.
    pub time_zone: String,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            job_name: d_job(),
            cron: d_cron(),
            time_zone: d_tz(),
        }
    }
}

/// The Cloud Run service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Collector {
    /// Service name.
    pub service_name: String,
    /// A container image to deploy as it is (by digest, ideally); overrides `version`.
    pub image: Option<String>,
    /// The released version to deploy (default: the provisioner's own version), pulled from
    /// `release_image` through an Artifact Registry remote repository and pinned by digest.
    pub version: Option<String>,
    /// Where released images are published; forks publish their own.
    pub release_image: String,
    /// Artifact Registry repository id (images built from a checkout); the remote repository of
    /// released images is this id with `-releases` appended.
    pub repository: String,
    /// MAX_RECORDS.
    pub max_records: u64,
    /// PAGE_SIZE.
    pub page_size: u16,
    /// LOOKBACK_HOURS.
    pub lookback_hours: u32,
    /// ACCOUNTS_IN_PARALLEL: with several accounts, how many are collected at once.
    pub accounts_in_parallel: u32,
    /// How many Cloud Run services the accounts are split across (round robin in the list's
    /// order); each runs on every tick and collects its share.
    pub services: u32,
    /// vCPUs of the service's instance: 1, 2, 4, 6 or 8.
    #[serde(deserialize_with = "super::sizing::scalar_string")]
    pub cpu: String,
    /// Memory of the service's instance, e.g. `512Mi`, `1Gi`.
    #[serde(deserialize_with = "super::sizing::scalar_string")]
    pub memory: String,
}

impl Default for Collector {
    fn default() -> Self {
        Self {
            service_name: d_service(),
            image: None,
            version: None,
            release_image: d_release_image(),
            repository: d_repository(),
            max_records: d_max_records(),
            page_size: d_page_size(),
            lookback_hours: d_lookback(),
            accounts_in_parallel: contract::env::ACCOUNTS_IN_PARALLEL.default as u32,
            services: 1,
            cpu: super::sizing::DEFAULT_CPU.to_owned(),
            memory: super::sizing::DEFAULT_MEMORY.to_owned(),
        }
    }
}

/// Where Terraform keeps its state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Terraform {
    /// A GCS bucket for the state (created beforehand); local state when absent.
    pub state_bucket: Option<String>,
    /// Prefix inside the state bucket.
    pub state_prefix: Option<String>,
}

impl Config {
    /// The Events API base URL the config names, if it names one.
    pub fn explicit_events_base_url(&self) -> Option<String> {
        self.events_api
            .as_deref()
            .map(super::accounts::events_base_url)
    }

    /// The Events API base URL the collector is deployed with (default: 1password.com's).
    pub fn events_base_url(&self) -> String {
        self.explicit_events_base_url()
            .unwrap_or_else(|| DEFAULT_EVENTS_BASE_URL.to_owned())
    }

    /// The bucket's location.
    pub fn bucket_location(&self) -> String {
        self.bucket
            .location
            .clone()
            .unwrap_or_else(|| self.region.to_uppercase())
    }

    /// The collector image.
    pub fn image(&self) -> String {
        self.collector.image.clone().unwrap_or_else(|| {
            format!(
                "{}-docker.pkg.dev/{}/{}/collector:latest",
                self.region, self.project_id, self.collector.repository
            )
        })
    }

    /// The released version to deploy: `collector.version`, else the provisioner's own.
    pub fn release_version(&self) -> String {
        self.collector
            .version
            .clone()
            .unwrap_or_else(|| buildinfo::VERSION.to_owned())
    }

    /// The remote repository (mirror of the release registry) for released images.
    pub fn release_repository(&self) -> String {
        format!("{}-releases", self.collector.repository)
    }

    /// The release registry's address, the remote repository's upstream (`https://ghcr.io`).
    pub fn release_upstream(&self) -> String {
        let host = self
            .collector
            .release_image
            .split('/')
            .next()
            .unwrap_or_default();
        format!("https://{host}")
    }

    /// The released image of `version` as Cloud Run reaches it, through the remote repository
    /// (`REGION-docker.pkg.dev/PROJECT/REPO-releases/OWNER/REPO/collector:VERSION`).
    pub fn release_image_through_mirror(&self, version: &str) -> String {
        let path = self
            .collector
            .release_image
            .split_once('/')
            .map_or("", |(_, path)| path);
        format!(
            "{}-docker.pkg.dev/{}/{}/{path}:{version}",
            self.region,
            self.project_id,
            self.release_repository()
        )
    }

    /// The audit events checkpoint object.
    pub fn state_key(&self) -> String {
        contract::checkpoint::key(&self.checkpoint_prefix, contract::Stream::AuditEvents)
    }

    /// The configured streams, in the config's order.
    pub fn streams(&self) -> Vec<Stream> {
        self.streams.iter().map(OneOf::get).collect()
    }

    /// `stream`'s feed prefix, without slashes at either end.
    pub fn prefix(&self, stream: Stream) -> String {
        let prefix = match stream {
            Stream::AuditEvents => &self.feed_prefix,
            Stream::SignInAttempts => &self.signinattempts_prefix,
            Stream::ItemUsages => &self.itemusages_prefix,
        };
        prefix.trim_matches('/').to_owned()
    }

    /// (stream, feed prefix) for each stream some account collects, in the order of
    /// [`Stream::ALL`] with several accounts, else in the config's order.
    pub fn stream_prefixes(&self) -> Vec<(Stream, String)> {
        let streams = if self.has_accounts() {
            self.collected_streams()
        } else {
            let mut once: Vec<Stream> = Vec::new();
            for stream in self.streams.iter().filter_map(|s| s.checked().ok()) {
                if !once.contains(&stream) {
                    once.push(stream);
                }
            }
            once
        };
        streams
            .into_iter()
            .map(|stream| (stream, self.prefix(stream)))
            .collect()
    }
}

/// The config key of `stream`'s feed prefix (the one [`Config::prefix`] reads).
pub fn prefix_key(stream: Stream) -> &'static str {
    match stream {
        Stream::AuditEvents => "feed_prefix",
        Stream::SignInAttempts => "signinattempts_prefix",
        Stream::ItemUsages => "itemusages_prefix",
    }
}
