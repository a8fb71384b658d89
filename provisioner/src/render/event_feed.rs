//! What the gcloud script needs for event-driven SecOps feeds (`secops.feed: event_driven`): the
//! topic the bucket's notifications publish to, one notification per stream folder, and one
//! subscription per feed filtered to the feed's folder, named as the Terraform module names them.

use serde::Serialize;

use crate::config::{Config, FeedKind, notification_topic, subscription, subscription_filter};

/// One feed's subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedSubscription {
    /// The account, in a deployment of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The stream.
    pub stream: String,
    /// Subscription id.
    pub name: String,
    /// The feed's folder, without slashes at either end.
    pub folder: String,
    /// Its filter: only notifications of objects in the folder.
    pub filter: String,
}

/// The event-driven feeds' Pub/Sub side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventFeed {
    /// The topic the notifications publish to.
    pub topic: String,
    /// Each stream's folder with a trailing slash: one notification each (never the checkpoints').
    pub prefixes: Vec<String>,
    /// One per feed (per stream, or per account and stream).
    pub subscriptions: Vec<FeedSubscription>,
}

impl EventFeed {
    /// The event-driven side of `config`; `None` with V2 feeds.
    pub fn of(config: &Config) -> Option<Self> {
        if config.secops.feed.get() != FeedKind::EventDriven {
            return None;
        }
        let mut subscriptions = Vec::new();
        for account in config.accounts() {
            let name = account.name.as_ref().map(ToString::to_string);
            for stream in account.streams.iter().copied() {
                let folder = account.folder(config, stream);
                subscriptions.push(FeedSubscription {
                    account: name.clone(),
                    stream: stream.name().to_owned(),
                    name: subscription(&config.topic, name.as_deref(), stream.name()),
                    filter: subscription_filter(&folder),
                    folder,
                });
            }
        }
        Some(EventFeed {
            topic: notification_topic(&config.topic),
            prefixes: config
                .stream_prefixes()
                .into_iter()
                .map(|(_, prefix)| format!("{prefix}/"))
                .collect(),
            subscriptions,
        })
    }
}
