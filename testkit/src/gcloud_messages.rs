//! The real gcloud's message classes as a schema check: a JSON document the gcloud engine hands to
//! `--config-from-file` or `--policy-from-file` (a log-based metric, an alert policy) is read with
//! the API's own classes that gcloud ships, and every field the API does not know is reported. The
//! argument check (`gcloud_parse.rs`) cannot see inside those files.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// A Cloud API document kind gcloud ships the classes of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiMessage {
    /// `logging.v2.LogMetric` (`gcloud logging metrics create --config-from-file`).
    LogMetric,
    /// `monitoring.v3.AlertPolicy` (`gcloud alpha monitoring policies create --policy-from-file`).
    AlertPolicy,
    /// `monitoring.v1.Dashboard` (`gcloud monitoring dashboards create --config-from-file`).
    Dashboard,
}

impl ApiMessage {
    fn name(self) -> &'static str {
        match self {
            ApiMessage::LogMetric => "LogMetric",
            ApiMessage::AlertPolicy => "AlertPolicy",
            ApiMessage::Dashboard => "Dashboard",
        }
    }
}

/// `Ok` when every field of `json` is one the API knows for `kind`; else the unknown fields (or
/// why the document could not be read). Panics, naming the fix, when gcloud is missing.
pub fn check_message(kind: ApiMessage, json: &str) -> Result<(), String> {
    let gcloud = crate::tool("gcloud");
    let info = Command::new(&gcloud)
        .args([
            "info",
            "--format=value(basic.python_location,installation.sdk_root)",
        ])
        .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
        .output()
        .expect("gcloud info runs (install the Google Cloud CLI)");
    let text = String::from_utf8_lossy(&info.stdout);
    let (python, sdk_root) = text
        .trim()
        .split_once('\t')
        .expect("gcloud info names its Python and its SDK root");
    let script = std::env::temp_dir().join("testkit-gcloud-messages.py");
    std::fs::write(&script, include_str!("gcloud_messages.py"))
        .expect("write the message check script");
    let mut child = Command::new(python)
        .arg(&script)
        .args([sdk_root, kind.name()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gcloud's Python runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(json.as_bytes())
        .expect("write the document");
    let out = child.wait_with_output().expect("the check ends");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_named_and_known_ones_pass() {
        let good = r#"{"filter":"f","metricDescriptor":{"metricKind":"DELTA","valueType":"INT64","labels":[{"key":"account","valueType":"STRING"}]},"labelExtractors":{"account":"EXTRACT(jsonPayload.account)"}}"#;
        assert_eq!(check_message(ApiMessage::LogMetric, good), Ok(()));
        let bad = r#"{"filter":"f","metricDescriptor":{"metricKind":"DELTA","lables":[]}}"#;
        let error = check_message(ApiMessage::LogMetric, bad).unwrap_err();
        assert!(
            error.contains("LogMetric.metricDescriptor.lables"),
            "{error}"
        );
        let policy = r#"{"displayName":"x","combiner":"OR","conditions":[{"displayName":"c","conditionMatchedLog":{"filter":"f","labelExtractor":{}}}]}"#;
        let error = check_message(ApiMessage::AlertPolicy, policy).unwrap_err();
        assert!(
            error.contains("conditionMatchedLog.labelExtractor"),
            "{error}"
        );
        let dashboard = r#"{"displayName":"d","mosaicLayout":{"columns":48,"tiles":[{"width":8,"widget":{"title":"t","xyChart":{"dataSets":[{"plotTyp":"LINE"}]}}}]}}"#;
        let error = check_message(ApiMessage::Dashboard, dashboard).unwrap_err();
        assert!(error.contains("dataSets.plotTyp"), "{error}");
    }
}
