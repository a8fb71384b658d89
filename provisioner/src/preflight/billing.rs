//! Billing on the project, from `gcloud billing projects describe P --format json`, which prints a
//! ProjectBillingInfo (https://cloud.google.com/billing/docs/reference/rest/v1/ProjectBillingInfo:
//! `name`, `projectId`, `billingAccountName`, `billingEnabled`).

use super::report::{CheckKind, Finding};

/// The finding for the describe's answer, if billing is off or the answer unreadable.
pub fn judge(project: &str, answer: &str) -> Option<Finding> {
    let info: serde_json::Value = match serde_json::from_str(answer) {
        Ok(info) => info,
        Err(e) => {
            return Some(Finding::Unchecked {
                check: CheckKind::Billing,
                reason: format!(
                    "gcloud billing projects describe printed no ProjectBillingInfo ({e})"
                ),
            });
        }
    };
    // `billingEnabled` is left out when false (proto3 JSON).
    match info["billingEnabled"].as_bool() {
        Some(true) => None,
        _ => Some(Finding::BillingDisabled {
            project: project.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_is_read_from_billing_enabled() {
        let on = r#"{"billingAccountName":"billingAccounts/0X0X0X-0X0X0X-0X0X0X","billingEnabled":true,"name":"projects/p/billingInfo","projectId":"p"}"#;
        assert_eq!(judge("p", on), None);
        let off = r#"{"billingAccountName":"","name":"projects/p/billingInfo","projectId":"p"}"#;
        assert_eq!(
            judge("p", off),
            Some(Finding::BillingDisabled {
                project: "p".into()
            })
        );
        assert!(matches!(
            judge("p", "not json"),
            Some(Finding::Unchecked { .. })
        ));
    }
}
