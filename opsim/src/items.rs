//! Deterministic, realistic event items (AuditEventV2, SignInAttemptV2, ItemUsageV2) as raw JSON,
//! shaped as the v2 API sends them: `account_uuid` on every item, `actor_type` and
//! `actor_account_uuid` on audit events, `object_details` only when the object is a team member,
//! `aux_*` only on actions that have them, sign-in `details` null unless a firewall rule blocked
//! the attempt, lowercase device, vault and item uuids, and timestamps as Go's RFC 3339 writes them
//! (nanoseconds with trailing zeros trimmed, no fraction at all on a whole second).
//!
//! Each item is written once as text and served byte-for-byte. Some carry non-ASCII text and JSON
//! escapes (`\u00e9`, `\/`) that a consumer re-serializing the items instead of passing their bytes
//! through would change.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt as _, SeedableRng};

use crate::stream::Stream;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Raw JSON text of some people; the third and fifth hold escapes a re-serializer would rewrite.
const PEOPLE: [(&str, &str); 6] = [
    ("Wendy Appleseed", "wendy_appleseed@example.com"),
    ("Zoë Ångström", "zoe.angstrom@example.com"),
    ("Ren\\u00e9e O\\u2019Brien", "renee.obrien@example.com"),
    ("José Núñez", "jose.nunez@example.com"),
    ("Kai \\\"K\\\" Tanaka", "kai.tanaka@example.com"),
    ("Amara Okafor", "amara.okafor@example.com"),
];

const PLACES: [(&str, &str, &str, f64, f64); 5] = [
    ("CA", "Ontario", "Toronto", 43.64, -79.433),
    ("FR", "Île-de-France", "Paris", 48.8566, 2.3522),
    ("US", "California", "San Francisco", 37.7749, -122.4194),
    ("DE", "Berlin", "Berlin", 52.52, 13.405),
    ("JP", "Tokyo", "Tōkyō", 35.6762, 139.6503),
];

/// Audit actions: action, object type, whether the object is a team member (so the event carries
/// `object_details`), and whether the action has auxiliary data (`aux_*`).
const AUDIT_ACTIONS: [(&str, &str, bool, bool); 12] = [
    ("create", "item", false, false),
    ("update", "vault", false, false),
    ("delete", "item", false, false),
    ("grant", "uva", false, true),
    ("revoke", "gva", false, true),
    ("join", "gm", false, true),
    ("suspend", "user", true, false),
    ("reactive", "user", true, false),
    ("enblmfa", "account", false, false),
    ("export", "vault", false, false),
    ("view", "itemhist", false, true),
    ("begin", "ssotkn", false, false),
];

const SIGNIN: [(&str, &str); 6] = [
    ("success", "credentials_ok"),
    ("success", "mfa_ok"),
    ("credentials_failed", "password_secret_bad"),
    ("mfa_failed", "totp_bad"),
    ("firewall_failed", "continent_blocked"),
    ("sso_failed", "sso_user_mismatch"),
];

const ITEM_ACTIONS: [&str; 6] = [
    "reveal",
    "fill",
    "secure-copy",
    "server-fetch",
    "export",
    "share",
];

const CLIENTS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "1Password Browser Extension",
        "20267",
        "Chrome",
        "MacOSX",
        "14.5",
    ),
    (
        "1Password for Windows",
        "81030012",
        "Windows",
        "Windows",
        "11",
    ),
    ("1Password CLI", "2300301", "CLI", "Linux", "6.8"),
];

/// A deterministic generator for one stream's items.
pub(crate) struct ItemGen {
    seed: u64,
    stream: Stream,
}

impl ItemGen {
    pub fn new(seed: u64, stream: Stream) -> Self {
        Self { seed, stream }
    }

    /// The `index`-th item: its uuid and raw JSON text.
    pub fn generate(&self, index: u64, timestamp: DateTime<Utc>) -> (String, String) {
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.seed
                ^ self.stream.index().wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93),
        );
        let uuid = base32_uuid(&mut rng);
        let ts = go_rfc3339(timestamp);
        let mut out = String::with_capacity(900);
        match self.stream {
            Stream::AuditEvents => audit_event(&mut rng, &uuid, &ts, index, &mut out),
            Stream::SignInAttempts => sign_in_attempt(&mut rng, &uuid, &ts, &mut out),
            Stream::ItemUsages => item_usage(&mut rng, &uuid, &ts, &mut out),
        }
        (uuid, out)
    }
}

/// A 26-character base32 identifier, like 1Password's uuids.
pub(crate) fn base32_uuid(rng: &mut impl Rng) -> String {
    (0..26)
        .map(|_| BASE32[rng.random_range(0..32)] as char)
        .collect()
}

/// The lowercase form 1Password uses for device, vault and item uuids.
fn lower_uuid(rng: &mut impl Rng) -> String {
    base32_uuid(rng).to_ascii_lowercase()
}

/// `t` as Go's `time.RFC3339Nano` writes it (the Events API is written in Go): UTC with `Z`, the
/// fraction's trailing zeros trimmed, and no fraction on a whole second.
pub fn go_rfc3339(t: DateTime<Utc>) -> String {
    let mut text = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// The account every generated event belongs to.
pub(crate) const ACCOUNT_UUID: &str = "VZSYVT2LGRBRLBVTH4BXTROVMY";

fn location(rng: &mut ChaCha8Rng, out: &mut String) {
    let (country, region, city, lat, lon) = PLACES[rng.random_range(0..PLACES.len())];
    let _ = write!(
        out,
        r#""location":{{"country":"{country}","region":"{region}","city":"{city}","latitude":{lat},"longitude":{lon}}}"#
    );
}

fn ip(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}.{}.{}.{}",
        rng.random_range(1..224),
        rng.random_range(0..256),
        rng.random_range(0..256),
        rng.random_range(1..255)
    )
}

fn client(rng: &mut ChaCha8Rng, out: &mut String) {
    let (app, version, platform, os, os_version) = CLIENTS[rng.random_range(0..CLIENTS.len())];
    let ip = ip(rng);
    let _ = write!(
        out,
        r#""client":{{"app_name":"{app}","app_version":"{version}","platform_name":"{platform}","platform_version":"126.0","os_name":"{os}","os_version":"{os_version}","ip_address":"{ip}"}}"#
    );
}

fn audit_event(rng: &mut ChaCha8Rng, uuid: &str, ts: &str, index: u64, out: &mut String) {
    let (action, object_type, object_is_user, has_aux) =
        AUDIT_ACTIONS[rng.random_range(0..AUDIT_ACTIONS.len())];
    let actor = base32_uuid(rng);
    let (name, email) = PEOPLE[rng.random_range(0..PEOPLE.len())];
    let (other_name, other_email) = PEOPLE[rng.random_range(0..PEOPLE.len())];
    let object = if object_type == "item" {
        lower_uuid(rng)
    } else {
        base32_uuid(rng)
    };
    let aux = base32_uuid(rng);
    let session = base32_uuid(rng);
    let device = lower_uuid(rng);
    let ip = ip(rng);
    let aux_id = rng.random_range(1..100_000);
    let _ = write!(
        out,
        r#"{{"uuid":"{uuid}","timestamp":"{ts}","actor_uuid":"{actor}","actor_details":{{"uuid":"{actor}","name":"{name}","email":"{email}"}},"actor_type":"user","actor_account_uuid":"{ACCOUNT_UUID}","account_uuid":"{ACCOUNT_UUID}","action":"{action}","object_type":"{object_type}","object_uuid":"{object}","#
    );
    if object_is_user {
        let _ = write!(
            out,
            r#""object_details":{{"uuid":"{object}","name":"{other_name}","email":"{other_email}"}},"#
        );
    }
    if has_aux {
        let _ = write!(
            out,
            r#""aux_id":{aux_id},"aux_uuid":"{aux}","aux_details":{{"uuid":"{aux}","name":"{other_name}","email":"{other_email}"}},"aux_info":"https:\/\/start.1password.com\/events\/{index}","#
        );
    }
    let _ = write!(
        out,
        r#""session":{{"uuid":"{session}","login_time":"{ts}","device_uuid":"{device}","ip":"{ip}"}},"#
    );
    location(rng, out);
    out.push('}');
}

fn sign_in_attempt(rng: &mut ChaCha8Rng, uuid: &str, ts: &str, out: &mut String) {
    let (category, kind) = SIGNIN[rng.random_range(0..SIGNIN.len())];
    let session = base32_uuid(rng);
    let user = base32_uuid(rng);
    let (name, email) = PEOPLE[rng.random_range(0..PEOPLE.len())];
    let (country, ..) = PLACES[rng.random_range(0..PLACES.len())];
    // Only a firewall rule's refusal has details: the rule's value.
    let details = if category == "firewall_failed" {
        r#"{"value":"Europe"}"#
    } else {
        "null"
    };
    let _ = write!(
        out,
        r#"{{"uuid":"{uuid}","session_uuid":"{session}","timestamp":"{ts}","category":"{category}","type":"{kind}","country":"{country}","details":{details},"target_user":{{"uuid":"{user}","name":"{name}","email":"{email}","user_type":"user","user_account_uuid":"{ACCOUNT_UUID}"}},"#
    );
    client(rng, out);
    out.push(',');
    location(rng, out);
    let _ = write!(out, r#","account_uuid":"{ACCOUNT_UUID}"}}"#);
}

fn item_usage(rng: &mut ChaCha8Rng, uuid: &str, ts: &str, out: &mut String) {
    let action = ITEM_ACTIONS[rng.random_range(0..ITEM_ACTIONS.len())];
    let vault = lower_uuid(rng);
    let item = lower_uuid(rng);
    let user = base32_uuid(rng);
    let (name, email) = PEOPLE[rng.random_range(0..PEOPLE.len())];
    let version = rng.random_range(1..40);
    let _ = write!(
        out,
        r#"{{"uuid":"{uuid}","timestamp":"{ts}","used_version":{version},"vault_uuid":"{vault}","item_uuid":"{item}","action":"{action}","user":{{"uuid":"{user}","name":"{name}","email":"{email}","user_type":"user","user_account_uuid":"{ACCOUNT_UUID}"}},"#
    );
    client(rng, out);
    out.push(',');
    location(rng, out);
    let _ = write!(out, r#","account_uuid":"{ACCOUNT_UUID}"}}"#);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_deterministic_valid_json_with_escapes() {
        let ts = DateTime::parse_from_rfc3339("2026-11-25T10:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        for stream in Stream::ALL {
            let generator = ItemGen::new(42, stream);
            let (uuid, raw) = generator.generate(3, ts);
            assert_eq!(generator.generate(3, ts), (uuid.clone(), raw.clone()));
            assert_ne!(generator.generate(4, ts).0, uuid);
            assert_eq!(uuid.len(), 26);
            let value: serde_json::Value = serde_json::from_str(&raw).unwrap();
            assert_eq!(value["uuid"], uuid.as_str());
            assert_eq!(value["timestamp"], "2026-11-25T10:00:00.123456789Z");
            assert_eq!(value["account_uuid"], ACCOUNT_UUID);
        }
        // Re-serializing an audit event changes its bytes (the `\/` escape), so a consumer that
        // re-serializes is caught by byte comparisons.
        let (_, raw) = ItemGen::new(1, Stream::AuditEvents).generate(0, ts);
        let reserialized =
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&raw).unwrap())
                .unwrap();
        assert_ne!(raw, reserialized);
    }

    #[test]
    fn timestamps_are_written_as_go_writes_them() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        assert_eq!(
            go_rfc3339(at("2026-11-25T10:00:00Z")),
            "2026-11-25T10:00:00Z"
        );
        assert_eq!(
            go_rfc3339(at("2026-11-25T10:00:00.120Z")),
            "2026-11-25T10:00:00.12Z"
        );
        assert_eq!(
            go_rfc3339(at("2026-11-25T10:00:00.000000001Z")),
            "2026-11-25T10:00:00.000000001Z"
        );
    }

    #[test]
    fn v2_shapes_vary_as_the_real_service_sends_them() {
        let ts = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .to_utc();
        let values = |stream| {
            let generator = ItemGen::new(7, stream);
            (0..200)
                .map(|i| {
                    serde_json::from_str::<serde_json::Value>(&generator.generate(i, ts).1).unwrap()
                })
                .collect::<Vec<_>>()
        };
        let audit = values(Stream::AuditEvents);
        assert!(audit.iter().all(|v| {
            v["actor_type"] == "user"
                && v["actor_account_uuid"] == ACCOUNT_UUID
                && v["session"]["device_uuid"]
                    .as_str()
                    .unwrap()
                    .bytes()
                    .all(|b| !b.is_ascii_uppercase())
        }));
        for v in &audit {
            assert_eq!(
                v.get("object_details").is_some(),
                v["object_type"] == "user",
                "{v}"
            );
        }
        assert!(audit.iter().any(|v| v.get("aux_uuid").is_some()));
        assert!(
            audit
                .iter()
                .any(|v| v.get("aux_uuid").is_none() && v.get("aux_id").is_none())
        );
        for v in values(Stream::SignInAttempts) {
            assert_eq!(
                v["details"].is_null(),
                v["category"] != "firewall_failed",
                "{v}"
            );
        }
        for v in values(Stream::ItemUsages) {
            assert_eq!(
                v["vault_uuid"].as_str().unwrap(),
                v["vault_uuid"].as_str().unwrap().to_lowercase()
            );
        }
    }
}
