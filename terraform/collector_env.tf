# The collector's environment: the variables it reads and their values, derived from this module's
# variables and the layout (layout.tf) only. The names and defaults are the collector's own (contract/src/env.rs in the
# project); the project's tests evaluate this file with Terraform and feed the result through the
# collector's settings parser. The bearer tokens are not here: they come from Secret Manager
# (main.tf); `token_env` says which variable gets which secret. With the accounts split across
# services, `service_env` and `service_token_env` hold each service's (its accounts only).

locals {
  # An account's variables end with its name, upper-cased, '-' as '_' (OP_API_BASE_ACME_EU).
  account_suffix = { for name, _ in var.accounts : name => upper(replace(name, "-", "_")) }

  # A list, not a map, so the service's env blocks keep this order.
  single_account_env = [
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

  # Several accounts: each service's environment, the shared settings, then each of its accounts'
  # own (in name order).
  service_env = {
    for n, accounts in local.service_accounts : n => concat(
      [
        { name = "ACCOUNTS", value = join(",", keys(accounts)) },
        { name = "ACCOUNTS_IN_PARALLEL", value = tostring(var.accounts_in_parallel) },
        { name = "GCS_BUCKET", value = var.bucket_name },
        { name = "GCS_PREFIX", value = lookup(local.stream_prefixes, "auditevents", "onepassword-audit") },
        { name = "SIGNINATTEMPTS_PREFIX", value = lookup(local.stream_prefixes, "signinattempts", "onepassword-signinattempts") },
        { name = "ITEMUSAGES_PREFIX", value = lookup(local.stream_prefixes, "itemusages", "onepassword-itemusages") },
        { name = "STATE_PREFIX", value = "${local.checkpoint_folder}/" },
        { name = "MAX_RECORDS", value = tostring(var.max_records) },
        { name = "PAGE_SIZE", value = tostring(var.page_size) },
        { name = "RUN_BUDGET_SECONDS", value = "480" },
        { name = "LOG_FORMAT", value = "json" },
      ],
      flatten([
        for name, account in accounts : [
          { name = "OP_API_BASE_${local.account_suffix[name]}", value = account.events_api_base_url },
          { name = "STREAMS_${local.account_suffix[name]}", value = join(",", account.streams) },
          { name = "LOOKBACK_HOURS_${local.account_suffix[name]}", value = tostring(account.lookback_hours) },
        ]
      ]),
    )
  }

  # Each service's tokens: which variable gets which secret's.
  service_token_env = {
    for n, accounts in local.service_accounts : n => [
      for name, account in accounts : { name = "OP_BEARER_TOKEN_${local.account_suffix[name]}", secret_id = account.secret_id }
    ]
  }

  # The first service's (google_cloud_run_v2_service.collector).
  collector_env = local.multi_account ? local.service_env["1"] : local.single_account_env
  token_env     = local.multi_account ? local.service_token_env["1"] : [{ name = "OP_BEARER_TOKEN", secret_id = var.secret_id }]
}
