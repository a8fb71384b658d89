//! The steps of `plan`, `apply` and `destroy` for each engine, in order.
//!
//! `apply` runs in two phases because a Cloud Run revision that references a secret with no version
//! cannot start: first the APIs and the secret (Terraform `-target`, or the gcloud script's
//! `foundation` phase), then the token as the secret's first version, then everything else.

use std::path::Path;

use onepassword_events::secret::Secret;

use crate::config::Config;
use crate::render::{Engine, files};
use crate::runner::{Retry, Step};

const TF_MODULE: &str = "module.onepassword_secops";

/// Steps of `provision plan`.
pub fn plan(engine: Engine, out: &Path) -> Vec<Step> {
    let tf = out.join("terraform");
    match engine {
        Engine::Terraform => vec![
            Step::new(
                "terraform init",
                "terraform",
                &["init", "-input=false"],
                &tf,
            ),
            Step::new(
                "terraform plan",
                "terraform",
                &["plan", "-input=false", "-out=tfplan"],
                &tf,
            ),
        ],
        Engine::Gcloud => vec![Step::new(
            "check the gcloud script (gcloud has no dry run)",
            "bash",
            &["-n", files::GCLOUD_DEPLOY],
            out,
        )],
    }
}

/// Where the collector's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// `collector.image`, deployed as it is.
    Named(String),
    /// A released version, through the remote repository, pinned by digest before the service is
    /// created.
    Release {
        /// The version, e.g. `0.3.0`.
        version: String,
    },
    /// Built from a checkout with Cloud Build (`--build`).
    Build,
}

impl ImageSource {
    /// The source `config` asks for: its image, else a build when `build`, else its release.
    pub fn of(config: &Config, build: bool) -> Self {
        match (&config.collector.image, build) {
            (Some(image), _) => ImageSource::Named(image.clone()),
            (None, true) => ImageSource::Build,
            (None, false) => ImageSource::Release {
                version: config.release_version(),
            },
        }
    }
}

/// `provision apply` in two parts: before the service exists (APIs, the secret and the image
/// repositories, the token, a first build) and the rest. A released image is pinned by digest
/// between the two, once the remote repository that serves it exists.
#[derive(Debug)]
pub struct ApplyPlan {
    /// Up to the image.
    pub foundation: Vec<Step>,
    /// The service and everything after it.
    pub service: Vec<Step>,
}

/// Steps of `provision apply`; each of `tokens` becomes the newest version of its secret.
///
/// With [`ImageSource::Build`], the first image is built from `source` with Cloud Build (into the
/// repository the first part creates) before the service that runs it.
pub fn apply(
    engine: Engine,
    out: &Path,
    config: &Config,
    tokens: Vec<(String, Secret)>,
    source: &Path,
    image: &ImageSource,
) -> ApplyPlan {
    let tf = out.join("terraform");
    let foundation_targets = foundation_targets(config);
    let mut foundation = match engine {
        Engine::Terraform => {
            let mut args = vec!["apply", "-input=false", "-auto-approve"];
            args.extend(foundation_targets.iter().map(String::as_str));
            vec![
                Step::new(
                    "terraform init",
                    "terraform",
                    &["init", "-input=false"],
                    &tf,
                ),
                Step::new(
                    "create the APIs, the token's secret (and its reader) and the image repositories (terraform apply -target)",
                    "terraform",
                    &args,
                    &tf,
                ),
            ]
        }
        Engine::Gcloud => vec![Step::new(
            "create the APIs, bucket, service accounts, secret and repositories (deploy.sh foundation)",
            "bash",
            &[files::GCLOUD_DEPLOY, "foundation"],
            out,
        )],
    };
    for (secret, token) in tokens {
        foundation.push(store_token(config, &secret, token, out));
    }
    if *image == ImageSource::Build {
        foundation.push(build(config, source, &config.image()));
    }
    let service = vec![match engine {
        Engine::Terraform => {
            let step = Step::new(
                "create everything else (terraform apply)",
                "terraform",
                &["apply", "-input=false", "-auto-approve"],
                &tf,
            );
            if config.alerting.enabled {
                step.with_retry(metric_wait(config))
            } else {
                step
            }
        }
        Engine::Gcloud => Step::new(
            "create the service, Pub/Sub and the schedule (deploy.sh service)",
            "bash",
            &[files::GCLOUD_DEPLOY, "service"],
            out,
        ),
    }];
    ApplyPlan {
        foundation,
        service,
    }
}

/// The resources (module addresses, without the module's own prefix) of the first, targeted
/// `terraform apply`: the APIs, each token's secret and who may read it, the image repositories.
///
/// A targeted apply refuses to run while the state holds an instance whose pending `moved` (in the
/// module, or the rendered root) is not targeted ("Moved resource instances excluded by
/// targeting"), so every resource a `moved` block names is here: a secret's IAM member moves with
/// its secret (provisioner/tests/moves.rs checks this against every `moved` block).
pub fn foundation_resources(config: &Config) -> Vec<&'static str> {
    let mut resources = vec![
        "google_project_service.required",
        "google_project_service.resource_manager",
        "google_secret_manager_secret.token",
        "google_secret_manager_secret_iam_member.collector_reads_token",
    ];
    if config.has_accounts() {
        resources.extend([
            "google_secret_manager_secret.account_token",
            "google_secret_manager_secret_iam_member.collector_reads_account_token",
        ]);
    }
    resources.extend([
        "google_artifact_registry_repository.collector",
        "google_artifact_registry_repository.releases",
    ]);
    if config.github.repository.is_some() {
        // A first build (`--build`) runs as the build account, from its staging bucket.
        resources.extend([
            "google_service_account.builder",
            "google_storage_bucket.build_staging",
            "google_storage_bucket_iam_member.builder_uses_staging",
            "google_storage_bucket_iam_member.builder_reads_staging_bucket",
            "google_artifact_registry_repository_iam_member.builder_pushes",
            "google_project_iam_member.builder_writes_logs",
        ]);
    }
    resources
}

/// The module's build account and staging bucket (terraform/ci.tf), when the config has them
/// (`github.repository`): builds run as that account, never as the project's default Cloud Build
/// account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildAccount {
    /// The build account's email.
    pub email: String,
    /// The bucket the source is staged in and the build log written to.
    pub staging_bucket: String,
}

/// The build account of `config`, named as terraform/ci.tf names it.
pub fn build_account(config: &Config) -> Option<BuildAccount> {
    config.github.repository.as_ref()?;
    let prefix: String = config.collector.service_name.chars().take(22).collect();
    Some(BuildAccount {
        email: format!(
            "{}-builder@{}.iam.gserviceaccount.com",
            prefix.trim_end_matches('-'),
            config.project_id
        ),
        staging_bucket: format!("{}-builds", config.bucket.name),
    })
}

/// The `-target=` arguments of the first `terraform apply` ([`foundation_resources`]).
fn foundation_targets(config: &Config) -> Vec<String> {
    foundation_resources(config)
        .into_iter()
        .map(|r| format!("-target={TF_MODULE}.{r}"))
        .collect()
}

/// The Cloud Build step: builds `source` (its Dockerfile) and pushes it as `image`; as the
/// module's build account when the config has one ([`build_account`]), with the source staged and
/// the log written in its staging bucket (a build with a user-specified account cannot log to
/// Cloud Build's default bucket).
fn build(config: &Config, source: &Path, image: &str) -> Step {
    let mut args: Vec<String> = ["builds", "submit", "--project", &config.project_id]
        .map(str::to_owned)
        .to_vec();
    if let Some(account) = build_account(config) {
        args.extend([
            "--service-account".to_owned(),
            format!(
                "projects/{}/serviceAccounts/{}",
                config.project_id, account.email
            ),
            "--gcs-source-staging-dir".to_owned(),
            format!("gs://{}/source", account.staging_bucket),
            "--gcs-log-dir".to_owned(),
            format!("gs://{}/logs", account.staging_bucket),
        ]);
    }
    args.extend(["--tag".to_owned(), image.to_owned(), ".".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Step::new(
        "build and push the collector image (Cloud Build)",
        "gcloud",
        &args,
        source,
    )
}

/// The variable that replaces Artifact Registry's `https://REGION-docker.pkg.dev` when the
/// released image's digest is read (a test registry on loopback).
pub const REGISTRY_URL_ENV: &str = "PROVISION_REGISTRY_URL";

/// The variable that replaces the release registry's `https://HOST` (e.g. `https://ghcr.io`).
pub const UPSTREAM_REGISTRY_URL_ENV: &str = "PROVISION_UPSTREAM_REGISTRY_URL";

/// Why one registry did not give the released image's digest.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The image reference has no host, name or tag.
    #[error("{0:?} is not an image reference HOST/NAME:TAG")]
    BadReference(String),
    /// The caller's access token could not be read.
    #[error("cannot read an access token with `gcloud auth print-access-token`: {0}")]
    Token(crate::runner::StepError),
    /// The registry did not answer the digest.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
}

/// No released image of that version could be read, through the remote repository nor from the
/// release registry.
#[derive(Debug, thiserror::Error)]
#[error(
    "no released collector image {version} could be read through {mirror} ({through_mirror}) \
     nor from {release} ({from_release}); set collector.version to a released version, or build \
     this checkout instead with --build"
)]
pub struct NoRelease {
    /// The version asked for.
    pub version: String,
    /// The image through the remote repository.
    pub mirror: String,
    /// The release registry's image.
    pub release: String,
    /// Why the remote repository did not answer.
    pub through_mirror: Box<DigestError>,
    /// Why the release registry did not answer.
    pub from_release: Box<DigestError>,
}

/// The released image of `version`, pinned by digest, as Cloud Run reaches it through the remote
/// repository.
///
/// The digest comes from the registry protocol: a `HEAD` of the tag's manifest in the remote
/// repository, with the caller's access token (`gcloud auth print-access-token`, held as a
/// [`Secret`] and never shown), which also pulls the image through into the repository's cache.
/// Should the remote repository not answer, the release registry is asked directly (an anonymous
/// pull token, as for any public image); the service is deployed by that digest through the remote
/// repository either way.
pub fn pin_release(config: &Config, version: &str, cwd: &Path) -> Result<String, NoRelease> {
    use crate::registry::{self, Auth, ImageRef};
    let tagged = config.release_image_through_mirror(version);
    let released = format!("{}:{version}", config.collector.release_image);
    let base = |variable: &str, image: &ImageRef| {
        std::env::var(variable)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| format!("https://{}", image.host))
    };
    let mirror = ImageRef::parse(&tagged);
    let through_mirror = match &mirror {
        None => Err(DigestError::BadReference(tagged.clone())),
        Some(image) => crate::runner::capture("gcloud", &["auth", "print-access-token"], cwd)
            .map(Secret::new)
            .map_err(DigestError::Token)
            .and_then(|token| {
                Ok(registry::manifest_digest(
                    &base(REGISTRY_URL_ENV, image),
                    image,
                    &Auth::Bearer(token),
                )?)
            }),
    };
    let through_mirror = match (through_mirror, &mirror) {
        (Ok(digest), Some(image)) => return Ok(format!("{}@{digest}", image.untagged())),
        (Ok(_), None) => unreachable!("a digest needs a parsed reference"),
        (Err(error), _) => error,
    };
    let from_release = match (ImageRef::parse(&released), &mirror) {
        (Some(upstream), Some(image)) => {
            match registry::manifest_digest(
                &base(UPSTREAM_REGISTRY_URL_ENV, &upstream),
                &upstream,
                &Auth::Anonymous,
            ) {
                Ok(digest) => {
                    eprintln!(
                        "note: the remote repository did not answer the digest of {tagged} \
                         ({through_mirror}); {released} is {digest}, which Cloud Run pulls through it"
                    );
                    return Ok(format!("{}@{digest}", image.untagged()));
                }
                Err(error) => DigestError::Registry(error),
            }
        }
        (None, _) => DigestError::BadReference(released.clone()),
        (_, None) => DigestError::BadReference(tagged.clone()),
    };
    Err(NoRelease {
        version: version.to_owned(),
        mirror: tagged,
        release: config.collector.release_image.clone(),
        through_mirror: Box::new(through_mirror),
        from_release: Box::new(from_release),
    })
}

/// Terraform's address of the events bucket.
pub const TF_BUCKET: &str = "module.onepassword_secops.google_storage_bucket.logs";

/// The first step of a Terraform `provision destroy`, after which `terraform state list` tells
/// whether the bucket is managed.
pub fn destroy_init(out: &Path) -> Step {
    Step::new(
        "terraform init",
        "terraform",
        &["init", "-input=false"],
        out.join("terraform"),
    )
}

/// Waiting for a new log-based metric: Cloud Monitoring refuses alert policies that name it
/// ("Cannot find metric(s)") for a few minutes after it is created. Twenty tries, 30 s apart
/// (`METRIC_WAIT_SECONDS` changes the pause; the gcloud script reads the same variable).
fn metric_wait(config: &Config) -> Retry {
    let pause = std::env::var("METRIC_WAIT_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    Retry {
        when_output_contains: "Cannot find metric".to_owned(),
        waiting_for: format!(
            "Cloud Monitoring to know the new log-based metric {}-successful-runs \
             (new metrics take a few minutes)",
            config.collector.service_name
        ),
        attempts: 20,
        pause: std::time::Duration::from_secs(pause),
    }
}

/// Steps of `provision destroy` (for Terraform, after [`destroy_init`]). The bucket and its events
/// are kept unless `delete_events`: Terraform first forgets the bucket (`bucket_in_state`), so
/// `terraform destroy` succeeds without deleting it; with `delete_events` it is removed with every
/// object version after everything else is gone.
pub fn destroy(
    engine: Engine,
    out: &Path,
    config: &Config,
    bucket_in_state: bool,
    delete_events: bool,
) -> Vec<Step> {
    let tf = out.join("terraform");
    match engine {
        Engine::Terraform => {
            let mut steps = Vec::new();
            if bucket_in_state {
                steps.push(Step::new(
                    "keep the events bucket: leave it out of Terraform's state",
                    "terraform",
                    &["state", "rm", TF_BUCKET],
                    &tf,
                ));
            }
            steps.push(Step::new(
                "terraform destroy",
                "terraform",
                &["destroy", "-input=false", "-auto-approve"],
                &tf,
            ));
            if delete_events {
                let bucket = format!("gs://{}", config.bucket.name);
                steps.push(Step::new(
                    "delete the events bucket with every event and checkpoint in it",
                    "gcloud",
                    &[
                        "storage",
                        "rm",
                        "--recursive",
                        "--all-versions",
                        &bucket,
                        "--project",
                        &config.project_id,
                    ],
                    out,
                ));
            }
            steps
        }
        Engine::Gcloud => {
            let mut args = vec![files::GCLOUD_DESTROY];
            if delete_events {
                args.push("--delete-events");
            }
            vec![Step::new(
                "remove the resources (destroy.sh)",
                "bash",
                &args,
                out,
            )]
        }
    }
}

/// The folder Cloud Build builds from has no `Dockerfile`.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} has no Dockerfile, so Cloud Build has nothing to build: pass --source with the path of a \
     onepassword-secops checkout (the folder that holds its Dockerfile), or set collector.image \
     in the config to an image that is already built",
    .0.display()
)]
pub struct NoDockerfile(pub std::path::PathBuf);

/// Checks that `source` can be built before any step runs.
pub fn check_build_source(source: &Path) -> Result<(), NoDockerfile> {
    if source.join("Dockerfile").is_file() {
        Ok(())
    } else {
        Err(NoDockerfile(source.to_path_buf()))
    }
}

/// The image reference `provision deploy` builds: the repository's `collector` image tagged `tag`.
pub fn image_for(config: &Config, tag: &str) -> String {
    format!(
        "{}-docker.pkg.dev/{}/{}/collector:{tag}",
        config.region, config.project_id, config.collector.repository
    )
}

/// Steps of `provision deploy --build`: build `source` with Cloud Build into Artifact Registry as
/// `image`, then roll every Cloud Run service to it.
pub fn deploy(config: &Config, source: &Path, image: &str) -> Vec<Step> {
    let mut steps = vec![build(config, source, image)];
    steps.extend(roll(config, image, source));
    steps
}

/// The steps that roll every Cloud Run service to `image`, the first first (`gcloud run deploy`
/// waits for each revision to be ready).
pub fn roll(config: &Config, image: &str, cwd: &Path) -> Vec<Step> {
    let names = config.service_names();
    names
        .iter()
        .map(|service| {
            let name = if names.len() == 1 {
                "roll the Cloud Run service to the new image".to_owned()
            } else {
                format!("roll the Cloud Run service {service} to the new image")
            };
            Step::new(
                &name,
                "gcloud",
                &[
                    "run",
                    "deploy",
                    service,
                    "--image",
                    image,
                    "--project",
                    &config.project_id,
                    "--region",
                    &config.region,
                    "--quiet",
                ],
                cwd,
            )
        })
        .collect()
}

/// The step that adds `token` as the newest version of `secret`, on standard input only.
pub fn store_token(config: &Config, secret: &str, token: Secret, cwd: &Path) -> Step {
    let name = if config.has_accounts() {
        format!("store the bearer token in Secret Manager ({secret})")
    } else {
        "store the bearer token in Secret Manager".to_owned()
    };
    Step::new(
        &name,
        "gcloud",
        &[
            "secrets",
            "versions",
            "add",
            secret,
            "--project",
            &config.project_id,
            "--data-file=-",
        ],
        cwd,
    )
    .with_stdin(token)
}
