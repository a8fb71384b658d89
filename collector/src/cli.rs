//! Command-line interface of the `collector` binary (clap types only). Every flag overrides the
//! environment variable of the same meaning; the bearer token has no flag (argv is visible to
//! every user of the machine): use OP_BEARER_TOKEN or OP_BEARER_TOKEN_FILE.

use clap::{Args, Parser, Subcommand};

/// Moves 1Password Events API events into GCS exactly once, for a Google SecOps feed.
#[derive(Debug, Parser)]
#[command(name = "collector", version = buildinfo::LONG)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve Pub/Sub push and CloudEvent triggers on 0.0.0.0:$PORT (the container's entry point).
    ///
    /// Example: PORT=8080 OP_API_BASE=https://events.1password.com GCS_BUCKET=my-bucket collector serve
    Serve(Overrides),
    /// Run one collection cycle and exit: 0 done, 1 interrupted (retry later), 2 needs an operator.
    ///
    /// With --backfill, collect the window [--start, --end) into its own prefix and checkpoint,
    /// never touching the live cursor; rerunning the same window resumes it and adds nothing twice.
    /// Example: SINK_URL=file:///tmp/out OP_API_BASE=https://events.1password.com collector run-once
    /// Example: collector run-once --backfill --start 2026-10-01T00:00:00Z --end 2026-10-08T00:00:00Z
    RunOnce(RunOnceArgs),
    /// Continue from the guide's Python function: turn its state.json into the audit-events checkpoint.
    ///
    /// Example: collector import-state --from gs://my-bucket/onepassword-audit/state.json
    ImportState(ImportArgs),
}

/// Flags that override environment variables.
#[derive(Debug, Args, Default)]
pub struct Overrides {
    /// OP_API_BASE: Events API base URL.
    #[arg(long)]
    pub api_base: Option<String>,
    /// GCS_BUCKET: bucket name.
    #[arg(long)]
    pub gcs_bucket: Option<String>,
    /// GCS_PREFIX: audit events object prefix.
    #[arg(long)]
    pub gcs_prefix: Option<String>,
    /// SINK_URL: gs://BUCKET or file:///folder.
    #[arg(long)]
    pub sink_url: Option<String>,
    /// STATE_KEY: audit events checkpoint object.
    #[arg(long)]
    pub state_key: Option<String>,
    /// STREAMS: comma list of auditevents, signinattempts, itemusages.
    #[arg(long)]
    pub streams: Option<String>,
    /// MAX_RECORDS: events per stream per run.
    #[arg(long)]
    pub max_records: Option<String>,
    /// PAGE_SIZE: events per page, 1..=1000.
    #[arg(long)]
    pub page_size: Option<String>,
    /// LOOKBACK_HOURS: how far back a first run starts.
    #[arg(long)]
    pub lookback_hours: Option<String>,
    /// RUN_BUDGET_SECONDS: wall-time budget of a run.
    #[arg(long)]
    pub run_budget_seconds: Option<String>,
    /// PORT: port of `serve`.
    #[arg(long)]
    pub port: Option<String>,
    /// LOG_FORMAT: json or text.
    #[arg(long)]
    pub log_format: Option<String>,
}

impl Overrides {
    /// (variable, value) pairs for the flags given.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("OP_API_BASE", &self.api_base),
            ("GCS_BUCKET", &self.gcs_bucket),
            ("GCS_PREFIX", &self.gcs_prefix),
            ("SINK_URL", &self.sink_url),
            ("STATE_KEY", &self.state_key),
            ("STREAMS", &self.streams),
            ("MAX_RECORDS", &self.max_records),
            ("PAGE_SIZE", &self.page_size),
            ("LOOKBACK_HOURS", &self.lookback_hours),
            ("RUN_BUDGET_SECONDS", &self.run_budget_seconds),
            ("PORT", &self.port),
            ("LOG_FORMAT", &self.log_format),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The guide's state.json: a local path or gs://BUCKET/KEY.
    #[arg(long)]
    pub from: String,
    /// Replace an existing checkpoint (only if the collector has not run since the function stopped).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Args)]
pub struct RunOnceArgs {
    #[command(flatten)]
    pub overrides: Overrides,
    /// Collect a historical window instead of the live stream.
    #[arg(long, requires_all = ["start", "end"])]
    pub backfill: bool,
    /// Start of the backfill window (RFC 3339), inclusive.
    #[arg(long, requires = "backfill")]
    pub start: Option<String>,
    /// End of the backfill window (RFC 3339), exclusive.
    #[arg(long, requires = "backfill")]
    pub end: Option<String>,
}
