# Alerting as code: the failure a security team fears most is silence. Enabled with
# var.alerting_enabled; notifications go to var.alert_emails and var.alert_channel_ids.

locals {
  alert_channels = concat(
    [for channel in google_monitoring_notification_channel.email : channel.id],
    var.alert_channel_ids,
  )
  # Every service's entries (one service, or the accounts split across several).
  collector_logs = length(local.service_numbers) == 1 ? "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.service_name}\"" : "resource.type=\"cloud_run_revision\" AND (${join(" OR ", [for i in range(1, length(local.service_numbers) + 1) : "resource.labels.service_name=\"${local.service_names[tostring(i)]}\""])})"
  # With several accounts, silence is watched per account, and alerts name the account.
  silence_metric = local.multi_account ? "${var.service_name}-successful-account-runs" : "${var.service_name}-successful-runs"

  # The silence condition in PromQL (below): the metric by its Cloud Monitoring type, in the
  # UTF-8 selector form PromQL needs for a name with '/' and '-'; resource and metric labels are
  # PromQL labels. One series per revision: summed by service (and account), so the series a deploy
  # retires is not read as silence.
  silence_series = "{\"__name__\"=\"logging.googleapis.com/user/${local.silence_metric}\",\"monitored_resource\"=\"cloud_run_revision\",\"service_name\"${local.service_matcher}}"
  # PromQL's matcher of the services' names: one, or any of them.
  service_matcher = length(local.service_numbers) == 1 ? "=\"${var.service_name}\"" : "=~\"${join("|", [for i in range(1, length(local.service_numbers) + 1) : local.service_names[tostring(i)]])}\""
  silence_window  = "${var.alert_silence_seconds}s"
  # No successful run in the window at all, or (several accounts) an account seen in the last week
  # without a successful run in the window.
  silence_query = local.multi_account ? join(" ", [
    "(count by (service_name, account) (count_over_time(${local.silence_series}[7d]))",
    "unless on (service_name, account) (sum by (service_name, account) (sum_over_time(${local.silence_series}[${local.silence_window}])) > 0))",
    "or absent_over_time(${local.silence_series}[${local.silence_window}])",
    ]) : join(" ", [
    "(sum by (service_name) (sum_over_time(${local.silence_series}[${local.silence_window}])) < 1)",
    "or absent_over_time(${local.silence_series}[${local.silence_window}])",
  ])

  # The collector's own lines: its JSON on stdout (every line has `target`), not Cloud Run's request
  # log (run.googleapis.com/requests), whose 5xx entries are ERROR too.
  collector_own_logs = "${local.collector_logs} AND logName=\"projects/${var.project_id}/logs/run.googleapis.com%2Fstdout\" AND jsonPayload.target:*"
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

  # PromQL with metric validation off, so the first apply succeeds: Cloud Monitoring refuses a
  # metric-absence (or threshold) condition on a log-based metric it does not know yet ("Cannot find
  # metric(s) … could take up to 10 minutes to become available"), the provider does not retry that
  # (hashicorp/terraform-provider-google#11102), and the metric_descriptor and depends_on of the
  # metrics do not make it known sooner. disable_metric_validation is the API's documented way to
  # define a policy on a metric that does not exist yet (PrometheusQueryLanguageCondition).
  conditions {
    display_name = "No successful collection run for twice the schedule interval"
    condition_prometheus_query_language {
      query                     = local.silence_query
      duration                  = "0s"
      evaluation_interval       = "300s"
      disable_metric_validation = true
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
      filter           = "${local.collector_own_logs} AND severity>=ERROR"
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
