# The SecOps feed's kind (feed.tf), kept apart from variables.tf so the event-driven feed's inputs
# stay in files of their own.

variable "secops_feed" {
  description = "How the SecOps feeds learn of new objects: storage_v2 (a \"Google Cloud Storage V2\" feed lists its folder on its own schedule) or event_driven (the bucket notifies a Pub/Sub topic of each new object in a stream's folder; each \"Google Cloud Storage (Event Driven)\" feed pulls its own subscription). Changing it changes every feed's source type: see the README's migration, which loses and repeats nothing."
  type        = string
  default     = "storage_v2"

  validation {
    condition     = contains(["storage_v2", "event_driven"], var.secops_feed)
    error_message = "secops_feed must be storage_v2 or event_driven."
  }

  # As `provision` validates it: each feed's subscription, TOPIC-secops-ACCOUNT-STREAM, fits in 255.
  validation {
    condition     = var.secops_feed == "storage_v2" || length(var.topic_name) <= 208
    error_message = "with secops_feed = event_driven, topic_name must be at most 208 characters: each feed's subscription is named TOPIC-secops-ACCOUNT-STREAM, which must fit in 255."
  }
}
