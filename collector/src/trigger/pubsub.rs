//! Parsing a trigger request: a Pub/Sub push envelope, or a CloudEvent in binary mode whose body is
//! `MessagePublishedData`. The message's data is not used (Cloud Scheduler sends `{}`), but a
//! request that is neither shape is refused with a reason.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

/// A parsed trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// `push` or `cloudevent`.
    pub kind: &'static str,
    /// The Pub/Sub message id (or the CloudEvent id).
    pub id: String,
}

/// A request that is not a trigger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Pub/Sub push or CloudEvent trigger: {0}")]
pub struct TriggerError(pub String);

#[derive(Deserialize)]
struct Envelope {
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    data: Option<String>,
    #[serde(rename = "messageId")]
    message_id: Option<String>,
    #[serde(rename = "message_id")]
    message_id_snake: Option<String>,
}

fn message_of(body: &[u8]) -> Result<Message, TriggerError> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| TriggerError(format!("the body is not a JSON envelope ({e})")))?;
    let message = envelope
        .message
        .ok_or_else(|| TriggerError("the body has no \"message\" object".into()))?;
    if let Some(data) = &message.data {
        STANDARD
            .decode(data)
            .map_err(|e| TriggerError(format!("message.data is not base64 ({e})")))?;
    }
    Ok(message)
}

/// Parses the request's headers and body.
pub fn parse_trigger(headers: &HeaderMap, body: &[u8]) -> Result<Trigger, TriggerError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let Some(kind) = header("ce-type") {
        let id = header("ce-id")
            .ok_or_else(|| TriggerError("CloudEvent without a ce-id header".into()))?;
        header("ce-source")
            .ok_or_else(|| TriggerError("CloudEvent without a ce-source header".into()))?;
        header("ce-specversion")
            .ok_or_else(|| TriggerError("CloudEvent without a ce-specversion header".into()))?;
        if kind != "google.cloud.pubsub.topic.v1.messagePublished" {
            return Err(TriggerError(format!(
                "unexpected CloudEvent type {kind:?}; expected google.cloud.pubsub.topic.v1.messagePublished"
            )));
        }
        message_of(body)?;
        return Ok(Trigger {
            kind: "cloudevent",
            id,
        });
    }
    let message = message_of(body)?;
    let id = message
        .message_id
        .or(message.message_id_snake)
        .ok_or_else(|| TriggerError("message has neither messageId nor message_id".into()))?;
    Ok(Trigger { kind: "push", id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn push_envelopes_in_both_spellings() {
        let camel = br#"{"message":{"data":"e30=","attributes":{},"messageId":"42","publishTime":"2026-11-25T00:00:00Z"},"subscription":"projects/p/subscriptions/s"}"#;
        assert_eq!(
            parse_trigger(&HeaderMap::new(), camel).unwrap(),
            Trigger {
                kind: "push",
                id: "42".into()
            }
        );
        let snake = br#"{"message":{"data":"e30=","message_id":"43","publish_time":"2026-11-25T00:00:00Z"},"subscription":"s"}"#;
        assert_eq!(parse_trigger(&HeaderMap::new(), snake).unwrap().id, "43");
    }

    #[test]
    fn cloudevents_in_binary_mode() {
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("ce-id", "7"),
            ("ce-source", "//pubsub.googleapis.com/projects/p/topics/t"),
            ("ce-specversion", "1.0"),
            ("ce-type", "google.cloud.pubsub.topic.v1.messagePublished"),
        ] {
            headers.insert(k, HeaderValue::from_static(v));
        }
        let body = br#"{"message":{"data":"e30=","messageId":"7"},"subscription":"s"}"#;
        assert_eq!(
            parse_trigger(&headers, body).unwrap(),
            Trigger {
                kind: "cloudevent",
                id: "7".into()
            }
        );
        headers.remove("ce-id");
        assert!(
            parse_trigger(&headers, body)
                .unwrap_err()
                .0
                .contains("ce-id")
        );
    }

    #[test]
    fn malformed_requests_say_why() {
        let cases: [(&[u8], &str); 4] = [
            (b"not json", "not a JSON envelope"),
            (br#"{"subscription":"s"}"#, "no \"message\""),
            (
                br#"{"message":{"data":"%%%","messageId":"1"}}"#,
                "not base64",
            ),
            (br#"{"message":{"data":"e30="}}"#, "neither messageId"),
        ];
        for (body, reason) in cases {
            let error = parse_trigger(&HeaderMap::new(), body).unwrap_err();
            assert!(error.to_string().contains(reason), "{error}");
        }
    }
}
