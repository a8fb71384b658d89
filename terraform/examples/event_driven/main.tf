# Event-driven SecOps feeds: the bucket notifies a Pub/Sub topic of each new object in a stream's
# folder, each feed pulls its own subscription, and Terraform creates the feeds in the instance.
module "onepassword_secops" {
  source = "../.."

  project_id      = "my-security-project"
  region          = "us-central1"
  bucket_name     = "onepassword-audit-secops-logs"
  bucket_location = "US-CENTRAL1"
  image           = "us-central1-docker.pkg.dev/my-security-project/onepassword-secops/collector:latest"
  schedule        = "* * * * *"

  stream_prefixes = {
    auditevents    = "onepassword-audit"
    signinattempts = "onepassword-signinattempts"
  }

  secops_feed            = "event_driven"
  secops_service_account = "chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com"
  secops_instance = {
    project     = "my-secops-project"
    location    = "us"
    customer_id = "00000000-0000-0000-0000-000000000000"
  }
}

output "secops_feed_subscriptions" {
  description = "Each feed's Pub/Sub subscription, by stream."
  value       = module.onepassword_secops.secops_feed_subscriptions
}
