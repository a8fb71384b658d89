//! Command-line interface of the `opsim` binary (clap types only).

use clap::{Parser, Subcommand};

/// A local simulator of the 1Password Events API, for demos and benchmarks.
#[derive(Debug, Parser)]
#[command(name = "opsim", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Events API on 127.0.0.1; prints `opsim listening on http://127.0.0.1:PORT` first.
    ///
    /// Example: opsim serve --port 0 --audit-events 5000 --token demo-token
    Serve(ServeArgs),
    /// Print a JWT shaped like a real Events Reporting token: its features in `1password.com/fts`,
    /// its account in `1password.com/auuid`, one audience (the events host). `opsim serve --token`
    /// with it grants exactly those features until it expires.
    ///
    /// Example: opsim mint-token --features auditevents,signinattempts --expires-in-days 90
    MintToken(MintArgs),
    /// Pull every page of a stream and discard it: the floor the collector's benchmark compares to.
    ///
    /// Example: opsim pull --base http://127.0.0.1:8081 --token demo-token --page-size 1000
    Pull(PullArgs),
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Events API base URL.
    #[arg(long)]
    pub base: String,
    /// Bearer token (also OPSIM_TOKEN).
    #[arg(long, env = "OPSIM_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Stream to pull.
    #[arg(long, default_value = "auditevents")]
    pub stream: String,
    /// Events per page.
    #[arg(long, default_value_t = 1000)]
    pub page_size: u16,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed for the generated events.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Backlog of audit events.
    #[arg(long, default_value_t = 1000)]
    pub audit_events: usize,
    /// Backlog of sign-in attempts.
    #[arg(long, default_value_t = 0)]
    pub signin_attempts: usize,
    /// Backlog of item usages.
    #[arg(long, default_value_t = 0)]
    pub item_usages: usize,
    /// Minutes of history the backlog spans, ending now.
    #[arg(long, default_value_t = 30)]
    pub history_minutes: u64,
    /// Accepted bearer token (repeatable; also OPSIM_TOKEN). A token from `opsim mint-token` may
    /// read only its features until its expiry; any other text may read every stream.
    #[arg(
        long = "token",
        env = "OPSIM_TOKEN",
        required = true,
        hide_env_values = true
    )]
    pub tokens: Vec<String>,
    /// New events appended per second to each of --append-streams while running, each
    /// timestamped at its creation; fractions spread them out (0.05: one every 20 s). 0: none.
    #[arg(long, default_value_t = 0.0)]
    pub append_per_second: f64,
    /// Comma-separated streams --append-per-second appends to: auditevents, signinattempts,
    /// itemusages.
    #[arg(long, value_delimiter = ',', default_value = "auditevents")]
    pub append_streams: Vec<String>,
    /// Enforce the real API's limits per token: 600 requests a minute and 30,000 an hour.
    #[arg(long)]
    pub rate_limit: bool,
    /// How a rate-limited 429 says when to retry: seconds, an HTTP date, or nothing.
    #[arg(long, value_enum, default_value = "seconds", requires = "rate_limit")]
    pub retry_after: RetryAfterArg,
    /// Answer as the real service does at a log's end: `"items":null` on empty pages, and
    /// `has_more: true` on every full page, even the last.
    #[arg(long)]
    pub page_quirks: bool,
    /// Milliseconds added to every events request (every page), like a network round trip.
    #[arg(long, default_value_t = 0)]
    pub page_delay_ms: u64,
    /// Probability in 0..=1 of a random fault (429, 5xx, cut body, malformed JSON) per request.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
}

/// `--retry-after` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RetryAfterArg {
    /// `Retry-After: 42`.
    Seconds,
    /// `Retry-After: Wed, 25 Nov 2026 10:00:00 GMT`.
    HttpDate,
    /// No header.
    Omitted,
}

impl From<RetryAfterArg> for opsim::RetryAfter {
    fn from(arg: RetryAfterArg) -> Self {
        match arg {
            RetryAfterArg::Seconds => opsim::RetryAfter::Seconds,
            RetryAfterArg::HttpDate => opsim::RetryAfter::HttpDate,
            RetryAfterArg::Omitted => opsim::RetryAfter::Omitted,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct MintArgs {
    /// Comma-separated features: auditevents, signinattempts, itemusages.
    #[arg(long, value_delimiter = ',', default_value = "auditevents")]
    pub features: Vec<String>,
    /// Days until expiry; omit for a token that never expires.
    #[arg(long)]
    pub expires_in_days: Option<i64>,
    /// Events host, the token's one audience (`aud`).
    #[arg(long, default_value = "events.1password.com")]
    pub host: String,
}
