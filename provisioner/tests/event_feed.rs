//! The event-driven SecOps feed (`secops.feed: event_driven`) as rendered: the module's resources
//! and the feed's source, storage_v2 unchanged, the consequence of an event-driven feed without
//! `secops.instance` (everything but the feeds is created, and feed-instructions says how to make
//! them), and the migration's gcloud lines checked by the real gcloud.

mod support;

use provisioner::config;
use provisioner::feed;
use provisioner::render::{self, Engine};
use support::workspace;

fn example_text(name: &str) -> String {
    std::fs::read_to_string(workspace().join(format!("provisioner/examples/{name}.yaml"))).unwrap()
}

fn rendered(config: &config::Config, engine: Engine, path: &str) -> String {
    render::render(config, engine)
        .unwrap()
        .into_iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} not rendered"))
        .contents
}

#[test]
fn the_module_notifies_only_the_stream_folders_and_each_feed_pulls_its_own_subscription() {
    let notification =
        support::module_resource("feed.tf", "google_storage_notification", "secops_feed");
    for needle in [
        "for_each = local.event_driven ? local.stream_prefixes : {}",
        "payload_format     = \"JSON_API_V1\"",
        "event_types        = [\"OBJECT_FINALIZE\"]",
        "object_name_prefix = \"${each.value}/\"",
        "depends_on = [google_pubsub_topic_iam_member.gcs_publishes_secops_feed]",
    ] {
        assert!(notification.contains(needle), "{needle}: {notification}");
    }
    assert!(!notification.contains("checkpoint"), "{notification}");
    let subscription =
        support::module_resource("feed.tf", "google_pubsub_subscription", "secops_feed");
    for needle in [
        "for_each = local.event_driven ? local.feeds : {}",
        "filter                     = \"hasPrefix(attributes.objectId, \\\"${each.value.folder}/\\\")\"",
        "ttl = \"\"",
    ] {
        assert!(subscription.contains(needle), "{needle}: {subscription}");
    }
    let subscriber = support::module_resource(
        "feed.tf",
        "google_pubsub_subscription_iam_member",
        "secops_subscriber",
    );
    assert!(subscriber.contains("role         = \"roles/pubsub.subscriber\""));
    assert!(subscriber.contains("var.secops_service_account"));
    let publisher = support::module_resource(
        "feed.tf",
        "google_pubsub_topic_iam_member",
        "gcs_publishes_secops_feed",
    );
    assert!(
        publisher
            .contains("data.google_storage_project_service_account.gcs_agent[0].email_address")
    );

    // One feed resource, either source: exactly one settings block at a time.
    let chronicle = support::module_resource("feed.tf", "google_chronicle_feed", "stream");
    for needle in [
        "feed_source_type = local.event_driven ? \"GOOGLE_CLOUD_STORAGE_EVENT_DRIVEN\" : \"GOOGLE_CLOUD_STORAGE_V2\"",
        "dynamic \"gcs_v2_settings\" {\n      for_each = local.event_driven ? [] : [each.value.folder]",
        "dynamic \"google_cloud_storage_event_driven_settings\" {\n      for_each = local.event_driven ? [each.value.folder] : []",
        "pubsub_subscription    = google_pubsub_subscription.secops_feed[each.key].id",
        "google_pubsub_subscription_iam_member.secops_subscriber",
        "google_storage_notification.secops_feed",
    ] {
        assert!(chronicle.contains(needle), "{needle}: {chronicle}");
    }
    // No create_before_destroy: Terraform would pass it on to the subscriptions, and one replaced
    // under its own name could not be created while the old one exists (see the block's comment).
    assert!(
        !chronicle.contains("create_before_destroy = true"),
        "{chronicle}"
    );
}

#[test]
fn storage_v2_renders_no_event_driven_input_and_event_driven_passes_it() {
    for name in ["minimal", "full", "accounts"] {
        let config = config::parse(name, &example_text(name)).unwrap();
        assert_eq!(config.secops.feed.get(), config::FeedKind::StorageV2);
        let main = rendered(&config, Engine::Terraform, render::files::TF_MAIN);
        assert!(!main.contains("secops_feed "), "{name}");
        let deploy = rendered(&config, Engine::Gcloud, render::files::GCLOUD_DEPLOY);
        assert!(!deploy.contains("FEED_TOPIC"), "{name}");
        let destroy = rendered(&config, Engine::Gcloud, render::files::GCLOUD_DESTROY);
        assert!(!destroy.contains("notifications"), "{name}");
    }
    let config = config::parse("e", &example_text("event_driven")).unwrap();
    let main = rendered(&config, Engine::Terraform, render::files::TF_MAIN);
    let root: serde_json::Value = hcl::from_str(&main).unwrap();
    assert_eq!(
        root["module"]["onepassword_secops"]["secops_feed"],
        "event_driven"
    );
}

/// With several accounts, one notification per stream folder and one subscription per account
/// and stream, each filtered to the account's own folder.
#[test]
fn several_accounts_get_a_subscription_each_filtered_to_their_folder() {
    let text = example_text("accounts").replace("secops:\n", "secops:\n  feed: event_driven\n");
    let config = config::parse("accounts", &text).unwrap();
    let event = render::event_feed::EventFeed::of(&config).unwrap();
    assert_eq!(event.topic, "onepassword-audit-trigger-secops-feed");
    assert_eq!(
        event.prefixes,
        [
            "onepassword-audit/",
            "onepassword-signinattempts/",
            "onepassword-itemusages/"
        ]
    );
    let subscriptions: Vec<(&str, &str)> = event
        .subscriptions
        .iter()
        .map(|s| (s.name.as_str(), s.filter.as_str()))
        .collect();
    assert!(subscriptions.contains(&(
        "onepassword-audit-trigger-secops-globex-eu-itemusages",
        "hasPrefix(attributes.objectId, \"onepassword-itemusages/globex-eu/\")"
    )));
    assert!(subscriptions.contains(&(
        "onepassword-audit-trigger-secops-acme-auditevents",
        "hasPrefix(attributes.objectId, \"onepassword-audit/acme/\")"
    )));
    // acme and globex-eu collect two and three streams, initech one.
    assert_eq!(subscriptions.len(), 2 + 3 + 1);
    let instructions = feed::instructions(&config, Engine::Terraform);
    for f in &instructions.feeds {
        let account = f.account.as_deref().unwrap();
        assert_eq!(
            f.pubsub_subscription.as_deref(),
            Some(
                format!(
                    "projects/mssp-secops-prod/subscriptions/onepassword-audit-trigger-secops-{account}-{}",
                    f.stream
                )
                .as_str()
            )
        );
    }
}

/// Event-driven without `secops.instance`: a stated consequence, not a half-made deployment. The
/// topic, notifications, subscriptions and grants are rendered in both engines (everything an
/// event-driven feed needs but the feed), and feed-instructions gives each feed's source type,
/// bucket URL and subscription, and the grants to make by hand without `secops.service_account`.
#[test]
fn event_driven_without_the_instance_creates_all_but_the_feeds_and_says_how_to_make_them() {
    let text = example_text("event_driven");
    let start = text.find("  instance:\n").unwrap();
    let end = text.find("alerting:").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]).replace(
        "  service_account: chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com\n",
        "",
    );
    let config = config::parse("no-instance", &without).unwrap();
    assert!(config.secops.instance.is_none() && config.secops.service_account.is_none());

    let main = rendered(&config, Engine::Terraform, render::files::TF_MAIN);
    assert!(main.contains("secops_feed                  = \"event_driven\""));
    assert!(!main.contains("secops_instance"));
    let deploy = rendered(&config, Engine::Gcloud, render::files::GCLOUD_DEPLOY);
    assert!(
        deploy.contains("    secops_feed\n"),
        "the service phase runs it"
    );

    for engine in [Engine::Terraform, Engine::Gcloud] {
        let instructions = feed::instructions(&config, engine);
        assert!(!instructions.feeds_automated);
        let grant = instructions.subscriber_grant.as_ref().unwrap();
        assert!(!grant.automated);
        assert_eq!(grant.commands.len(), 2);
        let text = feed::to_text(&instructions);
        for needle in [
            "Source type:         Google Cloud Storage (Event Driven)",
            "Pub/Sub subscription: projects/acme-secops-prod/subscriptions/onepassword-audit-trigger-secops-auditevents",
            "Storage bucket URL:  gs://acme-onepassword-events/onepassword-signinattempts/",
            "And grant it roles/pubsub.subscriber on each feed's subscription (only these):\n  gcloud pubsub subscriptions add-iam-policy-binding onepassword-audit-trigger-secops-auditevents --project acme-secops-prod --member serviceAccount:SECOPS_SERVICE_ACCOUNT --role roles/pubsub.subscriber",
            "then create each event-driven feed below and delete each V2 feed in SecOps",
        ] {
            assert!(text.contains(needle), "{needle}\n{text}");
        }
        let json = serde_json::to_value(&instructions).unwrap();
        assert_eq!(
            json["feeds"][1]["pubsub_subscription"],
            "projects/acme-secops-prod/subscriptions/onepassword-audit-trigger-secops-signinattempts"
        );
    }
}

/// Every gcloud line feed-instructions prints for an event-driven feed (the grants and the
/// migration's pause and resume) is one the real gcloud parses; the migration's order is pause,
/// wait for the V2 feeds, apply, resume.
#[test]
fn the_migration_and_grant_lines_parse_with_the_real_gcloud() {
    let text = example_text("event_driven").replace(
        "  service_account: chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com\n",
        "",
    );
    let config = config::parse("e", &text).unwrap();
    let instructions = feed::instructions(&config, Engine::Terraform);
    let steps = &instructions.migration;
    assert_eq!(steps.len(), 5, "{steps:#?}");
    assert!(steps[0].contains("gcloud scheduler jobs pause"));
    assert!(steps[1].starts_with("wait until each V2 feed has ingested the newest object"));
    assert!(steps[2].contains("provision apply"));
    assert!(steps[3].contains("gcloud scheduler jobs resume"));
    assert!(steps[4].contains("never sent again") && steps[4].contains("7 days"));

    let mut lines: Vec<String> = steps
        .iter()
        .filter_map(|step| {
            let at = step.find("gcloud ")?;
            Some(step[at..].split(';').next().unwrap().trim().to_owned())
        })
        .collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    lines.extend(instructions.subscriber_grant.unwrap().commands);
    lines.push(instructions.grant_command.clone());
    let check = testkit::ParseCheck::new();
    let cwd = tempfile::tempdir().unwrap();
    for line in &lines {
        let words: Vec<&str> = line.split(' ').skip(1).collect();
        check
            .check(&words, cwd.path(), b"")
            .unwrap_or_else(|e| panic!("gcloud refused {line}: {e}"));
    }
    // And it would refuse a wrong one: the check is not vacuous.
    assert!(
        check
            .check(
                &["scheduler", "jobs", "pause", "j", "--bogus-flag"],
                cwd.path(),
                b""
            )
            .is_err()
    );
}
