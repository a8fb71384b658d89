//! The `collector` binary: `serve`, `run-once`, `import-state`.

mod cli;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use collector::config::{self, ConfigError, LogFormat, Settings, Sink, Vars, process_vars};
use collector::pipeline::FailureReason;

/// Why the collector could not start, by the error's type (never its text).
fn start_failure(error: &anyhow::Error) -> FailureReason {
    if let Some(config) = error.downcast_ref::<ConfigError>() {
        config.reason()
    } else if error
        .downcast_ref::<collector::pipeline::BadWindow>()
        .is_some()
    {
        FailureReason::InvalidConfiguration
    } else if let Some(start) = error.downcast_ref::<collector::app::StartError>() {
        start.reason()
    } else {
        FailureReason::Internal
    }
}

/// The process environment, overridden by the flags given.
fn vars(overrides: &cli::Overrides) -> Vars {
    let mut vars = process_vars();
    for (name, value) in overrides.pairs() {
        vars.insert(name.to_owned(), value);
    }
    vars
}

/// Logs what the Events API's retention will leave out of the plans.
fn warn_about_retention(settings: &Settings) {
    for warning in config::retention_warnings(settings.plans(), chrono::Utc::now()) {
        tracing::warn!(
            warning = warning.as_str(),
            "events older than the Events API keeps will be missing"
        );
    }
}

// One worker thread: a run's fetching and writing are I/O-bound and interleave on it; a second
// worker only adds cross-thread wake-ups (about 0.2 CPU s per million events in scripts/bench.sh),
// and the Cloud Run service has one vCPU. Blocking file I/O goes to the blocking pool as before.
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let vars = vars(cli.command.overrides());
    // Logging starts first, so that even a configuration error is an ERROR line.
    collector::logging::init(LogFormat::from_vars_or_json(&vars));
    match run(cli, vars).await {
        Ok(code) => code,
        Err(error) => {
            // Logging started above, before the settings were read: this is an ERROR line in the
            // format LOG_FORMAT asked for, and the same on standard error for a person.
            tracing::error!(
                reason = start_failure(&error).as_str(),
                error = %format!("{error:#}"),
                "{}",
                contract::summary::CANNOT_START_MESSAGE
            );
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: cli::Cli, vars: Vars) -> anyhow::Result<ExitCode> {
    match cli.command {
        cli::Command::Serve(_) => {
            let settings = Settings::from_vars(&vars)?;
            warn_about_retention(&settings);
            let pipeline = collector::app::build(&settings).await?;
            let addr = std::net::SocketAddr::new(settings.listen, settings.port);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (LISTEN_ADDRESS, PORT)"))?;
            let bound = listener.local_addr().unwrap_or(addr);
            tracing::info!(address = %bound, sink = %settings.sink.url(), accounts = settings.accounts.len(), streams = settings.plans().count(), "collector listening");
            collector::trigger::serve(listener, collector::trigger::AppState::new(pipeline))
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::RunOnce(args) => {
            // Settings and the backfill window are checked together: every problem at once.
            let settings = Settings::from_vars(&vars);
            let window = args.backfill.then(|| {
                config::backfill_window(
                    args.start.as_deref(),
                    args.end.as_deref(),
                    chrono::Utc::now(),
                )
            });
            let (mut settings, window) = match (settings, window) {
                (Ok(settings), None) => (settings, None),
                (Ok(settings), Some(Ok(window))) => (settings, Some(window)),
                (settings, window) => {
                    let mut problems = settings.err().map(|e| e.0).unwrap_or_default();
                    problems.extend(window.and_then(Result::err).unwrap_or_default());
                    return Err(ConfigError(problems).into());
                }
            };
            if let Some((start, end)) = window {
                for account in &mut settings.accounts {
                    account.plans =
                        collector::pipeline::backfill_plans(&account.plans, start, end)?;
                }
            }
            warn_about_retention(&settings);
            let pipeline = collector::app::build(&settings).await?;
            let stop = pipeline.stop_flag();
            // SIGTERM (a Cloud Run job's timeout) or Ctrl-C: finish the current batch, then stop.
            tokio::spawn(async move {
                collector::trigger::wait_for_signal().await;
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            let summary = collector::trigger::run_and_log(&pipeline).await;
            Ok(if summary.has_permanent_failure() {
                ExitCode::from(2)
            } else if summary.has_transient_failure() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        cli::Command::ImportState(args) => {
            let settings = Settings::from_vars(&vars)?;
            let state = read_state(&args.from, &settings.sink).await?;
            let store = collector::app::open_store(&settings.sink).await?;
            let account = match (&args.account, settings.accounts.as_slice()) {
                (None, [single]) if single.name.is_none() => single,
                (None, _) => anyhow::bail!(
                    "ACCOUNTS lists several accounts; name the one the guide's state belongs to with --account"
                ),
                (Some(name), accounts) => accounts
                    .iter()
                    .find(|a| a.name.as_ref().is_some_and(|n| n.as_str() == name))
                    .with_context(|| {
                        format!("--account {} is not one of ACCOUNTS", config::shown(name))
                    })?,
            };
            let key = account
                .plans
                .iter()
                .find(|p| p.stream == onepassword_events::Stream::AuditEvents)
                .map(|p| p.checkpoint_key.clone())
                .context(
                    "the account's streams do not include auditevents, whose cursor the guide's state holds",
                )?;
            collector::migrate::import_guide_state(store, &key, &state, args.force).await?;
            println!(
                "imported the guide's audit events cursor into {}/{key}",
                settings.sink.url()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn read_state(from: &str, sink: &Sink) -> anyhow::Result<Vec<u8>> {
    if let Some(rest) = from.strip_prefix("gs://") {
        let (bucket, key) = rest
            .split_once('/')
            .context("--from gs://BUCKET/KEY needs a key")?;
        let emulator = match sink {
            Sink::Gcs { emulator, .. } => emulator.clone(),
            Sink::Local(_) => None,
        };
        let store = collector::app::open_store(&Sink::Gcs {
            bucket: bucket.to_owned(),
            emulator,
        })
        .await?;
        let (bytes, _) = store
            .read(key)
            .await?
            .with_context(|| format!("{} does not exist", config::shown(from)))?;
        Ok(bytes.to_vec())
    } else {
        std::fs::read(from).with_context(|| format!("cannot read {}", config::shown(from)))
    }
}
