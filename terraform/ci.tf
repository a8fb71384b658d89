# Optional: a GitHub Actions deployer through Workload Identity Federation (no service account
# key). Enabled when var.github_repository is set; the deploy workflow then builds with Cloud Build
# and rolls the service, with only the roles that needs. Builds run as a dedicated build account
# (below), never as the project's default Cloud Build account (the Compute Engine default account
# in projects created since 2024, which the deployer would otherwise need to act as).

locals {
  github_enabled = var.github_repository != ""
}

resource "google_iam_workload_identity_pool" "github" {
  count = local.github_enabled ? 1 : 0

  project                   = var.project_id
  workload_identity_pool_id = "${trimsuffix(substr(var.service_name, 0, 29), "-")}-gh"
  display_name              = "GitHub Actions"
  description               = "GitHub Actions workflows of ${var.github_repository} deploying the 1Password collector."

  depends_on = [google_project_service.required]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:The condition pins the full subject repo:OWNER/NAME:environment:ENV; checkov cannot resolve var.github_repository (empty by default) when it scans the module.
  count = local.github_enabled ? 1 : 0

  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github[0].workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub OIDC"
  attribute_mapping = {
    "google.subject"        = "assertion.sub"
    "attribute.repository"  = "assertion.repository"
    "attribute.environment" = "assertion.environment"
  }
  # Only this repository's jobs in the deploy environment (its protection rules apply) can exchange
  # their tokens.
  attribute_condition = "assertion.sub == \"repo:${var.github_repository}:environment:${var.github_environment}\""

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "deployer" {
  count = local.github_enabled ? 1 : 0

  project      = var.project_id
  account_id   = "${trimsuffix(substr(var.service_name, 0, 21), "-")}-deployer"
  display_name = "1Password collector deployer (GitHub Actions)"
  description  = "Builds collector images and rolls the Cloud Run service from ${var.github_repository}."

  depends_on = [google_project_service.required]
}

resource "google_service_account_iam_member" "github_impersonates_deployer" {
  count = local.github_enabled ? 1 : 0

  service_account_id = google_service_account.deployer[0].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github[0].name}/attribute.repository/${var.github_repository}"
}

# Deploys revisions of the first service…
resource "google_cloud_run_v2_service_iam_member" "deployer_deploys" {
  count = local.github_enabled ? 1 : 0

  project  = var.project_id
  location = google_cloud_run_v2_service.collector.location
  name     = google_cloud_run_v2_service.collector.name
  role     = "roles/run.developer"
  member   = "serviceAccount:${google_service_account.deployer[0].email}"
}

# …and of each further service (collector.services).
resource "google_cloud_run_v2_service_iam_member" "deployer_deploys_extra" {
  for_each = local.github_enabled ? local.extra_services : {}

  project  = var.project_id
  location = google_cloud_run_v2_service.collector_extra[each.key].location
  name     = google_cloud_run_v2_service.collector_extra[each.key].name
  role     = "roles/run.developer"
  member   = "serviceAccount:${google_service_account.deployer[0].email}"
}

# …running as the collector's runtime account, and no other.
resource "google_service_account_iam_member" "deployer_acts_as_collector" {
  count = local.github_enabled ? 1 : 0

  service_account_id = google_service_account.collector.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer[0].email}"
}

# Cloud Build has no narrower grant than the project: builds are submitted at project level.
resource "google_project_iam_member" "deployer_builds" {
  #checkov:skip=CKV_GCP_49:`gcloud builds submit` needs cloudbuild.builds.editor, which exists only at project level; the deployer is reachable only from the repository's protected deploy environment.
  count = local.github_enabled ? 1 : 0

  project = var.project_id
  role    = "roles/cloudbuild.builds.editor"
  member  = "serviceAccount:${google_service_account.deployer[0].email}"

  depends_on = [google_project_service.resource_manager]
}

# `gcloud builds submit` checks that the project may use the Cloud Build API for it
# (serviceusage.services.use), which exists only at project level.
resource "google_project_iam_member" "deployer_uses_services" {
  #checkov:skip=CKV_GCP_49:serviceusage.services.use exists only at project level; serviceUsageConsumer cannot enable or disable services.
  count = local.github_enabled ? 1 : 0

  project = var.project_id
  role    = "roles/serviceusage.serviceUsageConsumer"
  member  = "serviceAccount:${google_service_account.deployer[0].email}"

  depends_on = [google_project_service.resource_manager]
}

# Where `gcloud builds submit --gcs-source-staging-dir` uploads the source; kept a week.
resource "google_storage_bucket" "build_staging" {
  #checkov:skip=CKV_GCP_62:Holds only the repository's source archives, for a week; Cloud Audit Logs record admin actions (and object reads once Data Access logs are on).
  count = local.github_enabled ? 1 : 0

  project                     = var.project_id
  name                        = "${var.bucket_name}-builds"
  location                    = var.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 7
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.required]
}

resource "google_storage_bucket_iam_member" "deployer_stages_source" {
  count = local.github_enabled ? 1 : 0

  bucket = google_storage_bucket.build_staging[0].name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.deployer[0].email}"
}

# `gcloud builds submit --gcs-source-staging-dir` reads the staging bucket's metadata first
# (storage.buckets.get), which objectUser lacks; this bucket only.
resource "google_storage_bucket_iam_member" "deployer_reads_staging_bucket" {
  count = local.github_enabled ? 1 : 0

  bucket = google_storage_bucket.build_staging[0].name
  role   = "roles/storage.legacyBucketReader"
  member = "serviceAccount:${google_service_account.deployer[0].email}"
}

# --- The build account: what a build of the collector image needs, and nothing else -----------

resource "google_service_account" "builder" {
  count = local.github_enabled ? 1 : 0

  project      = var.project_id
  account_id   = "${trimsuffix(substr(var.service_name, 0, 22), "-")}-builder"
  display_name = "1Password collector image builder (Cloud Build)"
  description  = "Runs Cloud Build builds of the collector image: reads the staged source, writes the build log, pushes to the one image repository."

  depends_on = [google_project_service.required]
}

# The deployer submits builds as the build account (`gcloud builds submit --service-account`),
# and may act as no other account but the collector's runtime one (for `gcloud run deploy`).
resource "google_service_account_iam_member" "deployer_acts_as_builder" {
  count = local.github_enabled ? 1 : 0

  service_account_id = google_service_account.builder[0].name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer[0].email}"
}

# Pushes the built image to the one repository.
resource "google_artifact_registry_repository_iam_member" "builder_pushes" {
  count = local.github_enabled ? 1 : 0

  project    = var.project_id
  location   = google_artifact_registry_repository.collector.location
  repository = google_artifact_registry_repository.collector.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.builder[0].email}"
}

# Reads the staged source and writes the build log (`--gcs-log-dir`) in the staging bucket only:
# a build with a user-specified service account cannot use Cloud Build's default logs bucket.
resource "google_storage_bucket_iam_member" "builder_uses_staging" {
  count = local.github_enabled ? 1 : 0

  bucket = google_storage_bucket.build_staging[0].name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.builder[0].email}"
}

resource "google_storage_bucket_iam_member" "builder_reads_staging_bucket" {
  count = local.github_enabled ? 1 : 0

  bucket = google_storage_bucket.build_staging[0].name
  role   = "roles/storage.legacyBucketReader"
  member = "serviceAccount:${google_service_account.builder[0].email}"
}

# The build's log lines in Cloud Logging too (Cloud Build writes both unless told otherwise).
resource "google_project_iam_member" "builder_writes_logs" {
  #checkov:skip=CKV_GCP_49:logging.logEntries.create exists only at project (or folder/organization) level; logWriter can only write log entries.
  count = local.github_enabled ? 1 : 0

  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.builder[0].email}"

  depends_on = [google_project_service.resource_manager]
}
