//! The freshness benchmark: event creation to object in the bucket, end to end on the local cloud.
//!
//! The simulator appends events at a steady rate, each timestamped at its creation; Cloud
//! Scheduler's part publishes `{}` to the trigger topic on the schedule (aligned to the clock, as
//! cron is); the Pub/Sub emulator pushes each tick to the real collector (`collector serve`); at the
//! end every object in the bucket is read and each event's latency is the object's `timeCreated`
//! minus the event's `timestamp`. Events appended but never found are lost; an event uuid found
//! more than once is duplicated.
//!
//! Compression (for schedules too long to wait for): with factor `c`, ticks come every
//! `interval` of real time but stand for `c × interval`; events are appended `c` times faster, so a
//! run carries as many events as a run of the real schedule would, and an event's latency is
//! reported as `c × wait + run`, where `wait` is the real time from its creation to the tick that
//! started the run that stored it and `run` is the real time from that tick to the object. Only the
//! wait is scaled; the run is measured as it happened. With `c = 1` the latency is exactly
//! `timeCreated − timestamp`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use opsim::{AppendRate, SimConfig, Simulator, Stream, TokenGrant, append_steadily};

use crate::local_cloud::{Deployment, LocalCloud};

const TOKEN: &str = "freshness-benchmark-token";
const STATE_PREFIX: &str = "onepassword-secops-state/";

/// What a freshness benchmark runs.
#[derive(Debug, Clone)]
pub struct FreshnessPlan {
    /// The `collector` binary, run as the service.
    pub collector: PathBuf,
    /// Real time between ticks.
    pub interval: Duration,
    /// Each real interval stands for `compression` intervals of the schedule (1: real time).
    pub compression: u32,
    /// Ticks published; the appends stop just before the last one, which collects the rest.
    pub ticks: u32,
    /// New events per second of the schedule, per stream.
    pub rate: AppendRate,
    /// Streams appended to and collected.
    pub streams: Vec<Stream>,
    /// Added to every Events API page.
    pub page_delay: Duration,
}

/// What went wrong outside the measurement itself.
#[derive(Debug, thiserror::Error)]
pub enum FreshnessError {
    /// The plan cannot run.
    #[error("invalid plan: {0}")]
    Plan(String),
    /// The collector did not start (its log says why).
    #[error("the collector did not start; its output:\n{0}")]
    CollectorDidNotStart(String),
    /// The trigger could not be published.
    #[error("publishing a tick failed: {0}")]
    Publish(#[from] crate::pubsub::PubSubError),
    /// The runs did not all finish within the wait after the last tick.
    #[error("{summaries} run summaries for {triggered} runs {waited:?} after the last tick")]
    RunsUnfinished {
        /// Runs started.
        triggered: usize,
        /// Runs finished.
        summaries: usize,
        /// How long it waited.
        waited: Duration,
    },
    /// Reading the bucket failed.
    #[error("reading the bucket: {0}")]
    Storage(#[from] reqwest::Error),
    /// An object's metadata lacks a parseable `timeCreated`.
    #[error("object {0} has no RFC 3339 timeCreated")]
    NoTimeCreated(String),
}

/// Latency figures in seconds of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (`None` when empty).
    pub fn of(values: &[f64]) -> Option<Percentiles> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank =
            |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        Some(Percentiles {
            p50: rank(0.50),
            p95: rank(0.95),
            max: sorted[sorted.len() - 1],
        })
    }
}

/// The benchmark's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FreshnessReport {
    /// The schedule's period in seconds (`interval × compression`).
    pub schedule_seconds: f64,
    /// Real seconds between ticks.
    pub interval_seconds: f64,
    /// Compression factor.
    pub compression: u32,
    /// Ticks published.
    pub ticks: u32,
    /// Runs the collector started (a tick arriving during a run is folded into it).
    pub runs: usize,
    /// Real seconds the benchmark ran, from the first tick to the last.
    pub real_seconds: f64,
    /// Events appended, over every stream.
    pub appended: usize,
    /// Distinct events found in the bucket.
    pub found: usize,
    /// Appended but not found.
    pub lost: usize,
    /// Extra copies of events found more than once.
    pub duplicated: usize,
    /// Found but never appended (should be 0).
    pub unexpected: usize,
    /// Event-to-object latency, seconds of the schedule.
    pub latency: Option<Percentiles>,
    /// The run part alone (tick to object), real seconds.
    pub run: Option<Percentiles>,
}

impl std::fmt::Display for FreshnessReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |p: &Option<Percentiles>| {
            p.map_or_else(
                || "none".to_owned(),
                |p| format!("p50 {:.1} s, p95 {:.1} s, max {:.1} s", p.p50, p.p95, p.max),
            )
        };
        writeln!(
            f,
            "schedule every {:.0} s ({} ticks, every {:.0} s real{}), {} runs, {:.0} s real",
            self.schedule_seconds,
            self.ticks,
            self.interval_seconds,
            if self.compression > 1 {
                format!(", wait scaled x{}", self.compression)
            } else {
                String::new()
            },
            self.runs,
            self.real_seconds
        )?;
        writeln!(f, "event to object: {}", show(&self.latency))?;
        writeln!(f, "tick to object (run part, real): {}", show(&self.run))?;
        write!(
            f,
            "events appended {}, found {}, lost {}, duplicated {}, unexpected {}",
            self.appended, self.found, self.lost, self.duplicated, self.unexpected
        )
    }
}

/// One event as found in an object.
#[derive(Debug, Clone)]
struct Found {
    uuid: String,
    timestamp: DateTime<Utc>,
    created: DateTime<Utc>,
}

/// Runs the plan on a fresh local cloud and measures every event.
pub async fn run(plan: &FreshnessPlan) -> Result<FreshnessReport, FreshnessError> {
    if plan.ticks < 2 || plan.compression == 0 || plan.streams.is_empty() {
        return Err(FreshnessError::Plan(
            "needs at least 2 ticks, a compression of at least 1 and one stream".into(),
        ));
    }
    let real_rate = AppendRate::per_second(plan.rate.get() * f64::from(plan.compression))
        .map_err(|e| FreshnessError::Plan(e.to_string()))?;
    let sim = Simulator::start(
        SimConfig::new(24)
            .with_token(TokenGrant::all_features(TOKEN))
            .with_page_delay(plan.page_delay),
    )
    .await
    .map_err(|e| FreshnessError::Plan(format!("cannot start the simulator: {e}")))?;
    let cloud = LocalCloud::start(Deployment::default()).await;
    let streams: Vec<&str> = plan.streams.iter().map(|s| s.path_segment()).collect();
    let streams = streams.join(",");
    cloud
        .start_collector(
            &plan.collector,
            &sim.base_url(),
            TOKEN,
            &[("STREAMS", streams.as_str())],
        )
        .await;
    if !cloud.collector_running() {
        return Err(FreshnessError::CollectorDidNotStart(
            cloud.collector_stdout(),
        ));
    }
    let appending = append_steadily(&sim, &plan.streams, real_rate);
    let mut ticks: Vec<DateTime<Utc>> = Vec::new();
    let mut last_id = String::new();
    for k in 0..plan.ticks {
        sleep_until_next(plan.interval).await;
        if k + 1 == plan.ticks {
            // Nothing is created after the last tick, so its run collects everything left.
            appending.abort();
        }
        ticks.push(Utc::now());
        last_id = cloud.pubsub().publish_empty(cloud.topic()).await?;
    }
    let runs = wait_for_runs(&cloud, &last_id, Duration::from_secs(300)).await?;
    let appended: Vec<String> = plan
        .streams
        .iter()
        .flat_map(|s| sim.events(*s))
        .map(|e| e.uuid)
        .collect();
    let found = read_bucket(&cloud).await?;
    Ok(measure(plan, &ticks, runs, &appended, &found))
}

/// Sleeps until the next multiple of `interval` since the Unix epoch (cron's alignment).
async fn sleep_until_next(interval: Duration) {
    let now = Utc::now();
    let period = interval.as_millis().max(1) as i64;
    let millis = now.timestamp_millis();
    let wait = period - millis.rem_euclid(period);
    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
}

fn log_lines(cloud: &LocalCloud) -> Vec<serde_json::Value> {
    cloud
        .collector_stdout()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits until the run of the last tick (or the run it was folded into) has a summary and every
/// started run has finished; returns the number of runs.
async fn wait_for_runs(
    cloud: &LocalCloud,
    last_id: &str,
    limit: Duration,
) -> Result<usize, FreshnessError> {
    let started = Instant::now();
    loop {
        let lines = log_lines(cloud);
        let count = |message: &str| lines.iter().filter(|l| l["message"] == message).count();
        let triggered = count("run triggered");
        let summaries = count("collector run summary");
        let last_seen = lines.iter().any(|l| l["id"] == last_id);
        if last_seen && summaries >= triggered && triggered > 0 {
            return Ok(triggered);
        }
        if started.elapsed() > limit {
            return Err(FreshnessError::RunsUnfinished {
                triggered,
                summaries,
                waited: limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every event line of every object outside the state prefix, with its object's `timeCreated`.
async fn read_bucket(cloud: &LocalCloud) -> Result<Vec<Found>, FreshnessError> {
    let http = reqwest::Client::new();
    let bucket = &cloud.deployment().bucket;
    let base = format!("{}/storage/v1/b/{bucket}/o", cloud.gcs().endpoint());
    let mut objects: Vec<(String, DateTime<Utc>)> = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut request = http.get(&base).query(&[("maxResults", "1000")]);
        if let Some(token) = &page_token {
            request = request.query(&[("pageToken", token.as_str())]);
        }
        let page: serde_json::Value = request.send().await?.error_for_status()?.json().await?;
        for item in page["items"].as_array().into_iter().flatten() {
            let name = item["name"].as_str().unwrap_or_default().to_owned();
            if name.starts_with(STATE_PREFIX) {
                continue;
            }
            let created = item["timeCreated"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .ok_or_else(|| FreshnessError::NoTimeCreated(name.clone()))?;
            objects.push((name, created.to_utc()));
        }
        match page["nextPageToken"].as_str() {
            Some(token) if !token.is_empty() => page_token = Some(token.to_owned()),
            _ => break,
        }
    }
    let mut found = Vec::new();
    for (name, created) in objects {
        let data = http
            .get(format!("{base}/{}", urlencode(&name)))
            .query(&[("alt", "media")])
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        for line in String::from_utf8_lossy(&data).lines() {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let (Some(uuid), Some(timestamp)) = (
                event["uuid"].as_str(),
                event["timestamp"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
            ) else {
                continue;
            };
            found.push(Found {
                uuid: uuid.to_owned(),
                timestamp: timestamp.to_utc(),
                created,
            });
        }
    }
    Ok(found)
}

fn urlencode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn seconds(d: chrono::Duration) -> f64 {
    d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
}

/// The report from the ticks' times, the appended uuids and what was found.
fn measure(
    plan: &FreshnessPlan,
    ticks: &[DateTime<Utc>],
    runs: usize,
    appended: &[String],
    found: &[Found],
) -> FreshnessReport {
    let mut copies: HashMap<&str, usize> = HashMap::new();
    for event in found {
        *copies.entry(event.uuid.as_str()).or_default() += 1;
    }
    let appended_set: std::collections::HashSet<&str> =
        appended.iter().map(String::as_str).collect();
    let lost = appended_set
        .iter()
        .filter(|u| !copies.contains_key(*u))
        .count();
    let duplicated = copies.values().map(|n| n - 1).sum();
    let unexpected = copies.keys().filter(|u| !appended_set.contains(*u)).count();
    let c = f64::from(plan.compression);
    let mut latency = Vec::with_capacity(found.len());
    let mut run = Vec::with_capacity(found.len());
    for event in found {
        // The tick whose run stored it: the last one published before the object was created.
        let tick = ticks
            .iter()
            .rev()
            .find(|t| **t <= event.created)
            .copied()
            .unwrap_or(event.created);
        let wait = seconds(tick - event.timestamp).max(0.0);
        let run_part = seconds(event.created - tick);
        if plan.compression == 1 {
            latency.push(seconds(event.created - event.timestamp));
        } else {
            latency.push(c * wait + run_part);
        }
        run.push(run_part);
    }
    FreshnessReport {
        schedule_seconds: plan.interval.as_secs_f64() * c,
        interval_seconds: plan.interval.as_secs_f64(),
        compression: plan.compression,
        ticks: plan.ticks,
        runs,
        real_seconds: ticks
            .last()
            .zip(ticks.first())
            .map_or(0.0, |(l, f)| seconds(*l - *f)),
        appended: appended.len(),
        found: copies.len(),
        lost,
        duplicated,
        unexpected,
        latency: Percentiles::of(&latency),
        run: Percentiles::of(&run),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: f64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_micros((s * 1e6) as i64).unwrap()
    }

    fn plan(compression: u32) -> FreshnessPlan {
        FreshnessPlan {
            collector: PathBuf::new(),
            interval: Duration::from_secs(60),
            compression,
            ticks: 2,
            rate: AppendRate::per_second(1.0).unwrap(),
            streams: vec![Stream::AuditEvents],
            page_delay: Duration::ZERO,
        }
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&values).unwrap();
        assert_eq!((p.p50, p.p95, p.max), (50.0, 95.0, 100.0));
        assert_eq!(Percentiles::of(&[]), None);
        assert_eq!(Percentiles::of(&[7.0]).unwrap().p95, 7.0);
    }

    #[test]
    fn counts_lost_duplicated_and_unexpected_and_scales_only_the_wait() {
        let found = |uuid: &str, ts: f64, created: f64| Found {
            uuid: uuid.into(),
            timestamp: at(ts),
            created: at(created),
        };
        let ticks = [at(60.0), at(120.0)];
        let events = vec![
            found("a", 10.0, 62.0),
            found("b", 100.0, 121.0),
            found("b", 100.0, 121.0),
            found("x", 100.0, 121.0),
        ];
        let appended = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let real = measure(&plan(1), &ticks, 2, &appended, &events);
        assert_eq!(
            (
                real.appended,
                real.found,
                real.lost,
                real.duplicated,
                real.unexpected
            ),
            (3, 3, 1, 1, 1)
        );
        assert_eq!(real.latency.unwrap().max, 52.0);
        assert_eq!(real.run.unwrap().max, 2.0);
        // Compressed x60: a waits 50 s real (3,000 s scaled) and its run took 2 s.
        let hourly = measure(&plan(60), &ticks, 2, &appended, &events);
        assert_eq!(hourly.latency.unwrap().max, 3_002.0);
        assert_eq!(hourly.schedule_seconds, 3_600.0);
    }
}
