# Google SecOps: read access for the feed's service account, and (optionally) the feeds themselves.

locals {
  secops_log_types = {
    auditevents    = "ONEPASSWORD_AUDIT_EVENTS"
    signinattempts = "ONEPASSWORD"
    itemusages     = "ONEPASSWORD"
  }
  secops_feed_names = {
    auditevents    = "1Password Audit Events Logs"
    signinattempts = "1Password Sign-in Attempts Logs"
    itemusages     = "1Password Item Usages Logs"
  }
}

# The SecOps service account reads this bucket only; with ON_SUCCESS deletion it also deletes.
resource "google_storage_bucket_iam_member" "secops_reader" {
  count = var.secops_service_account == "" ? 0 : 1

  bucket = google_storage_bucket.logs.name
  role   = var.secops_source_deletion == "NEVER" ? "roles/storage.objectViewer" : "roles/storage.objectUser"
  member = "serviceAccount:${var.secops_service_account}"
}

# One "Google Cloud Storage V2" feed per stream (per account and stream), each with its own log
# type; an account's feeds carry the ingestion labels account=NAME and source=onepassword-STREAM,
# and its asset namespace if set.
resource "google_chronicle_feed" "stream" {
  for_each = var.secops_instance == null ? {} : local.feeds

  project      = var.secops_instance.project
  location     = var.secops_instance.location
  instance     = var.secops_instance.customer_id
  display_name = each.value.account == "" ? local.secops_feed_names[each.value.stream] : "${local.secops_feed_names[each.value.stream]} (${each.value.account})"

  details {
    feed_source_type = "GOOGLE_CLOUD_STORAGE_V2"
    log_type         = "projects/${var.secops_instance.project}/locations/${var.secops_instance.location}/instances/${var.secops_instance.customer_id}/logTypes/${local.secops_log_types[each.value.stream]}"
    labels           = each.value.account == "" ? null : { account = each.value.account, source = "onepassword-${each.value.stream}" }
    asset_namespace  = each.value.namespace == "" ? null : each.value.namespace

    gcs_v2_settings {
      bucket_uri             = "gs://${google_storage_bucket.logs.name}/${each.value.folder}/"
      source_deletion_option = var.secops_source_deletion
      max_lookback_days      = var.secops_max_file_age_days
    }
  }

  # A feed verifies it can read the bucket when it is created.
  depends_on = [google_storage_bucket_iam_member.secops_reader]
}
