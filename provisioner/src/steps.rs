//! The steps of `plan`, `apply` and `destroy` for each engine, in order.
//!
//! `apply` runs in two phases because a Cloud Run revision that references a secret with no version
//! cannot start: first the APIs and the secret (Terraform `-target`, or the gcloud script's
//! `foundation` phase), then the token as the secret's first version, then everything else.

use std::path::Path;

use collector::secret::Secret;

use crate::config::Config;
use crate::render::{Engine, files};
use crate::runner::Step;

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

/// Steps of `provision apply`; `token`, when given, becomes the secret's newest version.
///
/// Without `collector.image` in the config, the first image is built from `source` with Cloud Build
/// (into the repository the first phase creates) before the service that runs it.
pub fn apply(
    engine: Engine,
    out: &Path,
    config: &Config,
    token: Option<Secret>,
    source: &Path,
) -> Vec<Step> {
    let tf = out.join("terraform");
    let foundation_targets = [
        format!("-target={TF_MODULE}.google_project_service.required"),
        format!("-target={TF_MODULE}.google_secret_manager_secret.token"),
        format!("-target={TF_MODULE}.google_artifact_registry_repository.collector"),
    ];
    let mut steps = match engine {
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
                    "create the APIs, the token's secret and the image repository (terraform apply -target)",
                    "terraform",
                    &args,
                    &tf,
                ),
            ]
        }
        Engine::Gcloud => vec![Step::new(
            "create the APIs, bucket, service accounts, secret and repository (deploy.sh foundation)",
            "bash",
            &[files::GCLOUD_DEPLOY, "foundation"],
            out,
        )],
    };
    if let Some(token) = token {
        steps.push(store_token(config, token, out));
    }
    if config.collector.image.is_none() {
        let image = config.image();
        steps.push(Step::new(
            "build the first collector image (Cloud Build)",
            "gcloud",
            &[
                "builds",
                "submit",
                "--project",
                &config.project_id,
                "--tag",
                &image,
                ".",
            ],
            source,
        ));
    }
    steps.push(match engine {
        Engine::Terraform => Step::new(
            "create everything else (terraform apply)",
            "terraform",
            &["apply", "-input=false", "-auto-approve"],
            &tf,
        ),
        Engine::Gcloud => Step::new(
            "create the service, Pub/Sub and the schedule (deploy.sh service)",
            "bash",
            &[files::GCLOUD_DEPLOY, "service"],
            out,
        ),
    });
    steps
}

/// Steps of `provision destroy`.
pub fn destroy(engine: Engine, out: &Path) -> Vec<Step> {
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
                "terraform destroy",
                "terraform",
                &["destroy", "-input=false", "-auto-approve"],
                &tf,
            ),
        ],
        Engine::Gcloud => vec![Step::new(
            "remove the resources (destroy.sh)",
            "bash",
            &[files::GCLOUD_DESTROY],
            out,
        )],
    }
}

/// The image reference `provision deploy` builds: the repository's `collector` image tagged `tag`.
pub fn image_for(config: &Config, tag: &str) -> String {
    format!(
        "{}-docker.pkg.dev/{}/{}/collector:{tag}",
        config.region, config.project_id, config.collector.repository
    )
}

/// Steps of `provision deploy`: build `source` with Cloud Build into Artifact Registry as `image`,
/// then roll the Cloud Run service to it (`gcloud run deploy` waits for the revision to be ready).
pub fn deploy(config: &Config, source: &Path, image: &str) -> Vec<Step> {
    vec![
        Step::new(
            "build and push the collector image (Cloud Build)",
            "gcloud",
            &[
                "builds",
                "submit",
                "--project",
                &config.project_id,
                "--tag",
                image,
                ".",
            ],
            source,
        ),
        Step::new(
            "roll the Cloud Run service to the new image",
            "gcloud",
            &[
                "run",
                "deploy",
                &config.collector.service_name,
                "--image",
                image,
                "--project",
                &config.project_id,
                "--region",
                &config.region,
                "--quiet",
            ],
            source,
        ),
    ]
}

/// The step that adds `token` as the secret's newest version, on standard input only.
pub fn store_token(config: &Config, token: Secret, cwd: &Path) -> Step {
    Step::new(
        "store the bearer token in Secret Manager",
        "gcloud",
        &[
            "secrets",
            "versions",
            "add",
            &config.secret,
            "--project",
            &config.project_id,
            "--data-file=-",
        ],
        cwd,
    )
    .with_stdin(token)
}
