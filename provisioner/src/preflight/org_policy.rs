//! Organisation policies that would refuse part of the deployment, read as the project's effective
//! policy: `gcloud org-policies describe CONSTRAINT --effective --project P --format json` prints
//! an Org Policy v2 `Policy` (https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/organizations.policies#Policy:
//! `spec.rules[]` with `values.allowedValues`/`values.deniedValues`, `allowAll`, `denyAll`,
//! `enforce`, `condition`). Constraints, from
//! https://cloud.google.com/resource-manager/docs/organization-policy/org-policy-constraints:
//!
//! - `gcp.resourceLocations` (list) against the region and the bucket location. Matched: a value
//!   naming the location itself (`us-central1`, `in:us-central1-locations`, `EU` for the bucket),
//!   and the multi-region groups `in:us-locations`, `in:eu-locations`, `in:asia-locations` by the
//!   region's prefix (`us-`, `europe-`, `asia-`; `europe-west2` London and `europe-west6` Zurich
//!   are not in `eu-locations`) and the multi-region bucket names (`US`, `EU`, `ASIA`). Any other
//!   value group (`in:northamerica-locations`, dual-regions) is not expanded: a policy whose
//!   verdict depends on one is reported as "could not tell", not as a blocker.
//! - `iam.allowedPolicyMemberDomains` (list, domain-restricted sharing): any allow-list refuses the
//!   SecOps feed's Google-owned service account, checked only with `secops.service_account`.
//! - `iam.workloadIdentityPoolProviders` (list of issuer URIs), with `github.repository`: it must
//!   allow `https://token.actions.githubusercontent.com`.
//! - `run.allowedIngress` (list: `all`, `internal`, `internal-and-cloud-load-balancing`): it must
//!   allow `internal`, the service's ingress.
//!
//! Not checked, because the deployment already complies: `iam.disableServiceAccountKeyCreation`
//! (no keys are made), `storage.uniformBucketLevelAccess` and `storage.publicAccessPrevention`
//! (the bucket sets both). Rules with a `condition` (tags) are not evaluated: they are reported as
//! "could not tell".

use serde::Serialize;

/// The constraints read.
pub const LOCATIONS: &str = "gcp.resourceLocations";
/// Domain-restricted sharing.
pub const MEMBER_DOMAINS: &str = "iam.allowedPolicyMemberDomains";
/// Allowed workload identity pool providers.
pub const POOL_PROVIDERS: &str = "iam.workloadIdentityPoolProviders";
/// Allowed Cloud Run ingress.
pub const INGRESS: &str = "run.allowedIngress";

/// GitHub Actions' OIDC issuer.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// A list policy, flattened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListPolicy {
    /// Allowed values (empty: no allow-list).
    pub allowed: Vec<String>,
    /// Denied values.
    pub denied: Vec<String>,
    /// Some rule allows everything.
    pub allow_all: bool,
    /// Some rule denies everything.
    pub deny_all: bool,
    /// Some rule has a condition, which is not evaluated.
    pub conditional: bool,
}

/// A verdict on one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed.
    Allowed,
    /// Refused.
    Denied,
    /// Depends on what is not evaluated here.
    Unknown,
}

impl ListPolicy {
    /// Reads the effective policy gcloud printed.
    pub fn parse(answer: &str) -> Result<ListPolicy, serde_json::Error> {
        let policy: serde_json::Value = serde_json::from_str(answer)?;
        let mut out = ListPolicy::default();
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        for rule in policy["spec"]["rules"].as_array().into_iter().flatten() {
            if !rule["condition"].is_null() {
                out.conditional = true;
                continue;
            }
            out.allow_all |= rule["allowAll"].as_bool() == Some(true);
            out.deny_all |= rule["denyAll"].as_bool() == Some(true);
            out.allowed
                .extend(strings(&rule["values"]["allowedValues"]));
            out.denied.extend(strings(&rule["values"]["deniedValues"]));
        }
        Ok(out)
    }

    /// Whether any unconditional rule restricts anything.
    pub fn restricts(&self) -> bool {
        !self.allow_all && (self.deny_all || !self.allowed.is_empty() || !self.denied.is_empty())
    }

    /// The verdict on `value`, each listed value matched by `matches` (`Some(true)` covers it,
    /// `Some(false)` does not, `None` cannot tell).
    pub fn verdict(&self, matches: impl Fn(&str) -> Option<bool>) -> Verdict {
        if self.deny_all {
            return Verdict::Denied;
        }
        if self.allow_all {
            return if self.conditional {
                Verdict::Unknown
            } else {
                Verdict::Allowed
            };
        }
        let mut unknown = self.conditional;
        for value in &self.denied {
            match matches(value) {
                Some(true) => return Verdict::Denied,
                Some(false) => {}
                None => unknown = true,
            }
        }
        if !self.allowed.is_empty() {
            let mut covered = false;
            for value in &self.allowed {
                match matches(value) {
                    Some(true) => covered = true,
                    Some(false) => {}
                    None => unknown = true,
                }
            }
            if covered {
                return Verdict::Allowed;
            }
            return if unknown {
                Verdict::Unknown
            } else {
                Verdict::Denied
            };
        }
        if unknown {
            Verdict::Unknown
        } else {
            Verdict::Allowed
        }
    }
}

/// Whether the location value (`in:GROUP`, `under:…`, a location) covers `location` (a region
/// such as `us-central1`, or a bucket location such as `US`, `EU`, `NAM4`, `US-CENTRAL1`).
pub fn location_covers(value: &str, location: &str) -> Option<bool> {
    let location = location.to_lowercase();
    let value = value.to_lowercase();
    let group = value.strip_prefix("in:");
    let Some(group) = group else {
        // A single location (possibly `is:` prefixed).
        let single = value.strip_prefix("is:").unwrap_or(&value);
        return Some(single == location);
    };
    let name = group.strip_suffix("-locations")?;
    if name == location {
        return Some(true);
    }
    let multi = |prefix: &str, multi_region: &str, not: &[&str]| -> bool {
        location == multi_region
            || (location.starts_with(prefix) && !not.contains(&location.as_str()))
    };
    match name {
        "us" => Some(multi("us-", "us", &[])),
        "eu" => Some(multi("europe-", "eu", &["europe-west2", "europe-west6"])),
        "asia" => Some(multi("asia-", "asia", &[])),
        // `in:REGION-locations` for another region: not this one, when both are plain regions.
        other
            if other.contains('-') && other.chars().last().is_some_and(|c| c.is_ascii_digit()) =>
        {
            Some(false)
        }
        _ => None,
    }
}

/// Whether an ingress value covers `internal`.
pub fn ingress_covers(value: &str) -> Option<bool> {
    let value = value.strip_prefix("is:").unwrap_or(value);
    Some(value == "internal")
}

/// Whether an issuer value covers GitHub's issuer.
pub fn issuer_covers(value: &str) -> Option<bool> {
    let value = value.strip_prefix("is:").unwrap_or(value);
    Some(value.trim_end_matches('/') == GITHUB_ISSUER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_groups_cover_what_the_documentation_lists() {
        assert_eq!(
            location_covers("in:us-locations", "us-central1"),
            Some(true)
        );
        assert_eq!(location_covers("in:us-locations", "US"), Some(true));
        assert_eq!(
            location_covers("in:us-locations", "europe-west1"),
            Some(false)
        );
        assert_eq!(
            location_covers("in:eu-locations", "europe-west1"),
            Some(true)
        );
        assert_eq!(
            location_covers("in:eu-locations", "europe-west2"),
            Some(false)
        );
        assert_eq!(location_covers("in:eu-locations", "EU"), Some(true));
        assert_eq!(
            location_covers("in:us-central1-locations", "us-central1"),
            Some(true)
        );
        assert_eq!(
            location_covers("in:us-east1-locations", "us-central1"),
            Some(false)
        );
        assert_eq!(location_covers("us-central1", "US-CENTRAL1"), Some(true));
        assert_eq!(
            location_covers("in:northamerica-locations", "us-central1"),
            None
        );
    }

    #[test]
    fn a_policy_reads_its_unconditional_rules() {
        let policy = ListPolicy::parse(
            r#"{"name":"projects/123/policies/gcp.resourceLocations","spec":{"rules":[{"values":{"allowedValues":["in:eu-locations"]}}]}}"#,
        )
        .unwrap();
        assert!(policy.restricts());
        assert_eq!(
            policy.verdict(|v| location_covers(v, "us-central1")),
            Verdict::Denied
        );
        assert_eq!(
            policy.verdict(|v| location_covers(v, "europe-west1")),
            Verdict::Allowed
        );
        let open = ListPolicy::parse(r#"{"name":"projects/123/policies/gcp.resourceLocations","spec":{"rules":[{"allowAll":true}]}}"#).unwrap();
        assert!(!open.restricts());
        let unset =
            ListPolicy::parse(r#"{"name":"projects/123/policies/gcp.resourceLocations"}"#).unwrap();
        assert_eq!(unset.verdict(|_| Some(false)), Verdict::Allowed);
        let tagged = ListPolicy::parse(r#"{"spec":{"rules":[{"condition":{"expression":"resource.matchTag('1/env','prod')"},"denyAll":true},{"allowAll":true}]}}"#).unwrap();
        assert_eq!(tagged.verdict(|_| Some(true)), Verdict::Unknown);
    }
}
