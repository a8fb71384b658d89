//! What to enter in Google SecOps for each stream's "Google Cloud Storage V2" feed (each account's
//! and stream's, with several accounts), and the grant the SecOps service account needs.

use contract::Stream;
use serde::Serialize;

use crate::config::{Config, SourceDeletion};

/// One feed to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feed {
    /// The account, in a deployment of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The stream.
    pub stream: Stream,
    /// Suggested feed name.
    pub feed_name: String,
    /// Source type to pick.
    pub source_type: String,
    /// Log type to pick, as shown in the console.
    pub log_type: String,
    /// The log type's id.
    pub log_type_id: String,
    /// Storage bucket URL, with the prefix and the trailing slash.
    pub bucket_url: String,
    /// Recommended source deletion option.
    pub source_deletion: String,
    /// Maximum file age in days.
    pub max_file_age_days: u32,
    /// Suggested ingestion labels (with several accounts, `account=NAME` among them).
    pub ingestion_labels: Vec<String>,
    /// The asset namespace the account's config names, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_namespace: Option<String>,
}

/// All feeds and the bucket grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instructions {
    /// The bucket.
    pub bucket: String,
    /// One feed per stream (per account and stream, with several accounts).
    pub feeds: Vec<Feed>,
    /// Source deletion options and what each means.
    pub deletion_options: Vec<(String, String)>,
    /// The role the SecOps service account needs on the bucket (only this bucket).
    pub grant: String,
    /// The command that grants it.
    pub grant_command: String,
    /// Whether `provision apply` grants it (the config names the SecOps service account).
    pub grant_automated: bool,
    /// Whether Terraform creates the feeds (the config names the SecOps instance).
    pub feeds_automated: bool,
}

fn log_type(stream: Stream) -> (&'static str, &'static str, &'static str) {
    match stream {
        Stream::AuditEvents => (
            "1Password Audit Events",
            "1Password Audit Events",
            "ONEPASSWORD_AUDIT_EVENTS",
        ),
        Stream::SignInAttempts => ("1Password Sign-in Attempts", "1Password", "ONEPASSWORD"),
        Stream::ItemUsages => ("1Password Item Usages", "1Password", "ONEPASSWORD"),
    }
}

/// The instructions for `config`; `engine` decides whether the feeds are created for you (only
/// Terraform can create them, when the config names the SecOps instance).
pub fn instructions(config: &Config, engine: crate::render::Engine) -> Instructions {
    let deletion = config.secops.source_deletion.get();
    let role = match deletion {
        SourceDeletion::Never => "roles/storage.objectViewer",
        SourceDeletion::OnSuccess => "roles/storage.objectUser",
    };
    let mut feeds = Vec::new();
    for account in config.accounts() {
        for stream in account.streams.iter().copied() {
            let (name, log_type, id) = log_type(stream);
            let mut ingestion_labels = vec![format!("source=onepassword-{stream}")];
            if let Some(account) = &account.name {
                ingestion_labels.push(format!("account={account}"));
            }
            feeds.push(Feed {
                account: account.name.as_ref().map(ToString::to_string),
                feed_name: match &account.name {
                    None => format!("{name} Logs"),
                    Some(account) => format!("{name} Logs ({account})"),
                },
                source_type: "Google Cloud Storage V2".into(),
                log_type: log_type.into(),
                log_type_id: id.into(),
                bucket_url: format!(
                    "gs://{}/{}/",
                    config.bucket.name,
                    account.folder(config, stream)
                ),
                source_deletion: match deletion {
                    SourceDeletion::Never => "Never",
                    SourceDeletion::OnSuccess => "Delete transferred files and empty directories",
                }
                .into(),
                max_file_age_days: config
                    .secops
                    .max_file_age_days
                    .min(config.bucket.retention_days),
                ingestion_labels,
                asset_namespace: account.asset_namespace.clone(),
                stream,
            });
        }
    }
    Instructions {
        bucket: config.bucket.name.clone(),
        feeds,
        deletion_options: vec![
            ("Never".into(), "keeps every object; the bucket's lifecycle rule deletes them after retention_days (recommended)".into()),
            ("Delete transferred files".into(), "SecOps deletes each object after ingesting it; needs roles/storage.objectUser instead of objectViewer".into()),
            ("Delete transferred files and empty directories".into(), "as above, and removes emptied folders; needs roles/storage.objectUser".into()),
        ],
        grant: format!("{role} on gs://{} only", config.bucket.name),
        grant_command: format!(
            "gcloud storage buckets add-iam-policy-binding gs://{} --member serviceAccount:{} --role {role}",
            config.bucket.name,
            config.secops.service_account.as_deref().unwrap_or("SECOPS_SERVICE_ACCOUNT"),
        ),
        grant_automated: config.secops.service_account.is_some(),
        feeds_automated: engine == crate::render::Engine::Terraform && config.secops.instance.is_some(),
    }
}

/// The instructions as text for a person.
pub fn to_text(i: &Instructions) -> String {
    let several = i.feeds.iter().any(|f| f.account.is_some());
    let mut out = format!(
        "In Google SecOps: SIEM Settings > Feeds > Add New Feed > Configure a single feed, once per {}:\n",
        if several {
            "account and stream"
        } else {
            "stream"
        }
    );
    for feed in &i.feeds {
        let heading = match &feed.account {
            None => feed.stream.to_string(),
            Some(account) => format!("{account} / {}", feed.stream),
        };
        out.push_str(&format!(
            "\n  {heading}\n    Feed name:           {name}\n    Source type:         {source}\n    Log type:            {log} ({id})\n    Storage bucket URL:  {url}\n    Source deletion:     {deletion}\n    Maximum file age:    {age} days\n    Asset namespace:     {namespace}\n    Ingestion labels:    {labels}\n",
            namespace = feed
                .asset_namespace
                .as_deref()
                .unwrap_or("(leave empty unless you use namespaces)"),
            name = feed.feed_name,
            source = feed.source_type,
            log = feed.log_type,
            id = feed.log_type_id,
            url = feed.bucket_url,
            deletion = feed.source_deletion,
            age = feed.max_file_age_days,
            labels = feed.ingestion_labels.join(", "),
        ));
    }
    out.push_str("\nSource deletion options:\n");
    for (option, meaning) in &i.deletion_options {
        out.push_str(&format!("  - {option}: {meaning}\n"));
    }
    if i.grant_automated {
        out.push_str(&format!(
            "\nThe SecOps service account is granted {} by `provision apply`.\n",
            i.grant
        ));
    } else {
        out.push_str(&format!(
            "\nThen grant the SecOps service account (\"Get Service Account\" on the feed page) {}:\n  {}\n(or set secops.service_account in the config and `provision apply` grants it)\n",
            i.grant, i.grant_command
        ));
    }
    out
}
