# The whole 1Password -> Google SecOps collection pipeline: bucket, identities, secret, image
# repository, Cloud Run collector, Pub/Sub trigger with dead-lettering, and the schedule.

locals {
  # The APIs of the pipeline, plus those its optional parts call: Cloud Logging and Monitoring for
  # alerting (alerting.tf), token exchange and impersonation for the CI deployer (ci.tf).
  services = concat(
    [
      "artifactregistry.googleapis.com",
      "cloudbuild.googleapis.com",
      "cloudscheduler.googleapis.com",
      "iam.googleapis.com",
      "pubsub.googleapis.com",
      "run.googleapis.com",
      "secretmanager.googleapis.com",
      "storage.googleapis.com",
    ],
    var.alerting_enabled ? ["logging.googleapis.com", "monitoring.googleapis.com"] : [],
    var.github_repository != "" ? ["iamcredentials.googleapis.com", "sts.googleapis.com"] : [],
  )
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

data "google_project" "this" {
  project_id = var.project_id

  # Read at apply time only while Cloud Resource Manager is being enabled (a new project). Not on
  # google_project_service.required, whose set changes with alerting and GitHub deploys: a
  # pending change there would defer this read to apply time, leave the project number (and so
  # the Pub/Sub service agent's member) unknown at plan, and replace that agent's IAM grants.
  depends_on = [google_project_service.resource_manager]
}

# data.google_project and the project-level IAM grants of ci.tf read the project through it; a
# resource of its own (not one of `required`), so nothing toggled in the config ever changes it.
resource "google_project_service" "resource_manager" {
  project            = var.project_id
  service            = "cloudresourcemanager.googleapis.com"
  disable_on_destroy = false
}

moved {
  from = google_project_service.required["cloudresourcemanager.googleapis.com"]
  to   = google_project_service.resource_manager
}

resource "google_project_service" "required" {
  for_each = toset(local.services)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# --- Storage ---------------------------------------------------------------------------------

resource "google_storage_bucket" "logs" {
  #checkov:skip=CKV_GCP_62:Cloud Audit Logs record every admin action on the bucket, and every object read once the project enables Data Access logs for Cloud Storage; usage logs in a second bucket would add cost, not evidence.
  project                     = var.project_id
  name                        = var.bucket_name
  location                    = var.bucket_location
  storage_class               = var.storage_class
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # The events are security evidence: `provision destroy` keeps the bucket (it leaves Terraform's
  # state first), and deletes it with its events only when asked (--delete-events).
  force_destroy = false

  # Checkpoint history: every checkpoint write leaves a noncurrent version, kept for a week.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = var.retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.required]
}

# --- Identities ------------------------------------------------------------------------------

resource "google_service_account" "collector" {
  project      = var.project_id
  account_id   = var.collector_service_account_id
  display_name = "1Password events collector"
  description  = "Runtime identity of the Cloud Run collector: writes event objects and checkpoints to one bucket, reads one secret."

  depends_on = [google_project_service.required]
}

resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = var.invoker_service_account_id
  display_name = "1Password events collector invoker"
  description  = "Identity Pub/Sub push uses to invoke the collector service, and nothing else."

  depends_on = [google_project_service.required]
}

# Bucket-level only: the collector reads, creates and replaces objects in this bucket and no other.
resource "google_storage_bucket_iam_member" "collector_objects" {
  bucket = google_storage_bucket.logs.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.collector.email}"
}

# --- Secrets ---------------------------------------------------------------------------------

# Tokens are added as versions outside Terraform (`provision apply` pipes each to
# `gcloud secrets versions add --data-file=-`), so they never enter a rendered file or the state.
# One account: one secret. Several accounts: one secret each, read only by the collector.
resource "google_secret_manager_secret" "token" {
  count = local.multi_account ? 0 : 1

  project   = var.project_id
  secret_id = var.secret_id

  replication {
    auto {}
  }

  depends_on = [google_project_service.required]
}

# The secret of deployments made before accounts existed keeps its place in the state.
moved {
  from = google_secret_manager_secret.token
  to   = google_secret_manager_secret.token[0]
}

resource "google_secret_manager_secret_iam_member" "collector_reads_token" {
  count = local.multi_account ? 0 : 1

  project   = var.project_id
  secret_id = google_secret_manager_secret.token[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.collector.email}"
}

moved {
  from = google_secret_manager_secret_iam_member.collector_reads_token
  to   = google_secret_manager_secret_iam_member.collector_reads_token[0]
}

resource "google_secret_manager_secret" "account_token" {
  for_each = var.accounts

  project   = var.project_id
  secret_id = each.value.secret_id

  replication {
    auto {}
  }

  depends_on = [google_project_service.required]
}

resource "google_secret_manager_secret_iam_member" "collector_reads_account_token" {
  for_each = var.accounts

  project   = var.project_id
  secret_id = google_secret_manager_secret.account_token[each.key].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.collector.email}"
}

# --- Image repository ------------------------------------------------------------------------

resource "google_artifact_registry_repository" "collector" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption of container images that hold no secrets.
  project       = var.project_id
  location      = var.region
  repository_id = var.repository_id
  format        = "DOCKER"
  description   = "Images of the 1Password events collector."

  depends_on = [google_project_service.required]
}

# Released collector images: Cloud Run pulls only from Artifact Registry (and Docker Hub), so the
# release registry is mirrored by a remote repository, and the service runs an image through it,
# pinned by digest.
resource "google_artifact_registry_repository" "releases" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption of a read-through cache of public images that hold no secrets.
  count = var.release_repository_id == "" ? 0 : 1

  project       = var.project_id
  location      = var.region
  repository_id = var.release_repository_id
  format        = "DOCKER"
  mode          = "REMOTE_REPOSITORY"
  description   = "Released images of the 1Password events collector, pulled through from ${var.release_upstream}."

  # common_repository, not docker_repository.custom_repository: the provider deprecates the latter,
  # and gcloud's --remote-docker-repo URL (the gcloud engine) creates a common repository too.
  remote_repository_config {
    description = "Release registry of the 1Password events collector"

    common_repository {
      uri = var.release_upstream
    }
  }

  depends_on = [google_project_service.required]
}

# --- Collector service -----------------------------------------------------------------------

resource "google_cloud_run_v2_service" "collector" {
  project             = var.project_id
  name                = var.service_name
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = false

  template {
    service_account = google_service_account.collector.email
    timeout         = "600s"
    # 2: a tick that arrives while a run is in progress reaches the collector, which answers it and
    # lets the running run cover it, instead of Cloud Run answering 429 to Pub/Sub.
    max_instance_request_concurrency = 2

    scaling {
      min_instance_count = 0
      max_instance_count = 1
    }

    containers {
      image = var.image

      ports {
        container_port = 8080
      }

      # Request-based billing, as the gcloud engine's --cpu-throttling: CPU only while a run is
      # being served (without cpu_idle the provider allocates it always).
      resources {
        cpu_idle = true
        limits = {
          cpu    = var.collector_cpu
          memory = var.collector_memory
        }
      }

      # The collector's settings (collector_env.tf), in a fixed order.
      dynamic "env" {
        for_each = local.collector_env
        content {
          name  = env.value.name
          value = env.value.value
        }
      }
      # Each token from its secret (collector_env.tf says which variable gets which).
      dynamic "env" {
        for_each = local.token_env
        content {
          name = env.value.name
          value_source {
            secret_key_ref {
              secret  = env.value.secret_id
              version = "latest"
            }
          }
        }
      }
    }
  }

  lifecycle {
    # Images are rolled out by `provision deploy`; Terraform must not roll them back.
    ignore_changes = [template[0].containers[0].image, client, client_version]
  }

  depends_on = [
    google_project_service.required,
    google_secret_manager_secret_iam_member.collector_reads_token,
    google_secret_manager_secret_iam_member.collector_reads_account_token,
    google_storage_bucket_iam_member.collector_objects,
  ]
}

# Only the invoker account may call the service; there is no public invoker.
resource "google_cloud_run_v2_service_iam_member" "invoker" {
  project  = var.project_id
  location = google_cloud_run_v2_service.collector.location
  name     = google_cloud_run_v2_service.collector.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

# The services after the first, when the accounts are split across services: each collects its
# share (local.service_env). Written out as the first's block is, which keeps its address in the
# state of every deployment made before services existed; the project's tests hold the two blocks
# to the same arguments but the name and the environment.
resource "google_cloud_run_v2_service" "collector_extra" {
  for_each = local.extra_services

  project             = var.project_id
  name                = each.value
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = false

  template {
    service_account = google_service_account.collector.email
    timeout         = "600s"
    # 2: a tick that arrives while a run is in progress reaches the collector, which answers it and
    # lets the running run cover it, instead of Cloud Run answering 429 to Pub/Sub.
    max_instance_request_concurrency = 2

    scaling {
      min_instance_count = 0
      max_instance_count = 1
    }

    containers {
      image = var.image

      ports {
        container_port = 8080
      }

      # Request-based billing, as the gcloud engine's --cpu-throttling: CPU only while a run is
      # being served (without cpu_idle the provider allocates it always).
      resources {
        cpu_idle = true
        limits = {
          cpu    = var.collector_cpu
          memory = var.collector_memory
        }
      }

      # The collector's settings (collector_env.tf), in a fixed order.
      dynamic "env" {
        for_each = local.service_env[each.key]
        content {
          name  = env.value.name
          value = env.value.value
        }
      }
      # Each token from its secret (collector_env.tf says which variable gets which).
      dynamic "env" {
        for_each = local.service_token_env[each.key]
        content {
          name = env.value.name
          value_source {
            secret_key_ref {
              secret  = env.value.secret_id
              version = "latest"
            }
          }
        }
      }
    }
  }

  lifecycle {
    # Images are rolled out by `provision deploy`; Terraform must not roll them back.
    ignore_changes = [template[0].containers[0].image, client, client_version]
  }

  depends_on = [
    google_project_service.required,
    google_secret_manager_secret_iam_member.collector_reads_token,
    google_secret_manager_secret_iam_member.collector_reads_account_token,
    google_storage_bucket_iam_member.collector_objects,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "invoker_extra" {
  for_each = local.extra_services

  project  = var.project_id
  location = google_cloud_run_v2_service.collector_extra[each.key].location
  name     = google_cloud_run_v2_service.collector_extra[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

# --- Trigger ---------------------------------------------------------------------------------

resource "google_pubsub_topic" "trigger" {
  #checkov:skip=CKV_GCP_83:The topic carries only empty scheduler ticks ("{}"), no event data.
  project                    = var.project_id
  name                       = var.topic_name
  message_retention_duration = "86400s"

  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:The topic carries only undeliverable scheduler ticks ("{}"), no event data.
  project                    = var.project_id
  name                       = "${var.topic_name}-dead-letter"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.required]
}

resource "google_pubsub_subscription" "push" {
  project                    = var.project_id
  name                       = "${var.topic_name}-push"
  topic                      = google_pubsub_topic.trigger.id
  ack_deadline_seconds       = 600
  message_retention_duration = "86400s"

  push_config {
    push_endpoint = google_cloud_run_v2_service.collector.uri

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloud_run_v2_service.collector.uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 5
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_cloud_run_v2_service_iam_member.invoker]
}

# Each further service's own subscription: every tick reaches every service.
resource "google_pubsub_subscription" "push_extra" {
  for_each = local.extra_services

  project                    = var.project_id
  name                       = "${var.topic_name}-push-${each.key}"
  topic                      = google_pubsub_topic.trigger.id
  ack_deadline_seconds       = 600
  message_retention_duration = "86400s"

  push_config {
    push_endpoint = google_cloud_run_v2_service.collector_extra[each.key].uri

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloud_run_v2_service.collector_extra[each.key].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 5
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_cloud_run_v2_service_iam_member.invoker_extra]
}

# Pub/Sub's service agent mints the push OIDC tokens and moves undeliverable messages.
resource "google_service_account_iam_member" "pubsub_mints_invoker_tokens" {
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber_extra" {
  for_each = local.extra_services

  project      = var.project_id
  subscription = google_pubsub_subscription.push_extra[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_cloud_scheduler_job" "trigger" {
  project   = var.project_id
  region    = var.region
  name      = var.scheduler_job_name
  schedule  = var.schedule
  time_zone = var.time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.trigger.id
    data       = base64encode("{}")
  }

  depends_on = [google_project_service.required]
}
