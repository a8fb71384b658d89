# Where everything goes, derived from this module's variables only: each stream's feed prefix, the
# checkpoints' folder, and the feeds: one per stream, or with several accounts one per account and
# stream reading the account's folder (PREFIX/ACCOUNT), where the collector writes it. The
# project's tests evaluate this file with Terraform and compare it with the collector's own layout.

locals {
  stream_prefixes   = { for stream, prefix in var.stream_prefixes : stream => trim(prefix, "/") }
  checkpoint_folder = trim(var.checkpoint_prefix, "/")
  multi_account     = length(var.accounts) > 0

  # The Cloud Run services the accounts are split across, by number ("1", "2", …; one without
  # accounts), and each one's name: the first keeps var.service_name, the others end with -NUMBER.
  service_numbers = local.multi_account ? distinct([for a in values(var.accounts) : tostring(a.service)]) : ["1"]
  service_names   = { for n in local.service_numbers : n => n == "1" ? var.service_name : "${var.service_name}-${n}" }
  # The services after the first (main.tf's *_extra resources; the first keeps its address).
  extra_services = { for n, name in local.service_names : n => name if n != "1" }
  # Each service's accounts.
  service_accounts = { for n in local.service_numbers : n => { for name, a in var.accounts : name => a if tostring(a.service) == n } }

  # Keys: STREAM, or ACCOUNT/STREAM with several accounts.
  single_account_feeds = {
    for stream, prefix in local.stream_prefixes : stream => {
      stream    = stream
      folder    = prefix
      account   = ""
      namespace = ""
    }
  }
  multi_account_feeds = merge([
    for name, account in var.accounts : {
      for stream in account.streams : "${name}/${stream}" => {
        stream    = stream
        folder    = "${local.stream_prefixes[stream]}/${name}"
        account   = name
        namespace = account.asset_namespace
      }
    }
  ]...)
  feeds = local.multi_account ? local.multi_account_feeds : local.single_account_feeds
}
