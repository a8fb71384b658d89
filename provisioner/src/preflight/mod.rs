//! The preflight: read-only checks, before `apply` or `plan` change anything, of everything known
//! to make a deployment fail half-way: the caller's permissions (`permissions`, `iam`), billing,
//! the APIs, organisation policies, and accounts sharing one 1Password account. Every check runs,
//! and every problem is reported with its fix at once.

pub mod accounts;
pub mod billing;
pub mod iam;
pub mod org_policy;
pub mod permissions;
pub mod report;
pub mod services;

use std::collections::BTreeSet;

use onepassword_events::ClientOptions;

use crate::config::Config;
use crate::ops::{Gcloud, GcloudError};
use crate::render::Engine;
pub use accounts::AccountToken;
use org_policy::{ListPolicy, Verdict};
pub use report::{CheckKind, Finding, Report, to_text};

/// What the preflight checks for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The engine `apply` will run.
    pub engine: Engine,
    /// Whether the first image is built (`--build`).
    pub build: bool,
    /// Every account's token, when several accounts are configured and their tokens are at hand;
    /// `None` skips the accounts check (and says so).
    pub tokens: Option<Vec<AccountToken>>,
    /// How the Events API is called for the accounts check.
    pub client: ClientOptions,
}

fn unchecked(check: CheckKind, error: &GcloudError) -> Finding {
    Finding::Unchecked {
        check,
        reason: error.to_string(),
    }
}

/// Runs every check on the project `config` names; read-only.
pub fn run(config: &Config, options: &Options) -> Report {
    let gcloud = Gcloud::new(config);
    let project = &config.project_id;
    let mut findings = Vec::new();
    let mut runs = Vec::new();

    // Permissions.
    let needs = permissions::required(config, options.engine, options.build);
    let count: usize = needs.iter().map(|n| n.permissions.len()).sum();
    let mut held_by_project: std::collections::BTreeMap<String, BTreeSet<String>> =
        Default::default();
    let mut may_enable = false;
    match iam::endpoint().and_then(|endpoint| Ok((endpoint, iam::access_token()?))) {
        Err(error) => findings.push(Finding::Unchecked {
            check: CheckKind::Permissions,
            reason: error.to_string(),
        }),
        Ok((endpoint, token)) => {
            let mut wanted: std::collections::BTreeMap<String, BTreeSet<String>> =
                Default::default();
            for need in &needs {
                wanted
                    .entry(need.project.clone())
                    .or_default()
                    .extend(need.permissions.iter().cloned());
            }
            for (on, permissions) in &wanted {
                match iam::held(&endpoint, &token, on, permissions) {
                    Ok(held) => {
                        held_by_project.insert(on.clone(), held);
                    }
                    Err(error) => findings.push(Finding::Unchecked {
                        check: CheckKind::Permissions,
                        reason: error.to_string(),
                    }),
                }
            }
            for need in &needs {
                let Some(held) = held_by_project.get(&need.project) else {
                    continue;
                };
                let missing: Vec<String> = need.permissions.difference(held).cloned().collect();
                if !missing.is_empty() {
                    findings.push(Finding::MissingPermissions {
                        phase: need.phase,
                        project: need.project.clone(),
                        permissions: missing,
                    });
                }
            }
            may_enable = held_by_project
                .get(project)
                .is_some_and(|h| h.contains("serviceusage.services.enable"));
        }
    }
    runs.push((
        CheckKind::Permissions,
        None,
        format!("{count} permissions over {} phases", needs.len()),
    ));

    // Billing.
    match gcloud.run(&[
        "billing", "projects", "describe", project, "--format", "json",
    ]) {
        Ok(answer) => findings.extend(billing::judge(project, &answer)),
        Err(error) => findings.push(unchecked(CheckKind::Billing, &error)),
    }
    runs.push((CheckKind::Billing, None, "billingEnabled".to_owned()));

    // Services.
    let required = services::required(config);
    match gcloud
        .run(&["services", "list", "--enabled", "--format", "json"])
        .map_err(|e| e.to_string())
        .and_then(|answer| services::enabled(&answer).map_err(|e| e.to_string()))
    {
        Ok(enabled) => {
            let disabled: Vec<String> = required
                .iter()
                .filter(|api| !enabled.contains(**api))
                .map(|api| (*api).to_owned())
                .collect();
            if !disabled.is_empty() && !may_enable {
                findings.push(Finding::ApisDisabled {
                    project: project.clone(),
                    apis: disabled,
                });
            }
        }
        Err(reason) => findings.push(Finding::Unchecked {
            check: CheckKind::Services,
            reason,
        }),
    }
    runs.push((
        CheckKind::Services,
        None,
        format!("{} APIs", required.len()),
    ));

    // Organisation policies.
    let mut read = |constraint: &str| -> Option<ListPolicy> {
        match gcloud
            .run(&[
                "org-policies",
                "describe",
                constraint,
                "--effective",
                "--format",
                "json",
            ])
            .map_err(|e| e.to_string())
            .and_then(|answer| ListPolicy::parse(&answer).map_err(|e| e.to_string()))
        {
            Ok(policy) => Some(policy),
            Err(reason) => {
                findings.push(Finding::Unchecked {
                    check: CheckKind::OrgPolicies,
                    reason: format!("constraints/{constraint}: {reason}"),
                });
                None
            }
        }
    };
    let mut policies = vec![(org_policy::LOCATIONS, read(org_policy::LOCATIONS))];
    policies.push((org_policy::INGRESS, read(org_policy::INGRESS)));
    if config.secops.service_account.is_some() {
        policies.push((org_policy::MEMBER_DOMAINS, read(org_policy::MEMBER_DOMAINS)));
    }
    let github = options.engine == Engine::Terraform && config.github.repository.is_some();
    if github {
        policies.push((org_policy::POOL_PROVIDERS, read(org_policy::POOL_PROVIDERS)));
    }
    let names: Vec<&str> = policies.iter().map(|(c, _)| *c).collect();
    let unknown = |constraint: &str, what: String| Finding::Unchecked {
        check: CheckKind::OrgPolicies,
        reason: format!(
            "constraints/{constraint} allows values this check does not expand ({what})"
        ),
    };
    for (constraint, policy) in &policies {
        let Some(policy) = policy else { continue };
        match *constraint {
            org_policy::LOCATIONS => {
                let bucket = config.bucket_location();
                for (setting, location) in [
                    ("region", config.region.clone()),
                    ("bucket.location", bucket),
                ] {
                    match policy.verdict(|v| org_policy::location_covers(v, &location)) {
                        Verdict::Allowed => {}
                        Verdict::Denied => findings.push(Finding::LocationRestricted {
                            setting: setting.to_owned(),
                            location,
                            allowed: policy.allowed.clone(),
                            denied: policy.denied.clone(),
                        }),
                        Verdict::Unknown => {
                            findings.push(unknown(constraint, format!("{setting} {location}")))
                        }
                    }
                }
            }
            org_policy::INGRESS => match policy.verdict(org_policy::ingress_covers) {
                Verdict::Allowed => {}
                Verdict::Denied => findings.push(Finding::IngressNotAllowed {
                    allowed: policy.allowed.clone(),
                    denied: policy.denied.clone(),
                }),
                Verdict::Unknown => findings.push(unknown(constraint, "internal ingress".into())),
            },
            org_policy::MEMBER_DOMAINS => {
                if policy.restricts() {
                    findings.push(Finding::DomainRestricted {
                        member: format!(
                            "serviceAccount:{}",
                            config.secops.service_account.clone().unwrap_or_default()
                        ),
                        allowed: policy.allowed.clone(),
                    });
                } else if policy.conditional {
                    findings.push(unknown(constraint, "a conditional rule".into()));
                }
            }
            org_policy::POOL_PROVIDERS => match policy.verdict(org_policy::issuer_covers) {
                Verdict::Allowed => {}
                Verdict::Denied => findings.push(Finding::IssuerNotAllowed {
                    issuer: org_policy::GITHUB_ISSUER.to_owned(),
                    allowed: policy.allowed.clone(),
                }),
                Verdict::Unknown => {
                    findings.push(unknown(constraint, org_policy::GITHUB_ISSUER.into()))
                }
            },
            _ => {}
        }
    }
    runs.push((CheckKind::OrgPolicies, None, names.join(", ")));

    // Accounts.
    let several = config.accounts().len() > 1;
    let skipped = match (&options.tokens, several) {
        (_, false) => Some("one account".to_owned()),
        (None, true) => Some(
            "no tokens at hand (set each account's OP_BEARER_TOKEN_NAME to check that no two belong to one 1Password account)".to_owned(),
        ),
        (Some(tokens), true) => {
            findings.extend(accounts::check(tokens, &options.client));
            None
        }
    };
    runs.push((
        CheckKind::Accounts,
        skipped,
        format!("{} accounts", config.accounts().len()),
    ));

    Report::new(project, runs, findings)
}
