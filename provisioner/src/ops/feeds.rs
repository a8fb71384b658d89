//! `provision verify`'s last leg: each expected SecOps feed (one per account and stream, as
//! `provision apply` names them and `provision feed-instructions` describes them), found among the
//! instance's feeds by its display name or its bucket URI, and judged by its state.

use serde::Serialize;

use super::chronicle::{self, ChronicleError, FailureDetails, Feed, FeedState};
use crate::config::{Account, Config, SecopsInstance};

/// A feed's verdict (kebab-case in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedVerdictCode {
    /// ACTIVE, RUNNING or SUCCEEDED: the feed is enabled and its last fetch did not fail.
    Ok,
    /// INACTIVE: someone disabled it.
    Inactive,
    /// FAILED: its last fetch failed.
    Failed,
    /// A state that says nothing (STATE_UNSPECIFIED) or one this provisioner does not know.
    UnknownState,
    /// No feed reads the stream's folder.
    Missing,
}

impl FeedVerdictCode {
    /// Whether the feed works.
    pub fn is_ok(self) -> bool {
        self == FeedVerdictCode::Ok
    }

    /// The code as JSON and the text output spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedVerdictCode::Ok => "ok",
            FeedVerdictCode::Inactive => "inactive",
            FeedVerdictCode::Failed => "failed",
            FeedVerdictCode::UnknownState => "unknown-state",
            FeedVerdictCode::Missing => "missing",
        }
    }
}

impl std::fmt::Display for FeedVerdictCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One expected feed's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedVerdict {
    /// The account, in a deployment of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Stream name.
    pub stream: String,
    /// The display name `provision apply` gives the feed.
    pub expected_name: String,
    /// The folder the feed must read.
    pub bucket_uri: String,
    /// The feed found (its resource name), if any.
    pub feed: Option<String>,
    /// Its display name, if found.
    pub display_name: Option<String>,
    /// Its state, if found.
    pub state: Option<FeedState>,
    /// Its source type, if found.
    pub source_type: Option<String>,
    /// Its most recent failure, when FAILED.
    pub failure_msg: Option<String>,
    /// The failure's details, when FAILED.
    pub failure_details: Option<FailureDetails>,
    /// Whether the feed works.
    pub ok: bool,
    /// ok, inactive, failed, unknown-state, missing.
    pub verdict: FeedVerdictCode,
    /// What was seen.
    pub diagnosis: String,
    /// What to do next.
    pub next_step: String,
}

/// What verify could tell about the feeds (`check` in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "kebab-case")]
pub enum FeedsReport {
    /// The config names no SecOps instance: the feeds were made by hand and are not checked.
    NotConfigured {
        /// Why, and how to check them.
        note: String,
    },
    /// The Chronicle API did not list the feeds.
    Unavailable {
        /// The instance's resource name.
        instance: String,
        /// What went wrong.
        error: String,
        /// What to do.
        next_step: String,
    },
    /// Each expected feed, judged.
    Checked {
        /// The instance's resource name.
        instance: String,
        /// Per account and stream.
        feeds: Vec<FeedVerdict>,
    },
}

impl FeedsReport {
    /// Whether the feeds pass: hand-made feeds (no instance) pass unchecked; an API that did not
    /// answer does not.
    pub fn ok(&self) -> bool {
        match self {
            FeedsReport::NotConfigured { .. } => true,
            FeedsReport::Unavailable { .. } => false,
            FeedsReport::Checked { feeds, .. } => feeds.iter().all(|f| f.ok),
        }
    }
}

/// Reads the feeds of the config's instance with the caller's token and judges those of
/// `accounts`.
pub fn check(config: &Config, accounts: &[Account]) -> FeedsReport {
    let Some(instance) = &config.secops.instance else {
        return FeedsReport::NotConfigured {
            note: "the config names no secops.instance, so the feeds were created by hand and verify cannot read them: check each feed's state in the SecOps console (SIEM Settings > Feeds; `provision feed-instructions` lists them), or set secops.instance to have them created and checked".into(),
        };
    };
    let listed = chronicle::access_token()
        .and_then(|token| chronicle::list_feeds(&chronicle::endpoint(instance), &token, instance));
    judge_all(config, accounts, instance, listed)
}

/// The report from the API's answer (`listed`).
pub fn judge_all(
    config: &Config,
    accounts: &[Account],
    instance: &SecopsInstance,
    listed: Result<Vec<Feed>, ChronicleError>,
) -> FeedsReport {
    let parent = chronicle::parent(instance);
    let feeds = match listed {
        Ok(feeds) => feeds,
        Err(e) => {
            return FeedsReport::Unavailable {
                next_step: e.next_step(instance),
                error: e.to_string(),
                instance: parent,
            };
        }
    };
    let names: Vec<Option<String>> = accounts
        .iter()
        .map(|a| a.name.as_ref().map(ToString::to_string))
        .collect();
    // The feeds' names and folders do not depend on the engine.
    let expected = crate::feed::instructions(config, crate::render::Engine::Terraform).feeds;
    let verdicts = expected
        .iter()
        .filter(|e| names.contains(&e.account))
        .map(|e| {
            // The folder identifies the feed; the display name finds a feed whose URI was edited.
            let found = feeds
                .iter()
                .find(|f| f.bucket_uris().contains(&e.bucket_url.as_str()))
                .or_else(|| feeds.iter().find(|f| f.display_name == e.feed_name));
            judge(config, e, found)
        })
        .collect();
    FeedsReport::Checked {
        instance: parent,
        feeds: verdicts,
    }
}

fn judge(config: &Config, expected: &crate::feed::Feed, found: Option<&Feed>) -> FeedVerdict {
    let mut verdict = FeedVerdict {
        account: expected.account.clone(),
        stream: expected.stream.name().to_owned(),
        expected_name: expected.feed_name.clone(),
        bucket_uri: expected.bucket_url.clone(),
        feed: None,
        display_name: None,
        state: None,
        source_type: None,
        failure_msg: None,
        failure_details: None,
        ok: false,
        verdict: FeedVerdictCode::Missing,
        diagnosis: String::new(),
        next_step: String::new(),
    };
    let Some(feed) = found else {
        verdict.diagnosis = format!(
            "no feed in the instance reads {} (none named \"{}\")",
            expected.bucket_url, expected.feed_name
        );
        verdict.next_step = "`provision apply` (Terraform engine, secops.instance set) creates it; with the gcloud engine create it by hand as `provision feed-instructions` says".into();
        return verdict;
    };
    verdict.feed = Some(feed.name.clone());
    verdict.display_name = Some(feed.display_name.clone());
    verdict.state = Some(feed.state);
    verdict.source_type = feed.source_type().map(str::to_owned);
    verdict.failure_msg = feed.failure_msg.clone();
    verdict.failure_details = feed.failure_details.clone();
    let reads = if feed.bucket_uris().contains(&expected.bucket_url.as_str()) {
        String::new()
    } else {
        format!(
            "; it reads {} instead of {}",
            feed.bucket_uris().join(", "),
            expected.bucket_url
        )
    };
    let (code, diagnosis, next_step) = match feed.state {
        FeedState::Active | FeedState::Running | FeedState::Succeeded if reads.is_empty() => (
            FeedVerdictCode::Ok,
            format!("the feed \"{}\" is {}", feed.display_name, feed.state),
            "nothing to do".to_owned(),
        ),
        FeedState::Active | FeedState::Running | FeedState::Succeeded => (
            FeedVerdictCode::Failed,
            format!("the feed \"{}\" is {}{reads}", feed.display_name, feed.state),
            format!(
                "point the feed at {} (`provision apply` restores it when it created the feed)",
                expected.bucket_url
            ),
        ),
        FeedState::Inactive => (
            FeedVerdictCode::Inactive,
            format!(
                "the feed \"{}\" is INACTIVE: it was disabled and ingests nothing{reads}",
                feed.display_name
            ),
            "enable it in the SecOps console (SIEM Settings > Feeds > the feed > Enable Feed); the objects written meanwhile are ingested if younger than the feed's maximum file age".into(),
        ),
        FeedState::Failed => (
            FeedVerdictCode::Failed,
            format!(
                "the feed \"{}\" is FAILED: {}{reads}",
                feed.display_name,
                failure_text(feed)
            ),
            failed_step(config, feed),
        ),
        FeedState::StateUnspecified | FeedState::Unknown => (
            FeedVerdictCode::UnknownState,
            format!(
                "the feed \"{}\" reports no state this provision knows{reads}",
                feed.display_name
            ),
            "look at the feed in the SecOps console (SIEM Settings > Feeds)".into(),
        ),
    };
    verdict.ok = code.is_ok();
    verdict.verdict = code;
    verdict.diagnosis = diagnosis;
    verdict.next_step = next_step;
    verdict
}

/// The failure as SecOps tells it: its message, code, HTTP status and cause.
fn failure_text(feed: &Feed) -> String {
    let mut parts = Vec::new();
    if let Some(message) = feed.failure_msg.as_deref().filter(|m| !m.is_empty()) {
        parts.push(message.trim_end_matches('.').to_owned());
    }
    if let Some(d) = &feed.failure_details {
        if let Some(code) = &d.error_code {
            parts.push(format!("code {code}"));
        }
        if let Some(status) = d.http_error_code {
            parts.push(format!("HTTP {status}"));
        }
        if let Some(cause) = &d.error_cause {
            parts.push(format!("cause: {cause}"));
        }
    }
    if parts.is_empty() {
        "SecOps gave no details".into()
    } else {
        parts.join("; ")
    }
}

/// The next step for a FAILED feed: a refused read (HTTP 401/403) is the bucket grant; a missing
/// bucket or folder (404) is the bucket; otherwise SecOps' own prescribed action.
fn failed_step(config: &Config, feed: &Feed) -> String {
    let status = feed
        .failure_details
        .as_ref()
        .and_then(|d| d.http_error_code);
    let action = feed
        .failure_details
        .as_ref()
        .and_then(|d| d.error_action.clone());
    match status {
        Some(401 | 403) => {
            let reader = feed
                .reader_account()
                .map(str::to_owned)
                .or_else(|| config.secops.service_account.clone())
                .unwrap_or_else(|| {
                    "the feed's service account (\"Get Service Account\" on the feed page)".into()
                });
            let role = match config.secops.source_deletion.get() {
                crate::config::SourceDeletion::Never => "roles/storage.objectViewer",
                crate::config::SourceDeletion::OnSuccess => "roles/storage.objectUser",
            };
            format!(
                "SecOps may not read the bucket: grant {reader} {role} on gs://{} (set secops.service_account and run `provision apply`, or run the grant command `provision feed-instructions` prints)",
                config.bucket.name
            )
        }
        Some(404) => format!(
            "SecOps cannot find the bucket or its folder: check that gs://{} exists (`provision apply` creates it) and that a run has written to the folder (`provision status`)",
            config.bucket.name
        ),
        _ => match action {
            Some(action) => format!("SecOps says: {action}"),
            None => {
                "look at the feed in the SecOps console (SIEM Settings > Feeds > the feed's status)"
                    .into()
            }
        },
    }
}

/// The feeds part of verify's text output.
pub fn to_text(report: &FeedsReport) -> String {
    match report {
        FeedsReport::NotConfigured { note } => format!("SecOps feeds: not checked: {note}\n"),
        FeedsReport::Unavailable {
            instance,
            error,
            next_step,
        } => format!(
            "FAIL SecOps feeds of {instance}: cannot be read\n  {error}\n  next: {next_step}\n"
        ),
        FeedsReport::Checked { instance, feeds } => {
            let mut out = format!("SecOps feeds of {instance}:\n");
            for f in feeds {
                let whose = match &f.account {
                    Some(account) => format!("{account} {}", f.stream),
                    None => f.stream.clone(),
                };
                out.push_str(&format!(
                    "\n{} feed {whose}: {}\n  {}\n  next: {}\n",
                    if f.ok { "OK  " } else { "FAIL" },
                    f.verdict,
                    f.diagnosis,
                    f.next_step
                ));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FeedVerdictCode::{self, *};
    use super::{FeedsReport, judge_all};
    use crate::ops::chronicle::Feed;

    fn feed(display_name: &str, uri: &str, state: &str, http: Option<u16>) -> Feed {
        serde_json::from_value(serde_json::json!({
            "name": format!("projects/p/locations/us/instances/i/feeds/{display_name}"),
            "displayName": display_name,
            "state": state,
            "failureDetails": http.map(|h| serde_json::json!({"httpErrorCode": h, "errorAction": "Check the bucket."})),
            "details": {"feedSourceType": "GOOGLE_CLOUD_STORAGE_V2", "gcsV2Settings": {"bucketUri": uri}}
        }))
        .unwrap()
    }

    #[test]
    fn a_feed_found_by_name_that_reads_another_folder_fails_and_failures_get_their_own_step() {
        let config = crate::config::parse(
            "c.yaml",
            "project_id: acme-secops-prod\nregion: us-central1\nstreams: [auditevents, signinattempts, itemusages]\nsecops:\n  source_deletion: on_success\n  instance:\n    project: acme-secops-prod\n    location: us\n    customer_id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n",
        )
        .unwrap();
        let instance = config.secops.instance.clone().unwrap();
        let bucket = "gs://onepassword-audit-secops-logs";
        let feeds = vec![
            feed(
                "1Password Audit Events Logs",
                "gs://elsewhere/",
                "ACTIVE",
                None,
            ),
            feed(
                "x",
                &format!("{bucket}/onepassword-signinattempts/"),
                "FAILED",
                Some(404),
            ),
            feed(
                "y",
                &format!("{bucket}/onepassword-itemusages/"),
                "SOMETHING_NEW",
                None,
            ),
        ];
        let FeedsReport::Checked { feeds, .. } = judge_all(
            &config,
            &config.accounts(),
            &instance,
            std::result::Result::Ok(feeds),
        ) else {
            panic!("checked");
        };
        let codes: Vec<FeedVerdictCode> = feeds.iter().map(|f| f.verdict).collect();
        assert_eq!(codes, [Failed, Failed, UnknownState]);
        assert!(
            feeds[0]
                .diagnosis
                .contains("it reads gs://elsewhere/ instead of"),
            "{}",
            feeds[0].diagnosis
        );
        assert!(
            feeds[1]
                .next_step
                .contains("check that gs://onepassword-audit-secops-logs exists"),
            "{}",
            feeds[1].next_step
        );

        let denied = vec![feed(
            "z",
            &format!("{bucket}/onepassword-audit/"),
            "FAILED",
            Some(403),
        )];
        let FeedsReport::Checked { feeds, .. } = judge_all(
            &config,
            &config.accounts(),
            &instance,
            std::result::Result::Ok(denied),
        ) else {
            panic!("checked");
        };
        // With ON_SUCCESS deletion SecOps also deletes, so the grant is objectUser; the feed's
        // reader is unknown here (neither the feed nor the config names it).
        assert!(
            feeds[0].next_step.contains("roles/storage.objectUser"),
            "{}",
            feeds[0].next_step
        );
        assert!(
            feeds[0].next_step.contains("Get Service Account"),
            "{}",
            feeds[0].next_step
        );
        assert_eq!(feeds[1].verdict, Missing);
        assert!(
            !FeedsReport::Checked {
                instance: String::new(),
                feeds
            }
            .ok()
        );
    }

    fn promised(code: FeedVerdictCode) -> (&'static str, bool) {
        match code {
            Ok => ("ok", true),
            Inactive => ("inactive", false),
            Failed => ("failed", false),
            UnknownState => ("unknown-state", false),
            Missing => ("missing", false),
        }
    }

    #[test]
    fn codes_are_spelled_the_same_in_json_and_text() {
        for code in contract::every_variant!(
            FeedVerdictCode: Ok,
            Inactive,
            Failed,
            UnknownState,
            Missing,
        ) {
            let (spelling, passes) = promised(code);
            assert_eq!(serde_json::to_value(code).unwrap(), spelling);
            assert_eq!(code.as_str(), spelling);
            assert_eq!(code.is_ok(), passes, "{code}");
        }
    }
}
