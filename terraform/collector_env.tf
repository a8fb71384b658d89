# The collector's environment: the variables it reads and their values, derived from this module's
# variables only. The names and defaults are the collector's own (contract/src/env.rs in the
# project); the project's tests evaluate this file with Terraform and feed the result through the
# collector's settings parser. The bearer token is not here: it comes from Secret Manager (main.tf).

locals {
  stream_prefixes   = { for stream, prefix in var.stream_prefixes : stream => trim(prefix, "/") }
  checkpoint_folder = trim(var.checkpoint_prefix, "/")

  # A list, not a map, so the service's env blocks keep this order.
  collector_env = [
    { name = "OP_API_BASE", value = var.events_api_base_url },
    { name = "GCS_BUCKET", value = var.bucket_name },
    { name = "GCS_PREFIX", value = lookup(local.stream_prefixes, "auditevents", "onepassword-audit") },
    { name = "SIGNINATTEMPTS_PREFIX", value = lookup(local.stream_prefixes, "signinattempts", "onepassword-signinattempts") },
    { name = "ITEMUSAGES_PREFIX", value = lookup(local.stream_prefixes, "itemusages", "onepassword-itemusages") },
    { name = "STREAMS", value = join(",", sort(keys(local.stream_prefixes))) },
    { name = "STATE_KEY", value = "${local.checkpoint_folder}/auditevents.json" },
    { name = "STATE_PREFIX", value = "${local.checkpoint_folder}/" },
    { name = "MAX_RECORDS", value = tostring(var.max_records) },
    { name = "PAGE_SIZE", value = tostring(var.page_size) },
    { name = "LOOKBACK_HOURS", value = tostring(var.lookback_hours) },
    { name = "RUN_BUDGET_SECONDS", value = "480" },
    { name = "LOG_FORMAT", value = "json" },
  ]
}
