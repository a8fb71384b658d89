variable "project_id" {
  description = "Google Cloud project that holds every resource of the pipeline."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the Cloud Run service, Cloud Scheduler job and Artifact Registry repository."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1."
  }
}

variable "bucket_name" {
  description = "Globally unique name of the bucket the SecOps feed reads."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit."
  }

  # As `provision` validates it (bucket.name): ci.tf names the build staging bucket BUCKET-builds.
  validation {
    condition     = var.github_repository == "" || length(var.bucket_name) <= 56
    error_message = "bucket_name must be at most 56 characters with github_repository set: the build staging bucket is named BUCKET-builds, which must fit in 63."
  }
}

variable "bucket_location" {
  description = "Bucket location: a region (US-CENTRAL1), a dual-region (NAM4) or a multi-region (US, EU, ASIA)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+$", var.bucket_location))
    error_message = "bucket_location must be a location name such as US-CENTRAL1."
  }
}

variable "storage_class" {
  description = "Storage class of the bucket."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"], var.storage_class)
    error_message = "storage_class must be STANDARD, NEARLINE, COLDLINE or ARCHIVE."
  }
}

variable "retention_days" {
  description = "Objects are deleted this many days after they were written (after the SecOps feed has ingested them)."
  type        = number
  default     = 180

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 3650
    error_message = "retention_days must be between 1 and 3650."
  }
}

variable "release_repository_id" {
  description = "Artifact Registry remote repository that mirrors the release registry, for deploying released collector images. Empty: none (the image is built or named)."
  type        = string
  default     = ""

  validation {
    condition     = var.release_repository_id == "" || can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.release_repository_id))
    error_message = "release_repository_id must be empty or a repository id: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "release_upstream" {
  description = "Address of the registry the collector is released to (the remote repository's upstream)."
  type        = string
  default     = "https://ghcr.io"

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+$", var.release_upstream))
    error_message = "release_upstream must be an https:// registry address without a path, such as https://ghcr.io."
  }
}

variable "stream_prefixes" {
  description = "Object prefix (the SecOps feed's folder) of each collected stream: auditevents, signinattempts, itemusages."
  type        = map(string)
  default     = { auditevents = "onepassword-audit" }

  validation {
    condition     = length(var.stream_prefixes) > 0 && alltrue([for s in keys(var.stream_prefixes) : contains(["auditevents", "signinattempts", "itemusages"], s)])
    error_message = "stream_prefixes keys must be auditevents, signinattempts or itemusages, at least one."
  }

  validation {
    condition     = alltrue([for p in values(var.stream_prefixes) : can(regex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/?$", p))])
    error_message = "each prefix must be a folder path of letters, digits, '-', '_' and '.'."
  }

  # As `provision` validates them: each stream (and each account's folder under it) has a folder of
  # its own for its own feed.
  validation {
    condition = alltrue(flatten([
      for a, pa in var.stream_prefixes : [
        for b, pb in var.stream_prefixes : a == b || !(trim(pa, "/") == trim(pb, "/") || startswith(trim(pa, "/"), "${trim(pb, "/")}/"))
      ]
    ]))
    error_message = "each stream needs its own folder: no stream prefix may equal another or lie inside it."
  }
}

variable "accounts" {
  description = "Several 1Password accounts in one deployment, by name: each account's objects go to a folder of its name under each feed prefix, its checkpoints to a folder of its name, its token to its own secret, and it gets one SecOps feed per stream. Empty: the one account of events_api_base_url, secret_id and lookback_hours, with objects directly under the feed prefixes."
  type = map(object({
    events_api_base_url = string
    streams             = list(string)
    secret_id           = string
    lookback_hours      = number
    asset_namespace     = optional(string, "")
    service             = optional(number, 1)
  }))
  default = {}

  # The services the accounts are split across are numbered 1, 2, … with none left out.
  validation {
    condition     = length(var.accounts) == 0 || alltrue([for a in values(var.accounts) : a.service >= 1 && a.service <= 10 && floor(a.service) == a.service]) && length(distinct([for a in values(var.accounts) : a.service])) == max(concat([1], [for a in values(var.accounts) : a.service])...)
    error_message = "each account's service is a whole number from 1 to 10, and the services used are 1, 2, … with none left out (a service with no account would collect nothing)."
  }

  validation {
    condition     = alltrue([for n in distinct([for a in values(var.accounts) : a.service]) : length([for a in values(var.accounts) : a if a.service == n]) <= 100])
    error_message = "one service collects at most 100 accounts: spread them over more services (each account's service)."
  }

  validation {
    condition     = alltrue([for name in keys(var.accounts) : can(regex("^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$", name))])
    error_message = "account names are 1-24 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }

  validation {
    condition     = alltrue([for a in values(var.accounts) : length(a.streams) > 0 && alltrue([for s in a.streams : contains(["auditevents", "signinattempts", "itemusages"], s)])])
    error_message = "each account's streams are auditevents, signinattempts or itemusages, at least one."
  }

  validation {
    condition     = alltrue([for a in values(var.accounts) : can(regex("^https://[a-z0-9.-]+/?$", a.events_api_base_url)) && can(regex("^[A-Za-z0-9_-]{1,255}$", a.secret_id)) && a.lookback_hours >= 1 && a.lookback_hours <= 8760 && can(regex("^([A-Za-z0-9._-]{1,63})?$", a.asset_namespace))])
    error_message = "each account needs an https:// events API base URL, a secret id of letters, digits, '-' and '_', lookback_hours of 1-8760 and an asset namespace of letters, digits, '-', '_' and '.' (or none)."
  }

  validation {
    condition     = length(distinct([for a in values(var.accounts) : a.secret_id])) == length(var.accounts)
    error_message = "each account's token has its own secret."
  }

  # Each account's folder goes under its streams' prefixes (layout.tf), as `provision` lays it out.
  validation {
    condition     = alltrue([for a in values(var.accounts) : alltrue([for s in a.streams : contains(keys(var.stream_prefixes), s)])])
    error_message = "each stream an account collects needs its prefix in stream_prefixes (the account's folder goes under it)."
  }
}

variable "accounts_in_parallel" {
  description = "With several accounts: how many the collector collects at once (each holds at most a few batches in memory)."
  type        = number
  default     = 4

  validation {
    condition     = var.accounts_in_parallel >= 1 && var.accounts_in_parallel <= 64
    error_message = "accounts_in_parallel must be between 1 and 64."
  }

  # As `provision` checks it: a catch-up of 64 accounts at once peaked at 739 MiB.
  validation {
    condition     = var.accounts_in_parallel <= 16 || try(tonumber(regex("^[0-9]+", var.collector_memory)) * (endswith(var.collector_memory, "Gi") ? 1024 : 1) >= 1024, false)
    error_message = "accounts_in_parallel above 16 needs collector_memory of 1Gi at least."
  }
}

variable "collector_cpu" {
  description = "vCPUs of the collector's instance. Cloud Run allows fewer than 1 only with a concurrency of 1; the service runs with 2."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.collector_cpu)
    error_message = "collector_cpu must be 1, 2, 4, 6 or 8."
  }
}

variable "collector_memory" {
  description = "Memory of the collector's instance (512Mi at least; at most 4Gi with 1 vCPU, 8Gi with 2, 16Gi with 4, 24Gi with 6, 32Gi with 8; at least 2Gi with 4 vCPU, 4Gi with 6 or 8)."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.collector_memory))
    error_message = "collector_memory must be a whole number of MiB or GiB, e.g. 512Mi or 1Gi."
  }

  # Cloud Run's memory range for the vCPUs (512Mi is its least in the second generation environment).
  validation {
    condition = try(
      tonumber(regex("^[0-9]+", var.collector_memory)) * (endswith(var.collector_memory, "Gi") ? 1024 : 1) >= lookup({ "1" = 512, "2" = 512, "4" = 2048, "6" = 4096, "8" = 4096 }, var.collector_cpu, 512)
      && tonumber(regex("^[0-9]+", var.collector_memory)) * (endswith(var.collector_memory, "Gi") ? 1024 : 1) <= lookup({ "1" = 4096, "2" = 8192, "4" = 16384, "6" = 24576, "8" = 32768 }, var.collector_cpu, 32768),
      true
    )
    error_message = "collector_memory must fit collector_cpu: 512Mi to 4Gi with 1 vCPU, to 8Gi with 2, 2Gi to 16Gi with 4, 4Gi to 24Gi with 6, 4Gi to 32Gi with 8."
  }
}

variable "checkpoint_prefix" {
  description = "Folder of the collector's checkpoints, outside every feed prefix so SecOps never ingests them."
  type        = string
  default     = "onepassword-secops-state/"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/?$", var.checkpoint_prefix))
    error_message = "checkpoint_prefix must be a folder path of letters, digits, '-', '_' and '.'."
  }

  # As `provision` validates it: SecOps must never ingest the checkpoints as logs.
  validation {
    condition = alltrue([
      for p in values(var.stream_prefixes) : !(trim(var.checkpoint_prefix, "/") == trim(p, "/") || startswith(trim(var.checkpoint_prefix, "/"), "${trim(p, "/")}/") || startswith(trim(p, "/"), "${trim(var.checkpoint_prefix, "/")}/"))
    ])
    error_message = "checkpoint_prefix must lie outside every stream prefix and hold none: SecOps would ingest the checkpoints as logs."
  }
}

variable "collector_service_account_id" {
  description = "Account id of the collector's runtime service account."
  type        = string
  default     = "onepassword-audit-collector-sa"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{4,28}[a-z0-9])$", var.collector_service_account_id))
    error_message = "collector_service_account_id must be 6-30 characters matching [a-z]([-a-z0-9]*[a-z0-9])."
  }
}

variable "invoker_service_account_id" {
  description = "Account id of the service account Pub/Sub uses to invoke the collector."
  type        = string
  default     = "onepassword-audit-invoker-sa"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{4,28}[a-z0-9])$", var.invoker_service_account_id))
    error_message = "invoker_service_account_id must be 6-30 characters matching [a-z]([-a-z0-9]*[a-z0-9])."
  }
}

variable "topic_name" {
  description = "Pub/Sub topic Cloud Scheduler publishes to."
  type        = string
  default     = "onepassword-audit-trigger"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~+-]{2,242}$", var.topic_name)) && !startswith(var.topic_name, "goog")
    error_message = "topic_name must be a Pub/Sub topic id: 3-243 characters (so the -dead-letter topic fits in 255), starting with a letter, not with goog."
  }
}

variable "scheduler_job_name" {
  description = "Name of the Cloud Scheduler job."
  type        = string
  default     = "onepassword-audit-collector-hourly"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,500}$", var.scheduler_job_name))
    error_message = "scheduler_job_name must be letters, digits, '-' or '_'."
  }
}

variable "schedule" {
  description = "Cron schedule of collection runs (every minute by default: an empty run costs one storage read and 100 ms of billed time)."
  type        = string
  default     = "* * * * *"

  validation {
    condition     = length(split(" ", trimspace(var.schedule))) == 5
    error_message = "schedule must be a five-field cron expression."
  }
}

variable "time_zone" {
  description = "IANA time zone of the schedule."
  type        = string
  default     = "UTC"

  validation {
    condition     = can(regex("^[A-Za-z_+-]+(/[A-Za-z0-9_+-]+)*$", var.time_zone))
    error_message = "time_zone must be an IANA time zone such as UTC or Europe/Paris."
  }
}

variable "service_name" {
  description = "Name of the Cloud Run service."
  type        = string
  default     = "onepassword-audit-collector"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$", var.service_name))
    error_message = "service_name must be up to 49 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "image" {
  description = "Collector container image used when the service is created; later images are rolled out by `provision deploy` and not reverted by Terraform."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9./:@_-]+$", var.image))
    error_message = "image must be a container image reference."
  }
}

variable "repository_id" {
  description = "Artifact Registry repository holding collector images."
  type        = string
  default     = "onepassword-secops"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.repository_id))
    error_message = "repository_id must be lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "secret_id" {
  description = "Secret Manager secret that holds the 1Password bearer token (its versions are added outside Terraform, so the token never enters the state)."
  type        = string
  default     = "onepassword-events-token"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.secret_id))
    error_message = "secret_id must be letters, digits, '-' or '_'."
  }
}

variable "events_api_base_url" {
  description = "1Password Events API base URL, e.g. https://events.1password.com."
  type        = string
  default     = "https://events.1password.com"

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+/?$", var.events_api_base_url))
    error_message = "events_api_base_url must be an https:// URL with a host only."
  }
}

variable "max_records" {
  description = "Events per stream per run (MAX_RECORDS)."
  type        = number
  default     = 100000

  validation {
    condition     = var.max_records >= 1
    error_message = "max_records must be at least 1."
  }
}

variable "page_size" {
  description = "Events per Events API page (PAGE_SIZE), 1-1000."
  type        = number
  default     = 1000

  validation {
    condition     = var.page_size >= 1 && var.page_size <= 1000
    error_message = "page_size must be between 1 and 1000."
  }
}

variable "lookback_hours" {
  description = "How far back the first run starts (LOOKBACK_HOURS)."
  type        = number
  default     = 24

  validation {
    condition     = var.lookback_hours >= 1 && var.lookback_hours <= 8760
    error_message = "lookback_hours must be between 1 and 8760."
  }
}

variable "secops_service_account" {
  description = "Google SecOps feed service account (\"Get Service Account\" on the feed page); when set, it is granted read access on this bucket only. Empty: grant it by hand."
  type        = string
  default     = ""

  validation {
    condition     = var.secops_service_account == "" || can(regex("^[a-z0-9-]+@[a-z0-9.-]+\\.iam\\.gserviceaccount\\.com$", var.secops_service_account))
    error_message = "secops_service_account must be a service account email, or empty."
  }
}

variable "secops_source_deletion" {
  description = "SecOps feed source deletion option: NEVER (the bucket's lifecycle rule deletes objects) or ON_SUCCESS (SecOps deletes each object once ingested, which needs write access)."
  type        = string
  default     = "NEVER"

  validation {
    condition     = contains(["NEVER", "ON_SUCCESS"], var.secops_source_deletion)
    error_message = "secops_source_deletion must be NEVER or ON_SUCCESS."
  }
}

variable "secops_max_file_age_days" {
  description = "SecOps feed maximum file age: objects older than this many days are not ingested."
  type        = number
  default     = 180

  validation {
    condition     = var.secops_max_file_age_days >= 1 && var.secops_max_file_age_days <= 3650
    error_message = "secops_max_file_age_days must be between 1 and 3650."
  }
}

variable "secops_instance" {
  description = "Google SecOps instance in which to create one Google Cloud Storage V2 feed per stream (project, location such as us or europe, customer id). Null: create the feeds by hand with `provision feed-instructions`."
  type = object({
    project     = string
    location    = string
    customer_id = string
  })
  default = null

  validation {
    condition = var.secops_instance == null || (
      can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.secops_instance.project)) &&
      can(regex("^[a-z0-9-]+$", var.secops_instance.location)) &&
      can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.secops_instance.customer_id))
    )
    error_message = "secops_instance needs a project id, a location (us, europe, …) and the instance's customer id (a UUID)."
  }
}

variable "alerting_enabled" {
  description = "Create the log-based metric and the alert policies (no successful run, any ERROR, token expiry within 14 days)."
  type        = bool
  default     = false
}

variable "alert_emails" {
  description = "Email addresses that receive the alerts (one notification channel each)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.alert_emails : can(regex("^[^@\\s\"]+@[^@\\s\"]+\\.[a-z]+$", email))])
    error_message = "alert_emails must be email addresses."
  }
}

variable "alert_channel_ids" {
  description = "Existing Cloud Monitoring notification channels (projects/PROJECT/notificationChannels/ID) that receive the alerts."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.alert_channel_ids : can(regex("^projects/[a-z0-9-]+/notificationChannels/[0-9]+$", id))])
    error_message = "alert_channel_ids must look like projects/PROJECT/notificationChannels/ID."
  }
}

variable "dashboard_json" {
  description = "The Cloud Monitoring dashboard (its JSON, as provision render writes it to the root's dashboard.json); null: no dashboard. The module creates the log-based metrics it charts with it."
  type        = string
  default     = null

  # A dashboard charting a log-based metric this module does not create would show nothing: every
  # metric it names must be one of the dashboard metrics of var.service_name (dashboard.tf).
  validation {
    condition = var.dashboard_json == null ? true : can(jsondecode(var.dashboard_json)) && alltrue([
      for match in regexall("logging\\.googleapis\\.com/user/([A-Za-z0-9_.-]+)", var.dashboard_json) :
      contains([for suffix in ["stream-runs", "stream-events", "newest-event-age", "stream-duration", "token-days-left"] : "${var.service_name}-${suffix}"], match[0])
    ])
    error_message = "dashboard_json must be JSON whose log-based metrics (logging.googleapis.com/user/NAME) are the ones this module creates with the dashboard for var.service_name (SERVICE-stream-runs, -stream-events, -newest-event-age, -stream-duration, -token-days-left): render it again with provision render after changing collector.service_name, or leave dashboard_json unset (dashboard.enabled: false)."
  }
}

variable "alert_silence_seconds" {
  description = "Alert when no run succeeded for this long; twice the schedule's longest interval."
  type        = number
  default     = 7200

  validation {
    condition     = var.alert_silence_seconds >= 120 && var.alert_silence_seconds <= 84600
    error_message = "alert_silence_seconds must be between 120 and 84600 (Cloud Monitoring's longest absence window)."
  }
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose deploy workflow may build and roll out the collector through Workload Identity Federation. Empty: no CI deployer."
  type        = string
  default     = ""

  validation {
    condition     = var.github_repository == "" || can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "github_environment" {
  description = "The GitHub environment of the deploy job; only jobs in it may deploy (protect it with required reviewers or branch rules)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.github_environment))
    error_message = "github_environment must be an environment name such as production."
  }
}
