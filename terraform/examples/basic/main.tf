# The smallest use of the module: audit events into the guide's bucket, hourly.
module "onepassword_secops" {
  source = "../.."

  project_id      = "my-security-project"
  region          = "us-central1"
  bucket_name     = "onepassword-audit-secops-logs"
  bucket_location = "US-CENTRAL1"
  image           = "us-central1-docker.pkg.dev/my-security-project/onepassword-secops/collector:latest"
}

output "feed_uris" {
  description = "Storage bucket URLs to enter in the SecOps feeds."
  value       = module.onepassword_secops.feed_uris
}
