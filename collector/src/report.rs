//! The run summary log line, and ERROR lines only where an operator must act.

use crate::pipeline::{Outcome, RunSummary};

/// Logs `summary`: one `collector run summary` line (with `ok`, whether every stream finished
/// cleanly, and `token_days_left`, -1 when the token does not expire, which the alert policies
/// read; and `collector_version`, which `provision status` compares with its own), then one ERROR
/// per stream that needs an
/// operator and one WARNING per stream that the next run will retry.
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
        ok = !summary.has_permanent_failure() && !summary.has_transient_failure(),
        collector_version = buildinfo::LONG,
        "{}",
        contract::SUMMARY_MESSAGE
    );
    for stream in &summary.streams {
        match &stream.outcome {
            Outcome::Permanent(reason) => {
                tracing::error!(stream = %stream.stream, error = %reason, "collection stopped: operator action needed")
            }
            Outcome::Transient(reason) => {
                tracing::warn!(stream = %stream.stream, error = %reason, "collection interrupted; the next run resumes from the checkpoint")
            }
            Outcome::RateLimited { resets_at, reason } => {
                tracing::warn!(stream = %stream.stream, resets_at = %resets_at.to_rfc3339(), error = %reason, "collection paused: the Events API's request limit is spent; the next run after it resets continues from the checkpoint")
            }
            _ => {}
        }
    }
}
