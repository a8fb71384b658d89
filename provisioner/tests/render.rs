//! Snapshots of every rendered file for a minimal and a full config, `render --check`, and the feed
//! instructions.

use provisioner::config;
use provisioner::feed;
use provisioner::render::{self, Engine};

fn example(name: &str) -> config::Config {
    let path = format!("{}/examples/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    config::load(std::path::Path::new(&path)).unwrap()
}

#[test]
fn every_rendered_file_matches_its_snapshot() {
    for name in ["minimal", "full", "accounts", "event_driven", "fleet"] {
        let config = example(name);
        for engine in [Engine::Terraform, Engine::Gcloud] {
            for file in render::render(&config, engine).unwrap() {
                if file.path.contains("/modules/") {
                    // The module is `terraform/` embedded verbatim (the next test); terraform fmt
                    // and checkov check it in lint.rs.
                    continue;
                }
                let snapshot = format!("{name}__{}", file.path.replace('/', "__"));
                insta::assert_snapshot!(snapshot, file.contents);
            }
        }
    }
}

#[test]
fn the_embedded_module_is_the_terraform_folder() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../terraform");
    let mut on_disk: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tf"))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = render::MODULE_FILES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    embedded.sort();
    assert_eq!(
        embedded, on_disk,
        "every .tf file of the module is embedded, or the rendered root is missing part of it"
    );
}

#[test]
fn the_starter_config_round_trips_to_the_guides_defaults() {
    let config = config::parse("starter", config::STARTER).unwrap();
    assert_eq!(config.bucket.name, "onepassword-audit-secops-logs");
    assert_eq!(config.collector.service_name, "onepassword-audit-collector");
    assert_eq!(config.topic, "onepassword-audit-trigger");
    assert_eq!(
        config.schedule.job_name,
        "onepassword-audit-collector-hourly"
    );
    assert_eq!(
        (
            config.schedule.cron.as_str(),
            config.schedule.time_zone.as_str()
        ),
        ("* * * * *", "UTC")
    );
    assert_eq!(config.streams(), [onepassword_events::Stream::AuditEvents]);
    assert_eq!(config.events_base_url(), "https://events.1password.com");
    let minimal = example("minimal");
    assert_eq!(
        (minimal.bucket, minimal.topic, minimal.schedule),
        (config.bucket, config.topic, config.schedule)
    );
}

/// Every member of each closed set, written into the starter where `provision init` puts it, is
/// read as that member, and a parsed config written back as YAML reads back the same.
#[test]
fn every_choice_round_trips_through_the_starter() {
    use config::{Closed as _, SourceDeletion, StorageClass};
    use onepassword_events::Stream;

    let starter = config::parse("starter", config::STARTER).unwrap();
    assert_eq!(starter.bucket.storage_class.get(), StorageClass::Standard);
    assert_eq!(starter.secops.source_deletion.get(), SourceDeletion::Never);
    assert_eq!(starter.streams(), [Stream::AuditEvents]);

    let with = |from: &str, to: &str| {
        assert!(
            config::STARTER.contains(from),
            "the starter has no {from:?}"
        );
        let text = config::STARTER.replacen(from, to, 1);
        let config = config::parse("edited starter", &text).unwrap();
        let written = yaml_serde::to_string(&config).unwrap();
        assert_eq!(config::parse("written back", &written).unwrap(), config);
        config
    };
    for class in StorageClass::ALL {
        let config = with(
            "storage_class: STANDARD",
            &format!("storage_class: {}", config::spelling(*class)),
        );
        assert_eq!(config.bucket.storage_class.get(), *class);
    }
    for option in SourceDeletion::ALL {
        let config = with(
            "source_deletion: never",
            &format!("source_deletion: {}", config::spelling(*option)),
        );
        assert_eq!(config.secops.source_deletion.get(), *option);
    }
    assert_eq!(starter.secops.feed.get(), config::FeedKind::StorageV2);
    for kind in config::FeedKind::ALL {
        let config = with(
            "  feed: storage_v2",
            &format!("  feed: {}", config::spelling(*kind)),
        );
        assert_eq!(config.secops.feed.get(), *kind);
    }
    let all = Stream::ALL.map(|s| s.name()).join("\n  - ");
    let config = with("  - auditevents", &format!("  - {all}"));
    assert_eq!(config.streams(), Stream::ALL);
}

#[test]
fn check_reports_drift_with_a_diff() {
    let config = example("full");
    let files = render::render(&config, Engine::Terraform).unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(
        !render::drift(dir.path(), &files).unwrap().is_empty(),
        "nothing on disk yet"
    );
    render::write(dir.path(), &files).unwrap();
    assert_eq!(render::drift(dir.path(), &files).unwrap(), "");
    let main = dir.path().join(render::files::TF_MAIN);
    let edited = std::fs::read_to_string(&main)
        .unwrap()
        .replace("europe-west1", "us-east1");
    std::fs::write(&main, edited).unwrap();
    let drift = render::drift(dir.path(), &files).unwrap();
    assert!(
        drift.contains("-  region  = \"us-east1\"")
            && drift.contains("+  region  = \"europe-west1\""),
        "{drift}"
    );
}

#[test]
fn check_names_stray_files_but_not_terraforms_own() {
    let config = example("minimal");
    let files = render::render(&config, Engine::Terraform).unwrap();
    let dir = tempfile::tempdir().unwrap();
    render::write(dir.path(), &files).unwrap();
    let tf = dir.path().join("terraform");
    std::fs::create_dir_all(tf.join(".terraform/providers")).unwrap();
    for own in [
        ".terraform/providers/p",
        ".terraform.lock.hcl",
        "terraform.tfstate",
        "terraform.tfstate.backup",
        "tfplan",
    ] {
        std::fs::write(tf.join(own), "x").unwrap();
    }
    assert_eq!(render::drift(dir.path(), &files).unwrap(), "");
    std::fs::write(tf.join("modules/onepassword-secops/old.tf"), "x").unwrap();
    assert_eq!(
        render::drift(dir.path(), &files).unwrap(),
        "stray file: terraform/modules/onepassword-secops/old.tf (a render does not write it)\n"
    );
}

#[test]
fn write_refuses_symbolic_links_and_never_follows_them() {
    let config = example("minimal");
    let files = render::render(&config, Engine::Gcloud).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();

    // A link where a rendered file goes.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("gcloud")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join(render::files::GCLOUD_DEPLOY)).unwrap();
    let error = render::write(dir.path(), &files).unwrap_err();
    assert!(
        matches!(&error, render::WriteError::NotRegular(p) if p.ends_with(render::files::GCLOUD_DEPLOY)),
        "{error}"
    );
    assert!(error.to_string().contains("symbolic link"), "{error}");

    // A link where a rendered folder goes.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("gcloud")).unwrap();
    let error = render::write(dir.path(), &files).unwrap_err();
    assert!(
        matches!(&error, render::WriteError::NotRegular(p) if p.ends_with("gcloud")),
        "{error}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!outside.path().join("deploy.sh").exists());
}

#[test]
fn feed_instructions_text_and_json() {
    for name in ["minimal", "full", "accounts", "event_driven", "fleet"] {
        let instructions = feed::instructions(&example(name), Engine::Terraform);
        insta::assert_snapshot!(format!("{name}__feed_text"), feed::to_text(&instructions));
        insta::assert_json_snapshot!(format!("{name}__feed_json"), instructions);
    }
}

#[test]
fn only_terraform_creates_the_feeds() {
    let config = example("full");
    assert!(feed::instructions(&config, Engine::Terraform).feeds_automated);
    let by_hand = feed::instructions(&config, Engine::Gcloud);
    assert!(!by_hand.feeds_automated && by_hand.grant_automated);
    assert!(feed::to_text(&by_hand).starts_with("In Google SecOps: SIEM Settings > Feeds"));
}

#[test]
fn the_events_host_is_explicit_or_the_default() {
    let minimal = example("minimal");
    assert_eq!(
        minimal.explicit_events_base_url(),
        None,
        "check-token then reads the token's aud claim"
    );
    assert_eq!(minimal.events_base_url(), "https://events.1password.com");
    let full = example("full");
    assert_eq!(
        full.explicit_events_base_url().as_deref(),
        Some("https://events.1password.eu")
    );
    let custom = config::parse("c", "project_id: acme-secops-prod\nregion: us-central1\nevents_api: https://events.example.com/\n").unwrap();
    assert_eq!(custom.events_base_url(), "https://events.example.com");
}
