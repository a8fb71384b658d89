//! `freshness`: the end-to-end freshness benchmark on the local cloud (see `testkit::run_freshness`).
//!
//! Usage: freshness --collector PATH [--interval-seconds 60] [--compression 1] [--ticks 31]
//!        [--rate 0.05] [--streams auditevents,signinattempts,itemusages] [--page-delay-ms 100]
//!        [--json PATH]
//! Prints the report (event-to-object p50/p95/max, events appended, found, lost, duplicated);
//! `--json` also writes it as JSON. Needs gcloud's Pub/Sub emulator (and Java) and fake-gcs-server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use opsim::{AppendRate, Stream};
use testkit::FreshnessPlan;

const USAGE: &str = "usage: freshness --collector PATH [--interval-seconds 60] [--compression 1] \
[--ticks 31] [--rate 0.05] [--streams auditevents,signinattempts,itemusages] [--page-delay-ms 100] \
[--json PATH]";

fn number<T: std::str::FromStr>(flag: &str, value: &str, what: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} must be {what}, got {value:?}"))
}

fn parse() -> Result<(FreshnessPlan, Option<PathBuf>), String> {
    let mut args = std::env::args().skip(1);
    let mut collector = None;
    let mut json = None;
    let mut plan = FreshnessPlan {
        collector: PathBuf::new(),
        interval: Duration::from_secs(60),
        compression: 1,
        ticks: 31,
        rate: AppendRate::per_second(0.05).map_err(|e| e.to_string())?,
        streams: Stream::ALL.to_vec(),
        page_delay: Duration::from_millis(100),
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))?;
        match flag.as_str() {
            "--collector" => collector = Some(PathBuf::from(value)),
            "--json" => json = Some(PathBuf::from(value)),
            "--interval-seconds" => {
                plan.interval =
                    Duration::from_secs(number(&flag, &value, "whole seconds above 0")?);
            }
            "--compression" => plan.compression = number(&flag, &value, "a whole factor >= 1")?,
            "--ticks" => plan.ticks = number(&flag, &value, "a whole number >= 2")?,
            "--rate" => {
                let rate: f64 = number(&flag, &value, "events per second per stream")?;
                plan.rate = AppendRate::per_second(rate).map_err(|e| format!("{flag}: {e}"))?;
            }
            "--streams" => {
                plan.streams = value
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("{flag}: {e}"))?;
            }
            "--page-delay-ms" => {
                plan.page_delay =
                    Duration::from_millis(number(&flag, &value, "whole milliseconds")?);
            }
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    plan.collector = collector.ok_or_else(|| format!("--collector is required; {USAGE}"))?;
    if plan.interval.is_zero() {
        return Err("--interval-seconds must be above 0".into());
    }
    Ok((plan, json))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (plan, json) = match parse() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("freshness: {message}");
            return ExitCode::from(2);
        }
    };
    match testkit::run_freshness(&plan).await {
        Ok(report) => {
            println!("{report}");
            if let Some(path) = json {
                let text = serde_json::to_string_pretty(&report).unwrap_or_default();
                if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("freshness: cannot write {}: {e}", path.display());
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("freshness: {e}");
            ExitCode::from(1)
        }
    }
}
