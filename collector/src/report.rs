//! The run summary log line, and ERROR lines only where an operator must act.

use contract::summary::{self, FailureReason};

use crate::pipeline::{Outcome, RunSummary};

/// Logs `summary`: one `collector run summary` line (with `ok`, whether every stream finished
/// cleanly, and `token_days_left`, -1 when the token does not expire, which the alert policies
/// read; and `collector_version`, which `provision status` compares with its own), then one ERROR
/// per stream that needs an operator and one WARNING per stream that the next run will retry, each
/// with its `reason` from the contract's closed set. The line's fields are the contract's
/// [`summary::SummaryLine`] (tested in `logging.rs`).
///
/// With several accounts, the line's `token_days_left` is that of the token that expires first
/// and `token_account` names its account; one `collector account summary` line per account
/// follows (`account`, `ok`), which the per-account success metric counts; ERROR and WARNING lines
/// name their `account`.
///
/// Then one `collector stream summary` line per stream (the contract's [`summary::StreamLine`]:
/// `account` with several, `stream`, `events`, `outcome` (`ok` or the reason),
/// `newest_event_age_seconds` of the newest event known, `duration_ms`), which the dashboard's
/// log-based metrics read: one line per stream per run.
pub fn log_summary(summary: &RunSummary) {
    let json = serde_json::to_string(summary).unwrap_or_default();
    let days_left = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or(-1, |at| (at - chrono::Utc::now()).num_days())
    };
    let token_account = summary
        .accounts
        .iter()
        .filter(|a| a.token_expires_at.is_some())
        .min_by_key(|a| a.token_expires_at)
        .map(|a| a.account.as_str());
    tracing::info!(
        summary = json.as_str(),
        events = summary.events(),
        duration_ms = summary.duration_ms,
        token_days_left = days_left(summary.token_expires_at),
        token_account,
        ok = summary.ok(),
        collector_version = buildinfo::LONG,
        "{}",
        summary::SUMMARY_MESSAGE
    );
    for account in &summary.accounts {
        let events: u64 = summary
            .streams_of(Some(&account.account))
            .map(|s| s.events)
            .sum();
        tracing::info!(
            account = account.account.as_str(),
            ok = account.ok,
            finished = account.finished,
            events,
            token_days_left = days_left(account.token_expires_at),
            "{}",
            summary::ACCOUNT_SUMMARY_MESSAGE
        );
    }
    for stream in &summary.streams {
        let account = stream.account.as_ref().map(|a| a.as_str());
        tracing::info!(
            account,
            stream = %stream.stream,
            events = stream.events,
            outcome = summary::outcome_label(&stream.outcome),
            newest_event_age_seconds = stream
                .newest_known_event_at
                .map(|at| (chrono::Utc::now() - at).num_seconds()),
            duration_ms = stream.duration_ms,
            "{}",
            summary::STREAM_SUMMARY_MESSAGE
        );
        match &stream.outcome {
            Outcome::Permanent(failure) => {
                tracing::error!(account, stream = %stream.stream, reason = failure.reason.as_str(), error = %failure.detail, "collection stopped: operator action needed")
            }
            Outcome::Transient(failure) => {
                tracing::warn!(account, stream = %stream.stream, reason = failure.reason.as_str(), error = %failure.detail, "collection interrupted; the next run resumes from the checkpoint")
            }
            Outcome::RateLimited { resets_at, detail } => {
                tracing::warn!(account, stream = %stream.stream, reason = FailureReason::RateLimited.as_str(), resets_at = %resets_at.to_rfc3339(), error = %detail, "collection paused: the Events API's request limit is spent; the next run after it resets continues from the checkpoint")
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use contract::summary::{FailureReason, StreamLine, SummaryLine};

    use super::*;
    use crate::pipeline::StreamSummary;
    use onepassword_events::Stream;

    #[test]
    fn the_summary_line_is_the_contracts_and_errors_carry_their_reason() {
        let mut denied = StreamSummary::new(Stream::ItemUsages);
        denied.outcome = Outcome::failed(FailureReason::StorageDenied, "storage refused x: 403");
        let mut drained = StreamSummary::new(Stream::AuditEvents);
        drained.events = 12;
        drained.duration_ms = 31;
        drained.newest_known_event_at = Some(chrono::Utc::now() - chrono::Duration::minutes(10));
        let summary = RunSummary {
            streams: vec![drained, denied],
            duration_ms: 40,
            token_expires_at: None,
            token_fingerprint: Some("sha256:0011223344556677".into()),
            accounts: Vec::new(),
        };
        let text = crate::logging::capture_json(|| log_summary(&summary));
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4, "{text}");
        let line: SummaryLine = serde_json::from_value(lines[0].clone()).unwrap();
        assert_eq!(line.message, summary::SUMMARY_MESSAGE);
        assert!(!line.ok);
        assert_eq!(line.token_days_left, -1);
        assert_eq!(line.collector_version.as_deref(), Some(buildinfo::LONG));
        assert_eq!(line.summary, summary);
        for field in [summary::fields::OK, summary::fields::TOKEN_DAYS_LEFT] {
            assert!(lines[0].get(field).is_some(), "{field} in {text}");
        }
        // One stream summary line per stream (the dashboard's metrics read them), then the
        // failed stream's ERROR.
        let drained: StreamLine = serde_json::from_value(lines[1].clone()).unwrap();
        assert_eq!(
            drained,
            StreamLine {
                message: summary::STREAM_SUMMARY_MESSAGE.into(),
                account: None,
                stream: Stream::AuditEvents,
                events: 12,
                outcome: "ok".into(),
                newest_event_age_seconds: drained.newest_event_age_seconds,
                duration_ms: 31,
            }
        );
        let age = drained
            .newest_event_age_seconds
            .expect("a known newest event");
        assert!((600..=660).contains(&age), "{age} in {text}");
        assert_eq!(lines[1]["severity"], "INFO");
        assert!(lines[1].get(summary::fields::ACCOUNT).is_none(), "{text}");
        let denied: StreamLine = serde_json::from_value(lines[2].clone()).unwrap();
        assert_eq!(denied.outcome, "storage_denied");
        assert_eq!(denied.events, 0);
        assert!(
            lines[2]
                .get(summary::fields::NEWEST_EVENT_AGE_SECONDS)
                .is_none(),
            "no newest event known: no age, {text}"
        );
        for field in [
            summary::fields::STREAM,
            summary::fields::EVENTS,
            summary::fields::OUTCOME,
            summary::fields::NEWEST_EVENT_AGE_SECONDS,
            summary::fields::DURATION_MS,
        ] {
            assert!(lines[1].get(field).is_some(), "{field} in {text}");
        }
        assert_eq!(lines[3]["severity"], "ERROR");
        assert_eq!(lines[3]["stream"], "itemusages");
        let reason: FailureReason =
            serde_json::from_value(lines[3][summary::fields::REASON].clone()).unwrap();
        assert_eq!(reason, FailureReason::StorageDenied);
    }
}

#[cfg(test)]
mod accounts_tests {
    use chrono::{Duration, Utc};
    use contract::summary::{AccountSummary, FailureReason, SummaryLine};

    use super::*;
    use crate::pipeline::{AccountName, StreamSummary};
    use onepassword_events::Stream;

    #[test]
    fn several_accounts_log_a_line_each_and_name_the_token_expiring_first() {
        let (acme, globex) = (
            AccountName::new("acme").unwrap(),
            AccountName::new("globex").unwrap(),
        );
        let soon = Utc::now() + Duration::days(5) + Duration::minutes(1);
        let mut refused = StreamSummary::new(Stream::AuditEvents);
        refused.account = Some(globex.clone());
        refused.outcome = Outcome::failed(FailureReason::TokenRefused, "401");
        let mut drained = StreamSummary::new(Stream::AuditEvents);
        drained.account = Some(acme.clone());
        drained.events = 3;
        let summary = RunSummary {
            streams: vec![drained, refused],
            duration_ms: 9,
            token_expires_at: Some(soon),
            token_fingerprint: None,
            accounts: vec![
                AccountSummary {
                    account: acme.clone(),
                    token_expires_at: Some(soon + Duration::days(30)),
                    token_fingerprint: None,
                    ok: true,
                    finished: true,
                },
                AccountSummary {
                    account: globex.clone(),
                    token_expires_at: Some(soon),
                    token_fingerprint: None,
                    ok: false,
                    finished: true,
                },
            ],
        };
        let text = crate::logging::capture_json(|| log_summary(&summary));
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 6, "{text}");
        let line: SummaryLine = serde_json::from_value(lines[0].clone()).unwrap();
        assert_eq!(line.token_account, Some(globex.clone()));
        assert_eq!(line.token_days_left, 5);
        assert_eq!(line.summary, summary);
        for (line, (name, ok, events)) in lines[1..3]
            .iter()
            .zip([("acme", true, 3), ("globex", false, 0)])
        {
            assert_eq!(line["message"], summary::ACCOUNT_SUMMARY_MESSAGE);
            assert_eq!(line[summary::fields::ACCOUNT], name);
            assert_eq!(line["ok"], ok);
            assert_eq!(line["events"], events);
        }
        for (line, (name, outcome, events)) in lines[3..5]
            .iter()
            .zip([("acme", "ok", 3), ("globex", "token_refused", 0)])
        {
            assert_eq!(line["message"], summary::STREAM_SUMMARY_MESSAGE);
            assert_eq!(line[summary::fields::ACCOUNT], name);
            assert_eq!(line[summary::fields::STREAM], "auditevents");
            assert_eq!(line[summary::fields::OUTCOME], outcome);
            assert_eq!(line[summary::fields::EVENTS], events);
        }
        assert_eq!(lines[5]["severity"], "ERROR");
        assert_eq!(lines[5][summary::fields::ACCOUNT], "globex");
        assert_eq!(lines[5][summary::fields::REASON], "token_refused");
    }
}
