//! The canned state of the Google Cloud project the local cloud plays, for what has no emulator
//! and only reads: billing, the enabled APIs and the effective organisation policies, which the
//! `gcloud` shim answers in the shapes of Google's API references:
//!
//! - `gcloud billing projects describe P --format json`: a `ProjectBillingInfo`
//!   (https://cloud.google.com/billing/docs/reference/rest/v1/ProjectBillingInfo: `name`
//!   `projects/P/billingInfo`, `projectId`, `billingAccountName`, `billingEnabled`, left out when
//!   false as proto3 JSON does);
//! - `gcloud services list --enabled --format json`: Service Usage `Service` resources
//!   (https://cloud.google.com/service-usage/docs/reference/rest/v1/services#Service: `name`
//!   `projects/NUMBER/services/API`, `parent`, `config.name`, `state` `ENABLED`);
//! - `gcloud org-policies describe CONSTRAINT --effective --project P --format json`: an Org Policy
//!   v2 `Policy` (https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/organizations.policies#Policy:
//!   `name` `projects/NUMBER/policies/CONSTRAINT`, `spec` a `PolicySpec` whose `rules[]` hold
//!   `values.allowedValues`/`values.deniedValues`, `allowAll`, `denyAll`, `enforce`); a constraint
//!   with no policy anywhere in the hierarchy answers the `name` alone.
//!
//! The caller's permissions live in the local cloud's [`crate::ResourceManager`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// The APIs a deployment with every option on uses (terraform/main.tf's `local.services`).
pub const DEPLOYMENT_APIS: [&str; 13] = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    "sts.googleapis.com",
];

/// Billing, APIs and organisation policies of the played project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloudProject {
    /// The project number (in `name`s).
    pub number: String,
    /// The linked billing account (`billingAccounts/…`), if any.
    pub billing_account: Option<String>,
    /// Whether billing is enabled.
    pub billing_enabled: bool,
    /// The enabled APIs.
    pub enabled_apis: BTreeSet<String>,
    /// Effective policies: constraint (without `constraints/`) to its `PolicySpec`.
    pub policies: BTreeMap<String, serde_json::Value>,
}

impl Default for CloudProject {
    fn default() -> Self {
        CloudProject::clean()
    }
}

impl CloudProject {
    /// A project nothing stands in the way of: billing on, every API the deployment uses
    /// enabled, no organisation policy.
    pub fn clean() -> CloudProject {
        CloudProject {
            number: "123456789012".into(),
            billing_account: Some("billingAccounts/012345-6789AB-CDEF01".into()),
            billing_enabled: true,
            enabled_apis: DEPLOYMENT_APIS.iter().map(|a| (*a).to_owned()).collect(),
            policies: BTreeMap::new(),
        }
    }

    /// Billing off (no account linked).
    pub fn without_billing(mut self) -> CloudProject {
        self.billing_account = None;
        self.billing_enabled = false;
        self
    }

    /// `api` disabled.
    pub fn with_api_disabled(mut self, api: &str) -> CloudProject {
        self.enabled_apis.remove(api);
        self
    }

    /// `constraint` set to one unconditional rule allowing only `values`.
    pub fn allowing_only(self, constraint: &str, values: &[&str]) -> CloudProject {
        self.with_rules(
            constraint,
            serde_json::json!([{"values": {"allowedValues": values}}]),
        )
    }

    /// `constraint` set to one unconditional rule denying `values`.
    pub fn denying(self, constraint: &str, values: &[&str]) -> CloudProject {
        self.with_rules(
            constraint,
            serde_json::json!([{"values": {"deniedValues": values}}]),
        )
    }

    /// `constraint`'s `PolicySpec` with these `rules`.
    pub fn with_rules(mut self, constraint: &str, rules: serde_json::Value) -> CloudProject {
        self.policies
            .insert(constraint.to_owned(), serde_json::json!({ "rules": rules }));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_project_is_built_from_a_clean_one() {
        let p = CloudProject::clean()
            .without_billing()
            .with_api_disabled("run.googleapis.com")
            .allowing_only("gcp.resourceLocations", &["in:eu-locations"]);
        assert!(!p.billing_enabled && p.billing_account.is_none());
        assert!(!p.enabled_apis.contains("run.googleapis.com"));
        assert_eq!(p.enabled_apis.len(), DEPLOYMENT_APIS.len() - 1);
        assert_eq!(
            p.policies["gcp.resourceLocations"],
            serde_json::json!({"rules": [{"values": {"allowedValues": ["in:eu-locations"]}}]})
        );
    }
}
