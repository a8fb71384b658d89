# Alerting as code: the failure a security team fears most is silence. Enabled with
# var.alerting_enabled; notifications go to var.alert_emails and var.alert_channel_ids.

locals {
  alert_channels = concat(
    [for channel in google_monitoring_notification_channel.email : channel.id],
    var.alert_channel_ids,
  )
  collector_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.service_name}\""
  # With several accounts, silence is watched per account, and alerts name the account.
  silence_metric   = local.multi_account ? "${var.service_name}-successful-account-runs" : "${var.service_name}-successful-runs"
  silence_group_by = local.multi_account ? ["resource.label.service_name", "metric.label.account"] : ["resource.label.service_name"]
}

resource "google_monitoring_notification_channel" "email" {
  for_each = var.alerting_enabled ? toset(var.alert_emails) : toset([])

  project      = var.project_id
  display_name = "1Password collector alerts: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }

  depends_on = [google_project_service.required]
}

# Counts runs that finished cleanly (the collector's summary line with ok=true).
resource "google_logging_metric" "successful_runs" {
  count = var.alerting_enabled ? 1 : 0

  project = var.project_id
  name    = "${var.service_name}-successful-runs"
  filter  = "${local.collector_logs} AND jsonPayload.message=\"collector run summary\" AND jsonPayload.ok=true"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "1Password collector successful runs"
  }

  depends_on = [google_project_service.required]
}

# With several accounts: counts each account's clean runs (its account summary line with ok=true),
# labelled with the account.
resource "google_logging_metric" "successful_account_runs" {
  count = var.alerting_enabled && local.multi_account ? 1 : 0

  project = var.project_id
  name    = "${var.service_name}-successful-account-runs"
  filter  = "${local.collector_logs} AND jsonPayload.message=\"collector account summary\" AND jsonPayload.ok=true"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "1Password collector successful runs per account"
    labels {
      key         = "account"
      value_type  = "STRING"
      description = "The 1Password account"
    }
  }
  label_extractors = {
    account = "EXTRACT(jsonPayload.account)"
  }

  depends_on = [google_project_service.required]
}

resource "google_monitoring_alert_policy" "silence" {
  count = var.alerting_enabled ? 1 : 0

  project               = var.project_id
  display_name          = "1Password collector: no successful run"
  combiner              = "OR"
  notification_channels = local.alert_channels

  conditions {
    display_name = "No successful collection run for twice the schedule interval"
    condition_absent {
      filter   = "metric.type=\"logging.googleapis.com/user/${local.silence_metric}\" AND resource.type=\"cloud_run_revision\""
      duration = "${var.alert_silence_seconds}s"
      # The metric has one series per revision: summed across revisions and grouped by service
      # (and account), so the series a deploy retires is not read as silence.
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_COUNT"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = local.silence_group_by
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "No 1Password events have been collected successfully for twice the schedule interval. Run `provision verify` for a diagnosis: an expired token, a broken scheduler, topic, subscription or invoker binding, or a permission change."
  }

  # The metric it watches exists first (its name is spelled in the filter).
  depends_on = [google_logging_metric.successful_runs, google_logging_metric.successful_account_runs]
}

resource "google_monitoring_alert_policy" "errors" {
  count = var.alerting_enabled ? 1 : 0

  project               = var.project_id
  display_name          = "1Password collector: error needing an operator"
  combiner              = "OR"
  notification_channels = local.alert_channels

  conditions {
    display_name = "The collector logged an ERROR"
    condition_matched_log {
      filter           = "${local.collector_logs} AND severity>=ERROR"
      label_extractors = local.multi_account ? { account = "EXTRACT(jsonPayload.account)" } : null
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "3600s"
    }
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The collector logged an ERROR: the log line says what to do (for a refused token: `provision set-token`)."
  }
}

resource "google_monitoring_alert_policy" "token_expiry" {
  count = var.alerting_enabled ? 1 : 0

  project               = var.project_id
  display_name          = "1Password collector: bearer token expires within 14 days"
  combiner              = "OR"
  notification_channels = local.alert_channels

  conditions {
    display_name = "Token expiry read at a run is 14 days away or less"
    condition_matched_log {
      filter           = "${local.collector_logs} AND jsonPayload.message=\"collector run summary\" AND jsonPayload.token_days_left>=0 AND jsonPayload.token_days_left<=14"
      label_extractors = local.multi_account ? { account = "EXTRACT(jsonPayload.token_account)" } : null
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "86400s"
    }
    auto_close = "604800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The 1Password Events Reporting token expires within 14 days. Issue a new token in 1Password and run `provision set-token`."
  }
}
