output "bucket_name" {
  description = "Name of the bucket the SecOps feeds read."
  value       = google_storage_bucket.logs.name
}

output "feed_uris" {
  description = "Storage bucket URL to enter in each SecOps feed (gs://BUCKET/PREFIX/, or gs://BUCKET/PREFIX/ACCOUNT/ with several accounts), by stream (ACCOUNT/STREAM with several accounts)."
  value       = { for key, feed in local.feeds : key => "gs://${google_storage_bucket.logs.name}/${feed.folder}/" }
}

output "checkpoint_prefix" {
  description = "Folder of the collector's checkpoints, outside every feed prefix."
  value       = "gs://${google_storage_bucket.logs.name}/${local.checkpoint_folder}/"
}

output "collector_service_account_email" {
  description = "Runtime identity of the collector."
  value       = google_service_account.collector.email
}

output "invoker_service_account_email" {
  description = "Identity Pub/Sub uses to invoke the collector."
  value       = google_service_account.invoker.email
}

output "service_name" {
  description = "Name of the Cloud Run collector service."
  value       = google_cloud_run_v2_service.collector.name
}

output "service_names" {
  description = "Names of every Cloud Run collector service, the first first (one unless the accounts are split across services)."
  value       = concat([google_cloud_run_v2_service.collector.name], [for i in range(2, length(local.service_numbers) + 1) : google_cloud_run_v2_service.collector_extra[tostring(i)].name])
}

output "cloud_run_extra_services" {
  description = "Value of the CLOUD_RUN_EXTRA_SERVICES repository variable for the deploy workflow: the services after the first, space-separated (empty with one service)."
  value       = join(" ", [for i in range(2, length(local.service_numbers) + 1) : google_cloud_run_v2_service.collector_extra[tostring(i)].name])
}

output "service_uri" {
  description = "URL of the Cloud Run collector service (reachable only internally and by the invoker)."
  value       = google_cloud_run_v2_service.collector.uri
}

output "topic_id" {
  description = "Pub/Sub topic the scheduler publishes to."
  value       = google_pubsub_topic.trigger.id
}

output "dead_letter_topic_id" {
  description = "Pub/Sub topic that receives triggers the collector could not take after five attempts."
  value       = google_pubsub_topic.dead_letter.id
}

output "secret_id" {
  description = "Secret Manager secret holding the bearer token (empty with several accounts: see account_secret_ids); add versions with `provision apply` or `gcloud secrets versions add --data-file=-`."
  value       = local.multi_account ? "" : google_secret_manager_secret.token[0].secret_id
}

output "account_secret_ids" {
  description = "With several accounts: the Secret Manager secret holding each account's bearer token, by account (`provision set-token --account NAME` adds versions)."
  value       = { for name, secret in google_secret_manager_secret.account_token : name => secret.secret_id }
}

output "repository_url" {
  description = "Artifact Registry path for collector images."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.collector.repository_id}"
}

output "scheduler_job_name" {
  description = "Cloud Scheduler job that triggers collection runs."
  value       = google_cloud_scheduler_job.trigger.name
}

output "secops_feeds" {
  description = "SecOps feeds created by Terraform, by stream (ACCOUNT/STREAM with several accounts; empty when secops_instance is null)."
  value       = { for stream, feed in google_chronicle_feed.stream : stream => feed.name }
}

output "github_workload_identity_provider" {
  description = "Value of the GCP_WORKLOAD_IDENTITY_PROVIDER repository variable for the deploy workflow (empty without github_repository)."
  value       = local.github_enabled ? google_iam_workload_identity_pool_provider.github[0].name : ""
}

output "github_deployer_service_account" {
  description = "Value of the GCP_DEPLOYER_SERVICE_ACCOUNT repository variable for the deploy workflow (empty without github_repository)."
  value       = local.github_enabled ? google_service_account.deployer[0].email : ""
}

output "build_staging_bucket" {
  description = "Value of the BUILD_STAGING_BUCKET repository variable: where Cloud Build stages the source (empty without github_repository)."
  value       = local.github_enabled ? google_storage_bucket.build_staging[0].name : ""
}

output "github_build_service_account" {
  description = "Value of the GCP_BUILD_SERVICE_ACCOUNT repository variable: the account Cloud Build builds run as (empty without github_repository)."
  value       = local.github_enabled ? google_service_account.builder[0].email : ""
}

output "github_environment" {
  description = "Value of the GCP_DEPLOY_ENVIRONMENT repository variable: the only GitHub environment whose jobs the identity pool trusts (empty without github_repository)."
  value       = local.github_enabled ? var.github_environment : ""
}

output "release_repository_url" {
  description = "Artifact Registry path through which released collector images are pulled (empty when none)."
  value       = var.release_repository_id == "" ? "" : "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.releases[0].repository_id}"
}

output "dashboard_id" {
  description = "The Cloud Monitoring dashboard (projects/PROJECT/dashboards/ID); null without var.dashboard_json."
  value       = local.dashboard ? google_monitoring_dashboard.collector[0].id : null
}
