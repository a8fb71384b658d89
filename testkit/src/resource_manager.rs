//! Cloud Resource Manager's `projects.testIamPermissions` on loopback, for the preflight's
//! permission check: `POST /v1/projects/PROJECT:testIamPermissions` with `{"permissions": […]}`
//! answers `{"permissions": […]}`, the subset the caller holds, as the reference describes
//! (https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions; an
//! empty subset is an empty object, as proto3 JSON leaves out empty lists). Requests are refused
//! without the expected bearer token (401), on another project (403), with more than 100
//! permissions (400, the per-call limit the preflight keeps to), and, once a catalogue is set
//! ([`ResourceManager::know_only`]), with a permission outside it (400 INVALID_ARGUMENT, as
//! Resource Manager refuses a whole call naming an unknown permission:
//! https://github.com/googleapis/google-cloud-python/pull/1776,
//! https://github.com/googleapis/google-cloud-java/issues/722).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::loopback_http::{Answer, LoopbackHttp, SeenRequest};

/// The most permissions one call may test.
pub const MAX_PERMISSIONS_PER_CALL: usize = 100;

/// A running Resource Manager double for one project (or several).
#[derive(Debug)]
pub struct ResourceManager {
    http: LoopbackHttp,
    granted: Arc<Mutex<BTreeSet<(String, String)>>>,
    known: Arc<Mutex<Option<BTreeSet<String>>>>,
}

impl ResourceManager {
    /// Starts it; the caller must present `token` and holds nothing yet.
    pub fn start(token: &str) -> ResourceManager {
        let granted: Arc<Mutex<BTreeSet<(String, String)>>> = Arc::default();
        let known: Arc<Mutex<Option<BTreeSet<String>>>> = Arc::default();
        let (held, catalogue, token) = (granted.clone(), known.clone(), token.to_owned());
        let http = LoopbackHttp::start(move |request| answer(request, &token, &held, &catalogue));
        ResourceManager {
            http,
            granted,
            known,
        }
    }

    /// From now on, a call naming a permission outside `permissions` is refused (400), as
    /// Resource Manager refuses unknown permissions; without it every name is accepted.
    pub fn know_only(&self, permissions: impl IntoIterator<Item = impl Into<String>>) {
        *self.known.lock().expect("catalogue lock") =
            Some(permissions.into_iter().map(Into::into).collect());
    }

    /// Grants `permissions` on `project` to the caller.
    pub fn grant(&self, project: &str, permissions: impl IntoIterator<Item = impl Into<String>>) {
        let mut held = self.granted.lock().expect("grants lock");
        for permission in permissions {
            held.insert((project.to_owned(), permission.into()));
        }
    }

    /// Takes `permission` away on `project`.
    pub fn revoke(&self, project: &str, permission: &str) {
        self.granted
            .lock()
            .expect("grants lock")
            .remove(&(project.to_owned(), permission.to_owned()));
    }

    /// Every `(project, permission)` granted.
    pub fn granted(&self) -> BTreeSet<(String, String)> {
        self.granted.lock().expect("grants lock").clone()
    }

    /// The endpoint, as gcloud's `api_endpoint_overrides/cloudresourcemanager` takes it
    /// (`http://127.0.0.1:PORT/`).
    pub fn endpoint(&self) -> String {
        format!("{}/", self.http.url())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.http.seen()
    }
}

fn answer(
    request: &SeenRequest,
    token: &str,
    granted: &Mutex<BTreeSet<(String, String)>>,
    known: &Mutex<Option<BTreeSet<String>>>,
) -> Answer {
    let status = |code: u16, status: &str, message: &str| {
        Answer::json(
            code,
            &serde_json::json!({"error": {"code": code, "message": message, "status": status}}),
        )
    };
    if request.header("authorization") != Some(format!("Bearer {token}").as_str()) {
        return status(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    let project = request
        .target
        .strip_prefix("/v1/projects/")
        .and_then(|rest| rest.strip_suffix(":testIamPermissions"));
    let (Some(project), "POST") = (project, request.method.as_str()) else {
        return status(
            404,
            "NOT_FOUND",
            "only POST v1/projects/P:testIamPermissions is served",
        );
    };
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
        return status(400, "INVALID_ARGUMENT", "the body is not JSON");
    };
    let Some(asked) = body["permissions"].as_array() else {
        return status(400, "INVALID_ARGUMENT", "permissions is required");
    };
    if asked.len() > MAX_PERMISSIONS_PER_CALL {
        return status(400, "INVALID_ARGUMENT", "too many permissions in one call");
    }
    if let Some(known) = known.lock().expect("catalogue lock").as_ref()
        && let Some(unknown) = asked
            .iter()
            .find(|p| p.as_str().is_none_or(|p| !known.contains(p)))
    {
        return status(
            400,
            "INVALID_ARGUMENT",
            &format!("Permission {unknown} is not valid for this resource."),
        );
    }
    let held = granted.lock().expect("grants lock");
    if !held.iter().any(|(p, _)| p == project) {
        return status(
            403,
            "PERMISSION_DENIED",
            &format!("The caller does not have permission on projects/{project}"),
        );
    }
    let answered: Vec<&str> = asked
        .iter()
        .filter_map(|p| p.as_str())
        .filter(|p| held.contains(&(project.to_owned(), (*p).to_owned())))
        .collect();
    if answered.is_empty() {
        Answer::json(200, &serde_json::json!({}))
    } else {
        Answer::json(200, &serde_json::json!({"permissions": answered}))
    }
}
