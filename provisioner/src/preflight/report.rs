//! What the preflight found: one outcome per check, and each problem with its fix.

use serde::Serialize;

use super::permissions::Phase;

/// The checks the preflight runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// The caller's IAM permissions (`projects.testIamPermissions`).
    Permissions,
    /// Billing enabled on the project.
    Billing,
    /// The APIs the deployment uses.
    Services,
    /// Organisation policies that would refuse what is created.
    OrgPolicies,
    /// Two accounts' tokens of one 1Password account.
    Accounts,
}

impl CheckKind {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Permissions => "permissions",
            CheckKind::Billing => "billing",
            CheckKind::Services => "services",
            CheckKind::OrgPolicies => "org-policies",
            CheckKind::Accounts => "accounts",
        }
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum Finding {
    /// The caller lacks permissions a phase needs.
    MissingPermissions {
        /// The phase.
        phase: Phase,
        /// The project.
        project: String,
        /// What is missing.
        permissions: Vec<String>,
    },
    /// Billing is not enabled.
    BillingDisabled {
        /// The project.
        project: String,
    },
    /// APIs are disabled and the caller may not enable them.
    ApisDisabled {
        /// The project.
        project: String,
        /// The APIs.
        apis: Vec<String>,
    },
    /// `constraints/gcp.resourceLocations` refuses a location the config uses.
    LocationRestricted {
        /// What is placed there (`region`, `bucket.location`).
        setting: String,
        /// The location.
        location: String,
        /// The policy's allowed values.
        allowed: Vec<String>,
        /// The policy's denied values.
        denied: Vec<String>,
    },
    /// `constraints/iam.allowedPolicyMemberDomains` refuses the SecOps service account's grant.
    DomainRestricted {
        /// The member the bucket grant names.
        member: String,
        /// The policy's allowed values.
        allowed: Vec<String>,
    },
    /// `constraints/iam.workloadIdentityPoolProviders` refuses GitHub's issuer.
    IssuerNotAllowed {
        /// The issuer.
        issuer: String,
        /// The policy's allowed values.
        allowed: Vec<String>,
    },
    /// `constraints/run.allowedIngress` refuses internal ingress.
    IngressNotAllowed {
        /// The policy's allowed values.
        allowed: Vec<String>,
        /// The policy's denied values.
        denied: Vec<String>,
    },
    /// Several configured accounts' tokens belong to one 1Password account.
    SameOnePasswordAccount {
        /// The 1Password account's uuid.
        account_uuid: String,
        /// The configured accounts.
        accounts: Vec<String>,
    },
    /// A check could not tell (a warning, not a blocker).
    Unchecked {
        /// The check.
        check: CheckKind,
        /// Why.
        reason: String,
    },
}

impl Finding {
    /// The check it belongs to.
    pub fn check(&self) -> CheckKind {
        match self {
            Finding::MissingPermissions { .. } => CheckKind::Permissions,
            Finding::BillingDisabled { .. } => CheckKind::Billing,
            Finding::ApisDisabled { .. } => CheckKind::Services,
            Finding::LocationRestricted { .. }
            | Finding::DomainRestricted { .. }
            | Finding::IssuerNotAllowed { .. }
            | Finding::IngressNotAllowed { .. } => CheckKind::OrgPolicies,
            Finding::SameOnePasswordAccount { .. } => CheckKind::Accounts,
            Finding::Unchecked { check, .. } => *check,
        }
    }

    /// Whether it stops `apply` (a check that could not tell does not).
    pub fn blocking(&self) -> bool {
        !matches!(self, Finding::Unchecked { .. })
    }

    /// What is wrong.
    pub fn problem(&self) -> String {
        match self {
            Finding::MissingPermissions {
                phase,
                project,
                permissions,
            } => format!(
                "the caller lacks {} on project {project}, which the {} phase needs",
                permissions.join(", "),
                phase.name()
            ),
            Finding::BillingDisabled { project } => {
                format!("billing is not enabled on project {project}")
            }
            Finding::ApisDisabled { project, apis } => format!(
                "{} {} not enabled on project {project}, and the caller may not enable APIs (serviceusage.services.enable)",
                apis.join(", "),
                if apis.len() == 1 { "is" } else { "are" }
            ),
            Finding::LocationRestricted {
                setting,
                location,
                allowed,
                denied,
            } => format!(
                "the organisation policy constraints/gcp.resourceLocations does not allow {location} ({setting}); allowed: [{}], denied: [{}]",
                allowed.join(", "),
                denied.join(", ")
            ),
            Finding::DomainRestricted { member, allowed } => format!(
                "the organisation policy constraints/iam.allowedPolicyMemberDomains (domain-restricted sharing) allows only [{}], so the SecOps feed's read grant on the bucket to {member} (a Google-owned service account) would be refused",
                allowed.join(", ")
            ),
            Finding::IssuerNotAllowed { issuer, allowed } => format!(
                "the organisation policy constraints/iam.workloadIdentityPoolProviders allows only [{}], so the GitHub deployer's identity pool provider ({issuer}) would be refused",
                allowed.join(", ")
            ),
            Finding::IngressNotAllowed { allowed, denied } => format!(
                "the organisation policy constraints/run.allowedIngress does not allow internal ingress, which the service uses (allowed: [{}], denied: [{}])",
                allowed.join(", "),
                denied.join(", ")
            ),
            Finding::SameOnePasswordAccount {
                account_uuid,
                accounts,
            } => format!(
                "the tokens of accounts {} belong to the same 1Password account ({account_uuid}), so every event would be collected twice",
                accounts.join(" and ")
            ),
            Finding::Unchecked { check, reason } => {
                format!("the {} check could not tell: {reason}", check.name())
            }
        }
    }

    /// How to fix it.
    pub fn fix(&self) -> String {
        match self {
            Finding::MissingPermissions { project, .. } => format!(
                "grant the caller a role with these permissions on {project} (roles/owner, or the roles in the README's \"Permissions a deployer needs\"), or run as someone who has them"
            ),
            Finding::BillingDisabled { project } => format!(
                "link a billing account: gcloud billing projects link {project} --billing-account=ACCOUNT_ID"
            ),
            Finding::ApisDisabled { project, apis } => format!(
                "have someone who may enable APIs run: gcloud services enable {} --project {project}",
                apis.join(" ")
            ),
            Finding::LocationRestricted { setting, .. } => format!(
                "set {setting} to an allowed location, or ask the organisation's policy administrator for an exception on this project"
            ),
            Finding::DomainRestricted { .. } => "ask the organisation's policy administrator to allow Google SecOps' service account on this project (a project-level exception to constraints/iam.allowedPolicyMemberDomains), or remove secops.service_account and grant the feed's read access by hand".to_owned(),
            Finding::IssuerNotAllowed { issuer, .. } => format!(
                "ask the organisation's policy administrator to add {issuer} to constraints/iam.workloadIdentityPoolProviders for this project, or remove github.repository"
            ),
            Finding::IngressNotAllowed { .. } => "ask the organisation's policy administrator to allow internal ingress (constraints/run.allowedIngress) on this project".to_owned(),
            Finding::SameOnePasswordAccount { .. } => "keep one of these accounts in accounts:, or give each account a token issued in that 1Password account (1Password: Integrations > Events Reporting)".to_owned(),
            Finding::Unchecked { .. } => "check it by hand, or fix the cause and run `provision preflight` again".to_owned(),
        }
    }
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Nothing in the way.
    Passed,
    /// At least one blocking finding.
    Failed,
    /// It could not tell (warnings only).
    Warning,
    /// Not run.
    Skipped,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The check.
    pub check: CheckKind,
    /// How it went.
    pub status: Status,
    /// Why it was skipped, or what it looked at.
    pub note: String,
}

/// A finding as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reported {
    /// The check.
    pub check: CheckKind,
    /// Whether it stops `apply`.
    pub blocking: bool,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
    /// The finding's details.
    pub detail: Finding,
}

/// Everything the preflight found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The project.
    pub project: String,
    /// Whether nothing blocks the deployment.
    pub ok: bool,
    /// Each check's outcome.
    pub checks: Vec<Outcome>,
    /// Each problem, with its fix.
    pub findings: Vec<Reported>,
}

impl Report {
    /// The report of `findings` and `notes` (per check: `Some(reason)` when skipped).
    pub fn new(
        project: &str,
        runs: Vec<(CheckKind, Option<String>, String)>,
        findings: Vec<Finding>,
    ) -> Report {
        let checks = runs
            .into_iter()
            .map(|(check, skipped, note)| {
                let mine: Vec<&Finding> = findings.iter().filter(|f| f.check() == check).collect();
                let status = if skipped.is_some() {
                    Status::Skipped
                } else if mine.iter().any(|f| f.blocking()) {
                    Status::Failed
                } else if mine.is_empty() {
                    Status::Passed
                } else {
                    Status::Warning
                };
                Outcome {
                    check,
                    status,
                    note: skipped.unwrap_or(note),
                }
            })
            .collect();
        let findings: Vec<Reported> = findings
            .into_iter()
            .map(|f| Reported {
                check: f.check(),
                blocking: f.blocking(),
                problem: f.problem(),
                fix: f.fix(),
                detail: f,
            })
            .collect();
        Report {
            project: project.to_owned(),
            ok: !findings.iter().any(|f| f.blocking),
            checks,
            findings,
        }
    }

    /// How many findings block.
    pub fn blockers(&self) -> usize {
        self.findings.iter().filter(|f| f.blocking).count()
    }
}

/// The report for a person.
pub fn to_text(report: &Report) -> String {
    let mut out = format!("preflight of project {}\n", report.project);
    for outcome in &report.checks {
        let status = match outcome.status {
            Status::Passed => "ok",
            Status::Failed => "FAILED",
            Status::Warning => "warning",
            Status::Skipped => "skipped",
        };
        out.push_str(&format!(
            "  {:<13} {status:<8} {}\n",
            outcome.check.name(),
            outcome.note
        ));
    }
    for (i, finding) in report.findings.iter().enumerate() {
        let kind = if finding.blocking {
            "blocker"
        } else {
            "warning"
        };
        out.push_str(&format!(
            "{}. [{kind}] {}\n   fix: {}\n",
            i + 1,
            finding.problem,
            finding.fix
        ));
    }
    out.push_str(if report.ok {
        "preflight passed: nothing in the way\n"
    } else {
        "preflight failed: nothing was changed; fix the blockers above and run again\n"
    });
    out
}
