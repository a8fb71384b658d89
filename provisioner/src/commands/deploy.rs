//! `provision deploy`: roll the Cloud Run service to a released image pinned by digest, the
//! configured image, or an image built from a checkout with Cloud Build; then read back the
//! revision that serves it and the image's digest.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::runner::{self, StepError};
use crate::steps::{self, NoDockerfile, NoRelease};

/// Where the image to roll out comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// A released version (default: `collector.version`, else this provisioner's), unless the
    /// config names an image and no version is asked for: then that image.
    Release {
        /// `--version`.
        version: Option<String>,
    },
    /// Built from the checkout `source` with Cloud Build, tagged `tag` (default: the checkout's
    /// commit).
    Build {
        /// The checkout (its Dockerfile).
        source: PathBuf,
        /// `--tag`.
        tag: Option<String>,
    },
}

/// What was rolled out.
///
/// The fields are in alphabetical order, the order of the keys of `--format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployed {
    /// The image's digest.
    pub digest: String,
    /// The image the service runs.
    pub image: String,
    /// The Cloud Run revision serving it.
    pub revision: String,
}

impl Deployed {
    /// The result for a person.
    pub fn to_text(&self) -> String {
        format!(
            "deployed {}\nrevision: {}\ndigest:   {}\n",
            self.image, self.revision, self.digest
        )
    }
}

/// Why `provision deploy` stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The checkout to build has no Dockerfile.
    #[error(transparent)]
    NoDockerfile(#[from] NoDockerfile),
    /// No `--tag` and the checkout's commit could not be read.
    #[error("cannot read the commit to tag the image with; pass --tag")]
    NoCommit(#[source] StepError),
    /// The tag cannot be an image tag.
    #[error("{0:?} is not an image tag (letters, digits, '.', '_', '-')")]
    BadTag(String),
    /// The released version could not be pinned.
    #[error(transparent)]
    NoRelease(#[from] NoRelease),
    /// A step (the build, the roll-out, a read-back) failed.
    #[error(transparent)]
    Step(#[from] StepError),
}

/// Checks that `tag` can tag an image: letters, digits, `.`, `_` and `-`, not empty.
pub fn check_tag(tag: &str) -> Result<(), DeployError> {
    let ok = !tag.is_empty()
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(DeployError::BadTag(tag.to_owned()))
    }
}

/// What a release roll-out deploys.
#[derive(Debug, PartialEq, Eq)]
enum Release {
    /// The config's `collector.image`, as it is.
    Configured(String),
    /// This released version, to be pinned by digest.
    Version(String),
}

/// The config's image when no version is asked for, else the release `version` (default: the
/// config's release version).
fn release(config: &Config, version: Option<&str>) -> Release {
    match (version, &config.collector.image) {
        (None, Some(image)) => Release::Configured(image.clone()),
        (version, _) => {
            Release::Version(version.map_or_else(|| config.release_version(), str::to_owned))
        }
    }
}

/// The digest an image reference pins, if it pins one (`NAME@sha256:…`).
fn pinned_digest(image: &str) -> Option<&str> {
    image.split_once('@').map(|(_, digest)| digest)
}

/// Rolls the service `config` describes to the image `rollout` names; returns the image, the
/// revision serving it and its digest.
pub fn deploy(config: &Config, rollout: &Rollout) -> Result<Deployed, DeployError> {
    let cwd = Path::new(".");
    let image = match rollout {
        Rollout::Build { source, tag } => {
            steps::check_build_source(source)?;
            let tag = match tag {
                Some(tag) => tag.clone(),
                None => runner::capture("git", &["rev-parse", "--short=12", "HEAD"], source)
                    .map_err(DeployError::NoCommit)?,
            };
            check_tag(&tag)?;
            let image = steps::image_for(config, &tag);
            runner::run(&steps::deploy(config, source, &image))?;
            image
        }
        Rollout::Release { version } => {
            let image = match release(config, version.as_deref()) {
                Release::Configured(image) => image,
                Release::Version(version) => steps::pin_release(config, &version, cwd)?,
            };
            runner::run(&steps::roll(config, &image, cwd))?;
            image
        }
    };
    let revision = runner::capture(
        "gcloud",
        &[
            "run",
            "services",
            "describe",
            &config.collector.service_name,
            "--project",
            &config.project_id,
            "--region",
            &config.region,
            "--format",
            "value(status.latestReadyRevisionName)",
        ],
        cwd,
    )?;
    let digest = match pinned_digest(&image) {
        Some(digest) => digest.to_owned(),
        None => runner::capture(
            "gcloud",
            &[
                "artifacts",
                "docker",
                "images",
                "describe",
                &image,
                "--format",
                "value(image_summary.digest)",
            ],
            cwd,
        )?,
    };
    Ok(Deployed {
        digest,
        image,
        revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        crate::config::parse(
            "test.yaml",
            &format!("project_id: acme-secops-prod\nregion: us-central1\n{extra}"),
        )
        .unwrap()
    }

    #[test]
    fn only_letters_digits_dots_underscores_and_hyphens_tag_an_image() {
        for tag in ["v1.2.3", "0123456789ab", "release_2-rc.1", "A"] {
            assert!(check_tag(tag).is_ok(), "{tag}");
        }
        for tag in ["", "v1 2", "v1/2", "v1:2", "v1@sha256", "t\u{e4}g", "$(id)"] {
            let refused = check_tag(tag).unwrap_err();
            assert!(
                matches!(&refused, DeployError::BadTag(t) if t == tag),
                "{refused:?}"
            );
            assert!(
                refused.to_string().contains(&format!("{tag:?}")),
                "{refused}"
            );
        }
    }

    #[test]
    fn the_configured_image_is_deployed_only_when_no_version_is_asked_for() {
        let image = "us-central1-docker.pkg.dev/acme-secops-prod/onepassword-secops/collector:v9";
        let named = config(&format!("collector:\n  image: {image}\n"));
        let version = |v: &str| Release::Version(v.to_owned());
        assert_eq!(release(&named, None), Release::Configured(image.to_owned()));
        assert_eq!(release(&named, Some("0.2.0")), version("0.2.0"));
        let pinned = config("collector:\n  version: 0.3.0\n");
        assert_eq!(release(&pinned, None), version("0.3.0"));
        assert_eq!(release(&pinned, Some("0.2.0")), version("0.2.0"));
        assert_eq!(release(&config(""), None), version(buildinfo::VERSION));
    }

    #[test]
    fn a_pinned_image_names_its_digest_a_tagged_one_does_not() {
        assert_eq!(
            pinned_digest("r/p/collector@sha256:feedface"),
            Some("sha256:feedface")
        );
        assert_eq!(pinned_digest("r/p/collector:v1.2.3"), None);
    }

    #[test]
    fn the_result_reads_the_same_as_text_and_json() {
        let deployed = Deployed {
            digest: "sha256:feedface".into(),
            image: "r/p/collector:v1".into(),
            revision: "svc-00007-xyz".into(),
        };
        assert_eq!(
            deployed.to_text(),
            "deployed r/p/collector:v1\nrevision: svc-00007-xyz\ndigest:   sha256:feedface\n"
        );
        assert_eq!(
            serde_json::to_string(&deployed).unwrap(),
            r#"{"digest":"sha256:feedface","image":"r/p/collector:v1","revision":"svc-00007-xyz"}"#
        );
    }
}
