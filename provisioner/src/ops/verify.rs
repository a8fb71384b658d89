//! `provision verify`: force a run, wait for its summary in Cloud Logging, list the objects it
//! wrote, and give each stream a verdict with a diagnosis and the next step; then, with
//! `secops.instance` set, read each SecOps feed's state through the Chronicle API ([`super::feeds`]).

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use contract::Stream;
use contract::summary::{FailureReason, Outcome, StreamSummary};

use super::feeds::{self, FeedsReport};
use super::gcloud::GcloudError;
use super::logs::{ErrorRecord, collector_filter, parse_error, parse_run, summary_filter};
use super::{Gcloud, RunRecord};
use crate::config::{Account, Config};

/// A verdict's code (kebab-case in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictCode {
    /// The run collected events and wrote them.
    Ok,
    /// The run worked and found nothing new.
    OkNoEvents,
    /// 1Password refused the token (expired or revoked).
    TokenRefused,
    /// The token cannot read this stream.
    TokenMissingFeature,
    /// 1Password rate-limited the collector.
    RateLimited,
    /// The collector may not read the secret or write the bucket.
    PermissionDenied,
    /// The collector refused its settings.
    InvalidConfiguration,
    /// The run stopped on a failure that may pass.
    Interrupted,
    /// Another failure an operator must act on.
    Failed,
    /// No run summary appeared.
    NoRun,
}

impl VerdictCode {
    /// Whether the stream works.
    pub fn is_ok(self) -> bool {
        matches!(self, VerdictCode::Ok | VerdictCode::OkNoEvents)
    }

    /// The code as JSON and the text output spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictCode::Ok => "ok",
            VerdictCode::OkNoEvents => "ok-no-events",
            VerdictCode::TokenRefused => "token-refused",
            VerdictCode::TokenMissingFeature => "token-missing-feature",
            VerdictCode::RateLimited => "rate-limited",
            VerdictCode::PermissionDenied => "permission-denied",
            VerdictCode::InvalidConfiguration => "invalid-configuration",
            VerdictCode::Interrupted => "interrupted",
            VerdictCode::Failed => "failed",
            VerdictCode::NoRun => "no-run",
        }
    }
}

impl std::fmt::Display for VerdictCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stream's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The account, in a deployment of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Stream name.
    pub stream: String,
    /// Whether the stream works.
    pub ok: bool,
    /// A short code: ok, ok-no-events, token-refused, token-missing-feature, rate-limited,
    /// permission-denied, invalid-configuration, interrupted, failed, no-run.
    pub verdict: VerdictCode,
    /// What was seen.
    pub diagnosis: String,
    /// What to do next.
    pub next_step: String,
    /// Events the run collected.
    pub events: u64,
    /// Objects that appeared under the stream's prefix since the check started.
    pub new_objects: Vec<String>,
}

/// The whole check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// When the check forced the run.
    pub started_at: String,
    /// The run's summary, if one appeared in time.
    pub run: Option<RunRecord>,
    /// ERROR lines the collector logged since then.
    pub errors: Vec<String>,
    /// Per stream.
    pub streams: Vec<Verdict>,
    /// The SecOps feeds that read the streams' folders.
    pub feeds: FeedsReport,
    /// Whether every stream and every feed works.
    pub ok: bool,
}

fn verdict(stream: Stream, code: VerdictCode, diagnosis: String, next_step: String) -> Verdict {
    Verdict {
        account: None,
        stream: stream.name().to_owned(),
        ok: code.is_ok(),
        verdict: code,
        diagnosis,
        next_step,
        events: 0,
        new_objects: Vec::new(),
    }
}

/// Forces a run and judges it, waiting up to `timeout` for its summary, polling every `poll`.
/// A gcloud failure (a missing permission on the logs or the bucket) is an error, never a verdict.
/// `accounts` are the accounts to judge (all of the config's, or the one `--account` names).
pub fn verify(
    config: &Config,
    accounts: &[Account],
    gcloud: &Gcloud,
    timeout: Duration,
    poll: Duration,
) -> Result<Verification, GcloudError> {
    let started_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    gcloud.run_job(&config.schedule.job_name)?;
    let error_filter = format!(
        "{} AND severity>=ERROR AND timestamp>=\"{started_at}\"",
        collector_filter(config)
    );
    let deadline = Instant::now() + timeout;
    let (run, errors) = loop {
        let run = gcloud
            .logs(&summary_filter(config, Some(&started_at)), 1)?
            .first()
            .and_then(parse_run);
        let errors: Vec<ErrorRecord> = gcloud
            .logs(&error_filter, 10)?
            .iter()
            .map(parse_error)
            .collect();
        let cannot_start = errors.iter().any(ErrorRecord::is_cannot_start);
        if run.is_some() || cannot_start || Instant::now() + poll > deadline {
            break (run, errors);
        }
        std::thread::sleep(poll);
    };

    let mut streams = Vec::new();
    for (account, stream) in accounts
        .iter()
        .flat_map(|a| a.streams.iter().map(move |s| (a, *s)))
    {
        let record = run
            .as_ref()
            .and_then(|r| r.stream_of(account.name.as_ref(), stream));
        let mut v = match record {
            None => without_run(config, gcloud, stream, &errors, timeout),
            Some(record) => {
                let mut v = judge(config, account, gcloud, stream, record)?;
                v.events = record.events;
                v
            }
        };
        v.account = account.name.as_ref().map(ToString::to_string);
        if v.ok {
            v.new_objects = gcloud.objects_since(
                &format!(
                    "gs://{}/{}/",
                    config.bucket.name,
                    account.folder(config, stream)
                ),
                &started_at,
            )?;
        }
        streams.push(v);
    }
    let feeds = feeds::check(config, accounts);
    let ok = streams.iter().all(|s| s.ok) && feeds.ok();
    Ok(Verification {
        started_at,
        run,
        errors: errors.iter().map(ErrorRecord::text).collect(),
        streams,
        feeds,
        ok,
    })
}

/// The verdict when no summary names `stream`: the collector refused to start (its ERROR line's
/// reason says why), Cloud Run could not start it, or no run happened.
fn without_run(
    config: &Config,
    gcloud: &Gcloud,
    stream: Stream,
    errors: &[ErrorRecord],
    timeout: Duration,
) -> Verdict {
    let all = errors
        .iter()
        .map(ErrorRecord::text)
        .collect::<Vec<_>>()
        .join(" | ");
    let refused = errors.iter().find(|e| e.is_cannot_start());
    let secret_denied = || {
        format!(
            "grant the collector's service account access to the secret {} and the bucket (`provision apply` restores both)",
            config.secret
        )
    };
    match refused.and_then(|e| e.reason) {
        Some(FailureReason::FeatureMissing) => verdict(
            stream,
            VerdictCode::TokenMissingFeature,
            format!("the collector refuses to start: the token cannot read {stream}: {all}"),
            missing_feature_step(stream),
        ),
        Some(FailureReason::StorageDenied) => verdict(
            stream,
            VerdictCode::PermissionDenied,
            format!("the collector cannot start: {all}"),
            secret_denied(),
        ),
        Some(FailureReason::InvalidConfiguration) | Some(_) if refused.is_some() => verdict(
            stream,
            VerdictCode::InvalidConfiguration,
            format!("the collector cannot start: {all}"),
            "fix the setting named in the error in the config and run `provision apply`".into(),
        ),
        // Cloud Run's own lines (no reason of ours): an instance that cannot read its secret
        // never starts the collector, and only Cloud Run's message says so.
        _ if errors
            .iter()
            .any(|e| e.reason.is_none() && e.text().to_lowercase().contains("permission")) =>
        {
            verdict(
                stream,
                VerdictCode::PermissionDenied,
                format!("the collector cannot start: {all}"),
                secret_denied(),
            )
        }
        _ => verdict(
            stream,
            VerdictCode::NoRun,
            format!(
                "no run summary appeared within {} s of forcing the scheduler job",
                timeout.as_secs()
            ),
            format!(
                "check `gcloud scheduler jobs describe {job} --location {region}`, the push subscription {subscriptions} (endpoint and OIDC account) and roles/run.invoker for {invoker} on {services}; undelivered triggers wait in {topic}-dead-letter",
                job = config.schedule.job_name,
                region = gcloud.region(),
                subscriptions = config.push_subscriptions().join(", "),
                topic = config.topic,
                invoker = config.service_accounts.invoker,
                services = config.service_names().join(", ")
            ),
        ),
    }
}

fn missing_feature_step(stream: Stream) -> String {
    format!(
        "issue a token with the {stream} events selected in 1Password (Integrations > Events Reporting), then `provision set-token`"
    )
}

/// The verdict on `account`'s `stream` part of a run, from its outcome and the failure's reason.
fn judge(
    config: &Config,
    account: &Account,
    gcloud: &Gcloud,
    stream: Stream,
    record: &StreamSummary,
) -> Result<Verdict, GcloudError> {
    let set_token = match &account.name {
        None => "`provision set-token`".to_owned(),
        Some(name) => format!("`provision set-token --account {name}`"),
    };
    let failure =
        |code, diagnosis: String, next: String| Ok(verdict(stream, code, diagnosis, next));
    match &record.outcome {
        Outcome::Permanent(f) | Outcome::Transient(f) => {
            let detail = &f.detail;
            match f.reason {
                FailureReason::FeatureMissing => failure(
                    VerdictCode::TokenMissingFeature,
                    format!("the token cannot read {stream}: {detail}"),
                    format!(
                        "issue a token with the {stream} events selected in 1Password (Integrations > Events Reporting), then {set_token}"
                    ),
                ),
                FailureReason::TokenRefused => failure(
                    VerdictCode::TokenRefused,
                    format!("1Password refused the token (expired or revoked): {detail}"),
                    format!("issue a new token in 1Password and run {set_token}"),
                ),
                FailureReason::StorageDenied => failure(
                    VerdictCode::PermissionDenied,
                    format!("the collector cannot write to the bucket: {detail}"),
                    format!(
                        "grant {}@{}.iam.gserviceaccount.com roles/storage.objectUser on gs://{} (`provision apply` restores it)",
                        config.service_accounts.collector, config.project_id, config.bucket.name
                    ),
                ),
                FailureReason::RateLimited => failure(
                    VerdictCode::RateLimited,
                    format!("1Password rate-limited the collector (600 requests a minute per token): {detail}"),
                    "nothing is lost: the next run resumes from the checkpoint; if it persists, check for other integrations using the same token".into(),
                ),
                FailureReason::InvalidConfiguration => failure(
                    VerdictCode::InvalidConfiguration,
                    format!("the collector refused its settings: {detail}"),
                    "fix the setting named in the error in the config and run `provision apply`".into(),
                ),
                FailureReason::StorageNotFound => failure(
                    VerdictCode::Failed,
                    format!("the bucket gs://{} is missing: {detail}", config.bucket.name),
                    "`provision apply` creates it again (its events are gone unless it was restored)".into(),
                ),
                _ if matches!(record.outcome, Outcome::Transient(_)) => failure(
                    VerdictCode::Interrupted,
                    format!("the run was interrupted ({}): {detail}", f.reason),
                    "nothing is lost: Pub/Sub redelivers and the next run resumes from the checkpoint; run `provision verify` again".into(),
                ),
                _ => failure(
                    VerdictCode::Failed,
                    format!("{} ({}): {detail}", stream, f.reason),
                    "act on the error above, then run `provision verify` again".into(),
                ),
            }
        }
        Outcome::RateLimited { detail, .. } => failure(
            VerdictCode::RateLimited,
            format!("1Password's request limit for this token is spent; the run stopped cleanly: {detail}"),
            "nothing is lost: the checkpoint is saved and the next run after the reset continues; if it recurs, check for other integrations using the same token".into(),
        ),
        Outcome::Unknown => failure(
            VerdictCode::Failed,
            "the collector reported an outcome this provision does not know".into(),
            "the collector is newer than this provision: install the provision of the collector's version (`provision status` shows it)".into(),
        ),
        Outcome::Drained | Outcome::MaxRecords | Outcome::Budget | Outcome::Stopped
            if record.events == 0 =>
        {
            let key = account.checkpoint_key(config, stream);
            let cursor = match gcloud.cat(&format!("gs://{}/{key}", config.bucket.name))? {
                None => "no checkpoint yet".to_owned(),
                Some(text) => match contract::checkpoint::Checkpoint::parse(&key, text.as_bytes()) {
                    Ok(c) => format!(
                        "checkpoint last written {}",
                        c.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true)
                    ),
                    Err(e) => format!("but {e}"),
                },
            };
            Ok(verdict(
                stream,
                VerdictCode::OkNoEvents,
                format!(
                    "the run worked but found no new events ({cursor}; a first run looks back {} hours)",
                    account.lookback_hours
                ),
                "nothing to do if your account was quiet; otherwise check the token's account with `provision check-token`".into(),
            ))
        }
        Outcome::Drained | Outcome::MaxRecords | Outcome::Budget | Outcome::Stopped => {
            Ok(verdict(
                stream,
                VerdictCode::Ok,
                format!(
                    "collected {} events into {} objects",
                    record.events, record.objects
                ),
                "nothing to do".into(),
            ))
        }
    }
}

/// The verdicts for a person.
pub fn to_text(v: &Verification) -> String {
    let mut out = format!("forced a run at {}\n", v.started_at);
    for s in &v.streams {
        out.push_str(&format!(
            "\n{} {}: {}\n  {}\n  next: {}\n",
            if s.ok { "OK  " } else { "FAIL" },
            s.stream,
            s.verdict,
            s.diagnosis,
            s.next_step
        ));
        for object in s.new_objects.iter().take(5) {
            out.push_str(&format!("  new object: {object}\n"));
        }
    }
    out.push('\n');
    out.push_str(&feeds::to_text(&v.feeds));
    out.push_str(if v.ok {
        "\nthe pipeline works\n"
    } else {
        "\nthe pipeline needs attention\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::VerdictCode::{self, *};

    /// What `provision verify` promises for each code: its spelling in JSON and text, and whether
    /// it counts as a pass. The match has no wildcard, so a new code must say both here.
    fn promised(code: VerdictCode) -> (&'static str, bool) {
        match code {
            Ok => ("ok", true),
            OkNoEvents => ("ok-no-events", true),
            TokenRefused => ("token-refused", false),
            TokenMissingFeature => ("token-missing-feature", false),
            RateLimited => ("rate-limited", false),
            PermissionDenied => ("permission-denied", false),
            InvalidConfiguration => ("invalid-configuration", false),
            Interrupted => ("interrupted", false),
            Failed => ("failed", false),
            NoRun => ("no-run", false),
        }
    }

    #[test]
    fn codes_are_spelled_the_same_in_json_and_text() {
        for code in contract::every_variant!(
            VerdictCode: Ok,
            OkNoEvents,
            TokenRefused,
            TokenMissingFeature,
            RateLimited,
            PermissionDenied,
            InvalidConfiguration,
            Interrupted,
            Failed,
            NoRun,
        ) {
            let (spelling, passes) = promised(code);
            assert_eq!(serde_json::to_value(code).unwrap(), spelling);
            assert_eq!(code.as_str(), spelling);
            assert_eq!(code.to_string(), spelling);
            assert_eq!(code.is_ok(), passes, "{code}");
        }
    }
}
