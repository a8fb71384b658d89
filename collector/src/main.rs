//! The `collector` binary: `serve`, `run-once`, `import-state`.

mod cli;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use collector::config::{Settings, Sink, process_vars};
use collector::pipeline::Outcome;

fn settings(overrides: &cli::Overrides) -> anyhow::Result<Settings> {
    let mut vars = process_vars();
    for (name, value) in overrides.pairs() {
        vars.insert(name.to_owned(), value);
    }
    Ok(Settings::from_vars(&vars)?)
}

// One worker thread: a run's fetching and writing are I/O-bound and interleave on it; a second
// worker only adds cross-thread wake-ups (about 0.2 CPU s per million events in scripts/bench.sh),
// and the Cloud Run service has one vCPU. Blocking file I/O goes to the blocking pool as before.
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "collector cannot start");
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        cli::Command::Serve(overrides) => {
            let settings = settings(&overrides)?;
            collector::logging::init(settings.log_format);
            let pipeline = collector::app::build(&settings).await?;
            let addr = std::net::SocketAddr::from(([0, 0, 0, 0], settings.port));
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            tracing::info!(port = settings.port, sink = %settings.sink.url(), streams = settings.plans.len(), "collector listening");
            collector::trigger::serve(listener, collector::trigger::AppState::new(pipeline))
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::RunOnce(args) => {
            let mut settings = settings(&args.overrides)?;
            if args.backfill {
                let parse = |name: &str,
                             value: &Option<String>|
                 -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
                    let text = value
                        .as_deref()
                        .with_context(|| format!("--backfill needs --{name}"))?;
                    chrono::DateTime::parse_from_rfc3339(text)
                        .map(|t| t.to_utc())
                        .with_context(|| format!("--{name} {text:?} is not an RFC 3339 time such as 2026-10-01T00:00:00Z"))
                };
                let (start, end) = (parse("start", &args.start)?, parse("end", &args.end)?);
                settings.plans = collector::pipeline::backfill_plans(&settings.plans, start, end)?;
            }
            collector::logging::init(settings.log_format);
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
            } else if summary
                .streams
                .iter()
                .any(|s| matches!(s.outcome, Outcome::Transient(_)))
            {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        cli::Command::ImportState(args) => {
            let settings = settings(&args.overrides)?;
            collector::logging::init(settings.log_format);
            let state = read_state(&args.from, &settings.sink).await?;
            let store = collector::app::open_store(&settings.sink).await?;
            let key = settings
                .plans
                .iter()
                .find(|p| p.stream == collector::onepassword::Stream::AuditEvents)
                .map(|p| p.checkpoint_key.clone())
                .context(
                    "STREAMS does not include auditevents, whose cursor the guide's state holds",
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
            .with_context(|| format!("{from} does not exist"))?;
        Ok(bytes.to_vec())
    } else {
        std::fs::read(from).with_context(|| format!("cannot read {from}"))
    }
}
