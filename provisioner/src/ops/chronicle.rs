//! Google SecOps' Chronicle API, read only: the feeds of an instance, from
//! `projects.locations.instances.feeds.list` (`GET {endpoint}v1/projects/P/locations/L/instances/I/feeds`,
//! answer `{"feeds": [Feed…], "nextPageToken": "…"}`:
//! https://cloud.google.com/chronicle/docs/reference/rest/v1/projects.locations.instances.feeds/list),
//! which needs `chronicle.feeds.list` on the instance. The endpoint is the instance's regional one,
//! `https://chronicle.{location}.rep.googleapis.com/` (the form the API reference's "Choose a
//! location" gives for each location, `us` and `eu` included), or [`ENDPOINT_ENV`]'s value; the token is the
//! caller's (`gcloud auth print-access-token`), held as a [`Secret`] and never shown.

use serde::{Deserialize, Serialize};

use onepassword_events::secret::Secret;

use crate::config::SecopsInstance;
use crate::preflight::iam::{self, IamError, without_url};

/// The variable that replaces the regional endpoint (tests, private endpoints), e.g.
/// `http://127.0.0.1:8080/`. gcloud has no `api_endpoint_overrides` property for this API.
pub const ENDPOINT_ENV: &str = "PROVISION_CHRONICLE_ENDPOINT";

/// The API version read; `v1` has the feeds (v1alpha and v1beta serve the same resource).
pub const API_VERSION: &str = "v1";

/// Feeds asked for per page: the API's maximum (larger values are coerced to it).
pub const PAGE_SIZE: u32 = 1000;

/// The most pages followed: a guard against a server that never stops paging.
const MAX_PAGES: usize = 100;

/// The role that holds `chronicle.feeds.list` and `chronicle.feeds.get` and nothing that writes.
pub const VIEWER_ROLE: &str = "roles/chronicle.viewer";

/// Why the feeds could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChronicleError {
    /// gcloud could not give the caller's token.
    #[error("cannot get an access token for the Chronicle API: {0}")]
    Token(#[source] IamError),
    /// The caller may not list the instance's feeds (403).
    #[error(
        "the Chronicle API refused to list the feeds of {parent}: the caller lacks chronicle.feeds.list ({message})"
    )]
    Denied {
        /// The instance's resource name.
        parent: String,
        /// Google's message.
        message: String,
    },
    /// The token was not accepted (401).
    #[error("the Chronicle API did not accept the access token ({message})")]
    Unauthenticated {
        /// Google's message.
        message: String,
    },
    /// No such instance at this endpoint (404).
    #[error("the Chronicle API knows no instance {parent} ({message})")]
    NoInstance {
        /// The instance's resource name.
        parent: String,
        /// Google's message.
        message: String,
    },
    /// The endpoint did not answer.
    #[error("the Chronicle API at {endpoint} cannot be reached: {reason}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// Any other refusal.
    #[error("the Chronicle API answered {status}: {message}")]
    Failed {
        /// HTTP status.
        status: u16,
        /// Google's message.
        message: String,
    },
    /// The answer is not a feed list.
    #[error("the Chronicle API's answer is not a list of feeds: {reason}")]
    Unreadable {
        /// Why.
        reason: String,
    },
    /// The runtime for the call could not start.
    #[error("cannot start the runtime for the Chronicle API call: {0}")]
    Runtime(std::io::Error),
}

impl ChronicleError {
    /// What the operator does about it.
    pub fn next_step(&self, instance: &SecopsInstance) -> String {
        let console = "or look at the feeds in the SecOps console (SIEM Settings > Feeds)";
        match self {
            ChronicleError::Denied { .. } => format!(
                "grant your account {VIEWER_ROLE} (Chronicle API Viewer: chronicle.feeds.list, chronicle.feeds.get) on the project {}, then run `provision verify` again; {console}",
                instance.project
            ),
            ChronicleError::Unauthenticated { .. } | ChronicleError::Token(_) => format!(
                "sign in with `gcloud auth login` (the Chronicle API takes the token of `gcloud auth print-access-token`), then run `provision verify` again; {console}"
            ),
            ChronicleError::NoInstance { .. } => format!(
                "check secops.instance in the config (project {}, location {}, customer_id from SIEM Settings > Profile)",
                instance.project, instance.location
            ),
            ChronicleError::Unreachable { .. }
            | ChronicleError::Failed { .. }
            | ChronicleError::Unreadable { .. }
            | ChronicleError::Runtime(_) => {
                format!("run `provision verify` again later; {console}")
            }
        }
    }
}

/// A feed's state (`Feed.State`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeedState {
    /// Not given.
    #[default]
    StateUnspecified,
    /// Configured and ready; newly created feeds have it.
    Active,
    /// Disabled by a user.
    Inactive,
    /// Fetching now.
    Running,
    /// The last fetch succeeded.
    Succeeded,
    /// The last fetch failed; stays so until a fetch succeeds.
    Failed,
    /// A state this provisioner does not know.
    #[serde(other)]
    Unknown,
}

impl FeedState {
    /// The state as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedState::StateUnspecified => "STATE_UNSPECIFIED",
            FeedState::Active => "ACTIVE",
            FeedState::Inactive => "INACTIVE",
            FeedState::Running => "RUNNING",
            FeedState::Succeeded => "SUCCEEDED",
            FeedState::Failed => "FAILED",
            FeedState::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for FeedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `FeedFailureDetails`: why the last fetch failed, as SecOps tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FailureDetails {
    /// SecOps' error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The HTTP status the fetch got, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_error_code: Option<u16>,
    /// The cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_cause: Option<String>,
    /// The action SecOps prescribes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_action: Option<String>,
}

/// A feed, with the fields verify reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feed {
    /// `projects/P/locations/L/instances/I/feeds/F`.
    pub name: String,
    /// The name shown in the console.
    #[serde(default)]
    pub display_name: String,
    /// The state.
    #[serde(default)]
    pub state: FeedState,
    /// The most recent failure, when FAILED.
    #[serde(default)]
    pub failure_msg: Option<String>,
    /// The failure's details, when FAILED.
    #[serde(default)]
    pub failure_details: Option<FailureDetails>,
    /// `FeedDetails`, kept whole: its settings object depends on the source type.
    #[serde(default)]
    pub details: serde_json::Value,
}

impl Feed {
    /// `details.feedSourceType`, e.g. `GOOGLE_CLOUD_STORAGE_V2`.
    pub fn source_type(&self) -> Option<&str> {
        self.details["feedSourceType"].as_str()
    }

    /// Every `bucketUri` in the feed's settings (one for the storage feeds, whichever settings
    /// object holds it: V2 or event-driven).
    pub fn bucket_uris(&self) -> Vec<&str> {
        let Some(details) = self.details.as_object() else {
            return Vec::new();
        };
        details
            .values()
            .filter_map(|settings| settings.get("bucketUri")?.as_str())
            .collect()
    }

    /// The service account SecOps reads the bucket with, when the settings name it.
    pub fn reader_account(&self) -> Option<&str> {
        let details = self.details.as_object()?;
        details
            .values()
            .find_map(|settings| settings.get("chronicleServiceAccount")?.as_str())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListFeedsResponse {
    #[serde(default)]
    feeds: Vec<Feed>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// The instance's resource name.
pub fn parent(instance: &SecopsInstance) -> String {
    format!(
        "projects/{}/locations/{}/instances/{}",
        instance.project, instance.location, instance.customer_id
    )
}

/// The endpoint for `instance`, ending in `/`: [`ENDPOINT_ENV`] when set, else the regional one.
pub fn endpoint(instance: &SecopsInstance) -> String {
    match std::env::var(ENDPOINT_ENV) {
        Ok(value) if !value.trim().is_empty() => format!("{}/", value.trim().trim_end_matches('/')),
        _ => format!(
            "https://chronicle.{}.rep.googleapis.com/",
            instance.location
        ),
    }
}

/// The caller's access token.
pub fn access_token() -> Result<Secret, ChronicleError> {
    iam::access_token().map_err(ChronicleError::Token)
}

/// Every feed of `instance`, following the pages.
pub fn list_feeds(
    endpoint: &str,
    token: &Secret,
    instance: &SecopsInstance,
) -> Result<Vec<Feed>, ChronicleError> {
    let parent = parent(instance);
    let url = format!("{endpoint}{API_VERSION}/{parent}/feeds");
    let unreachable = |reason: String| ChronicleError::Unreachable {
        endpoint: endpoint.to_owned(),
        reason,
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ChronicleError::Runtime)?
        .block_on(async {
            let http = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .map_err(|e| unreachable(e.to_string()))?;
            let mut feeds = Vec::new();
            let mut page_token: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let mut query = vec![("pageSize", PAGE_SIZE.to_string())];
                if let Some(token) = &page_token {
                    query.push(("pageToken", token.clone()));
                }
                let page_url = reqwest::Url::parse_with_params(&url, &query)
                    .map_err(|e| unreachable(e.to_string()))?;
                let answer = http
                    .get(page_url)
                    .bearer_auth(token.expose())
                    .send()
                    .await
                    .map_err(|e| unreachable(without_url(&e)))?;
                let status = answer.status().as_u16();
                let text = answer
                    .text()
                    .await
                    .map_err(|e| unreachable(without_url(&e)))?;
                if !(200..300).contains(&status) {
                    return Err(refusal(status, &text, &parent));
                }
                let page: ListFeedsResponse =
                    serde_json::from_str(&text).map_err(|e| ChronicleError::Unreadable {
                        reason: e.to_string(),
                    })?;
                feeds.extend(page.feeds);
                match page.next_page_token.filter(|t| !t.is_empty()) {
                    None => return Ok(feeds),
                    Some(next) => page_token = Some(next),
                }
            }
            Err(ChronicleError::Unreadable {
                reason: format!("more than {MAX_PAGES} pages of feeds"),
            })
        })
}

/// The error for a non-2xx answer, from its status (Google's `error.message` kept as said).
fn refusal(status: u16, body: &str, parent: &str) -> ChronicleError {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect());
    match status {
        401 => ChronicleError::Unauthenticated { message },
        403 => ChronicleError::Denied {
            parent: parent.to_owned(),
            message,
        },
        404 => ChronicleError::NoInstance {
            parent: parent.to_owned(),
            message,
        },
        _ => ChronicleError::Failed { status, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_is_read_with_its_state_failure_and_bucket() {
        let feed: Feed = serde_json::from_value(serde_json::json!({
            "name": "projects/p/locations/us/instances/i/feeds/f1",
            "displayName": "1Password Audit Events Logs",
            "state": "FAILED",
            "failureMsg": "access denied",
            "failureDetails": {"errorCode": "PERMISSION_DENIED", "httpErrorCode": 403},
            "details": {
                "feedSourceType": "GOOGLE_CLOUD_STORAGE_V2",
                "logType": "projects/p/locations/us/instances/i/logTypes/ONEPASSWORD_AUDIT_EVENTS",
                "gcsV2Settings": {"bucketUri": "gs://b/onepassword-audit/", "chronicleServiceAccount": "sa@x"}
            }
        }))
        .unwrap();
        assert_eq!(feed.state, FeedState::Failed);
        assert_eq!(feed.source_type(), Some("GOOGLE_CLOUD_STORAGE_V2"));
        assert_eq!(feed.bucket_uris(), vec!["gs://b/onepassword-audit/"]);
        assert_eq!(feed.reader_account(), Some("sa@x"));
        assert_eq!(feed.failure_details.unwrap().http_error_code, Some(403));
    }

    #[test]
    fn states_are_spelled_as_the_api_spells_them_and_new_ones_are_unknown() {
        for (spelling, state) in [
            ("STATE_UNSPECIFIED", FeedState::StateUnspecified),
            ("ACTIVE", FeedState::Active),
            ("INACTIVE", FeedState::Inactive),
            ("RUNNING", FeedState::Running),
            ("SUCCEEDED", FeedState::Succeeded),
            ("FAILED", FeedState::Failed),
        ] {
            assert_eq!(
                serde_json::from_value::<FeedState>(serde_json::json!(spelling)).unwrap(),
                state
            );
            assert_eq!(state.as_str(), spelling);
        }
        assert_eq!(
            serde_json::from_value::<FeedState>(serde_json::json!("PAUSED_SOMEHOW")).unwrap(),
            FeedState::Unknown
        );
    }

    #[test]
    fn refusals_are_told_apart_by_status() {
        let body =
            r#"{"error":{"code":403,"message":"Permission denied","status":"PERMISSION_DENIED"}}"#;
        assert!(
            matches!(refusal(403, body, "p"), ChronicleError::Denied { message, .. } if message == "Permission denied")
        );
        assert!(matches!(
            refusal(401, body, "p"),
            ChronicleError::Unauthenticated { .. }
        ));
        assert!(matches!(
            refusal(404, "not json", "p"),
            ChronicleError::NoInstance { .. }
        ));
        assert!(matches!(
            refusal(500, body, "p"),
            ChronicleError::Failed { status: 500, .. }
        ));
    }
}
