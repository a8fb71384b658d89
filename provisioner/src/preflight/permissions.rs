//! The one list of IAM permissions a deployer needs: a table from each Terraform resource type the
//! module creates, and each gcloud command the script or `provision apply` runs, to the
//! permissions creating, reading and updating it take (Google's IAM reference:
//! https://cloud.google.com/iam/docs/permissions-reference, and each API's method pages), and the
//! phases of `apply` that create them. A test renders every option and fails when a resource type
//! or a gcloud command has no entry here; another fails when a permission is not one of
//! [`VERIFIED`], the names checked against IAM's catalogue (a misspelt or unknown permission makes
//! Resource Manager refuse the whole `testIamPermissions` call with 400 INVALID_ARGUMENT).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::config::Config;
use crate::render::Engine;

/// A part of `provision apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The APIs, the token's secret, the image repositories (Terraform's targeted apply, the
    /// script's `foundation`).
    Foundation,
    /// Storing each token as its secret's newest version.
    Token,
    /// Reading the released image's digest through the remote repository.
    ReleaseImage,
    /// Building the first image with Cloud Build (`--build`).
    Build,
    /// The service, Pub/Sub, the schedule and every grant.
    Service,
    /// The SecOps feed service account's read grant on the bucket (`secops.service_account`).
    FeedReadGrant,
    /// The dashboard and the log-based metrics it charts (`dashboard.enabled`).
    Dashboard,
    /// The alert policies (`alerting.enabled`).
    Alerting,
    /// The GitHub Actions deployer (`github.repository`).
    GithubDeploys,
    /// The SecOps feeds (`secops.instance`, Terraform only), in the SecOps instance's project.
    SecopsFeeds,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 10] = [
        Phase::Foundation,
        Phase::Token,
        Phase::ReleaseImage,
        Phase::Build,
        Phase::Service,
        Phase::FeedReadGrant,
        Phase::Dashboard,
        Phase::Alerting,
        Phase::GithubDeploys,
        Phase::SecopsFeeds,
    ];

    /// Its name in reports and the README.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Foundation => "foundation",
            Phase::Token => "token",
            Phase::ReleaseImage => "release image",
            Phase::Build => "build (--build)",
            Phase::Service => "service",
            Phase::FeedReadGrant => "feed read grant",
            Phase::Dashboard => "dashboard",
            Phase::Alerting => "alerting",
            Phase::GithubDeploys => "GitHub deploys",
            Phase::SecopsFeeds => "SecOps feeds",
        }
    }

    /// The Terraform resource types (`data.` for data sources) it creates or reads.
    pub fn terraform(self) -> &'static [&'static str] {
        match self {
            Phase::Foundation => &[
                "data.google_project",
                "google_project_service",
                "google_secret_manager_secret",
                "google_artifact_registry_repository",
            ],
            Phase::Token => &[],
            Phase::ReleaseImage => &[],
            Phase::Build => &[],
            Phase::Service => &[
                "data.google_project",
                "google_storage_bucket",
                "google_storage_bucket_iam_member",
                "google_service_account",
                "google_service_account_iam_member",
                "google_secret_manager_secret_iam_member",
                "google_cloud_run_v2_service",
                "google_cloud_run_v2_service_iam_member",
                "google_pubsub_topic",
                "google_pubsub_topic_iam_member",
                "google_pubsub_subscription",
                "google_pubsub_subscription_iam_member",
                "google_cloud_scheduler_job",
                // secops.feed: event_driven (feed.tf).
                "data.google_storage_project_service_account",
                "google_storage_notification",
            ],
            Phase::FeedReadGrant => &["google_storage_bucket_iam_member"],
            Phase::Dashboard => &["google_logging_metric", "google_monitoring_dashboard"],
            Phase::Alerting => &[
                "google_logging_metric",
                "google_monitoring_alert_policy",
                "google_monitoring_notification_channel",
            ],
            Phase::GithubDeploys => &[
                "google_iam_workload_identity_pool",
                "google_iam_workload_identity_pool_provider",
                "google_service_account",
                "google_service_account_iam_member",
                "google_artifact_registry_repository_iam_member",
                "google_cloud_run_v2_service_iam_member",
                "google_project_iam_member",
                "google_storage_bucket",
                "google_storage_bucket_iam_member",
            ],
            Phase::SecopsFeeds => &["google_chronicle_feed"],
        }
    }

    /// The gcloud commands it runs (the script's, and `provision apply`'s own steps).
    pub fn gcloud(self) -> &'static [&'static str] {
        match self {
            Phase::Foundation => &[
                "services enable",
                "storage buckets describe",
                "storage buckets create",
                "storage buckets update",
                "storage buckets add-iam-policy-binding",
                "iam service-accounts describe",
                "iam service-accounts create",
                "secrets describe",
                "secrets create",
                "secrets add-iam-policy-binding",
                "artifacts repositories describe",
                "artifacts repositories create",
            ],
            Phase::Token => &["secrets versions add"],
            Phase::ReleaseImage => &["auth print-access-token"],
            Phase::Build => &["builds submit"],
            Phase::Service => &[
                "run services describe",
                "run services update",
                "run deploy",
                "run services add-iam-policy-binding",
                "pubsub topics describe",
                "pubsub topics create",
                "projects describe",
                "iam service-accounts add-iam-policy-binding",
                "pubsub topics add-iam-policy-binding",
                "pubsub subscriptions describe",
                "pubsub subscriptions update",
                "pubsub subscriptions create",
                "pubsub subscriptions add-iam-policy-binding",
                "scheduler jobs describe",
                "scheduler jobs update pubsub",
                "scheduler jobs create pubsub",
                // secops.feed: event_driven (the script's secops_feed).
                "storage service-agent",
                "storage buckets notifications list",
                "storage buckets notifications create",
            ],
            Phase::FeedReadGrant => &["storage buckets add-iam-policy-binding"],
            Phase::Dashboard => &[
                "logging metrics describe",
                "logging metrics update",
                "logging metrics create",
                "monitoring dashboards list",
                "monitoring dashboards describe",
                "monitoring dashboards update",
                "monitoring dashboards create",
            ],
            Phase::Alerting => &[
                "logging metrics describe",
                "logging metrics update",
                "logging metrics create",
                "beta monitoring channels list",
                "beta monitoring channels create",
                "alpha monitoring policies list",
                "alpha monitoring policies update",
                "alpha monitoring policies create",
            ],
            Phase::GithubDeploys => &[],
            Phase::SecopsFeeds => &[],
        }
    }

    /// Whether `config` (deployed with `engine`, building the first image when `build`) runs it.
    pub fn runs(self, config: &Config, engine: Engine, build: bool) -> bool {
        match self {
            Phase::Foundation | Phase::Token | Phase::Service => true,
            Phase::ReleaseImage => config.collector.image.is_none() && !build,
            Phase::Build => config.collector.image.is_none() && build,
            Phase::FeedReadGrant => config.secops.service_account.is_some(),
            Phase::Dashboard => config.dashboard.enabled,
            Phase::Alerting => config.alerting.enabled,
            // The gcloud script creates no GitHub deployer and no feeds.
            Phase::GithubDeploys => {
                engine == Engine::Terraform && config.github.repository.is_some()
            }
            Phase::SecopsFeeds => engine == Engine::Terraform && config.secops.instance.is_some(),
        }
    }
}

/// Permissions creating, reading (Terraform refreshes) and updating each Terraform resource type.
pub const TERRAFORM: &[(&str, &[&str])] = &[
    ("data.google_project", &["resourcemanager.projects.get"]),
    (
        "google_project_service",
        &[
            "serviceusage.services.enable",
            "serviceusage.services.get",
            "serviceusage.services.list",
        ],
    ),
    (
        "google_storage_bucket",
        &[
            "storage.buckets.create",
            "storage.buckets.get",
            "storage.buckets.update",
        ],
    ),
    (
        "google_storage_bucket_iam_member",
        &[
            "storage.buckets.getIamPolicy",
            "storage.buckets.setIamPolicy",
        ],
    ),
    (
        "google_service_account",
        &[
            "iam.serviceAccounts.create",
            "iam.serviceAccounts.get",
            "iam.serviceAccounts.update",
        ],
    ),
    (
        "google_service_account_iam_member",
        &[
            "iam.serviceAccounts.getIamPolicy",
            "iam.serviceAccounts.setIamPolicy",
        ],
    ),
    (
        "google_secret_manager_secret",
        &[
            "secretmanager.secrets.create",
            "secretmanager.secrets.get",
            "secretmanager.secrets.update",
        ],
    ),
    (
        "google_secret_manager_secret_iam_member",
        &[
            "secretmanager.secrets.getIamPolicy",
            "secretmanager.secrets.setIamPolicy",
        ],
    ),
    (
        "google_artifact_registry_repository",
        &[
            "artifactregistry.repositories.create",
            "artifactregistry.repositories.get",
            "artifactregistry.repositories.update",
        ],
    ),
    (
        "google_artifact_registry_repository_iam_member",
        &[
            "artifactregistry.repositories.getIamPolicy",
            "artifactregistry.repositories.setIamPolicy",
        ],
    ),
    (
        // Deploying a service that runs as a service account takes actAs on it.
        "google_cloud_run_v2_service",
        &[
            "run.services.create",
            "run.services.get",
            "run.services.update",
            "run.operations.get",
            "iam.serviceAccounts.actAs",
        ],
    ),
    (
        "google_cloud_run_v2_service_iam_member",
        &["run.services.getIamPolicy", "run.services.setIamPolicy"],
    ),
    (
        "google_pubsub_topic",
        &[
            "pubsub.topics.create",
            "pubsub.topics.get",
            "pubsub.topics.update",
        ],
    ),
    (
        "google_pubsub_topic_iam_member",
        &["pubsub.topics.getIamPolicy", "pubsub.topics.setIamPolicy"],
    ),
    (
        // A push subscription with an OIDC token takes actAs on the token's service account.
        "google_pubsub_subscription",
        &[
            "pubsub.subscriptions.create",
            "pubsub.subscriptions.get",
            "pubsub.subscriptions.update",
            "pubsub.topics.attachSubscription",
            "iam.serviceAccounts.actAs",
        ],
    ),
    (
        "google_pubsub_subscription_iam_member",
        &[
            "pubsub.subscriptions.getIamPolicy",
            "pubsub.subscriptions.setIamPolicy",
        ],
    ),
    (
        "google_cloud_scheduler_job",
        &[
            "cloudscheduler.jobs.create",
            "cloudscheduler.jobs.get",
            "cloudscheduler.jobs.update",
        ],
    ),
    (
        "google_logging_metric",
        &[
            "logging.logMetrics.create",
            "logging.logMetrics.get",
            "logging.logMetrics.update",
        ],
    ),
    (
        "google_monitoring_dashboard",
        &[
            "monitoring.dashboards.create",
            "monitoring.dashboards.get",
            "monitoring.dashboards.update",
        ],
    ),
    (
        "google_monitoring_alert_policy",
        &[
            "monitoring.alertPolicies.create",
            "monitoring.alertPolicies.get",
            "monitoring.alertPolicies.update",
        ],
    ),
    (
        "google_monitoring_notification_channel",
        &[
            "monitoring.notificationChannels.create",
            "monitoring.notificationChannels.get",
            "monitoring.notificationChannels.update",
        ],
    ),
    (
        "google_project_iam_member",
        &[
            "resourcemanager.projects.getIamPolicy",
            "resourcemanager.projects.setIamPolicy",
        ],
    ),
    (
        // These permissions are named `iam.googleapis.com/…` in IAM's catalogue (the roles that
        // hold them: roles/iam.workloadIdentityPoolAdmin, roles/owner), although the REST method
        // pages write `iam.workloadIdentityPools.create`; testIamPermissions takes the
        // catalogue's names (https://cloud.google.com/iam/docs/roles-permissions/iam).
        "google_iam_workload_identity_pool",
        &[
            "iam.googleapis.com/workloadIdentityPools.create",
            "iam.googleapis.com/workloadIdentityPools.get",
            "iam.googleapis.com/workloadIdentityPools.update",
        ],
    ),
    (
        "google_iam_workload_identity_pool_provider",
        &[
            "iam.googleapis.com/workloadIdentityPoolProviders.create",
            "iam.googleapis.com/workloadIdentityPoolProviders.get",
            "iam.googleapis.com/workloadIdentityPoolProviders.update",
        ],
    ),
    // Cloud Storage's service agent: projects.serviceAccount.get takes resourcemanager.projects.get
    // (https://cloud.google.com/storage/docs/getting-service-agent).
    (
        "data.google_storage_project_service_account",
        &["resourcemanager.projects.get"],
    ),
    // A bucket's notification configurations are bucket metadata: creating and deleting one takes
    // storage.buckets.update, reading them storage.buckets.get
    // (https://cloud.google.com/storage/docs/access-control/iam-json: notificationConfigs).
    (
        "google_storage_notification",
        &["storage.buckets.get", "storage.buckets.update"],
    ),
    (
        "google_chronicle_feed",
        &[
            "chronicle.feeds.create",
            "chronicle.feeds.get",
            "chronicle.feeds.update",
        ],
    ),
];

/// Permissions of each gcloud command (the first words of its line).
pub const GCLOUD: &[(&str, &[&str])] = &[
    (
        "services enable",
        &["serviceusage.services.enable", "serviceusage.services.get"],
    ),
    ("storage buckets describe", &["storage.buckets.get"]),
    ("storage buckets create", &["storage.buckets.create"]),
    ("storage buckets update", &["storage.buckets.update"]),
    (
        "storage buckets add-iam-policy-binding",
        &[
            "storage.buckets.getIamPolicy",
            "storage.buckets.setIamPolicy",
        ],
    ),
    (
        "iam service-accounts describe",
        &["iam.serviceAccounts.get"],
    ),
    (
        "iam service-accounts create",
        &["iam.serviceAccounts.create"],
    ),
    (
        "iam service-accounts add-iam-policy-binding",
        &[
            "iam.serviceAccounts.getIamPolicy",
            "iam.serviceAccounts.setIamPolicy",
        ],
    ),
    ("secrets describe", &["secretmanager.secrets.get"]),
    ("secrets create", &["secretmanager.secrets.create"]),
    (
        "secrets add-iam-policy-binding",
        &[
            "secretmanager.secrets.getIamPolicy",
            "secretmanager.secrets.setIamPolicy",
        ],
    ),
    ("secrets versions add", &["secretmanager.versions.add"]),
    (
        "artifacts repositories describe",
        &["artifactregistry.repositories.get"],
    ),
    (
        "artifacts repositories create",
        &["artifactregistry.repositories.create"],
    ),
    // The manifest HEAD through the remote repository (the token itself needs no permission).
    (
        "auth print-access-token",
        &["artifactregistry.repositories.downloadArtifacts"],
    ),
    (
        // Uploads the source to the default Cloud Build bucket (created on first use) and runs as
        // the build service account.
        "builds submit",
        &[
            "cloudbuild.builds.create",
            "cloudbuild.builds.get",
            "storage.buckets.create",
            "storage.objects.create",
            "iam.serviceAccounts.actAs",
        ],
    ),
    ("run services describe", &["run.services.get"]),
    (
        "run services update",
        &[
            "run.services.update",
            "run.operations.get",
            "iam.serviceAccounts.actAs",
        ],
    ),
    (
        "run deploy",
        &[
            "run.services.create",
            "run.services.update",
            "run.operations.get",
            "iam.serviceAccounts.actAs",
        ],
    ),
    (
        "run services add-iam-policy-binding",
        &["run.services.getIamPolicy", "run.services.setIamPolicy"],
    ),
    ("pubsub topics describe", &["pubsub.topics.get"]),
    ("pubsub topics create", &["pubsub.topics.create"]),
    (
        "pubsub topics add-iam-policy-binding",
        &["pubsub.topics.getIamPolicy", "pubsub.topics.setIamPolicy"],
    ),
    (
        "pubsub subscriptions describe",
        &["pubsub.subscriptions.get"],
    ),
    (
        "pubsub subscriptions update",
        &["pubsub.subscriptions.update", "iam.serviceAccounts.actAs"],
    ),
    (
        "pubsub subscriptions create",
        &[
            "pubsub.subscriptions.create",
            "pubsub.topics.attachSubscription",
            "iam.serviceAccounts.actAs",
        ],
    ),
    (
        "pubsub subscriptions add-iam-policy-binding",
        &[
            "pubsub.subscriptions.getIamPolicy",
            "pubsub.subscriptions.setIamPolicy",
        ],
    ),
    ("projects describe", &["resourcemanager.projects.get"]),
    ("storage service-agent", &["resourcemanager.projects.get"]),
    (
        "storage buckets notifications list",
        &["storage.buckets.get"],
    ),
    (
        "storage buckets notifications create",
        &["storage.buckets.update"],
    ),
    ("scheduler jobs describe", &["cloudscheduler.jobs.get"]),
    (
        "scheduler jobs update pubsub",
        &["cloudscheduler.jobs.update"],
    ),
    (
        "scheduler jobs create pubsub",
        &["cloudscheduler.jobs.create"],
    ),
    ("logging metrics describe", &["logging.logMetrics.get"]),
    ("logging metrics update", &["logging.logMetrics.update"]),
    ("logging metrics create", &["logging.logMetrics.create"]),
    (
        "monitoring dashboards list",
        &["monitoring.dashboards.list"],
    ),
    (
        "monitoring dashboards describe",
        &["monitoring.dashboards.get"],
    ),
    (
        "monitoring dashboards update",
        &["monitoring.dashboards.update"],
    ),
    (
        "monitoring dashboards create",
        &["monitoring.dashboards.create"],
    ),
    (
        "beta monitoring channels list",
        &["monitoring.notificationChannels.list"],
    ),
    (
        "beta monitoring channels create",
        &["monitoring.notificationChannels.create"],
    ),
    (
        "alpha monitoring policies list",
        &["monitoring.alertPolicies.list"],
    ),
    (
        "alpha monitoring policies update",
        &["monitoring.alertPolicies.update"],
    ),
    (
        "alpha monitoring policies create",
        &["monitoring.alertPolicies.create"],
    ),
];

/// Every permission name the tables may use, each checked against Google's IAM roles and
/// permissions reference (https://cloud.google.com/iam/docs/roles-permissions/SERVICE, the page
/// per service named in each group's comment; and the catalogue behind it, IAM's `roles.list` with
/// every predefined role's `includedPermissions`), where each is held by that service's admin role.
pub const VERIFIED: &[&str] = &[
    // .../roles-permissions/artifactregistry (roles/artifactregistry.admin)
    "artifactregistry.repositories.create",
    "artifactregistry.repositories.downloadArtifacts",
    "artifactregistry.repositories.get",
    "artifactregistry.repositories.getIamPolicy",
    "artifactregistry.repositories.setIamPolicy",
    "artifactregistry.repositories.update",
    // .../roles-permissions/chronicle (roles/chronicle.admin); also the method page
    // https://cloud.google.com/chronicle/docs/reference/rest/v1alpha/projects.locations.instances.feeds/create
    "chronicle.feeds.create",
    "chronicle.feeds.get",
    "chronicle.feeds.update",
    // .../roles-permissions/cloudbuild (roles/cloudbuild.builds.editor)
    "cloudbuild.builds.create",
    "cloudbuild.builds.get",
    // .../roles-permissions/cloudscheduler (roles/cloudscheduler.admin)
    "cloudscheduler.jobs.create",
    "cloudscheduler.jobs.get",
    "cloudscheduler.jobs.update",
    // .../roles-permissions/iam (roles/iam.serviceAccountAdmin, roles/iam.serviceAccountUser,
    // roles/iam.workloadIdentityPoolAdmin: pools and providers are `iam.googleapis.com/…`)
    "iam.googleapis.com/workloadIdentityPoolProviders.create",
    "iam.googleapis.com/workloadIdentityPoolProviders.get",
    "iam.googleapis.com/workloadIdentityPoolProviders.update",
    "iam.googleapis.com/workloadIdentityPools.create",
    "iam.googleapis.com/workloadIdentityPools.get",
    "iam.googleapis.com/workloadIdentityPools.update",
    "iam.serviceAccounts.actAs",
    "iam.serviceAccounts.create",
    "iam.serviceAccounts.get",
    "iam.serviceAccounts.getIamPolicy",
    "iam.serviceAccounts.setIamPolicy",
    "iam.serviceAccounts.update",
    // .../roles-permissions/logging (roles/logging.configWriter)
    "logging.logMetrics.create",
    "logging.logMetrics.get",
    "logging.logMetrics.update",
    // .../roles-permissions/monitoring (roles/monitoring.alertPolicyEditor,
    // roles/monitoring.notificationChannelEditor, roles/monitoring.dashboardEditor)
    "monitoring.alertPolicies.create",
    "monitoring.alertPolicies.get",
    "monitoring.alertPolicies.list",
    "monitoring.alertPolicies.update",
    "monitoring.dashboards.create",
    "monitoring.dashboards.get",
    "monitoring.dashboards.list",
    "monitoring.dashboards.update",
    "monitoring.notificationChannels.create",
    "monitoring.notificationChannels.get",
    "monitoring.notificationChannels.list",
    "monitoring.notificationChannels.update",
    // .../roles-permissions/pubsub (roles/pubsub.admin)
    "pubsub.subscriptions.create",
    "pubsub.subscriptions.get",
    "pubsub.subscriptions.getIamPolicy",
    "pubsub.subscriptions.setIamPolicy",
    "pubsub.subscriptions.update",
    "pubsub.topics.attachSubscription",
    "pubsub.topics.create",
    "pubsub.topics.get",
    "pubsub.topics.getIamPolicy",
    "pubsub.topics.setIamPolicy",
    "pubsub.topics.update",
    // .../roles-permissions/resourcemanager (roles/resourcemanager.projectIamAdmin, roles/browser)
    "resourcemanager.projects.get",
    "resourcemanager.projects.getIamPolicy",
    "resourcemanager.projects.setIamPolicy",
    // .../roles-permissions/run (roles/run.admin); also
    // https://cloud.google.com/run/docs/reference/iam/permissions
    "run.operations.get",
    "run.services.create",
    "run.services.get",
    "run.services.getIamPolicy",
    "run.services.setIamPolicy",
    "run.services.update",
    // .../roles-permissions/secretmanager (roles/secretmanager.admin)
    "secretmanager.secrets.create",
    "secretmanager.secrets.get",
    "secretmanager.secrets.getIamPolicy",
    "secretmanager.secrets.setIamPolicy",
    "secretmanager.secrets.update",
    "secretmanager.versions.add",
    // .../roles-permissions/serviceusage (roles/serviceusage.serviceUsageAdmin)
    "serviceusage.services.enable",
    "serviceusage.services.get",
    "serviceusage.services.list",
    // .../roles-permissions/storage (roles/storage.admin)
    "storage.buckets.create",
    "storage.buckets.get",
    "storage.buckets.getIamPolicy",
    "storage.buckets.setIamPolicy",
    "storage.buckets.update",
    "storage.objects.create",
];

/// The permissions of a Terraform resource type, if the table has it.
pub fn of_terraform(resource_type: &str) -> Option<&'static [&'static str]> {
    TERRAFORM
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map(|(_, p)| *p)
}

/// The permissions of the gcloud command whose words start `words`, if the table has it (the
/// longest command that is a prefix of the words).
pub fn of_gcloud(words: &[&str]) -> Option<(&'static str, &'static [&'static str])> {
    GCLOUD
        .iter()
        .filter(|(command, _)| {
            let parts: Vec<&str> = command.split(' ').collect();
            words.len() >= parts.len() && words[..parts.len()] == parts[..]
        })
        .max_by_key(|(command, _)| command.len())
        .copied()
}

/// Where permissions are checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Need {
    /// The phase.
    pub phase: Phase,
    /// The project they are needed on.
    pub project: String,
    /// The permissions.
    pub permissions: BTreeSet<String>,
}

/// The permissions a phase needs with `engine` (without its project).
pub fn of_phase(phase: Phase, engine: Engine) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let engine_own: Vec<(&str, &[&str])> = match engine {
        Engine::Terraform => phase
            .terraform()
            .iter()
            .map(|t| {
                (
                    *t,
                    of_terraform(t).unwrap_or_else(|| panic!("{t} has no permissions entry")),
                )
            })
            .collect(),
        Engine::Gcloud => Vec::new(),
    };
    for (_, permissions) in engine_own {
        out.extend(permissions.iter().map(|p| (*p).to_owned()));
    }
    // Terraform runs only the gcloud commands of apply's own steps (token, image, build); the
    // script runs them all.
    let steps_only = [
        "secrets versions add",
        "auth print-access-token",
        "builds submit",
    ];
    for command in phase.gcloud() {
        if engine == Engine::Gcloud || steps_only.contains(command) {
            let (_, permissions) = of_gcloud(&command.split(' ').collect::<Vec<_>>())
                .unwrap_or_else(|| panic!("{command} has no permissions entry"));
            out.extend(permissions.iter().map(|p| (*p).to_owned()));
        }
    }
    out
}

/// What `config` needs, phase by phase, on which project.
pub fn required(config: &Config, engine: Engine, build: bool) -> Vec<Need> {
    Phase::ALL
        .iter()
        .filter(|phase| phase.runs(config, engine, build))
        .map(|&phase| Need {
            phase,
            project: match (phase, &config.secops.instance) {
                (Phase::SecopsFeeds, Some(instance)) => instance.project.clone(),
                _ => config.project_id.clone(),
            },
            permissions: of_phase(phase, engine),
        })
        .filter(|need| !need.permissions.is_empty())
        .collect()
}

/// The README's table: per phase, the permissions it needs with either engine.
pub fn markdown() -> String {
    let mut out = String::from("| phase | when | permissions |\n|---|---|---|\n");
    for phase in Phase::ALL {
        let mut permissions = of_phase(phase, Engine::Terraform);
        permissions.extend(of_phase(phase, Engine::Gcloud));
        if permissions.is_empty() {
            continue;
        }
        let when = match phase {
            Phase::Foundation | Phase::Token | Phase::Service => "always",
            Phase::ReleaseImage => "no `collector.image`, no `--build`",
            Phase::Build => "`--build`",
            Phase::FeedReadGrant => "`secops.service_account`",
            Phase::Dashboard => "`dashboard.enabled` (the default)",
            Phase::Alerting => "`alerting.enabled`",
            Phase::GithubDeploys => "`github.repository` (Terraform)",
            Phase::SecopsFeeds => "`secops.instance` (Terraform; on the SecOps project)",
        };
        let list: Vec<String> = permissions.iter().map(|p| format!("`{p}`")).collect();
        out.push_str(&format!(
            "| {} | {when} | {} |\n",
            phase.name(),
            list.join(" ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unverified(tables: &[&[(&str, &[&str])]]) -> Vec<String> {
        tables
            .iter()
            .flat_map(|t| t.iter())
            .flat_map(|(_, permissions)| permissions.iter())
            .filter(|p| !VERIFIED.contains(p))
            .map(|p| (*p).to_owned())
            .collect()
    }

    #[test]
    fn every_permission_in_the_tables_is_a_verified_name() {
        assert_eq!(unverified(&[TERRAFORM, GCLOUD]), Vec::<String>::new());
        // The old spelling of the pool permissions, and a misspelling, are caught.
        let planted: &[(&str, &[&str])] = &[(
            "google_iam_workload_identity_pool",
            &["iam.workloadIdentityPools.create", "run.service.create"],
        )];
        assert_eq!(
            unverified(&[planted]),
            ["iam.workloadIdentityPools.create", "run.service.create"]
        );
        // And the verified list holds nothing the tables no longer use.
        let used: BTreeSet<&str> = TERRAFORM
            .iter()
            .chain(GCLOUD)
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        let stale: Vec<&&str> = VERIFIED.iter().filter(|p| !used.contains(**p)).collect();
        assert!(stale.is_empty(), "{stale:?}");
        let mut sorted = VERIFIED.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), VERIFIED.len(), "no duplicates");
    }

    #[test]
    fn every_permission_has_a_service_a_resource_and_a_verb() {
        for permission in VERIFIED {
            let name = permission
                .strip_prefix("iam.googleapis.com/")
                .map_or_else(|| (*permission).to_owned(), |rest| format!("iam.{rest}"));
            let parts: Vec<&str> = name.split('.').collect();
            assert_eq!(parts.len(), 3, "{permission}");
            assert!(
                parts.iter().all(|p| !p.is_empty()
                    && p.chars().all(|c| c.is_ascii_alphanumeric())
                    && p.starts_with(|c: char| c.is_ascii_lowercase())),
                "{permission}"
            );
        }
    }
}
