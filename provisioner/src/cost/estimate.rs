//! The arithmetic: accounts × streams × runs per month × per-run units × price, one line item per
//! billed unit, for a month where every run is empty and one where every run brings a typical page.

use serde::Serialize;

use super::{CostError, PriceTable, RunUnits, Units};
use crate::config::{self, Config};

/// Bytes in a GiB and in a TiB, the units Logging and Pub/Sub bill in.
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const TIB: f64 = GIB * 1024.0;
/// The least Pub/Sub bills per request, bytes.
const PUBSUB_MIN_BYTES: f64 = 1000.0;
/// Months in a year, for a yearly count of runs.
const MONTHS: f64 = 12.0;
/// Days in the year `config::runs_per_year` counts.
const YEAR_DAYS: f64 = 365.0;

/// What the estimate includes beyond the config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Count the bucket notifications of an event-driven SecOps feed (one per object written,
    /// published and then delivered).
    pub event_driven_feed: bool,
}

/// The monthly estimate of one deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The project.
    pub project_id: String,
    /// 1Password accounts.
    pub accounts: usize,
    /// Streams summed over accounts: what the per-run units are multiplied by.
    pub account_streams: usize,
    /// Cloud Run services the accounts are split across; each tick runs every one.
    pub services: u32,
    /// The schedule.
    pub cron: String,
    /// Runs a month (a year's runs of the schedule over 12).
    pub runs_per_month: f64,
    /// vCPUs per instance.
    pub cpu: u32,
    /// Memory per instance, MiB.
    pub memory_mib: u64,
    /// Whether bucket notifications are counted.
    pub event_driven_feed: bool,
    /// The day the prices were read.
    pub prices_read: String,
    /// The day the units were measured.
    pub units_measured: String,
    /// The command that measured them.
    pub units_command: String,
    /// Every run empty, then every run with a typical page.
    pub profiles: Vec<Profile>,
    /// What the figures assume.
    pub notes: Vec<String>,
}

/// One month's figures under one assumption about the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// `empty` or `typical`.
    pub name: String,
    /// Events each run collects per account and stream.
    pub events_per_run: u64,
    /// Billed instance seconds per run (start-up and request, rounded up to 100 ms), summed over
    /// the services a tick runs.
    pub billed_seconds_per_run: f64,
    /// Each billed unit.
    pub items: Vec<Item>,
    /// The sum at list price, USD.
    pub list_usd: f64,
    /// The sum after each line's free tier, USD.
    pub after_free_usd: f64,
}

/// One billed unit in one month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// The price table's key.
    pub key: String,
    /// What is billed.
    pub what: String,
    /// The unit.
    pub unit: String,
    /// Units a month.
    pub quantity: f64,
    /// USD per unit.
    pub price: f64,
    /// Units free a month.
    pub free: f64,
    /// quantity × price.
    pub list_usd: f64,
    /// (quantity − free, at least 0) × price.
    pub after_free_usd: f64,
}

/// The estimate of `config` from `units` and `prices`.
pub fn estimate(
    config: &Config,
    units: &RunUnits,
    prices: &PriceTable,
    options: Options,
) -> Result<Estimate, CostError> {
    let cron = config.schedule.cron.clone();
    let runs_per_month = config::runs_per_year(&cron)
        .ok_or_else(|| CostError::Schedule(cron.clone()))? as f64
        / MONTHS;
    let accounts = config.accounts();
    let account_streams: usize = accounts.iter().map(|a| a.streams.len()).sum();
    let cpu = config::cpu_count(&config.collector.cpu).unwrap_or(1);
    let memory_mib = config::memory_mib(&config.collector.memory).unwrap_or(512);
    // Each service's accounts × streams (one service unless collector.services splits them).
    let per_service: Vec<f64> = (1..=config.services())
        .map(|n| {
            accounts
                .iter()
                .filter(|a| a.service == n)
                .map(|a| a.streams.len() as f64)
                .sum()
        })
        .collect();
    let shape = Shape {
        runs: runs_per_month,
        account_streams: account_streams as f64,
        service_account_streams: per_service,
        tokens: accounts.len() as f64,
        cpu: f64::from(cpu),
        memory_gib: memory_mib as f64 / 1024.0,
        retention_months: f64::from(config.bucket.retention_days) * MONTHS / YEAR_DAYS,
        event_driven_feed: options.event_driven_feed,
    };
    let profiles = [("empty", &units.empty), ("typical", &units.typical)]
        .into_iter()
        .map(|(name, run)| profile(name, run, units, prices, &shape))
        .collect::<Result<Vec<_>, _>>()?;
    let mut notes = vec![
        "Every run is counted as a cold start (start-up billed, one secret access per token): an upper bound; a warm instance skips both.".to_owned(),
        "Each account and stream is counted as a run of its own (the measured run had one of each): an upper bound, as accounts are collected in parallel.".to_owned(),
        "Free tiers are per billing account (Logging's per project) and shared with everything else it runs; Cloud Storage's apply to us-east1, us-west1 and us-central1 buckets only.".to_owned(),
        "Not counted: Cloud Run's own request log entries, network egress (none within the region), Artifact Registry storage of the image.".to_owned(),
    ];
    if !options.event_driven_feed {
        notes.push("Without the event-driven feed's bucket notifications (--event-driven-feed counts them).".to_owned());
    }
    Ok(Estimate {
        project_id: config.project_id.clone(),
        accounts: accounts.len(),
        account_streams,
        services: config.services(),
        cron,
        runs_per_month,
        cpu,
        memory_mib,
        event_driven_feed: options.event_driven_feed,
        prices_read: prices.read.clone(),
        units_measured: units.measured.clone(),
        units_command: units.command.clone(),
        profiles,
        notes,
    })
}

/// The deployment's numbers the units are multiplied by.
struct Shape {
    runs: f64,
    account_streams: f64,
    /// Each service's accounts × streams: every tick runs every service.
    service_account_streams: Vec<f64>,
    tokens: f64,
    cpu: f64,
    memory_gib: f64,
    retention_months: f64,
    event_driven_feed: bool,
}

fn profile(
    name: &str,
    run: &Units,
    units: &RunUnits,
    prices: &PriceTable,
    shape: &Shape,
) -> Result<Profile, CostError> {
    let start = &units.instance_start;
    let k = shape.account_streams;
    let r = shape.runs;
    // Cloud Run bills each request rounded up to 100 ms; the start-up is billed with it. A tick
    // is one request to each service.
    let services = shape.service_account_streams.len() as f64;
    let billed_ms: f64 = shape
        .service_account_streams
        .iter()
        .map(|k| ((start.startup_ms + k * run.request_ms) / 100.0).ceil() * 100.0)
        .sum();
    let billed_seconds = billed_ms / 1000.0;
    // The scheduler's one publish, and one push delivery to each service.
    let per_tick_bytes =
        (units.pubsub_requests_per_tick as f64 - 1.0 + services) * PUBSUB_MIN_BYTES;
    let notification_bytes = if shape.event_driven_feed {
        // Each object's notification: the bucket's publish and the feed's delivery.
        k * run.objects_written as f64 * 2.0 * PUBSUB_MIN_BYTES
    } else {
        0.0
    };
    let quantities = [
        ("run_cpu", r * billed_seconds * shape.cpu),
        ("run_memory", r * billed_seconds * shape.memory_gib),
        ("run_requests", r * services),
        ("storage_class_a", r * k * run.class_a as f64),
        ("storage_class_b", r * k * run.class_b as f64),
        (
            "storage_bytes",
            r * k * run.bytes_written as f64 / GIB * shape.retention_months,
        ),
        (
            "secret_accesses",
            r * shape.tokens * start.secret_accesses_per_token as f64,
        ),
        ("secret_versions", shape.tokens),
        (
            "log_ingestion",
            r * (services * start.log_bytes as f64 + k * run.log_bytes as f64) / GIB,
        ),
        (
            "pubsub_throughput",
            r * (per_tick_bytes + notification_bytes) / TIB,
        ),
        ("scheduler_jobs", 1.0),
    ];
    let mut items = Vec::with_capacity(quantities.len());
    for (key, quantity) in quantities {
        let line = prices.line(key)?;
        items.push(Item {
            key: key.to_owned(),
            what: line.what.clone(),
            unit: line.unit.clone(),
            quantity,
            price: line.price,
            free: line.free,
            list_usd: quantity * line.price,
            after_free_usd: (quantity - line.free).max(0.0) * line.price,
        });
    }
    Ok(Profile {
        name: name.to_owned(),
        events_per_run: run.events,
        billed_seconds_per_run: billed_seconds,
        list_usd: items.iter().map(|i| i.list_usd).sum(),
        after_free_usd: items.iter().map(|i| i.after_free_usd).sum(),
        items,
    })
}
