//! Validation: each rule names the key, the bad value and the rule. Every value that reaches a
//! template is restricted to characters that cannot break out of HCL strings or shell words, and the
//! templates quote every value anyway.

use contract::Stream;

use super::closed::{Closed as _, alternatives, either, spelling};
use super::cron::{cron_problem, longest_interval_seconds, silence_seconds};
use super::names::{
    bucket_name, chars, dns_label, lower_alnum, prefix, time_zone, under, url_host,
};
use super::problem::Problem;
use super::regions::{EVENTS_REGIONS, REGIONS};
use super::schema::prefix_key;
use super::{Config, SourceDeletion, StorageClass};

/// Every problem in `config`, section by section in the order of the file's keys.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, key: &str, value: &str, rule: &str| {
        if !ok {
            problems.push(Problem::new(key, value, rule));
        }
    };
    for section in [
        project,
        bucket,
        prefixes,
        service_accounts,
        topic,
        schedule,
        streams,
        collector,
        secret,
        accounts,
        terraform,
        alerting,
        github,
        secops,
        super::feed::validate,
    ] {
        section(config, &mut check);
    }
    problems
}

/// Records a problem unless `ok`: `check(ok, key, value, rule)`.
pub(super) type Check<'a> = &'a mut dyn FnMut(bool, &str, &str, &str);

/// The project and its region.
fn project(config: &Config, check: Check<'_>) {
    check(
        dns_label(&config.project_id, 6, 30),
        "project_id",
        &config.project_id,
        "is not a project id: 6-30 lowercase letters, digits or hyphens, starting with a letter, not ending with a hyphen",
    );
    check(
        REGIONS.contains(&config.region.as_str()),
        "region",
        &config.region,
        "is not a known Cloud Run region (e.g. us-central1, europe-west1)",
    );
}

/// `bucket`: the bucket the collector writes to.
fn bucket(config: &Config, check: Check<'_>) {
    check(
        bucket_name(&config.bucket.name),
        "bucket.name",
        &config.bucket.name,
        "is not a valid bucket name: 3-63 lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit, not starting with \"goog\" or containing \"google\"",
    );
    if let Some(location) = &config.bucket.location {
        check(
            chars(location, |c| c.is_ascii_alphanumeric() || c == '-') && location.len() <= 40,
            "bucket.location",
            location,
            "is not a bucket location (a region like US-CENTRAL1, a dual-region like NAM4, or US, EU, ASIA)",
        );
    }
    check(
        config.bucket.storage_class.checked().is_ok(),
        "bucket.storage_class",
        &config.bucket.storage_class.to_string(),
        &format!("must be {}", either::<StorageClass>()),
    );
    check(
        (1..=3650).contains(&config.bucket.retention_days),
        "bucket.retention_days",
        &config.bucket.retention_days.to_string(),
        "must be between 1 and 3650 days",
    );
}

/// The feed and checkpoint prefixes: each a folder path, none inside another.
fn prefixes(config: &Config, check: Check<'_>) {
    let prefixes = [
        ("feed_prefix", &config.feed_prefix),
        ("signinattempts_prefix", &config.signinattempts_prefix),
        ("itemusages_prefix", &config.itemusages_prefix),
        ("checkpoint_prefix", &config.checkpoint_prefix),
    ];
    for (key, value) in prefixes {
        check(
            prefix(value),
            key,
            value,
            "must be a folder path of letters, digits, '-', '_' and '.', separated by '/'",
        );
    }
    // The prefixes of the streams spelled right, each once (the misspelled and repeated are
    // reported below), of every account.
    let known = config.stream_prefixes();
    for (i, (stream, feed)) in known.iter().enumerate() {
        check(
            !under(&config.checkpoint_prefix, feed) && !under(feed, &config.checkpoint_prefix),
            "checkpoint_prefix",
            &config.checkpoint_prefix,
            &format!(
                "overlaps the {stream} feed prefix {feed:?}: SecOps would ingest the checkpoints as logs; keep them apart"
            ),
        );
        for (other, other_feed) in &known[i + 1..] {
            check(
                !under(feed, other_feed) && !under(other_feed, feed),
                prefix_key(*stream),
                feed,
                &format!(
                    "overlaps the {other} prefix {other_feed:?}; each stream needs its own folder for its own feed"
                ),
            );
        }
    }
}

/// `service_accounts`: two ids, two accounts.
fn service_accounts(config: &Config, check: Check<'_>) {
    for (key, value) in [
        (
            "service_accounts.collector",
            &config.service_accounts.collector,
        ),
        ("service_accounts.invoker", &config.service_accounts.invoker),
    ] {
        check(
            dns_label(value, 6, 30),
            key,
            value,
            "is not a service account id: 6-30 characters matching [a-z]([-a-z0-9]*[a-z0-9])",
        );
    }
    check(
        config.service_accounts.collector != config.service_accounts.invoker,
        "service_accounts.invoker",
        &config.service_accounts.invoker,
        "must differ from service_accounts.collector: the invoker only invokes, the runtime account only collects",
    );
}

/// `topic`: the Pub/Sub topic the scheduler publishes to.
fn topic(config: &Config, check: Check<'_>) {
    check(
        (3..=243).contains(&config.topic.len())
            && config.topic.starts_with(|c: char| c.is_ascii_alphabetic())
            && chars(&config.topic, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+')
            })
            && !config.topic.starts_with("goog"),
        "topic",
        &config.topic,
        "is not a Pub/Sub topic id: 3-243 letters, digits, '-', '_', '.', '~' or '+' (243, so the \"-dead-letter\" topic fits in 255), starting with a letter, not with \"goog\"",
    );
}

/// `schedule`: the job's name, its cron and time zone.
fn schedule(config: &Config, check: Check<'_>) {
    check(
        config.schedule.job_name.len() <= 500
            && chars(&config.schedule.job_name, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
            }),
        "schedule.job_name",
        &config.schedule.job_name,
        "must be letters, digits, '-' or '_'",
    );
    let problem = cron_problem(&config.schedule.cron);
    check(
        problem.is_none(),
        "schedule.cron",
        &config.schedule.cron,
        problem.as_deref().unwrap_or_default(),
    );
    check(
        time_zone(&config.schedule.time_zone),
        "schedule.time_zone",
        &config.schedule.time_zone,
        "is not an IANA time zone such as UTC or Europe/Paris",
    );
}

/// `streams` and `events_api`: what the collector reads, and from where.
fn streams(config: &Config, check: Check<'_>) {
    let all_streams: Vec<String> = Stream::ALL.iter().map(|s| spelling(*s)).collect();
    check(
        !config.streams.is_empty(),
        "streams",
        "",
        &format!("must name at least one of {}", all_streams.join(", ")),
    );
    for (i, stream) in config.streams.iter().enumerate() {
        check(
            stream.checked().is_ok(),
            "streams",
            &stream.to_string(),
            &format!("is not a stream: use {}", either::<Stream>()),
        );
        check(
            !config.streams[..i].contains(stream),
            "streams",
            &stream.to_string(),
            "is listed twice",
        );
    }
    if let Some(events_api) = &config.events_api {
        check(
            EVENTS_REGIONS.contains(&events_api.as_str()) || url_host(events_api),
            "events_api",
            events_api,
            "must be 1password.com, ent.1password.com, 1password.ca, 1password.eu, or an https:// base URL",
        );
    }
}

/// `collector`: the service, its image and its limits.
fn collector(config: &Config, check: Check<'_>) {
    check(
        dns_label(&config.collector.service_name, 1, 49),
        "collector.service_name",
        &config.collector.service_name,
        "is not a Cloud Run service name: up to 49 lowercase letters, digits or hyphens, starting with a letter",
    );
    if let Some(image) = &config.collector.image {
        check(
            image.len() <= 512
                && chars(image, |c| {
                    lower_alnum(c) || matches!(c, '.' | '/' | ':' | '@' | '-' | '_')
                }),
            "collector.image",
            image,
            "is not a container image reference (registry/path/name:tag or @sha256:digest)",
        );
    }
    check(
        config.collector.image.is_none() || config.collector.version.is_none(),
        "collector.version",
        config.collector.version.as_deref().unwrap_or_default(),
        "cannot be set together with collector.image: name a released version or an image, not both",
    );
    if let Some(version) = &config.collector.version {
        let parts: Vec<&str> = version.split('.').collect();
        check(
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.len() <= 9 && chars(p, |c| c.is_ascii_digit())),
            "collector.version",
            version,
            "is not a released version such as 0.3.0 (MAJOR.MINOR.PATCH, no leading v)",
        );
    }
    let release = &config.collector.release_image;
    check(
        release.len() <= 255
            && release.split('/').count() >= 2
            && release
                .split('/')
                .all(|part| chars(part, |c| lower_alnum(c) || matches!(c, '.' | '-' | '_')))
            && release
                .split('/')
                .next()
                .is_some_and(|host| host.contains('.')),
        "collector.release_image",
        release,
        "is not an image name without tag: REGISTRY/PATH (lowercase), such as ghcr.io/OWNER/REPO/collector",
    );
    check(
        dns_label(&config.collector.repository, 1, 54),
        "collector.repository",
        &config.collector.repository,
        "is not an Artifact Registry repository id: up to 54 lowercase letters, digits or hyphens, starting with a letter (-releases is appended for released images)",
    );
    check(
        config.collector.max_records >= 1,
        "collector.max_records",
        &config.collector.max_records.to_string(),
        "must be at least 1",
    );
    check(
        (1..=1000).contains(&config.collector.page_size),
        "collector.page_size",
        &config.collector.page_size.to_string(),
        "must be between 1 and 1000 (the Events API's limit)",
    );
    check(
        (1..=8760).contains(&config.collector.lookback_hours),
        "collector.lookback_hours",
        &config.collector.lookback_hours.to_string(),
        "must be between 1 and 8760 hours",
    );
    let parallel = super::sizing::parallel_problem(
        &config.collector.memory,
        config.collector.accounts_in_parallel,
    );
    for problem in super::sizing::problems(&config.collector.cpu, &config.collector.memory)
        .into_iter()
        .chain(parallel)
    {
        check(false, &problem.key, &problem.value, &problem.rule);
    }
}

/// `secret`: the Secret Manager secret of the token.
fn secret(config: &Config, check: Check<'_>) {
    check(
        config.secret.len() <= 255
            && chars(&config.secret, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
            }),
        "secret",
        &config.secret,
        "is not a Secret Manager secret id: letters, digits, '-' or '_'",
    );
}

/// `accounts` and `collector.accounts_in_parallel`: the 1Password accounts collected.
fn accounts(config: &Config, check: Check<'_>) {
    let parallel = contract::env::ACCOUNTS_IN_PARALLEL;
    check(
        parallel.accepts(config.collector.accounts_in_parallel as usize),
        "collector.accounts_in_parallel",
        &config.collector.accounts_in_parallel.to_string(),
        &format!(
            "must be between {} and {} accounts at once",
            parallel.min, parallel.max
        ),
    );
    super::accounts::validate_accounts(config, check);
}

/// `terraform`: where its state lives.
fn terraform(config: &Config, check: Check<'_>) {
    if let Some(bucket) = &config.terraform.state_bucket {
        check(
            bucket_name(bucket),
            "terraform.state_bucket",
            bucket,
            "is not a valid bucket name",
        );
    }
    if let Some(state_prefix) = &config.terraform.state_prefix {
        check(
            prefix(state_prefix),
            "terraform.state_prefix",
            state_prefix,
            "must be a folder path of letters, digits, '-', '_' and '.'",
        );
    }
}

/// `alerting`: who is notified, and whether the silence alert can watch the schedule.
fn alerting(config: &Config, check: Check<'_>) {
    for email in &config.alerting.emails {
        let ok = email.split_once('@').is_some_and(|(user, domain)| {
            chars(user, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')
            }) && domain.contains('.')
                && chars(domain, |c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
                })
        });
        check(ok, "alerting.emails", email, "is not an email address");
    }
    for channel in &config.alerting.channels {
        let ok = channel
            .strip_prefix("projects/")
            .and_then(|rest| rest.split_once("/notificationChannels/"))
            .is_some_and(|(project, id)| {
                chars(project, |c| lower_alnum(c) || c == '-') && chars(id, |c| c.is_ascii_digit())
            });
        check(
            ok,
            "alerting.channels",
            channel,
            "is not a notification channel id (projects/PROJECT/notificationChannels/ID)",
        );
    }
    check(
        !config.alerting.enabled
            || !config.alerting.emails.is_empty()
            || !config.alerting.channels.is_empty(),
        "alerting.enabled",
        "true",
        "needs alerting.emails or alerting.channels to notify",
    );
    let gap = longest_interval_seconds(&config.schedule.cron);
    check(
        !config.alerting.enabled || silence_seconds(&config.schedule.cron).is_some(),
        "schedule.cron",
        &config.schedule.cron,
        &format!(
            "runs up to {:.1} hours apart, but with alerting.enabled the silence alert can watch \
             at most 23.5 hours (Cloud Monitoring's limit for an absent metric), so it would page \
             while every run succeeds: schedule runs at most 23 hours 15 minutes apart, or set \
             alerting.enabled: false",
            gap as f64 / 3600.0
        ),
    );
}

/// `github`: the CI deployer's repository and environment.
fn github(config: &Config, check: Check<'_>) {
    if let Some(repository) = &config.github.repository {
        let ok = repository.split_once('/').is_some_and(|(owner, name)| {
            chars(owner, |c| c.is_ascii_alphanumeric() || c == '-')
                && chars(name, |c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
                })
        });
        check(
            ok,
            "github.repository",
            repository,
            "must be owner/name, e.g. acme/onepassword-secops",
        );
        check(
            config.bucket.name.len() <= 56,
            "bucket.name",
            &config.bucket.name,
            "is longer than 56 characters; with github.repository set, the CI deployer's build bucket is named BUCKET-builds, which must fit in 63",
        );
    }
    check(
        config.github.environment.len() <= 255
            && chars(&config.github.environment, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
            }),
        "github.environment",
        &config.github.environment,
        "must be a GitHub environment name such as production",
    );
}

/// `secops`: the feed's service account, its source deletion and the SecOps instance.
fn secops(config: &Config, check: Check<'_>) {
    let secops = &config.secops;
    if let Some(account) = &secops.service_account {
        let ok = account.split_once('@').is_some_and(|(user, domain)| {
            chars(user, |c| lower_alnum(c) || c == '-')
                && domain.ends_with(".iam.gserviceaccount.com")
                && chars(domain, |c| lower_alnum(c) || matches!(c, '.' | '-'))
        });
        check(
            ok,
            "secops.service_account",
            account,
            "is not a service account email (e.g. chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com)",
        );
    }
    check(
        secops.source_deletion.checked().is_ok(),
        "secops.source_deletion",
        &secops.source_deletion.to_string(),
        &format!(
            "must be {}",
            alternatives(
                SourceDeletion::ALL
                    .iter()
                    .map(|option| format!("{option} ({})", option.meaning()))
            )
        ),
    );
    check(
        (1..=3650).contains(&secops.max_file_age_days),
        "secops.max_file_age_days",
        &secops.max_file_age_days.to_string(),
        "must be between 1 and 3650 days",
    );
    if let Some(instance) = &secops.instance {
        check(
            dns_label(&instance.project, 6, 30),
            "secops.instance.project",
            &instance.project,
            "is not a project id",
        );
        check(
            chars(&instance.location, |c| lower_alnum(c) || c == '-')
                && instance.location.len() <= 30,
            "secops.instance.location",
            &instance.location,
            "is not a SecOps location such as us or europe",
        );
        let uuid = instance.customer_id.len() == 36
            && instance.customer_id.chars().enumerate().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
                }
            });
        check(
            uuid,
            "secops.instance.customer_id",
            &instance.customer_id,
            "is not the instance's customer id (a lowercase UUID, from SIEM Settings > Profile)",
        );
    }
}
