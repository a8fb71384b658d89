//! The operator's dashboard: its log-based metrics (read from the collector's stream, account and
//! run summary lines) and the Cloud Monitoring dashboard JSON that charts them. Both engines take
//! the dashboard JSON from here (Terraform through the module's `dashboard_json`, gcloud through
//! `--config-from-file`); the gcloud engine's metrics are the LogMetric JSON below, the module's
//! are the same metrics in `terraform/dashboard.tf` (a test compares the two).

use contract::summary::{self, fields};
use serde_json::{Value, json};

use crate::config::Config;

/// The dashboard's display name, by which the gcloud script finds it again.
pub fn display_name(config: &Config) -> String {
    format!("1Password collector: {}", config.collector.service_name)
}

/// What a log-based metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A count of matching lines.
    Count,
    /// A distribution of a numeric field of the line, in `unit`.
    Distribution {
        /// The `jsonPayload` field.
        field: &'static str,
        /// The metric's unit (UCUM).
        unit: &'static str,
        /// Exponential buckets: how many, and the first bucket's width.
        buckets: u32,
        /// The first bucket's upper bound.
        scale: u32,
    },
}

/// One of the dashboard's log-based metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// Its name (the service name, a hyphen, and [`Metric::suffix`]).
    pub name: String,
    /// The part after the service name.
    pub suffix: &'static str,
    /// What it says.
    pub description: &'static str,
    /// The log filter of the lines it reads.
    pub filter: String,
    /// Count or distribution.
    pub measure: Measure,
    /// Its labels, each extracted from the `jsonPayload` field of the same name.
    pub labels: &'static [&'static str],
}

impl Metric {
    /// Its Cloud Monitoring metric type.
    pub fn metric_type(&self) -> String {
        format!("logging.googleapis.com/user/{}", self.name)
    }

    /// The metric as `gcloud logging metrics create --config-from-file` reads it (a LogMetric).
    pub fn log_metric(&self) -> Value {
        let labels: Vec<Value> = self
            .labels
            .iter()
            .map(|key| json!({"key": key, "valueType": "STRING", "description": label_description(key)}))
            .collect();
        let extractors: serde_json::Map<String, Value> = self
            .labels
            .iter()
            .map(|key| {
                (
                    (*key).to_owned(),
                    Value::from(format!("EXTRACT(jsonPayload.{key})")),
                )
            })
            .collect();
        let mut metric = json!({
            "description": self.description,
            "filter": self.filter,
            "labelExtractors": extractors,
        });
        match self.measure {
            Measure::Count => {
                metric["metricDescriptor"] = json!({
                    "metricKind": "DELTA", "valueType": "INT64", "unit": "1", "labels": labels,
                });
            }
            Measure::Distribution {
                field,
                unit,
                buckets,
                scale,
            } => {
                metric["metricDescriptor"] = json!({
                    "metricKind": "DELTA", "valueType": "DISTRIBUTION", "unit": unit, "labels": labels,
                });
                metric["valueExtractor"] = Value::from(format!("EXTRACT(jsonPayload.{field})"));
                metric["bucketOptions"] = json!({"exponentialBuckets": {
                    "numFiniteBuckets": buckets, "growthFactor": 2, "scale": scale,
                }});
            }
        }
        metric
    }
}

fn label_description(key: &str) -> &'static str {
    match key {
        fields::ACCOUNT => "The 1Password account (empty in a deployment of one account)",
        fields::STREAM => "The Events API stream",
        fields::OUTCOME => "ok, or the reason the stream failed",
        _ => "",
    }
}

/// The metric suffixes, in the order of [`metrics`].
pub const METRIC_SUFFIXES: [&str; 5] = [
    "stream-runs",
    "stream-events",
    "newest-event-age",
    "stream-duration",
    "token-days-left",
];

/// The dashboard's log-based metrics, read from the collector's lines among `logs`.
pub fn metrics(config: &Config, logs: &str) -> Vec<Metric> {
    let service = &config.collector.service_name;
    let streams = format!(
        "{logs} AND jsonPayload.message=\"{}\"",
        summary::STREAM_SUMMARY_MESSAGE
    );
    // The token's days left: each account's line, or with one account the run's line; -1 (a
    // token without expiry) is left out.
    let token_message = if config.has_accounts() {
        summary::ACCOUNT_SUMMARY_MESSAGE
    } else {
        summary::SUMMARY_MESSAGE
    };
    let [runs, events, age, duration, token] = METRIC_SUFFIXES;
    let metric = |suffix: &'static str, description, filter, measure, labels| Metric {
        name: format!("{service}-{suffix}"),
        suffix,
        description,
        filter,
        measure,
        labels,
    };
    vec![
        metric(
            runs,
            "1Password collector stream runs, by account, stream and outcome",
            streams.clone(),
            Measure::Count,
            &[fields::ACCOUNT, fields::STREAM, fields::OUTCOME],
        ),
        metric(
            events,
            "Events a 1Password collector run committed, per account and stream",
            streams.clone(),
            Measure::Distribution {
                field: fields::EVENTS,
                unit: "1",
                buckets: 20,
                scale: 1,
            },
            &[fields::ACCOUNT, fields::STREAM],
        ),
        metric(
            age,
            "Age of the newest 1Password event collected, per account and stream",
            format!(
                "{streams} AND jsonPayload.{}>=0",
                fields::NEWEST_EVENT_AGE_SECONDS
            ),
            Measure::Distribution {
                field: fields::NEWEST_EVENT_AGE_SECONDS,
                unit: "s",
                buckets: 24,
                scale: 1,
            },
            &[fields::ACCOUNT, fields::STREAM],
        ),
        metric(
            duration,
            "Duration of a 1Password collector stream's run, per account and stream",
            streams,
            Measure::Distribution {
                field: fields::DURATION_MS,
                unit: "ms",
                buckets: 20,
                scale: 10,
            },
            &[fields::ACCOUNT, fields::STREAM],
        ),
        metric(
            token,
            "Days until the 1Password bearer token expires, per account",
            format!(
                "{logs} AND jsonPayload.message=\"{token_message}\" AND jsonPayload.{}>=0",
                fields::TOKEN_DAYS_LEFT
            ),
            Measure::Distribution {
                field: fields::TOKEN_DAYS_LEFT,
                unit: "d",
                buckets: 12,
                scale: 1,
            },
            &[fields::ACCOUNT],
        ),
    ]
}

/// Every metric type the dashboard JSON names (`logging.googleapis.com/user/…`), in order.
pub fn referenced_metric_types(dashboard: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dashboard];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) => {
                for part in text.split("metric.type=\"").skip(1) {
                    if let Some(end) = part.find('"') {
                        found.push(part[..end].to_owned());
                    }
                }
            }
            Value::Array(items) => pending.extend(items.iter().rev()),
            Value::Object(map) => pending.extend(map.values().rev()),
            _ => {}
        }
    }
    found
}

/// The dashboard as Cloud Monitoring JSON (`projects.dashboards`): a 48-column mosaic of
/// scorecards (soonest token expiry, stalest stream, failed stream runs), charts per account and
/// stream (runs by outcome, failures by reason, events per run, newest event age, run duration,
/// token days left) and a panel of the collector's warnings and errors.
pub fn dashboard(config: &Config, logs: &str) -> Value {
    let metrics = metrics(config, logs);
    let [runs, events, age, duration, token] = [0, 1, 2, 3, 4].map(|i| &metrics[i]);
    // One service's name, or (the accounts split across services) any of them.
    let names = config.service_names();
    let service = if names.len() == 1 {
        format!("\"{}\"", names[0])
    } else {
        format!("monitoring.regex.full_match(\"{}\")", names.join("|"))
    };
    let series = |metric: &Metric, extra: &str| {
        format!(
            "metric.type=\"{}\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name={service}{extra}",
            metric.metric_type()
        )
    };
    // One point per schedule interval at least (a minute at the fastest, an hour at the slowest).
    let interval = crate::config::longest_interval_seconds(&config.schedule.cron).clamp(60, 3600);
    let period = format!("{interval}s");
    let per_stream = ["metric.label.account", "metric.label.stream"];
    let query = |filter: String, aligner: &str, reducer: &str, group_by: &[&str], period: &str| {
        json!({"timeSeriesFilter": {"filter": filter, "aggregation": {
            "alignmentPeriod": period,
            "perSeriesAligner": aligner,
            "crossSeriesReducer": reducer,
            "groupByFields": group_by,
        }}})
    };
    let chart = |title: &str, plot: &str, query: Value, label: &str| {
        json!({"title": title, "xyChart": {
            "dataSets": [{"timeSeriesQuery": query, "plotType": plot, "minAlignmentPeriod": period}],
            "yAxis": {"label": label, "scale": "LINEAR"},
        }})
    };
    let failed = " AND NOT metric.labels.outcome=\"ok\"";
    // Scorecards look back over the silence alert's window, so the newest value always shows.
    let window = format!("{}s", super::alerts::silence_seconds(config));
    let scorecard = |title: &str, query: Value, threshold: Value| {
        json!({"title": title, "scorecard": {
            "timeSeriesQuery": query,
            "sparkChartView": {"sparkChartType": "SPARK_LINE"},
            "thresholds": [threshold],
        }})
    };
    let widgets = [
        scorecard(
            "Token days left (the token expiring first)",
            query(
                series(token, ""),
                "ALIGN_PERCENTILE_05",
                "REDUCE_MIN",
                &[],
                &window,
            ),
            json!({"value": 14, "color": "RED", "direction": "BELOW", "label": "renew: provision set-token"}),
        ),
        scorecard(
            "Newest event age, stalest stream (s)",
            query(
                series(age, ""),
                "ALIGN_PERCENTILE_99",
                "REDUCE_MAX",
                &[],
                &window,
            ),
            json!({"value": 2 * interval + 3600, "color": "YELLOW", "direction": "ABOVE"}),
        ),
        scorecard(
            "Failed stream runs",
            query(
                series(runs, failed),
                "ALIGN_SUM",
                "REDUCE_SUM",
                &[],
                &window,
            ),
            json!({"value": 0.5, "color": "RED", "direction": "ABOVE", "label": "run: provision verify"}),
        ),
        chart(
            "Stream runs by outcome",
            "STACKED_BAR",
            query(
                series(runs, ""),
                "ALIGN_SUM",
                "REDUCE_SUM",
                &[
                    "metric.label.account",
                    "metric.label.stream",
                    "metric.label.outcome",
                ],
                &period,
            ),
            "runs",
        ),
        chart(
            "Failed stream runs by reason",
            "STACKED_BAR",
            query(
                series(runs, failed),
                "ALIGN_SUM",
                "REDUCE_SUM",
                &[
                    "metric.label.outcome",
                    "metric.label.account",
                    "metric.label.stream",
                ],
                &period,
            ),
            "runs",
        ),
        chart(
            "Events per run",
            "LINE",
            query(
                series(events, ""),
                "ALIGN_MEAN",
                "REDUCE_MEAN",
                &per_stream,
                &period,
            ),
            "events",
        ),
        chart(
            "Newest event age (s)",
            "LINE",
            query(
                series(age, ""),
                "ALIGN_PERCENTILE_99",
                "REDUCE_MAX",
                &per_stream,
                &period,
            ),
            "seconds",
        ),
        chart(
            "Run duration per stream, p95 (ms)",
            "LINE",
            query(
                series(duration, ""),
                "ALIGN_PERCENTILE_95",
                "REDUCE_MAX",
                &per_stream,
                &period,
            ),
            "milliseconds",
        ),
        chart(
            "Token days left",
            "LINE",
            query(
                series(token, ""),
                "ALIGN_PERCENTILE_05",
                "REDUCE_MIN",
                &["metric.label.account"],
                &period,
            ),
            "days",
        ),
        json!({"title": "Collector warnings and errors", "logsPanel": {
            "filter": format!("{} AND severity>=WARNING", super::alerts::own_logs(config, logs)),
            "resourceNames": [format!("projects/{}", config.project_id)],
        }}),
    ];
    // Three scorecards across, then charts two by two, the log panel full width.
    let mut tiles = Vec::new();
    let mut y = 0;
    for (i, widget) in widgets.into_iter().enumerate() {
        let (x, width, height) = match i {
            0..=2 => (i * 16, 16, 8),
            3..=8 => ((i - 3) % 2 * 24, 24, 16),
            _ => (0, 48, 16),
        };
        tiles.push(
            json!({"xPos": x, "yPos": y, "width": width, "height": height, "widget": widget}),
        );
        if x + width == 48 {
            y += height;
        }
    }
    json!({
        "displayName": display_name(config),
        "mosaicLayout": {"columns": 48, "tiles": tiles},
        "labels": {"onepassword-secops": ""},
    })
}
