//! A test container registry on loopback answering manifest `HEAD`/`GET` as the OCI Distribution
//! spec says (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests:
//! `200` with `Docker-Content-Digest`, `404` with the `MANIFEST_UNKNOWN` error code), and the
//! registry token flow (https://distribution.github.io/distribution/spec/auth/token/: `401` with
//! `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, then `GET realm?service&scope` answering
//! `{"token": …}`). It plays Artifact Registry (a bearer token the caller already has) or GitHub
//! Container Registry (anonymous pull tokens).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::loopback_http::{Answer, LoopbackHttp, SeenRequest};

/// How the registry authenticates pulls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAuth {
    /// Only this bearer token (Artifact Registry with `gcloud auth print-access-token`'s token).
    Bearer(String),
    /// Anonymous tokens from its own `/token` endpoint (GitHub Container Registry's public images).
    AnonymousToken,
}

/// A running test registry.
#[derive(Debug)]
pub struct TestRegistry {
    http: LoopbackHttp,
    manifests: Arc<Mutex<BTreeMap<(String, String), String>>>,
}

/// The manifest media types a registry may answer with.
const MANIFEST_TYPE: &str = "application/vnd.oci.image.index.v1+json";

impl TestRegistry {
    /// Starts an empty registry requiring `auth`.
    pub fn start(auth: RegistryAuth) -> TestRegistry {
        let manifests: Arc<Mutex<BTreeMap<(String, String), String>>> = Arc::default();
        let known = manifests.clone();
        let http = LoopbackHttp::start(move |request| answer(request, &auth, &known));
        TestRegistry { http, manifests }
    }

    /// Serves `name:tag` (`name` without the host, e.g. `p/repo/collector`) with `digest`.
    pub fn serve(&self, name: &str, tag: &str, digest: &str) {
        self.manifests
            .lock()
            .expect("manifests lock")
            .insert((name.to_owned(), tag.to_owned()), digest.to_owned());
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.http.url()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.http.seen()
    }
}

/// `%XX` escapes decoded (query values).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    Answer::json(
        status,
        &serde_json::json!({"errors": [{"code": code, "message": message}]}),
    )
}

fn answer(
    request: &SeenRequest,
    auth: &RegistryAuth,
    manifests: &Mutex<BTreeMap<(String, String), String>>,
) -> Answer {
    let path = request.target.split('?').next().unwrap_or_default();
    if path == "/token" {
        let scope = request
            .target
            .split_once("scope=")
            .map(|(_, s)| s.split('&').next().unwrap_or_default())
            .unwrap_or_default();
        return Answer::json(
            200,
            &serde_json::json!({"token": format!("anonymous-{}", percent_decode(scope))}),
        );
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return error(404, "NAME_UNKNOWN", "not a registry path");
    };
    let Some((name, reference)) = rest.rsplit_once("/manifests/") else {
        return error(404, "NAME_UNKNOWN", "only manifests are served here");
    };
    let scope = format!("repository:{name}:pull");
    let presented = request
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "));
    let allowed = match auth {
        RegistryAuth::Bearer(token) => presented == Some(token.as_str()),
        RegistryAuth::AnonymousToken => presented == Some(format!("anonymous-{scope}").as_str()),
    };
    if !allowed {
        let challenge = match auth {
            RegistryAuth::Bearer(_) => "Bearer realm=\"unused\"".to_owned(),
            RegistryAuth::AnonymousToken => format!(
                "Bearer realm=\"{}/token\",service=\"test-registry\",scope=\"{scope}\"",
                request
                    .header("host")
                    .map_or_else(String::new, |h| format!("http://{h}"))
            ),
        };
        return error(401, "UNAUTHORIZED", "authentication required")
            .with_header("WWW-Authenticate", &challenge);
    }
    let accepts = request.header("accept").unwrap_or_default();
    if !accepts.contains(MANIFEST_TYPE) {
        return error(
            404,
            "MANIFEST_UNKNOWN",
            "no manifest of an accepted media type",
        );
    }
    let known = manifests.lock().expect("manifests lock");
    match known.get(&(name.to_owned(), reference.to_owned())) {
        Some(digest) => Answer {
            status: 200,
            headers: vec![
                ("Content-Type".into(), MANIFEST_TYPE.into()),
                ("Docker-Content-Digest".into(), digest.clone()),
            ],
            body: br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.to_vec(),
        },
        None => error(404, "MANIFEST_UNKNOWN", "manifest unknown"),
    }
}
