terraform {
  required_version = ">= 1.5"

  required_providers {
    # 7.38 is the first release with google_chronicle_feed in the GA provider (feed.tf).
    google = {
      source  = "hashicorp/google"
      version = ">= 7.38, < 8.0"
    }
  }
}
