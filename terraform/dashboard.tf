# The operator's dashboard: per account and stream, runs by outcome (failures by reason), events
# per run, the newest event's age, run duration and the token's days left, charted from log-based
# metrics on the collector's summary lines. Created when var.dashboard_json is set (provision
# render writes it to the root's dashboard.json); the metrics it charts are always created with
# it, whatever var.alerting_enabled says, and variables.tf refuses a dashboard naming any other.

locals {
  dashboard = var.dashboard_json != null
  # The collector's one line per stream per run (contract::summary::STREAM_SUMMARY_MESSAGE).
  stream_lines = "${local.collector_logs} AND jsonPayload.message=\"collector stream summary\""
  # Token days left: each account's line with several accounts, else the run's line.
  token_lines = "${local.collector_logs} AND jsonPayload.message=\"${local.multi_account ? "collector account summary" : "collector run summary"}\" AND jsonPayload.token_days_left>=0"

  stream_labels = {
    account = "The 1Password account (empty in a deployment of one account)"
    stream  = "The Events API stream"
  }
  # Distributions of a numeric field of the line: name suffix => settings.
  dashboard_distributions = {
    "stream-events" = {
      description = "Events a 1Password collector run committed, per account and stream"
      filter      = local.stream_lines
      field       = "events"
      unit        = "1"
      buckets     = 20
      scale       = 1
      labels      = local.stream_labels
    }
    "newest-event-age" = {
      description = "Age of the newest 1Password event collected, per account and stream"
      filter      = "${local.stream_lines} AND jsonPayload.newest_event_age_seconds>=0"
      field       = "newest_event_age_seconds"
      unit        = "s"
      buckets     = 24
      scale       = 1
      labels      = local.stream_labels
    }
    "stream-duration" = {
      description = "Duration of a 1Password collector stream's run, per account and stream"
      filter      = local.stream_lines
      field       = "duration_ms"
      unit        = "ms"
      buckets     = 20
      scale       = 10
      labels      = local.stream_labels
    }
    "token-days-left" = {
      description = "Days until the 1Password bearer token expires, per account"
      filter      = local.token_lines
      field       = "token_days_left"
      unit        = "d"
      buckets     = 12
      scale       = 1
      labels      = { account = local.stream_labels.account }
    }
  }
}

# Stream runs, by account, stream and outcome (ok, or the failure's reason).
resource "google_logging_metric" "dashboard_runs" {
  count = local.dashboard ? 1 : 0

  project     = var.project_id
  name        = "${var.service_name}-stream-runs"
  description = "1Password collector stream runs, by account, stream and outcome"
  filter      = local.stream_lines

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    dynamic "labels" {
      for_each = merge(local.stream_labels, { outcome = "ok, or the reason the stream failed" })
      content {
        key         = labels.key
        value_type  = "STRING"
        description = labels.value
      }
    }
  }
  label_extractors = {
    account = "EXTRACT(jsonPayload.account)"
    stream  = "EXTRACT(jsonPayload.stream)"
    outcome = "EXTRACT(jsonPayload.outcome)"
  }

  depends_on = [google_project_service.required]
}

resource "google_logging_metric" "dashboard_distributions" {
  for_each = local.dashboard ? local.dashboard_distributions : {}

  project         = var.project_id
  name            = "${var.service_name}-${each.key}"
  description     = each.value.description
  filter          = each.value.filter
  value_extractor = "EXTRACT(jsonPayload.${each.value.field})"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = each.value.unit
    dynamic "labels" {
      for_each = each.value.labels
      content {
        key         = labels.key
        value_type  = "STRING"
        description = labels.value
      }
    }
  }
  label_extractors = { for key, _ in each.value.labels : key => "EXTRACT(jsonPayload.${key})" }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = each.value.buckets
      growth_factor      = 2
      scale              = each.value.scale
    }
  }

  depends_on = [google_project_service.required]
}

resource "google_monitoring_dashboard" "collector" {
  count = local.dashboard ? 1 : 0

  project        = var.project_id
  dashboard_json = var.dashboard_json

  # The metrics it charts exist first.
  depends_on = [google_logging_metric.dashboard_runs, google_logging_metric.dashboard_distributions]
}
