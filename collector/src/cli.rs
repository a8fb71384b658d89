//! Command-line interface of the `collector` binary (clap types only). Every environment variable
//! has a flag of the same meaning that overrides it, except the bearer token itself (argv is visible
//! to every user of the machine): use OP_BEARER_TOKEN, or OP_BEARER_TOKEN_FILE / --bearer-token-file.

use clap::{Args, Parser, Subcommand};

const ROOT_EXAMPLES: &str = "\
Settings come from environment variables, each overridden by its flag (see a command's --help).
The bearer token comes only from OP_BEARER_TOKEN or the file named by OP_BEARER_TOKEN_FILE
(--bearer-token-file), never from a flag's value.

Example (one run into a local folder):
  OP_BEARER_TOKEN_FILE=token.txt OP_API_BASE=https://events.1password.com \\
    SINK_URL=file:///tmp/onepassword collector run-once";

const SERVE_EXAMPLES: &str = "\
The bearer token: OP_BEARER_TOKEN (on Cloud Run, a secret_key_ref), or OP_BEARER_TOKEN_FILE
(--bearer-token-file) naming a file that holds it.

Example:
  OP_BEARER_TOKEN_FILE=token.txt OP_API_BASE=https://events.1password.com \\
    GCS_BUCKET=my-bucket collector serve --listen-address 127.0.0.1 --port 8080";

const RUN_ONCE_EXAMPLES: &str = "\
The bearer token: OP_BEARER_TOKEN, or OP_BEARER_TOKEN_FILE (--bearer-token-file).

Example (the live stream, into a local folder):
  OP_BEARER_TOKEN_FILE=token.txt OP_API_BASE=https://events.1password.com \\
    SINK_URL=file:///tmp/onepassword collector run-once

Example (a backfill of one week, with the service's settings):
  collector run-once --backfill --start 2026-10-01T00:00:00Z --end 2026-10-08T00:00:00Z";

const IMPORT_EXAMPLES: &str = "\
Example (with the service's settings in the environment):
  collector import-state --from gs://my-bucket/onepassword-audit/state.json";

/// Moves 1Password Events API events into GCS exactly once, for a Google SecOps feed.
#[derive(Debug, Parser)]
#[command(name = "collector", version = buildinfo::LONG, after_help = ROOT_EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve Pub/Sub push and CloudEvent triggers on LISTEN_ADDRESS:PORT (the container's entry
    /// point; default 0.0.0.0:8080).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(Overrides),
    /// Run one collection cycle and exit: 0 done (or paused by the rate limit), 1 interrupted
    /// (retry later), 2 needs an operator.
    ///
    /// With --backfill, collect the window [--start, --end) into its own prefix and checkpoint,
    /// never touching the live cursor; rerunning the same window resumes it and adds nothing twice.
    #[command(after_help = RUN_ONCE_EXAMPLES)]
    RunOnce(RunOnceArgs),
    /// Continue from the guide's Python function: turn its state.json into the audit-events
    /// checkpoint.
    #[command(after_help = IMPORT_EXAMPLES)]
    ImportState(ImportArgs),
}

impl Command {
    /// The flags that override environment variables.
    pub fn overrides(&self) -> &Overrides {
        match self {
            Command::Serve(overrides) => overrides,
            Command::RunOnce(args) => &args.overrides,
            Command::ImportState(args) => &args.overrides,
        }
    }
}

/// Flags that override environment variables.
#[derive(Debug, Args, Default)]
pub struct Overrides {
    /// OP_API_BASE: Events API base URL, e.g. https://events.1password.com.
    #[arg(long, value_name = "URL")]
    pub api_base: Option<String>,
    /// OP_BEARER_TOKEN_FILE: a file holding the bearer token.
    #[arg(long, value_name = "PATH")]
    pub bearer_token_file: Option<String>,
    /// GCS_BUCKET: bucket name.
    #[arg(long, value_name = "BUCKET")]
    pub gcs_bucket: Option<String>,
    /// SINK_URL: gs://BUCKET or file:///folder, instead of GCS_BUCKET.
    #[arg(long, value_name = "URL")]
    pub sink_url: Option<String>,
    /// STORAGE_EMULATOR_HOST: a GCS emulator's host:port (tests and demos).
    #[arg(long, value_name = "HOST:PORT")]
    pub storage_emulator_host: Option<String>,
    /// GCS_PREFIX: audit events object prefix [default: onepassword-audit].
    #[arg(long, value_name = "PREFIX")]
    pub gcs_prefix: Option<String>,
    /// SIGNINATTEMPTS_PREFIX: sign-in attempts object prefix [default: onepassword-signinattempts].
    #[arg(long, value_name = "PREFIX")]
    pub signinattempts_prefix: Option<String>,
    /// ITEMUSAGES_PREFIX: item usages object prefix [default: onepassword-itemusages].
    #[arg(long, value_name = "PREFIX")]
    pub itemusages_prefix: Option<String>,
    /// STATE_PREFIX: folder of the checkpoints [default: onepassword-secops-state/].
    #[arg(long, value_name = "PREFIX")]
    pub state_prefix: Option<String>,
    /// STATE_KEY: audit events checkpoint object [default: STATE_PREFIX/auditevents.json].
    #[arg(long, value_name = "KEY")]
    pub state_key: Option<String>,
    /// STREAMS: comma list of auditevents, signinattempts, itemusages [default: auditevents].
    #[arg(long, value_name = "LIST")]
    pub streams: Option<String>,
    /// MAX_RECORDS: events per stream per run [default: 10000].
    #[arg(long, value_name = "N")]
    pub max_records: Option<String>,
    /// PAGE_SIZE: events per page, 1..=1000 [default: 1000].
    #[arg(long, value_name = "N")]
    pub page_size: Option<String>,
    /// LOOKBACK_HOURS: how far back a first run starts [default: 24; the API keeps 120 days].
    #[arg(long, value_name = "HOURS")]
    pub lookback_hours: Option<String>,
    /// BATCH_MAX_EVENTS: events per data object at most [default: 5000].
    #[arg(long, value_name = "N")]
    pub batch_max_events: Option<String>,
    /// BATCHES_IN_FLIGHT: batches read ahead and being written at most, 1..=8 [default: 3].
    #[arg(long, value_name = "N")]
    pub batches_in_flight: Option<String>,
    /// RUN_BUDGET_SECONDS: wall-time budget of a run [default: 480].
    #[arg(long, value_name = "SECONDS")]
    pub run_budget_seconds: Option<String>,
    /// HTTP_TIMEOUT_SECONDS: timeout of one Events API request [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub http_timeout_seconds: Option<String>,
    /// RETRY_MAX_ATTEMPTS: attempts per failed Events API call (429s do not count) [default: 8].
    #[arg(long, value_name = "N")]
    pub retry_max_attempts: Option<String>,
    /// RETRY_BASE_MILLIS: first backoff step [default: 1000].
    #[arg(long, value_name = "MILLIS")]
    pub retry_base_millis: Option<String>,
    /// ACCOUNTS: comma list of account names, each with its own OP_API_BASE_<NAME>,
    /// OP_BEARER_TOKEN_<NAME> (or _FILE_<NAME>), STREAMS_<NAME> and LOOKBACK_HOURS_<NAME>
    /// (names upper-cased, '-' as '_') [default: one account, variables without a suffix].
    #[arg(long, value_name = "LIST")]
    pub accounts: Option<String>,
    /// ACCOUNTS_IN_PARALLEL: accounts collected at once, 1..=64 [default: 4].
    #[arg(long, value_name = "N")]
    pub accounts_in_parallel: Option<String>,
    /// LISTEN_ADDRESS: address `serve` listens on [default: 0.0.0.0].
    #[arg(long, value_name = "IP")]
    pub listen_address: Option<String>,
    /// PORT: port `serve` listens on [default: 8080].
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,
    /// LOG_FORMAT: json (Cloud Logging) or text [default: json].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

impl Overrides {
    /// (variable, value) pairs for the flags given.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        Self::variables_and(self)
            .into_iter()
            .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
            .collect()
    }

    /// Every variable with a flag, with that flag's value.
    fn variables_and(&self) -> [(&'static str, &Option<String>); 25] {
        [
            ("OP_API_BASE", &self.api_base),
            ("OP_BEARER_TOKEN_FILE", &self.bearer_token_file),
            ("GCS_BUCKET", &self.gcs_bucket),
            ("SINK_URL", &self.sink_url),
            ("STORAGE_EMULATOR_HOST", &self.storage_emulator_host),
            ("GCS_PREFIX", &self.gcs_prefix),
            ("SIGNINATTEMPTS_PREFIX", &self.signinattempts_prefix),
            ("ITEMUSAGES_PREFIX", &self.itemusages_prefix),
            ("STATE_PREFIX", &self.state_prefix),
            ("STATE_KEY", &self.state_key),
            ("STREAMS", &self.streams),
            ("MAX_RECORDS", &self.max_records),
            ("PAGE_SIZE", &self.page_size),
            ("LOOKBACK_HOURS", &self.lookback_hours),
            ("BATCH_MAX_EVENTS", &self.batch_max_events),
            ("BATCHES_IN_FLIGHT", &self.batches_in_flight),
            ("RUN_BUDGET_SECONDS", &self.run_budget_seconds),
            ("HTTP_TIMEOUT_SECONDS", &self.http_timeout_seconds),
            ("RETRY_MAX_ATTEMPTS", &self.retry_max_attempts),
            ("RETRY_BASE_MILLIS", &self.retry_base_millis),
            ("ACCOUNTS", &self.accounts),
            ("ACCOUNTS_IN_PARALLEL", &self.accounts_in_parallel),
            ("LISTEN_ADDRESS", &self.listen_address),
            ("PORT", &self.port),
            ("LOG_FORMAT", &self.log_format),
        ]
    }

    /// The variables that have a flag.
    #[cfg(test)]
    pub fn variables() -> Vec<&'static str> {
        Overrides::default()
            .variables_and()
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The guide's state.json: a local path or gs://BUCKET/KEY.
    #[arg(long, value_name = "PATH_OR_GS_URL")]
    pub from: String,
    /// Replace an existing checkpoint (only if the collector has not run since the function stopped).
    #[arg(long)]
    pub force: bool,
    /// With ACCOUNTS: the account whose audit events checkpoint the state becomes.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
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
    #[arg(long, requires = "backfill", value_name = "TIME")]
    pub start: Option<String>,
    /// End of the backfill window (RFC 3339), exclusive.
    #[arg(long, requires = "backfill", value_name = "TIME")]
    pub end: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_but_the_token_has_a_flag() {
        let mut with_flags = Overrides::variables();
        with_flags.push("OP_BEARER_TOKEN");
        with_flags.sort_unstable();
        let mut variables = collector::config::VARIABLES.to_vec();
        variables.sort_unstable();
        assert_eq!(with_flags, variables);
    }
}
