//! The caller's permissions, from Cloud Resource Manager's `projects.testIamPermissions`
//! (`POST {endpoint}v1/projects/PROJECT:testIamPermissions`, body `{"permissions": [...]}`, answer
//! `{"permissions": [the ones held]}`:
//! https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions).
//! gcloud 528 has no command for it, so it is called over REST with the token of
//! `gcloud auth print-access-token`, held as a [`Secret`] and never shown. The endpoint is
//! gcloud's own: `CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER`, else the property
//! `api_endpoint_overrides/cloudresourcemanager`, else Google's.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use onepassword_events::secret::Secret;

/// Google's endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://cloudresourcemanager.googleapis.com/";

/// The variable gcloud reads the endpoint override from.
pub const ENDPOINT_ENV: &str = "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER";

/// The most permissions one call tests; longer lists are split. Google's reference for the
/// method (v1 and v3) states no maximum, only that wildcards are refused and (in practice) that an
/// unknown permission fails the whole call with 400; 100 is the limit tools built on it keep to,
/// and more than any one project's list needs (`permissions::VERIFIED` holds 72 in all).
pub const PER_CALL: usize = 100;

/// Why the permissions could not be tested.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// gcloud could not give a token or a property.
    #[error("`gcloud {command}` failed: {message}")]
    Gcloud {
        /// The arguments.
        command: String,
        /// What gcloud said (its standard error; the token is on standard output only).
        message: String,
    },
    /// The call failed.
    #[error("testIamPermissions on {project} failed: {reason}")]
    Call {
        /// The project.
        project: String,
        /// Why.
        reason: String,
    },
    /// The runtime for the call could not start.
    #[error("cannot start the runtime for the Resource Manager call: {0}")]
    Runtime(std::io::Error),
}

fn gcloud(args: &[&str]) -> Result<String, IamError> {
    let output = Command::new("gcloud")
        .args(args)
        .env_remove("OP_BEARER_TOKEN")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| IamError::Gcloud {
            command: args.join(" "),
            message: format!("{e}; install the Google Cloud CLI and make sure it is on PATH"),
        })?;
    if !output.status.success() {
        return Err(IamError::Gcloud {
            command: args.join(" "),
            message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The Resource Manager endpoint gcloud itself would use, ending in `/`.
pub fn endpoint() -> Result<String, IamError> {
    let configured = match std::env::var(ENDPOINT_ENV) {
        Ok(value) if !value.trim().is_empty() => value,
        _ => gcloud(&[
            "config",
            "get",
            "api_endpoint_overrides/cloudresourcemanager",
        ])?,
    };
    let configured = configured.trim();
    Ok(if configured.is_empty() {
        DEFAULT_ENDPOINT.to_owned()
    } else {
        format!("{}/", configured.trim_end_matches('/'))
    })
}

/// The caller's access token.
pub fn access_token() -> Result<Secret, IamError> {
    gcloud(&["auth", "print-access-token"]).map(Secret::new)
}

/// Which of `permissions` the caller holds on `project`, in calls of at most [`PER_CALL`].
pub fn held(
    endpoint: &str,
    token: &Secret,
    project: &str,
    permissions: &BTreeSet<String>,
) -> Result<BTreeSet<String>, IamError> {
    let failed = |reason: String| IamError::Call {
        project: project.to_owned(),
        reason,
    };
    let url = format!("{endpoint}v1/projects/{project}:testIamPermissions");
    let list: Vec<&String> = permissions.iter().collect();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(IamError::Runtime)?
        .block_on(async {
            let http = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .map_err(|e| failed(e.to_string()))?;
            let mut held = BTreeSet::new();
            for chunk in list.chunks(PER_CALL) {
                let answer = http
                    .post(&url)
                    .bearer_auth(token.expose())
                    .json(&serde_json::json!({ "permissions": chunk }))
                    .send()
                    .await
                    .map_err(|e| failed(without_url(&e)))?;
                let status = answer.status();
                let body: serde_json::Value = answer
                    .json()
                    .await
                    .map_err(|e| failed(format!("{status}: {}", without_url(&e))))?;
                if !status.is_success() {
                    let message = body["error"]["message"].as_str().unwrap_or_default();
                    return Err(failed(format!("{status}: {message}")));
                }
                // An empty answer leaves the list out (proto3 JSON).
                if let Some(granted) = body["permissions"].as_array() {
                    held.extend(granted.iter().filter_map(|p| p.as_str().map(str::to_owned)));
                }
            }
            Ok(held)
        })
}

/// reqwest's message without the URL it appends (the URL is the caller's to tell).
pub(crate) fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" for url ({url})"), "");
    }
    text
}
