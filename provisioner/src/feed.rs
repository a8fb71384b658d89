//! What to enter in Google SecOps for each stream's feed (each account's and stream's, with several
//! accounts), "Google Cloud Storage V2" or, with `secops.feed: event_driven`, "Google Cloud Storage
//! (Event Driven)" with its Pub/Sub subscription; the grants the SecOps service account needs; and
//! the move from V2 feeds to event-driven ones without losing or repeating an object.

use contract::Stream;
use serde::Serialize;

use crate::config::{Config, FeedKind, SourceDeletion};
use crate::render::event_feed::EventFeed;

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
    /// Event-driven: the feed's Pub/Sub subscription (`projects/P/subscriptions/NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pubsub_subscription: Option<String>,
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
    /// Event-driven: the SecOps service account's grant on each feed's subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriber_grant: Option<SubscriberGrant>,
    /// Event-driven: moving from "Google Cloud Storage V2" feeds, step by step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub migration: Vec<String>,
}

/// The SecOps service account pulls each event-driven feed's subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriberGrant {
    /// The role, on each subscription only.
    pub role: String,
    /// The commands that grant it, one per subscription.
    pub commands: Vec<String>,
    /// Whether `provision apply` grants it (the config names the SecOps service account).
    pub automated: bool,
}

/// The steps from V2 feeds to event-driven ones: the collector's schedule is paused so that no
/// object is written while one kind of feed replaces the other (nothing is lost: the collector
/// resumes from its checkpoint), the V2 feeds take what was written before, and the bucket's
/// notifications announce only what is written after.
fn migration(config: &Config, engine: crate::render::Engine) -> Vec<String> {
    let job = format!(
        "{} --location {} --project {}",
        config.schedule.job_name, config.region, config.project_id
    );
    let apply = match engine {
        crate::render::Engine::Terraform => "provision apply",
        crate::render::Engine::Gcloud => "provision apply --engine gcloud",
    };
    vec![
        format!("pause the collector's schedule, so that no object is written while the feeds change: gcloud scheduler jobs pause {job}"),
        "wait until each V2 feed has ingested the newest object in its folder (SecOps: SIEM Settings > Feeds, the feed's last successful transfer is after the object's time): an object written before the notifications exist is sent to no event-driven feed".to_owned(),
        format!("with secops.feed: event_driven in the config, run {apply}: it creates the topic, the bucket's notifications and each feed's subscription{}", if engine == crate::render::Engine::Terraform && config.secops.instance.is_some() { ", and changes each feed to the event-driven source" } else { "; then create each event-driven feed below and delete each V2 feed in SecOps" }),
        format!("resume the schedule: gcloud scheduler jobs resume {job}; the next run collects everything the pause held back (from its checkpoint, nothing lost), and each new object is announced once to its feed"),
        format!("objects the V2 feeds already took are never sent again (a notification fires only for objects written after it exists); an event-driven feed skips objects older than its maximum file age ({} days), and a subscription keeps an unacknowledged announcement 7 days: a feed stopped for longer misses objects, which stay in the bucket", config.secops.max_file_age_days.min(config.bucket.retention_days)),
    ]
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
    let kind = config.secops.feed.get();
    let event_feed = EventFeed::of(config);
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
                source_type: kind.console_name().into(),
                pubsub_subscription: event_feed.as_ref().and_then(|event| {
                    event
                        .subscriptions
                        .iter()
                        .find(|sub| {
                            sub.stream == stream.name()
                                && sub.account.as_deref()
                                    == account.name.as_ref().map(|n| n.to_string()).as_deref()
                        })
                        .map(|sub| {
                            format!("projects/{}/subscriptions/{}", config.project_id, sub.name)
                        })
                }),
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
        subscriber_grant: event_feed.as_ref().map(|event| SubscriberGrant {
            role: "roles/pubsub.subscriber".into(),
            commands: event
                .subscriptions
                .iter()
                .map(|sub| {
                    format!(
                        "gcloud pubsub subscriptions add-iam-policy-binding {} --project {} --member serviceAccount:{} --role roles/pubsub.subscriber",
                        sub.name,
                        config.project_id,
                        config.secops.service_account.as_deref().unwrap_or("SECOPS_SERVICE_ACCOUNT"),
                    )
                })
                .collect(),
            automated: config.secops.service_account.is_some(),
        }),
        migration: if kind == FeedKind::EventDriven {
            migration(config, engine)
        } else {
            Vec::new()
        },
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
            "\n  {heading}\n    Feed name:           {name}\n    Source type:         {source}\n    Log type:            {log} ({id})\n    Storage bucket URL:  {url}\n{subscription}    Source deletion:     {deletion}\n    Maximum file age:    {age} days\n    Asset namespace:     {namespace}\n    Ingestion labels:    {labels}\n",
            subscription = feed
                .pubsub_subscription
                .as_deref()
                .map(|s| format!("    Pub/Sub subscription: {s}\n"))
                .unwrap_or_default(),
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
    if let Some(grant) = &i.subscriber_grant {
        if grant.automated {
            out.push_str(&format!(
                "The SecOps service account is granted {} on each feed's subscription by `provision apply`.\n",
                grant.role
            ));
        } else {
            out.push_str(&format!(
                "And grant it {} on each feed's subscription (only these):\n",
                grant.role
            ));
            for command in &grant.commands {
                out.push_str(&format!("  {command}\n"));
            }
        }
    }
    if !i.migration.is_empty() {
        out.push_str(
            "\nMoving from Google Cloud Storage V2 feeds, without losing or repeating an object:\n",
        );
        for (n, step) in i.migration.iter().enumerate() {
            out.push_str(&format!("  {}. {step}\n", n + 1));
        }
    }
    out
}
