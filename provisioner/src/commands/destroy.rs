//! `provision destroy`: remove the deployment. The bucket and its events are security evidence:
//! kept (and, with Terraform, first left out of the state so `terraform destroy` succeeds without
//! deleting it) unless `--delete-events` is given.

use std::path::PathBuf;

use super::render::{self, OutputError};
use crate::config::Config;
use crate::render::Engine;
use crate::runner::{self, StepError};
use crate::steps;

/// What `provision destroy` was asked to do.
#[derive(Debug, Clone)]
pub struct DestroyOptions {
    /// The tool that created the resources.
    pub engine: Engine,
    /// The folder the files are rendered into and run from.
    pub out: PathBuf,
    /// Delete the bucket too, with every event and checkpoint in it.
    pub delete_events: bool,
}

/// What became of the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destroyed {
    /// The gcloud script removed the resources and said itself what it kept or deleted.
    ByScript,
    /// Deleted with every event and checkpoint in it.
    BucketDeleted {
        /// The bucket.
        bucket: String,
    },
    /// Kept with its events, no longer managed by Terraform.
    BucketKept {
        /// The bucket.
        bucket: String,
    },
}

impl Destroyed {
    /// What became of the bucket, for a person (nothing when the script said it).
    pub fn to_text(&self) -> String {
        match self {
            Destroyed::ByScript => String::new(),
            Destroyed::BucketDeleted { bucket } => {
                format!("deleted gs://{bucket} with every event and checkpoint in it\n")
            }
            Destroyed::BucketKept { bucket } => format!(
                "kept gs://{bucket} and its events (security evidence), no longer managed by Terraform; \
                 to delete them too, once SecOps no longer needs them: provision destroy --delete-events\n"
            ),
        }
    }
}

/// Why `provision destroy` stopped.
#[derive(Debug, thiserror::Error)]
pub enum DestroyError {
    /// Rendering into the output folder failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A step failed.
    #[error(transparent)]
    Step(#[from] StepError),
}

/// Whether `terraform state list` (its output) holds the events bucket.
fn bucket_in_state(state_list: &str) -> bool {
    state_list
        .lines()
        .any(|address| address.trim() == steps::TF_BUCKET)
}

/// Removes what `config` describes with `options.engine`.
pub fn destroy(config: &Config, options: &DestroyOptions) -> Result<Destroyed, DestroyError> {
    let (engine, out) = (options.engine, &options.out);
    render::for_run(config, engine, out, None)?;
    let bucket_in_state = match engine {
        Engine::Terraform => {
            runner::run(&[steps::destroy_init(out)])?;
            bucket_in_state(&runner::capture(
                "terraform",
                &["state", "list"],
                &out.join("terraform"),
            )?)
        }
        Engine::Gcloud => false,
    };
    runner::run(&steps::destroy(
        engine,
        out,
        config,
        bucket_in_state,
        options.delete_events,
    ))?;
    let bucket = config.bucket.name.clone();
    Ok(match engine {
        Engine::Gcloud => Destroyed::ByScript,
        Engine::Terraform if options.delete_events => Destroyed::BucketDeleted { bucket },
        Engine::Terraform => Destroyed::BucketKept { bucket },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_events_buckets_own_address_counts_as_in_state() {
        let listed = format!(
            "module.onepassword_secops.google_pubsub_topic.trigger\n  {}\n",
            steps::TF_BUCKET
        );
        assert!(bucket_in_state(&listed));
        assert!(!bucket_in_state(""));
        assert!(!bucket_in_state(&format!(
            "{}_builds\nmodule.onepassword_secops.google_storage_bucket_iam_member.secops_reader[0]\n",
            steps::TF_BUCKET
        )));
    }

    #[test]
    fn the_bucket_is_named_unless_the_script_said_it() {
        assert_eq!(Destroyed::ByScript.to_text(), "");
        let kept = Destroyed::BucketKept { bucket: "b".into() }.to_text();
        assert!(
            kept.starts_with("kept gs://b and its events") && kept.contains("--delete-events"),
            "{kept}"
        );
        let deleted = Destroyed::BucketDeleted { bucket: "b".into() }.to_text();
        assert_eq!(
            deleted,
            "deleted gs://b with every event and checkpoint in it\n"
        );
    }
}
