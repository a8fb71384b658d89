//! The deploy half judged by the real tools: every gcloud line the rendered scripts and the CI
//! build script can emit is parsed by the real gcloud (both branches of every describe-then-create,
//! minimal and full config), and each failure the first real deployments would have met has a test
//! here: a describe that fails for another reason than NOT_FOUND, alert policies for a metric
//! Cloud Monitoring does not know yet, destroy with events in the bucket, leftovers of alerting,
//! uploads of local state, a build source without a Dockerfile, label drift after CI deploys.

mod support;

use provisioner::config;
use provisioner::render::{self, Engine};
use support::{
    ACCESS_TOKEN, MIRROR, RELEASE_DIGEST, bash, config_dir, lines, provision, provision_with,
    registries, released, stand_ins, text, workspace,
};
use testkit::{Reply, StandIns};

const TOKEN: &str = "provision-test-token-value";

/// Renders `example` for the gcloud engine into a temp folder.
fn gcloud_scripts(example: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config =
        config::load(&workspace().join(format!("provisioner/examples/{example}.yaml"))).unwrap();
    render::write(
        dir.path(),
        &render::render(&config, Engine::Gcloud).unwrap(),
    )
    .unwrap();
    dir
}

/// gcloud answers as in a project where nothing exists yet.
fn absent(s: &mut StandIns) {
    s.on(
        "gcloud",
        &["describe", "--format"],
        Reply::ok("https://collector-abc-uc.a.run.app\n"),
    );
    s.on(
        "gcloud",
        &["describe"],
        Reply::fail(
            1,
            "ERROR: (gcloud.x.describe) NOT_FOUND: Resource not found\n",
        ),
    );
}

/// gcloud answers as in a project where everything exists.
fn present(s: &mut StandIns) {
    s.on(
        "gcloud",
        &["describe", "--format"],
        Reply::ok("https://collector-abc-uc.a.run.app\n"),
    );
    s.on("gcloud", &["describe"], Reply::ok("name: exists\n"));
    s.on(
        "gcloud",
        &["channels", "list"],
        Reply::ok("projects/acme/notificationChannels/17\n"),
    );
    s.on(
        "gcloud",
        &["policies", "list"],
        Reply::ok("projects/acme/alertPolicies/42\n"),
    );
    s.on(
        "gcloud",
        &["dashboards", "list"],
        Reply::ok("projects/acme/dashboards/7\n"),
    );
}

/// Runs every phase of deploy.sh and destroy.sh (both ways) of `example` with gcloud answering
/// `world`, asserting that the real gcloud accepted every line; returns the lines.
fn every_line_parses(example: &str, label: &str, world: fn(&mut StandIns)) -> Vec<String> {
    let dir = gcloud_scripts(example);
    let mut s = stand_ins();
    world(&mut s);
    let env = [("METRIC_WAIT_SECONDS", "0")];
    for (script, args) in [
        ("gcloud/deploy.sh", &["foundation"][..]),
        ("gcloud/deploy.sh", &["service"][..]),
        ("gcloud/destroy.sh", &[][..]),
        ("gcloud/destroy.sh", &["--delete-events"][..]),
    ] {
        let out = bash(&s, dir.path(), &dir.path().join(script), args, &env);
        let (_, stderr) = text(&out);
        assert!(
            out.status.success(),
            "{script} {args:?} failed:\n{stderr}\nrejected: {:#?}",
            s.parse_errors()
        );
    }
    assert_eq!(s.parse_errors(), Vec::<String>::new());
    let lines = lines(&s.calls());
    eprintln!(
        "{example}/{label}: the real gcloud parsed {} calls",
        lines.len()
    );
    lines
}

#[test]
fn every_gcloud_line_of_the_minimal_scripts_parses_in_both_branches() {
    let created = every_line_parses("minimal", "absent", absent);
    let updated = every_line_parses("minimal", "present", present);
    for (lines, needle) in [
        (
            &created,
            "gcloud run deploy onepassword-audit-collector --image",
        ),
        (
            &updated,
            "gcloud run services update onepassword-audit-collector",
        ),
        (&created, "gcloud scheduler jobs create pubsub"),
        (&updated, "gcloud scheduler jobs update pubsub"),
        (
            &created,
            "gcloud logging metrics create onepassword-audit-collector-stream-runs",
        ),
        (
            &updated,
            "gcloud logging metrics update onepassword-audit-collector-token-days-left",
        ),
        (&created, "gcloud monitoring dashboards create --project"),
        (
            &updated,
            "gcloud monitoring dashboards update projects/acme/dashboards/7 --project",
        ),
        (
            &updated,
            "gcloud monitoring dashboards delete projects/acme/dashboards/7",
        ),
        (
            &updated,
            "gcloud logging metrics delete onepassword-audit-collector-newest-event-age",
        ),
        (&created, "gcloud pubsub subscriptions create"),
        (&updated, "gcloud pubsub subscriptions update"),
        (&updated, "gcloud scheduler jobs delete"),
        (&updated, "gcloud storage rm --recursive --all-versions"),
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(needle)),
            "{needle} not in {lines:#?}"
        );
    }
    // Request-based CPU (as Terraform's cpu_idle) on create and update alike.
    for line in created.iter().chain(&updated).filter(|l| {
        l.starts_with("gcloud run deploy") || l.starts_with("gcloud run services update")
    }) {
        assert!(line.contains("--cpu-throttling"), "{line}");
    }
    // The APIs the script's own calls need, Cloud Resource Manager (projects describe) included.
    assert!(
        created
            .iter()
            .any(|l| l.starts_with("gcloud services enable")
                && l.contains("cloudresourcemanager.googleapis.com"))
    );
}

#[test]
fn every_gcloud_line_of_the_full_scripts_parses_in_both_branches() {
    let created = every_line_parses("full", "absent", absent);
    let updated = every_line_parses("full", "present", present);
    for (lines, needle) in [
        (&created, "gcloud logging metrics create"),
        (&updated, "gcloud logging metrics update"),
        (&created, "gcloud beta monitoring channels create"),
        (&created, "gcloud alpha monitoring policies create"),
        (&updated, "gcloud alpha monitoring policies update"),
        (
            &updated,
            "gcloud alpha monitoring policies delete projects/acme/alertPolicies/42",
        ),
        (
            &updated,
            "gcloud beta monitoring channels delete projects/acme/notificationChannels/17",
        ),
        (&updated, "gcloud logging metrics delete"),
        (&created, "gcloud storage buckets add-iam-policy-binding"),
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(needle)),
            "{needle} not in {lines:#?}"
        );
    }
    // The config's size (collector.cpu 2, collector.memory 1Gi) and concurrency 2, on create and
    // update alike, as the real gcloud parsed them.
    let service_lines: Vec<&String> = created
        .iter()
        .chain(&updated)
        .filter(|l| {
            l.starts_with("gcloud run deploy") || l.starts_with("gcloud run services update")
        })
        .collect();
    assert_eq!(service_lines.len(), 2, "{service_lines:#?}");
    for line in service_lines {
        for flag in [
            "--cpu 2",
            "--memory 1Gi",
            "--concurrency 2",
            "--max-instances 1",
        ] {
            assert!(line.contains(flag), "{flag} not in {line}");
        }
    }
}

#[test]
fn every_gcloud_line_of_the_three_account_scripts_parses_in_both_branches() {
    let created = every_line_parses("accounts", "absent", absent);
    let updated = every_line_parses("accounts", "present", present);
    for lines in [&created, &updated] {
        for secret in [
            "onepassword-events-token-acme",
            "onepassword-events-token-globex-eu",
            "initech-1password-token",
        ] {
            assert!(
                lines
                    .iter()
                    .any(|l| l
                        .starts_with(&format!("gcloud secrets add-iam-policy-binding {secret} "))),
                "the collector reads {secret}: {lines:#?}"
            );
        }
        let service = lines
            .iter()
            .find(|l| {
                l.starts_with("gcloud run deploy") || l.starts_with("gcloud run services update")
            })
            .unwrap();
        assert!(
            service.contains("--set-secrets OP_BEARER_TOKEN_ACME=onepassword-events-token-acme:latest,OP_BEARER_TOKEN_GLOBEX_EU=onepassword-events-token-globex-eu:latest,OP_BEARER_TOKEN_INITECH=initech-1password-token:latest"),
            "{service}"
        );
        assert!(
            service.contains("ACCOUNTS=acme,globex-eu,initech"),
            "{service}"
        );
    }
    for (lines, needle) in [
        (
            &created,
            "gcloud logging metrics create onepassword-audit-collector-successful-account-runs --project mssp-secops-prod --config-from-file",
        ),
        (
            &updated,
            "gcloud logging metrics update onepassword-audit-collector-successful-account-runs --project mssp-secops-prod --config-from-file",
        ),
        (&created, "gcloud alpha monitoring policies create"),
        (&updated, "gcloud secrets delete initech-1password-token"),
        (
            &updated,
            "gcloud logging metrics delete onepassword-audit-collector-successful-account-runs",
        ),
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(needle)),
            "{needle} not in {lines:#?}"
        );
    }
}

#[test]
fn every_gcloud_line_of_the_fleet_scripts_parses_and_each_service_gets_its_share() {
    let created = every_line_parses("fleet", "absent", absent);
    let updated = every_line_parses("fleet", "present", present);
    // Round robin in the list's order: acme, initech, hooli on the first service; globex and
    // umbrella on the second.
    let shares = [
        (
            "op-fleet-collector ",
            "ACCOUNTS=acme,hooli,initech@",
            ["ACME", "HOOLI", "INITECH"].as_slice(),
        ),
        (
            "op-fleet-collector-2 ",
            "ACCOUNTS=globex,umbrella@",
            ["GLOBEX", "UMBRELLA"].as_slice(),
        ),
    ];
    for (lines, verb) in [
        (&created, "gcloud run deploy "),
        (&updated, "gcloud run services update "),
    ] {
        let services: Vec<&String> = lines.iter().filter(|l| l.starts_with(verb)).collect();
        assert_eq!(services.len(), 2, "{services:#?}");
        for (line, (name, accounts, tokens)) in services.iter().zip(shares) {
            assert!(line.starts_with(&format!("{verb}{name}")), "{line}");
            assert!(line.contains(accounts), "{accounts} not in {line}");
            let secrets = tokens
                .iter()
                .map(|t| {
                    format!(
                        "OP_BEARER_TOKEN_{t}=op-fleet-token-{}:latest",
                        t.to_lowercase()
                    )
                })
                .collect::<Vec<_>>()
                .join(",");
            assert!(
                line.contains(&format!("--set-secrets {secrets} "))
                    || line.ends_with(&format!("--set-secrets {secrets}")),
                "{secrets} not in {line}"
            );
        }
    }
    for (lines, needle) in [
        (
            &created,
            "gcloud pubsub subscriptions create onepassword-audit-trigger-push --topic onepassword-audit-trigger",
        ),
        (
            &created,
            "gcloud pubsub subscriptions create onepassword-audit-trigger-push-2 --topic onepassword-audit-trigger",
        ),
        (
            &updated,
            "gcloud pubsub subscriptions update onepassword-audit-trigger-push-2 ",
        ),
        (
            &created,
            "gcloud run services add-iam-policy-binding op-fleet-collector-2 ",
        ),
        (&updated, "gcloud run services delete op-fleet-collector-2 "),
        (
            &updated,
            "gcloud pubsub subscriptions delete onepassword-audit-trigger-push-2 ",
        ),
        (&updated, "gcloud run services delete op-fleet-collector "),
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(needle)),
            "{needle} not in {lines:#?}"
        );
    }
    // One schedule ticks both services.
    assert_eq!(
        created
            .iter()
            .filter(|l| l.starts_with("gcloud scheduler jobs create pubsub "))
            .count(),
        1
    );
}

/// Cloud Storage's service agent, as `gcloud storage service-agent` prints it.
const GCS_AGENT: &str = "service-123456789@gs-project-accounts.iam.gserviceaccount.com";

/// A project where nothing exists yet, for the event-driven feed: the bucket has no notification.
fn absent_event_feed(s: &mut StandIns) {
    s.on(
        "gcloud",
        &["storage service-agent"],
        Reply::ok(format!("{GCS_AGENT}\n")),
    );
    s.on("gcloud", &["notifications list"], Reply::ok(""));
    absent(s);
}

/// A project where everything exists: both stream folders already notify the feed's topic.
fn present_event_feed(s: &mut StandIns) {
    s.on(
        "gcloud",
        &["storage service-agent"],
        Reply::ok(format!("{GCS_AGENT}\n")),
    );
    let topic = "//pubsub.googleapis.com/projects/acme-secops-prod/topics/onepassword-audit-trigger-secops-feed";
    // Listed as ID, TOPIC, PREFIX: this deployment's two, and another topic's (kept by destroy.sh;
    // its prefix does not stand in for this topic's notification).
    s.on(
        "gcloud",
        &["notifications list"],
        Reply::ok(format!(
            "7\t{topic}\tonepassword-audit/\n8\t{topic}\tonepassword-signinattempts/\n9\t//pubsub.googleapis.com/projects/other/topics/x\tonepassword-audit/\n"
        )),
    );
    present(s);
}

#[test]
fn every_gcloud_line_of_the_event_driven_scripts_parses_in_both_branches() {
    let created = every_line_parses("event_driven", "absent", absent_event_feed);
    let updated = every_line_parses("event_driven", "present", present_event_feed);
    let topic = "onepassword-audit-trigger-secops-feed";
    for (lines, needle) in [
        (&created, format!("gcloud pubsub topics create {topic} --project acme-secops-prod --message-retention-duration 7d")),
        (&created, format!("gcloud pubsub topics add-iam-policy-binding {topic} --project acme-secops-prod --member serviceAccount:{GCS_AGENT} --role roles/pubsub.publisher")),
        (&created, format!("gcloud storage buckets notifications create gs://acme-onepassword-events --project acme-secops-prod --topic projects/acme-secops-prod/topics/{topic} --skip-topic-setup --event-types OBJECT_FINALIZE --object-prefix onepassword-audit/ --payload-format json")),
        (&created, format!("gcloud storage buckets notifications create gs://acme-onepassword-events --project acme-secops-prod --topic projects/acme-secops-prod/topics/{topic} --skip-topic-setup --event-types OBJECT_FINALIZE --object-prefix onepassword-signinattempts/ --payload-format json")),
        (&created, format!("gcloud pubsub subscriptions create onepassword-audit-trigger-secops-auditevents --topic {topic} --message-filter hasPrefix(attributes.objectId, \"onepassword-audit/\") --project acme-secops-prod --ack-deadline 600 --message-retention-duration 7d --expiration-period never")),
        (&created, "gcloud pubsub subscriptions add-iam-policy-binding onepassword-audit-trigger-secops-signinattempts --project acme-secops-prod --member serviceAccount:chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com --role roles/pubsub.subscriber".to_owned()),
        (&updated, "gcloud pubsub subscriptions update onepassword-audit-trigger-secops-auditevents --project acme-secops-prod --ack-deadline 600".to_owned()),
        (&updated, "gcloud storage buckets notifications delete projects/_/buckets/acme-onepassword-events/notificationConfigs/7 ".to_owned()),
        (&updated, "gcloud storage buckets notifications delete projects/_/buckets/acme-onepassword-events/notificationConfigs/8 ".to_owned()),
        (&updated, "gcloud pubsub subscriptions delete onepassword-audit-trigger-secops-signinattempts".to_owned()),
        (&updated, format!("gcloud pubsub topics delete {topic}")),
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(&needle)),
            "{needle} not in {lines:#?}"
        );
    }
    // A notification is created only where the folder has none for the topic (a second one would
    // send every object twice); another topic's notification is never deleted.
    let creates = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.starts_with("gcloud storage buckets notifications create"))
            .count()
    };
    assert_eq!(creates(&created), 2, "one per stream folder: {created:#?}");
    assert_eq!(creates(&updated), 0, "{updated:#?}");
    assert!(
        !updated.iter().any(|l| l.contains("notificationConfigs/9")),
        "{updated:#?}"
    );
    // Only the stream folders are notified, never the checkpoints.
    assert!(
        !created
            .iter()
            .any(|l| l.contains("notifications create") && l.contains("onepassword-secops-state")),
        "{created:#?}"
    );
}

/// The files the alerting step hands gcloud (`--policy-from-file`, `--config-from-file`) are read
/// with the API's own message classes gcloud ships: no field the API does not know.
#[test]
fn every_alert_policy_and_metric_file_is_one_the_apis_read() {
    for example in ["full", "accounts"] {
        let dir = gcloud_scripts(example);
        let mut s = StandIns::new();
        absent(&mut s);
        s.add("gcloud");
        let out = bash(
            &s,
            dir.path(),
            &dir.path().join("gcloud/deploy.sh"),
            &["service"],
            &[("METRIC_WAIT_SECONDS", "0")],
        );
        assert!(out.status.success(), "{}", text(&out).1);
        let mut checked = Vec::new();
        for call in s.calls() {
            let config_kind = if call.args.iter().any(|a| a == "dashboards") {
                testkit::ApiMessage::Dashboard
            } else {
                testkit::ApiMessage::LogMetric
            };
            for (flag, kind) in [
                ("--policy-from-file", testkit::ApiMessage::AlertPolicy),
                ("--config-from-file", config_kind),
            ] {
                let Some(at) = call.args.iter().position(|a| a == flag) else {
                    continue;
                };
                let document = &call.files[&call.args[at + 1]];
                testkit::check_message(kind, document)
                    .unwrap_or_else(|e| panic!("{example} {flag}: {e}\n{document}"));
                checked.push(flag);
            }
        }
        let policies = checked
            .iter()
            .filter(|f| **f == "--policy-from-file")
            .count();
        assert_eq!(policies, 3, "{example}: every alert policy is checked");
        let metric_files = checked
            .iter()
            .filter(|f| **f == "--config-from-file")
            .count();
        // The dashboard's five metrics and the dashboard itself, and with several accounts the
        // per-account alert metric.
        assert_eq!(
            metric_files,
            5 + 1 + usize::from(example == "accounts"),
            "{example}: the per-account metric is a config file"
        );
    }
}

#[test]
fn only_not_found_means_absent_any_other_describe_failure_stops_the_script() {
    let dir = gcloud_scripts("minimal");
    let mut s = stand_ins();
    s.on(
        "gcloud",
        &["describe"],
        Reply::fail(
            1,
            "ERROR: (gcloud.storage.buckets.describe) HTTPError 403: caller does not have storage.buckets.get access\n",
        ),
    );
    let out = bash(
        &s,
        dir.path(),
        &dir.path().join("gcloud/deploy.sh"),
        &["foundation"],
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("HTTPError 403"),
        "gcloud's message: {stderr}"
    );
    assert!(
        stderr.contains("cannot tell whether this exists"),
        "{stderr}"
    );
    assert!(
        !lines(&s.calls()).iter().any(|l| l.contains(" create ")),
        "nothing is created on a failed describe"
    );

    // A transient error on the service must not redeploy the config's image over CI's.
    let mut s = stand_ins();
    s.on(
        "gcloud",
        &["run", "services", "describe"],
        Reply::fail(
            1,
            "ERROR: (gcloud.run.services.describe) UNAVAILABLE: try again\n",
        ),
    );
    let out = bash(
        &s,
        dir.path(),
        &dir.path().join("gcloud/deploy.sh"),
        &["service"],
        &[],
    );
    assert!(!out.status.success());
    assert!(!lines(&s.calls()).iter().any(|l| l.contains("--image")));
}

#[test]
fn destroy_without_credentials_fails_with_gclouds_message() {
    // The real gcloud, no stand-in: an empty config has no account, so every describe fails for
    // that reason, which must not read as "already gone".
    let dir = config_dir("minimal");
    let s = StandIns::new();
    let home = tempfile::tempdir().unwrap();
    let out = provision_with(
        dir.path(),
        &s,
        &["destroy", "--engine", "gcloud"],
        None,
        &[("CLOUDSDK_CONFIG", home.path().to_str().unwrap())],
    );
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("You do not currently have an active account selected"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("kept gs://"),
        "no success message: {stdout}"
    );
}

/// What Cloud Monitoring answers for a policy that names a metric it does not know yet.
const UNKNOWN_METRIC: &str = "ERROR: NOT_FOUND: Cannot find metric(s) that match type = \"logging.googleapis.com/user/op-events-collector-successful-runs\".\n";

/// How many calls so far match `pick`.
fn count(s: &StandIns, pick: impl Fn(&str) -> bool) -> usize {
    lines(&s.calls()).iter().filter(|l| pick(l)).count()
}

/// Runs the full config's `deploy.sh service` in an empty project, policy creation answering
/// `replies` in turn.
fn gcloud_service_with_policy_replies(replies: Vec<Reply>) -> (std::process::Output, StandIns) {
    let dir = gcloud_scripts("full");
    let mut s = stand_ins();
    absent(&mut s);
    s.on_seq("gcloud", &["policies", "create"], replies);
    let out = bash(
        &s,
        dir.path(),
        &dir.path().join("gcloud/deploy.sh"),
        &["service"],
        &[("METRIC_WAIT_SECONDS", "0")],
    );
    (out, s)
}

#[test]
fn alert_policies_wait_for_a_new_metric_in_the_gcloud_script() {
    let (out, s) = gcloud_service_with_policy_replies(vec![
        Reply::fail(1, UNKNOWN_METRIC),
        Reply::fail(1, UNKNOWN_METRIC),
        Reply::ok("Created alert policy.\n"),
    ]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting for Cloud Monitoring to know the new log-based metric op-events-collector-successful-runs (attempt 1 of 20"),
        "{stderr}"
    );
    let creates = count(&s, |l| l.contains("policies create"));
    assert_eq!(creates, 2 + 3, "two refused, then all three policies");

    // Any other failure stops at once.
    let (out, s) = gcloud_service_with_policy_replies(vec![Reply::fail(
        1,
        "ERROR: PERMISSION_DENIED: monitoring.alertPolicies.create\n",
    )]);
    assert!(!out.status.success());
    assert_eq!(count(&s, |l| l.contains("policies create")), 1);
}

/// Runs `provision apply --keep-token` of the full config (alerting on) with the released image,
/// the Terraform applies answering `replies` in turn (the first is the foundation's).
fn terraform_apply_with_replies(replies: Vec<Reply>) -> (std::process::Output, StandIns) {
    let dir = config_dir("full");
    let mut s = stand_ins();
    released(&mut s);
    s.on_seq("terraform", &["apply", "-auto-approve"], replies);
    let out = provision_with(
        dir.path(),
        &s,
        &["apply", "--keep-token"],
        None,
        &[("METRIC_WAIT_SECONDS", "0")],
    );
    (out, s)
}

#[test]
fn terraform_apply_waits_for_a_new_metric_when_alerting_is_on() {
    let (out, s) = terraform_apply_with_replies(vec![
        Reply::ok(""),
        Reply::fail(
            1,
            format!("Error: Error creating AlertPolicy: googleapi: Error 404: {UNKNOWN_METRIC}"),
        ),
        Reply::ok("Apply complete!\n"),
    ]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("waiting for Cloud Monitoring to know the new log-based metric op-events-collector-successful-runs"), "{stderr}");
    assert!(
        stderr.contains("Cannot find metric"),
        "terraform's output streams through: {stderr}"
    );
    let whole = |l: &str| {
        l.starts_with("terraform apply -input=false -auto-approve") && !l.contains("-target")
    };
    assert_eq!(count(&s, whole), 2);

    // Another failure is not retried.
    let (out, s) = terraform_apply_with_replies(vec![
        Reply::ok(""),
        Reply::fail(1, "Error: 403 permission denied\n"),
    ]);
    assert!(!out.status.success());
    assert_eq!(count(&s, |l| l.starts_with("terraform apply")), 2);
}

#[test]
fn terraform_destroy_keeps_the_events_explicitly_or_deletes_them_when_asked() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    s.on(
        "terraform",
        &["state", "list"],
        Reply::ok("module.onepassword_secops.google_storage_bucket.logs\nmodule.onepassword_secops.google_pubsub_topic.trigger\n"),
    );
    let out = provision(dir.path(), &s, &["destroy"], None);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        lines(&s.calls()),
        [
            "terraform init -input=false",
            "terraform state list",
            "terraform state rm module.onepassword_secops.google_storage_bucket.logs",
            "terraform destroy -input=false -auto-approve",
        ]
    );
    assert!(
        stdout.contains("kept gs://onepassword-audit-secops-logs and its events")
            && stdout.contains("provision destroy --delete-events"),
        "{stdout}"
    );

    let s = stand_ins();
    let out = provision(dir.path(), &s, &["destroy", "--delete-events"], None);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let calls = lines(&s.calls());
    assert_eq!(
        calls.last().unwrap(),
        "gcloud storage rm --recursive --all-versions gs://onepassword-audit-secops-logs --project acme-secops-prod"
    );
    assert!(
        stdout.contains("deleted gs://onepassword-audit-secops-logs"),
        "{stdout}"
    );
    assert_eq!(s.parse_errors(), Vec::<String>::new());
}

#[test]
fn a_build_source_without_a_dockerfile_is_named_before_anything_runs() {
    let dir = config_dir("minimal");
    std::fs::remove_file(dir.path().join("Dockerfile")).unwrap();
    let s = stand_ins();
    for args in [
        &["deploy", "--build", "--tag", "v1"][..],
        &["apply", "--build"][..],
    ] {
        let out = provision(dir.path(), &s, args, Some(TOKEN));
        let (_, stderr) = text(&out);
        assert!(!out.status.success());
        assert!(
            stderr.contains("has no Dockerfile") && stderr.contains("--source"),
            "{stderr}"
        );
    }
    assert!(s.calls().is_empty(), "nothing ran: {:#?}", s.calls());
}

#[test]
fn a_schedule_too_sparse_for_the_silence_alert_is_refused_with_alerting_on() {
    let full = std::fs::read_to_string(workspace().join("provisioner/examples/full.yaml")).unwrap();
    let cron = |c: &str| {
        let mut yaml: yaml_serde::Value = yaml_serde::from_str(&full).unwrap();
        yaml["schedule"]["cron"] = yaml_serde::Value::String(c.to_owned());
        yaml_serde::to_string(&yaml).unwrap()
    };
    let error = config::parse("daily.yaml", &cron("0 0 * * *"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("schedule.cron")
            && error.contains("23.5 hours")
            && error.contains("alerting.enabled: false"),
        "{error}"
    );
    // Twelve hours apart: twice that is over the limit, but the limit still outlasts a gap.
    let twelve = config::parse("twelve.yaml", &cron("0 */12 * * *")).unwrap();
    let deploy = render::render(&twelve, Engine::Gcloud).unwrap();
    assert!(
        deploy[0].contents.contains(r#""duration":"84600s""#),
        "{}",
        deploy[0].contents
    );
}

#[test]
fn uncommenting_any_setting_of_the_starter_config_keeps_it_valid() {
    let starter = config::STARTER;
    let mut tried = 0;
    for (index, line) in starter.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix("# ") else {
            continue;
        };
        let is_setting = rest.split_once(':').is_some_and(|(key, _)| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
        if !is_setting {
            continue;
        }
        let indent = &line[..line.len() - trimmed.len()];
        let edited: Vec<String> = starter
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == index {
                    format!("{indent}{rest}")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        let text = edited.join("\n");
        if let Err(error) = config::parse("starter.yaml", &text) {
            panic!(
                "uncommenting line {} ({line:?}) breaks the config: {error}",
                index + 1
            );
        }
        tried += 1;
    }
    assert!(tried >= 6, "only {tried} commented settings found");
}

#[test]
fn cloud_build_uploads_no_local_state_config_or_credentials() {
    // A copy of the tracked files plus what an operator's checkout and a CI runner hold.
    let tree = tempfile::tempdir().unwrap();
    let listed = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(workspace())
        .output()
        .unwrap();
    for path in listed.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = std::str::from_utf8(path).unwrap();
        let from = workspace().join(path);
        if !from.is_file() {
            continue;
        }
        let to = tree.path().join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
    std::fs::copy(
        workspace().join(".gcloudignore"),
        tree.path().join(".gcloudignore"),
    )
    .unwrap();
    let planted = [
        "deploy/terraform/terraform.tfstate",
        "deploy/terraform/terraform.tfstate.backup",
        "deploy/terraform/tfplan",
        "deploy/terraform/.terraform/providers/p",
        "deploy/gcloud/deploy.sh",
        "onepassword-secops.yaml",
        "gha-creds-0123456789abcdef.json",
        "target/debug/collector",
        ".tools/bin/x",
    ];
    for path in planted {
        let path = tree.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "local").unwrap();
    }
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(testkit::tool("gcloud"))
        .args(["meta", "list-files-for-upload", "."])
        .current_dir(tree.path())
        .env("CLOUDSDK_CONFIG", home.path())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let uploaded: Vec<&str> = stdout.lines().collect();
    for path in planted {
        assert!(!uploaded.contains(&path), "{path} would be uploaded");
    }
    for path in [
        "Dockerfile",
        "Cargo.toml",
        "Cargo.lock",
        "collector/src/main.rs",
        "templates/onepassword-secops.yaml",
    ] {
        assert!(
            uploaded.contains(&path),
            "{path} is needed by the build: {uploaded:#?}"
        );
    }
}

#[test]
fn the_ci_build_script_polls_cloud_build_and_fails_with_the_build() {
    let script = workspace().join("scripts/cloud-build.sh");
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let env = [("CLOUD_BUILD_POLL_SECONDS", "0")];
    let args = [
        "acme",
        "acme-builds",
        "us-central1-docker.pkg.dev/acme/r/collector:abc",
        "collector-builder@acme.iam.gserviceaccount.com",
        ".",
    ];

    let mut s = stand_ins();
    s.on("gcloud", &["builds", "submit"], Reply::ok("b-123\n"));
    s.on_seq(
        "gcloud",
        &["builds", "describe", "--format", "value(status)"],
        vec![
            Reply::ok("QUEUED\n"),
            Reply::ok("WORKING\n"),
            Reply::ok("SUCCESS\n"),
        ],
    );
    let out = bash(&s, cwd.path(), &script, &args, &env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(s.parse_errors(), Vec::<String>::new());
    let calls = lines(&s.calls());
    assert_eq!(
        calls[0],
        "gcloud builds submit --project acme --async --gcs-source-staging-dir gs://acme-builds/source --service-account projects/acme/serviceAccounts/collector-builder@acme.iam.gserviceaccount.com --gcs-log-dir gs://acme-builds/logs --tag us-central1-docker.pkg.dev/acme/r/collector:abc --format value(id) ."
    );
    assert_eq!(calls.len(), 4, "{calls:#?}");

    let mut s = stand_ins();
    s.on("gcloud", &["builds", "submit"], Reply::ok("b-124\n"));
    s.on(
        "gcloud",
        &["--format", "value(status)"],
        Reply::ok("FAILURE\n"),
    );
    s.on(
        "gcloud",
        &["--format", "value(logUrl)"],
        Reply::ok("https://console.cloud.google.com/cloud-build/builds/b-124\n"),
    );
    let out = bash(&s, cwd.path(), &script, &args, &env);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("ended FAILURE") && stderr.contains("builds/b-124"),
        "{stderr}"
    );
}

#[test]
fn the_deploy_workflow_builds_with_the_polling_script_and_adds_no_labels() {
    let workflow: yaml_serde::Value = yaml_serde::from_str(
        &std::fs::read_to_string(workspace().join(".github/workflows/deploy-collector.yml"))
            .unwrap(),
    )
    .unwrap();
    let steps = workflow["jobs"]["deploy"]["steps"].as_sequence().unwrap();
    let deploy = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("google-github-actions/deploy-cloudrun@"))
        })
        .unwrap();
    assert_eq!(deploy["with"]["skip_default_labels"].as_bool(), Some(true));
    let build = steps
        .iter()
        .find(|s| s["run"].as_str().is_some_and(|r| r.contains("cloud-build")))
        .unwrap();
    assert!(
        build["run"]
            .as_str()
            .unwrap()
            .starts_with("bash scripts/cloud-build.sh")
    );
}

#[test]
fn every_iam_grant_of_the_module_is_in_the_readme_security_table() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let mut grants = Vec::new();
    for file in ["main.tf", "ci.tf", "feed.tf"] {
        let text = std::fs::read_to_string(workspace().join("terraform").join(file)).unwrap();
        for line in text.lines() {
            let line = line.trim();
            if let Some(role) = line.strip_prefix("role") {
                let role = role.trim_start_matches([' ', '=']).trim_matches('"');
                if role.starts_with("roles/") {
                    grants.push(role.to_owned());
                }
            }
        }
    }
    assert!(grants.len() >= 12, "{grants:?}");
    let missing: Vec<&String> = grants
        .iter()
        .filter(|r| !readme.contains(r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "granted but not documented in README: {missing:?}"
    );
}

#[test]
fn the_module_grants_orders_and_bills_as_a_first_real_deployment_needs() {
    // Released images come through a remote repository with a common (not the deprecated custom)
    // upstream, as gcloud's --remote-docker-repo URL creates it.
    let releases =
        support::module_resource("main.tf", "google_artifact_registry_repository", "releases");
    assert!(
        releases.contains("mode          = \"REMOTE_REPOSITORY\"")
            && releases.contains("common_repository {")
            && releases.contains("uri = var.release_upstream")
            && !releases.contains("custom_repository {"),
        "{releases}"
    );
    // Request-based CPU, as the gcloud engine's --cpu-throttling.
    let service = support::module_resource("main.tf", "google_cloud_run_v2_service", "collector");
    assert!(service.contains("cpu_idle = true"), "{service}");
    // The silence alert sums across revisions, grouped by service (and by account, with several),
    // in PromQL with metric validation off (tests/alerting.rs evaluates and parses the query).
    let silence =
        support::module_resource("alerting.tf", "google_monitoring_alert_policy", "silence");
    assert!(
        silence.contains("condition_prometheus_query_language {")
            && silence.contains("disable_metric_validation = true"),
        "{silence}"
    );
    let alerting = std::fs::read_to_string(workspace().join("terraform/alerting.tf")).unwrap();
    assert!(
        alerting.contains("sum by (service_name, account) (sum_over_time(")
            && alerting.contains("sum by (service_name) (sum_over_time("),
        "{alerting}"
    );
    // What `gcloud builds submit --gcs-source-staging-dir` needs of the deployer.
    let bucket_read = support::module_resource(
        "ci.tf",
        "google_storage_bucket_iam_member",
        "deployer_reads_staging_bucket",
    );
    assert!(
        bucket_read.contains("google_storage_bucket.build_staging[0].name")
            && bucket_read.contains("roles/storage.legacyBucketReader"),
        "{bucket_read}"
    );
    let usage = support::module_resource(
        "ci.tf",
        "google_project_iam_member",
        "deployer_uses_services",
    );
    assert!(
        usage.contains("roles/serviceusage.serviceUsageConsumer"),
        "{usage}"
    );
    let ci = std::fs::read_to_string(workspace().join("terraform/ci.tf")).unwrap();
    assert!(
        !ci.contains("roles/viewer"),
        "the build is polled, not streamed"
    );
    // APIs first, and what reads the project waits for Cloud Resource Manager.
    let main = std::fs::read_to_string(workspace().join("terraform/main.tf")).unwrap();
    assert!(main.contains("\"cloudresourcemanager.googleapis.com\""));
    for (file, kind, name, waits_for) in [
        (
            "ci.tf",
            "google_service_account",
            "deployer",
            "google_project_service.required",
        ),
        (
            "ci.tf",
            "google_storage_bucket",
            "build_staging",
            "google_project_service.required",
        ),
        (
            "feed.tf",
            "google_chronicle_feed",
            "stream",
            "google_storage_bucket_iam_member.secops_reader",
        ),
    ] {
        let block = support::module_resource(file, kind, name);
        let depends = block
            .split("depends_on")
            .nth(1)
            .unwrap_or_else(|| panic!("{kind}.{name} has no depends_on"));
        assert!(
            depends.contains(waits_for),
            "{kind}.{name} must wait for {waits_for}"
        );
    }
    let data = main
        .split("data \"google_project\" \"this\" {")
        .nth(1)
        .unwrap()
        .split('}')
        .next()
        .unwrap();
    assert!(
        data.contains("depends_on = [google_project_service.resource_manager]"),
        "{data}"
    );
}

#[test]
fn workflows_use_the_current_major_release_of_each_action() {
    let majors = [
        ("actions/checkout", 7),
        ("google-github-actions/auth", 3),
        ("google-github-actions/setup-gcloud", 3),
        ("google-github-actions/deploy-cloudrun", 3),
        ("actions/upload-artifact", 7),
        ("actions/download-artifact", 8),
        ("actions/attest-build-provenance", 4),
        ("docker/setup-buildx-action", 4),
        ("docker/login-action", 4),
        ("docker/build-push-action", 7),
    ];
    for workflow in ["ci.yml", "deploy-collector.yml", "release.yml"] {
        let text =
            std::fs::read_to_string(workspace().join(".github/workflows").join(workflow)).unwrap();
        for line in text.lines().filter(|l| l.contains("uses:")) {
            let action = line.split("uses:").nth(1).unwrap().trim();
            let (name, rest) = action.split_once('@').unwrap();
            let version: u32 = rest
                .split_once("# v")
                .map(|(_, v)| v.split('.').next().unwrap().parse().unwrap())
                .unwrap_or_else(|| panic!("{line} has no version comment"));
            let (_, major) = majors
                .iter()
                .find(|(known, _)| *known == name)
                .unwrap_or_else(|| panic!("{name} is not a known action here: add its major"));
            assert!(
                version >= *major,
                "{workflow}: {line} is older than v{major}"
            );
        }
    }
}

#[test]
fn apply_deploys_a_released_version_pinned_by_digest_without_any_build() {
    for engine in ["terraform", "gcloud"] {
        let dir = config_dir("minimal");
        let config = dir.path().join("onepassword-secops.yaml");
        let text_before = std::fs::read_to_string(&config).unwrap();
        assert!(!text_before.contains("collector:"));
        std::fs::write(
            &config,
            format!("{text_before}collector:\n  version: 0.3.0\n"),
        )
        .unwrap();
        let mut s = stand_ins();
        let registries = released(&mut s);
        absent(&mut s);
        let out = provision(dir.path(), &s, &["apply", "--engine", engine], Some(TOKEN));
        let (_, stderr) = text(&out);
        assert!(out.status.success(), "{engine}: {stderr}");
        let calls = lines(&s.calls());
        assert!(
            !calls.iter().any(|l| l.contains("builds submit")),
            "{engine}: a released version needs no Cloud Build: {calls:#?}"
        );
        let mirror = MIRROR;
        assert!(
            !calls.iter().any(|l| l.contains("images describe")),
            "{engine}: the digest comes from the registry protocol, not a metadata call: {calls:#?}"
        );
        let heads: Vec<String> = registries
            .mirror
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.target))
            .collect();
        assert_eq!(
            heads,
            [format!(
                "HEAD /v2/{}/manifests/0.3.0",
                mirror.split_once('/').unwrap().1
            )],
            "{engine}"
        );
        let pinned = format!("{mirror}@{RELEASE_DIGEST}");
        let rendered = match engine {
            "terraform" => "deploy/terraform/main.tf",
            _ => "deploy/gcloud/deploy.sh",
        };
        let file = std::fs::read_to_string(dir.path().join(rendered)).unwrap();
        assert!(
            file.contains(&pinned),
            "{engine}: the service runs the pinned image:\n{file}"
        );
        let release_repository = if engine == "gcloud" {
            "RELEASE_REPOSITORY='onepassword-secops-releases'"
        } else {
            "release_repository_id        = \"onepassword-secops-releases\""
        };
        assert!(
            file.contains(release_repository),
            "{engine}: the remote repository the pinned image comes through stays rendered:\n{file}"
        );
        if engine == "gcloud" {
            assert!(
                calls.iter().any(|l| l.starts_with(&format!(
                    "gcloud run deploy onepassword-audit-collector --image {pinned}"
                ))),
                "{calls:#?}"
            );
            assert!(
                calls.iter().any(|l| l.starts_with(
                    "gcloud artifacts repositories create onepassword-secops-releases"
                ) && l
                    .contains("--mode remote-repository --remote-docker-repo https://ghcr.io")),
                "{calls:#?}"
            );
        }
        assert_eq!(s.parse_errors(), Vec::<String>::new());
    }
}

#[test]
fn a_version_that_was_never_released_is_named_with_the_way_out() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    // Neither the remote repository nor the release registry knows the version.
    let registries = registries(&mut s);
    let out = provision(dir.path(), &s, &["apply", "--keep-token"], None);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!(
            "no released collector image {}",
            env!("CARGO_PKG_VERSION")
        )) && stderr.contains("--build")
            && stderr.contains("collector.version"),
        "the provisioner's own version by default, and what to do: {stderr}"
    );
    assert!(
        !lines(&s.calls())
            .iter()
            .any(|l| l.contains("deploy.sh service")
                || l == "terraform apply -input=false -auto-approve"),
        "nothing is created without an image"
    );
    assert!(
        stderr.contains("404") && !stderr.contains(ACCESS_TOKEN),
        "both registries' answers, never the access token: {stderr}"
    );
    assert_eq!(registries.mirror.requests().len(), 1);
    assert!(
        !registries.upstream.requests().is_empty(),
        "the release registry is asked when the remote repository does not answer"
    );
}

/// Defect 2 of issue 23: a remote repository that was just created has cached nothing, so
/// Artifact Registry's metadata call (`gcloud artifacts docker images describe`) answers NOT_FOUND
/// for a released tag (the stand-in answers so); the registry protocol's manifest `HEAD` pulls the
/// image through and answers its digest, which the service is deployed by.
#[test]
fn a_fresh_remote_repository_answers_the_digest_through_the_registry_protocol() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    let registries = released(&mut s);
    s.on(
        "gcloud",
        &["artifacts", "docker", "images", "describe"],
        Reply::fail(1, "ERROR: (gcloud.artifacts.docker.images.describe) NOT_FOUND: Requested entity was not found.\n"),
    );
    absent(&mut s);
    let out = provision(
        dir.path(),
        &s,
        &["apply", "--engine", "gcloud"],
        Some(TOKEN),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains(ACCESS_TOKEN) && !stderr.contains(ACCESS_TOKEN));
    let pinned = format!("{MIRROR}@{RELEASE_DIGEST}");
    assert!(
        lines(&s.calls()).iter().any(|l| l.starts_with(&format!(
            "gcloud run deploy onepassword-audit-collector --image {pinned}"
        ))),
        "the service runs the digest the registry answered"
    );
    let heads = registries.mirror.requests();
    assert_eq!(heads.len(), 1, "{heads:#?}");
    let head = &heads[0];
    assert_eq!(head.method, "HEAD");
    assert_eq!(
        head.header("authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    let accept = head.header("accept").unwrap();
    for media_type in [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ] {
        assert!(accept.contains(media_type), "{accept}");
    }
    assert!(registries.upstream.requests().is_empty());
}

/// When the remote repository does not answer (here: it has not got the tag), the digest comes
/// from the release registry with an anonymous pull token, and the service still pulls through
/// the remote repository by that digest.
#[test]
fn the_release_registry_answers_when_the_remote_repository_does_not() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    let registries = registries(&mut s);
    let upstream_digest = format!("sha256:{}", "2".repeat(64));
    registries.upstream.serve(
        "onepassword-secops/onepassword-secops/collector",
        env!("CARGO_PKG_VERSION"),
        &upstream_digest,
    );
    absent(&mut s);
    let out = provision(
        dir.path(),
        &s,
        &["apply", "--keep-token", "--engine", "gcloud"],
        None,
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the remote repository did not answer"),
        "{stderr}"
    );
    let pinned = format!("{MIRROR}@{upstream_digest}");
    assert!(
        lines(&s.calls()).iter().any(|l| l.starts_with(&format!(
            "gcloud run deploy onepassword-audit-collector --image {pinned}"
        ))),
        "{stderr}"
    );
    let asked: Vec<String> = registries
        .upstream
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target.split('?').next().unwrap()))
        .collect();
    assert_eq!(
        asked,
        [
            format!(
                "HEAD /v2/onepassword-secops/onepassword-secops/collector/manifests/{}",
                env!("CARGO_PKG_VERSION")
            ),
            "GET /token".to_owned(),
            format!(
                "HEAD /v2/onepassword-secops/onepassword-secops/collector/manifests/{}",
                env!("CARGO_PKG_VERSION")
            ),
        ],
        "the anonymous token flow"
    );
}

#[test]
fn deploy_rolls_a_release_by_digest_and_builds_only_when_asked() {
    let dir = config_dir("minimal");
    let mut s = stand_ins();
    let registries = released(&mut s);
    let out = provision(
        dir.path(),
        &s,
        &["deploy", "--version", "0.4.1", "--format", "json"],
        None,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let calls = lines(&s.calls());
    assert!(
        !calls.iter().any(|l| l.contains("builds submit")),
        "{calls:#?}"
    );
    let result: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        stdout,
        format!("{}\n", serde_json::to_string_pretty(&result).unwrap()),
        "pretty JSON, as every command prints it"
    );
    assert!(
        result["image"]
            .as_str()
            .unwrap()
            .ends_with(&format!("collector@{RELEASE_DIGEST}"))
    );
    assert_eq!(result["digest"], RELEASE_DIGEST);
    assert!(calls.iter().any(|l| {
        l.starts_with("gcloud run deploy onepassword-audit-collector --image")
            && l.contains(RELEASE_DIGEST)
    }));
    assert!(
        registries
            .mirror
            .requests()
            .iter()
            .any(|r| r.method == "HEAD" && r.target.ends_with("/manifests/0.4.1")),
        "the version asked for is the tag read"
    );
    assert_eq!(s.parse_errors(), Vec::<String>::new());
    // --version and --build exclude each other.
    let out = provision(
        dir.path(),
        &s,
        &["deploy", "--version", "0.4.1", "--build"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn provision_and_collector_report_the_same_version_and_commit() {
    let provision = std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
        .arg("--version")
        .output()
        .unwrap();
    let provision = String::from_utf8(provision.stdout).unwrap();
    assert_eq!(provision.trim(), format!("provision {}", buildinfo::LONG));
    assert!(buildinfo::LONG.starts_with(env!("CARGO_PKG_VERSION")));
}

#[test]
fn apply_with_several_accounts_stores_each_token_in_its_own_secret_on_stdin_only() {
    let tokens = [
        (
            "OP_BEARER_TOKEN_ACME",
            "acme-token-value",
            "onepassword-events-token-acme",
        ),
        (
            "OP_BEARER_TOKEN_GLOBEX_EU",
            "globex-token-value",
            "onepassword-events-token-globex-eu",
        ),
        (
            "OP_BEARER_TOKEN_INITECH",
            "initech-token-value",
            "initech-1password-token",
        ),
    ];
    let env: Vec<(&str, &str)> = tokens
        .iter()
        .map(|(variable, token, _)| (*variable, *token))
        .chain([("METRIC_WAIT_SECONDS", "0")])
        .collect();
    for engine in ["terraform", "gcloud"] {
        let dir = config_dir("accounts");
        let mut s = stand_ins();
        released(&mut s);
        absent(&mut s);
        let out = provision_with(dir.path(), &s, &["apply", "--engine", engine], None, &env);
        assert!(out.status.success(), "{engine}: {}", text(&out).1);
        let calls = s.calls();
        let adds: Vec<_> = calls
            .iter()
            .filter(|c| {
                c.args
                    .starts_with(&["secrets".into(), "versions".into(), "add".into()])
            })
            .collect();
        assert_eq!(adds.len(), 3, "{engine}: {:#?}", lines(&calls));
        for ((_, token, secret), add) in tokens.iter().zip(&adds) {
            assert_eq!(add.args[3], *secret, "{engine}");
            assert_eq!(
                add.stdin.trim(),
                *token,
                "{engine}: the token travels on stdin"
            );
        }
        for call in &calls {
            for (_, token, _) in &tokens {
                assert!(
                    !call.args.iter().any(|a| a.contains(token)),
                    "{engine}: a token in argv of {call:?}"
                );
            }
        }
        if engine == "terraform" {
            assert!(
                lines(&calls).iter().any(|l| l.contains(
                    "-target=module.onepassword_secops.google_secret_manager_secret.account_token"
                )),
                "the account secrets exist before their versions"
            );
        }
    }

    // An account added later: only its token is read and stored; the others' secrets are kept.
    let dir = config_dir("accounts");
    let mut s = stand_ins();
    released(&mut s);
    let out = provision_with(
        dir.path(),
        &s,
        &["apply", "--account", "initech"],
        Some("initech-new-token\n"),
        &[("METRIC_WAIT_SECONDS", "0")],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let adds: Vec<_> = s
        .calls()
        .into_iter()
        .filter(|c| {
            c.args
                .starts_with(&["secrets".into(), "versions".into(), "add".into()])
        })
        .collect();
    assert_eq!(adds.len(), 1);
    assert_eq!(adds[0].args[3], "initech-1password-token");
    assert_eq!(adds[0].stdin.trim(), "initech-new-token");

    // Without a token for every account, nothing runs, and the error names the variable.
    let dir = config_dir("accounts");
    let s = stand_ins();
    let out = provision_with(
        dir.path(),
        &s,
        &["apply"],
        None,
        &[("OP_BEARER_TOKEN_ACME", "acme-token-value")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .1
            .contains("no bearer token for account globex-eu: set OP_BEARER_TOKEN_GLOBEX_EU"),
        "{}",
        text(&out).1
    );
    assert!(s.calls().is_empty(), "nothing ran");
}

/// The gcloud engine creates the dashboard's log-based metrics before the dashboard that charts
/// them, and says so; a dashboard Cloud Monitoring refuses for a metric it does not know yet is
/// retried (bounded) like the alert policies; an existing dashboard is updated with its etag.
#[test]
fn the_dashboard_comes_after_its_metrics_and_is_updated_with_its_etag() {
    let dir = gcloud_scripts("minimal");
    let mut s = stand_ins();
    absent(&mut s);
    s.on_seq(
        "gcloud",
        &["dashboards", "create"],
        vec![
            Reply::fail(1, UNKNOWN_METRIC),
            Reply::ok("Created dashboard.\n"),
        ],
    );
    let out = bash(
        &s,
        dir.path(),
        &dir.path().join("gcloud/deploy.sh"),
        &["service"],
        &[("METRIC_WAIT_SECONDS", "0")],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("== dashboard: first the log-based metrics it charts, then the dashboard"),
        "{stdout}"
    );
    assert!(
        stderr.contains("waiting for Cloud Monitoring to know the new log-based metric onepassword-audit-collector-stream-runs"),
        "{stderr}"
    );
    let created = lines(&s.calls());
    let at = |needle: &str| {
        created
            .iter()
            .position(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("{needle} not in {created:#?}"))
    };
    let dashboard = at("gcloud monitoring dashboards create");
    for suffix in [
        "stream-runs",
        "stream-events",
        "newest-event-age",
        "stream-duration",
        "token-days-left",
    ] {
        assert!(
            at(&format!(
                "gcloud logging metrics create onepassword-audit-collector-{suffix} "
            )) < dashboard,
            "{suffix} is created before the dashboard"
        );
    }
    assert_eq!(count(&s, |l| l.contains("dashboards create")), 2);

    // Present: updated in place, the file carrying the dashboard's etag.
    let mut s = stand_ins();
    // The first matching answer wins: the dashboard's etag before every other describe.
    s.on(
        "gcloud",
        &["dashboards", "describe"],
        Reply::ok("BwYaBc123=\n"),
    );
    present(&mut s);
    let out = bash(
        &s,
        dir.path(),
        &dir.path().join("gcloud/deploy.sh"),
        &["service"],
        &[("METRIC_WAIT_SECONDS", "0")],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let calls = s.calls();
    let update = calls
        .iter()
        .find(|c| {
            c.args
                .starts_with(&["monitoring".into(), "dashboards".into(), "update".into()])
        })
        .expect("the dashboard is updated");
    let at = update
        .args
        .iter()
        .position(|a| a == "--config-from-file")
        .unwrap();
    let sent: serde_json::Value =
        serde_json::from_str(&update.files[&update.args[at + 1]]).unwrap();
    assert_eq!(sent["etag"], "BwYaBc123=");
    assert_eq!(
        sent["displayName"],
        "1Password collector: onepassword-audit-collector"
    );
    assert!(
        !lines(&calls)
            .iter()
            .any(|l| l.contains("dashboards create"))
    );
}
