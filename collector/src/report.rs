//! The run summary log line, and ERROR lines only where an operator must act.

use contract::summary::{self, FailureReason};

use crate::pipeline::{Outcome, RunSummary};

/// Logs `summary`: one `collector run summary` line (with `ok`, whether every stream finished
/// cleanly, and `token_days_left`, -1 when the token does not expire, which the alert policies
/// read; and `collector_version`, which `provision status` compares with its own), then one ERROR
/// per stream that needs an operator and one WARNING per stream that the next run will retry, each
/// with its `reason` from the contract's closed set. The line's fields are the contract's
/// [`summary::SummaryLine`] (tested in `logging.rs`).
pub fn log_summary(summary: &RunSummary) {
    let json = serde_json::to_string(summary).unwrap_or_default();
    let token_days_left = summary
        .token_expires_at
        .map(|at| (at - chrono::Utc::now()).num_days());
    tracing::info!(
        summary = json.as_str(),
        events = summary.events(),
        duration_ms = summary.duration_ms,
        token_days_left = token_days_left.unwrap_or(-1),
        ok = summary.ok(),
        collector_version = buildinfo::LONG,
        "{}",
        summary::SUMMARY_MESSAGE
    );
    for stream in &summary.streams {
        match &stream.outcome {
            Outcome::Permanent(failure) => {
                tracing::error!(stream = %stream.stream, reason = failure.reason.as_str(), error = %failure.detail, "collection stopped: operator action needed")
            }
            Outcome::Transient(failure) => {
                tracing::warn!(stream = %stream.stream, reason = failure.reason.as_str(), error = %failure.detail, "collection interrupted; the next run resumes from the checkpoint")
            }
            Outcome::RateLimited { resets_at, detail } => {
                tracing::warn!(stream = %stream.stream, reason = FailureReason::RateLimited.as_str(), resets_at = %resets_at.to_rfc3339(), error = %detail, "collection paused: the Events API's request limit is spent; the next run after it resets continues from the checkpoint")
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use contract::summary::{FailureReason, SummaryLine};

    use super::*;
    use crate::onepassword::Stream;
    use crate::pipeline::StreamSummary;

    #[test]
    fn the_summary_line_is_the_contracts_and_errors_carry_their_reason() {
        let mut denied = StreamSummary::new(Stream::ItemUsages);
        denied.outcome = Outcome::failed(FailureReason::StorageDenied, "storage refused x: 403");
        let mut drained = StreamSummary::new(Stream::AuditEvents);
        drained.events = 12;
        let summary = RunSummary {
            streams: vec![drained, denied],
            duration_ms: 40,
            token_expires_at: None,
            token_fingerprint: Some("sha256:0011223344556677".into()),
        };
        let text = crate::logging::capture_json(|| log_summary(&summary));
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        let line: SummaryLine = serde_json::from_value(lines[0].clone()).unwrap();
        assert_eq!(line.message, summary::SUMMARY_MESSAGE);
        assert!(!line.ok);
        assert_eq!(line.token_days_left, -1);
        assert_eq!(line.collector_version.as_deref(), Some(buildinfo::LONG));
        assert_eq!(line.summary, summary);
        for field in [summary::fields::OK, summary::fields::TOKEN_DAYS_LEFT] {
            assert!(lines[0].get(field).is_some(), "{field} in {text}");
        }
        assert_eq!(lines[1]["severity"], "ERROR");
        assert_eq!(lines[1]["stream"], "itemusages");
        let reason: FailureReason =
            serde_json::from_value(lines[1][summary::fields::REASON].clone()).unwrap();
        assert_eq!(reason, FailureReason::StorageDenied);
    }
}
