//! The APIs the deployment uses, against `gcloud services list --enabled --format json`, which
//! prints Service Usage `Service` objects
//! (https://cloud.google.com/service-usage/docs/reference/rest/v1/services#Service: `name`
//! `projects/NUMBER/services/NAME`, `config.name`, `state`). Disabled APIs are a blocker only when
//! the caller may not enable them: `apply` enables them itself.

use std::collections::BTreeSet;

use crate::config::Config;

/// The APIs the module and the script enable (terraform/main.tf's `local.services`).
pub fn required(config: &Config) -> Vec<&'static str> {
    let mut apis = vec![
        "artifactregistry.googleapis.com",
        "cloudbuild.googleapis.com",
        "cloudresourcemanager.googleapis.com",
        "cloudscheduler.googleapis.com",
        "iam.googleapis.com",
        "pubsub.googleapis.com",
        "run.googleapis.com",
        "secretmanager.googleapis.com",
        "storage.googleapis.com",
    ];
    if config.alerting.enabled {
        apis.extend(["logging.googleapis.com", "monitoring.googleapis.com"]);
    }
    if config.github.repository.is_some() {
        apis.extend(["iamcredentials.googleapis.com", "sts.googleapis.com"]);
    }
    apis
}

/// The enabled APIs in the list's answer.
pub fn enabled(answer: &str) -> Result<BTreeSet<String>, serde_json::Error> {
    let services: Vec<serde_json::Value> = if answer.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(answer)?
    };
    Ok(services
        .iter()
        .filter(|s| s["state"].as_str().is_none_or(|state| state == "ENABLED"))
        .filter_map(|s| {
            s["config"]["name"]
                .as_str()
                .or_else(|| s["name"].as_str().and_then(|n| n.rsplit('/').next()))
                .map(str::to_owned)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_services_are_read_by_their_config_name_or_resource_name() {
        let answer = r#"[{"config":{"name":"run.googleapis.com","title":"Cloud Run Admin API"},"name":"projects/123/services/run.googleapis.com","parent":"projects/123","state":"ENABLED"},
                        {"name":"projects/123/services/pubsub.googleapis.com","state":"ENABLED"},
                        {"config":{"name":"iam.googleapis.com"},"name":"projects/123/services/iam.googleapis.com","state":"DISABLED"}]"#;
        let found = enabled(answer).unwrap();
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            ["pubsub.googleapis.com", "run.googleapis.com"]
        );
        assert!(enabled("").unwrap().is_empty());
    }
}
