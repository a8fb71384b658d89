terraform {
  # 1.9: validations that read other variables (variables.tf).
  required_version = ">= 1.9"

  required_providers {
    # 7.38 is the first release with google_chronicle_feed in the GA provider (feed.tf). 8.x:
    # its upgrade guide and 8.0.0's breaking changes name none of the module's resource types, and
    # the module's arguments and blocks are checked against the 7.41.0 and 8.7.0 schemas
    # (provisioner/tests/provider_schema.rs).
    google = {
      source  = "hashicorp/google"
      version = ">= 7.38, < 9.0"
    }
  }
}
