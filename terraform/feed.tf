# Google SecOps: read access for the feed's service account, and (optionally) the feeds themselves;
# with secops_feed = "event_driven", the bucket's notifications, their topic and one subscription
# per feed, which an event-driven feed pulls to learn of each new object.

locals {
  secops_log_types = {
    auditevents    = "ONEPASSWORD_AUDIT_EVENTS"
    signinattempts = "ONEPASSWORD"
    itemusages     = "ONEPASSWORD"
  }
  event_driven = var.secops_feed == "event_driven"
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

# One feed per stream (per account and stream), "Google Cloud Storage V2" or event-driven (its own
# subscription), each with its own log type; an account's feeds carry the ingestion labels account=NAME and source=onepassword-STREAM,
# and its asset namespace if set.
resource "google_chronicle_feed" "stream" {
  for_each = var.secops_instance == null ? {} : local.feeds

  project      = var.secops_instance.project
  location     = var.secops_instance.location
  instance     = var.secops_instance.customer_id
  display_name = each.value.account == "" ? local.secops_feed_names[each.value.stream] : "${local.secops_feed_names[each.value.stream]} (${each.value.account})"

  details {
    feed_source_type = local.event_driven ? "GOOGLE_CLOUD_STORAGE_EVENT_DRIVEN" : "GOOGLE_CLOUD_STORAGE_V2"
    log_type         = "projects/${var.secops_instance.project}/locations/${var.secops_instance.location}/instances/${var.secops_instance.customer_id}/logTypes/${local.secops_log_types[each.value.stream]}"
    labels           = each.value.account == "" ? null : { account = each.value.account, source = "onepassword-${each.value.stream}" }
    asset_namespace  = each.value.namespace == "" ? null : each.value.namespace

    dynamic "gcs_v2_settings" {
      for_each = local.event_driven ? [] : [each.value.folder]
      iterator = folder

      content {
        bucket_uri             = "gs://${google_storage_bucket.logs.name}/${folder.value}/"
        source_deletion_option = var.secops_source_deletion
        max_lookback_days      = var.secops_max_file_age_days
      }
    }

    dynamic "google_cloud_storage_event_driven_settings" {
      for_each = local.event_driven ? [each.value.folder] : []
      iterator = folder

      content {
        bucket_uri             = "gs://${google_storage_bucket.logs.name}/${folder.value}/"
        pubsub_subscription    = google_pubsub_subscription.secops_feed[each.key].id
        source_deletion_option = var.secops_source_deletion
        max_lookback_days      = var.secops_max_file_age_days
      }
    }
  }

  # A feed verifies it can read the bucket (and pull its subscription) when it is created.
  depends_on = [
    google_storage_bucket_iam_member.secops_reader,
    google_pubsub_subscription_iam_member.secops_subscriber,
    google_storage_notification.secops_feed,
  ]

  # No create_before_destroy: Terraform would pass it on to every resource a feed depends on, and a
  # subscription replaced under its own name (a new filter after a prefix change) cannot be created
  # while the old one exists. Switching secops_feed safely is the README's migration: the
  # collector's schedule is paused, so no object is written while one feed replaces the other.
}

# --- Event-driven feeds ------------------------------------------------------------------------
# The bucket publishes a JSON_API_V1 message for each object finalized under a stream's folder (one
# notification per stream prefix; never the checkpoint folder) to one topic; each feed has its own
# subscription, filtered to its own folder, so with several accounts each account's feed sees only
# the account's objects. Notifications fire only for objects written after they exist: objects a
# V2 feed already took are never sent again.

# Cloud Storage's service agent publishes the notifications.
data "google_storage_project_service_account" "gcs_agent" {
  count = local.event_driven ? 1 : 0

  project = var.project_id
}

resource "google_pubsub_topic" "secops_feed" {
  #checkov:skip=CKV_GCP_83:The topic carries Cloud Storage's notifications (an object's name and metadata), never event data; the objects stay in the bucket under its own access control.
  count = local.event_driven ? 1 : 0

  name                       = "${var.topic_name}-secops-feed"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic_iam_member" "gcs_publishes_secops_feed" {
  count = local.event_driven ? 1 : 0

  topic  = google_pubsub_topic.secops_feed[0].name
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${data.google_storage_project_service_account.gcs_agent[0].email_address}"
}

resource "google_storage_notification" "secops_feed" {
  for_each = local.event_driven ? local.stream_prefixes : {}

  bucket             = google_storage_bucket.logs.name
  topic              = google_pubsub_topic.secops_feed[0].id
  payload_format     = "JSON_API_V1"
  event_types        = ["OBJECT_FINALIZE"]
  object_name_prefix = "${each.value}/"

  # The service agent must be allowed to publish before the bucket accepts the notification.
  depends_on = [google_pubsub_topic_iam_member.gcs_publishes_secops_feed]
}

# One pull subscription per feed (per stream, or per account and stream), filtered to its folder.
# Unacknowledged notifications are kept 7 days (a feed stopped longer misses objects: see the
# README), and the subscription never expires while its feed is idle.
resource "google_pubsub_subscription" "secops_feed" {
  for_each = local.event_driven ? local.feeds : {}

  name                       = each.value.account == "" ? "${var.topic_name}-secops-${each.value.stream}" : "${var.topic_name}-secops-${each.value.account}-${each.value.stream}"
  topic                      = google_pubsub_topic.secops_feed[0].id
  filter                     = "hasPrefix(attributes.objectId, \"${each.value.folder}/\")"
  ack_deadline_seconds       = 600
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}

# The SecOps feed's service account pulls its subscriptions (and reads the objects: secops_reader).
resource "google_pubsub_subscription_iam_member" "secops_subscriber" {
  for_each = local.event_driven && var.secops_service_account != "" ? local.feeds : {}

  subscription = google_pubsub_subscription.secops_feed[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.secops_service_account}"
}

output "secops_feed_subscriptions" {
  description = "With secops_feed = event_driven: each feed's Pub/Sub subscription (projects/PROJECT/subscriptions/NAME), by stream (ACCOUNT/STREAM with several accounts); empty otherwise."
  value       = { for key, subscription in google_pubsub_subscription.secops_feed : key => subscription.id }
}
