//! `secops.feed`: how Google SecOps learns of new objects. A "Google Cloud Storage V2" feed lists the
//! bucket on its own schedule; an event-driven feed is told of each new object through a Pub/Sub
//! subscription that the bucket's notifications (one per stream folder) feed.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Config;
use super::closed::{Closed, alternatives, spelling};
use super::validate::Check;

/// How the SecOps feeds find new objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    /// "Google Cloud Storage V2": SecOps lists the stream's folder on its own schedule.
    StorageV2,
    /// "Google Cloud Storage (Event Driven)": the bucket notifies a Pub/Sub topic on each new
    /// object in a stream's folder; the feed pulls its own subscription and reads the object.
    EventDriven,
}

impl Closed for FeedKind {
    const ALL: &'static [Self] = &[FeedKind::StorageV2, FeedKind::EventDriven];
}

impl FeedKind {
    /// The feed's `feed_source_type` in the SecOps API and the provider.
    pub fn source_type(self) -> &'static str {
        match self {
            FeedKind::StorageV2 => "GOOGLE_CLOUD_STORAGE_V2",
            FeedKind::EventDriven => "GOOGLE_CLOUD_STORAGE_EVENT_DRIVEN",
        }
    }

    /// The source type as the SecOps console lists it.
    pub fn console_name(self) -> &'static str {
        match self {
            FeedKind::StorageV2 => "Google Cloud Storage V2",
            FeedKind::EventDriven => "Google Cloud Storage (Event Driven)",
        }
    }

    /// What the choice means, for messages.
    pub fn meaning(self) -> &'static str {
        match self {
            FeedKind::StorageV2 => "SecOps lists each stream's folder on its own schedule",
            FeedKind::EventDriven => {
                "the bucket notifies a Pub/Sub subscription per feed of each new object"
            }
        }
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&spelling(*self))
    }
}

/// The Pub/Sub topic the bucket's notifications publish to, named after the trigger topic.
pub fn notification_topic(trigger_topic: &str) -> String {
    format!("{trigger_topic}-secops-feed")
}

/// The subscription of one feed: `TOPIC-secops-STREAM`, or `TOPIC-secops-ACCOUNT-STREAM`.
pub fn subscription(trigger_topic: &str, account: Option<&str>, stream: &str) -> String {
    match account {
        None => format!("{trigger_topic}-secops-{stream}"),
        Some(account) => format!("{trigger_topic}-secops-{account}-{stream}"),
    }
}

/// The longest trigger topic with which every feed's subscription id still fits Pub/Sub's 255
/// characters: `-secops-` (8), an account name (at most 24) and `-` (1), the longest stream
/// name (`signinattempts`, 14).
pub const EVENT_DRIVEN_TOPIC_MAX: usize = 255 - 8 - 24 - 1 - 14;

/// The subscription's filter: only the notifications of objects in `folder` (no slashes at
/// either end), so one topic serves every feed and each feed sees only its own objects.
pub fn subscription_filter(folder: &str) -> String {
    format!("hasPrefix(attributes.objectId, \"{folder}/\")")
}

/// `secops.feed`: one of the kinds, and with `event_driven` a trigger topic short enough for every
/// feed's subscription id.
pub(super) fn validate(config: &Config, check: Check<'_>) {
    let feed = &config.secops.feed;
    check(
        feed.checked().is_ok(),
        "secops.feed",
        &feed.to_string(),
        &format!(
            "must be {}",
            alternatives(
                FeedKind::ALL
                    .iter()
                    .map(|kind| format!("{kind} ({})", kind.meaning()))
            )
        ),
    );
    if feed.checked() == Ok(FeedKind::EventDriven) {
        check(
            config.topic.len() <= EVENT_DRIVEN_TOPIC_MAX,
            "topic",
            &config.topic,
            &format!(
                "is longer than {EVENT_DRIVEN_TOPIC_MAX} characters; with secops.feed: event_driven each feed's \
                 subscription is named TOPIC-secops-ACCOUNT-STREAM, which must fit in Pub/Sub's 255: \
                 shorten topic"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_filters() {
        assert_eq!(notification_topic("t-1"), "t-1-secops-feed");
        assert_eq!(
            subscription("t-1", None, "auditevents"),
            "t-1-secops-auditevents"
        );
        assert_eq!(
            subscription("t-1", Some("acme"), "itemusages"),
            "t-1-secops-acme-itemusages"
        );
        assert_eq!(
            subscription_filter("a/b"),
            "hasPrefix(attributes.objectId, \"a/b/\")"
        );
        let longest = subscription(
            &"t".repeat(EVENT_DRIVEN_TOPIC_MAX),
            Some(&"a".repeat(24)),
            "signinattempts",
        );
        assert_eq!(longest.len(), 255);
        assert!(notification_topic(&"t".repeat(EVENT_DRIVEN_TOPIC_MAX)).len() <= 255);
    }

    #[test]
    fn source_types() {
        assert_eq!(FeedKind::StorageV2.source_type(), "GOOGLE_CLOUD_STORAGE_V2");
        assert_eq!(
            FeedKind::EventDriven.source_type(),
            "GOOGLE_CLOUD_STORAGE_EVENT_DRIVEN"
        );
        assert_eq!(FeedKind::EventDriven.to_string(), "event_driven");
    }
}
