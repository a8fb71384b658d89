//! Cloud Storage's permission check in front of fake-gcs-server (which has none): a loopback proxy
//! for one identity that forwards every request it is allowed and answers the others with Cloud
//! Storage's own 403 error, so a caller meets a real "permission denied" through its own client.

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};

/// What the identity behind a gate may do with the bucket's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `roles/storage.objectUser`: read, create, replace.
    ReadWrite,
    /// `roles/storage.objectViewer`: read and list only.
    ReadOnly,
    /// No role on the bucket.
    None,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    principal: String,
    access: Mutex<Access>,
    http: reqwest::Client,
}

/// A running gate for one identity.
#[derive(Debug)]
pub struct StorageGate {
    shared: Arc<Shared>,
    endpoint: String,
    task: tokio::task::JoinHandle<()>,
}

impl StorageGate {
    /// A gate on a free loopback port in front of `upstream` (`http://127.0.0.1:PORT`) for
    /// `principal` (e.g. `collector@p.iam.gserviceaccount.com`), granting `access`.
    pub async fn start(upstream: &str, principal: &str, access: Access) -> StorageGate {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            principal: principal.to_owned(),
            access: Mutex::new(access),
            http: reqwest::Client::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the storage gate");
        let endpoint = format!(
            "http://{}",
            listener.local_addr().expect("the gate's address")
        );
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StorageGate {
            shared,
            endpoint,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`, for `STORAGE_EMULATOR_HOST` or gcloud's endpoint override.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Changes what the identity may do, from the next request on.
    pub fn set_access(&self, access: Access) {
        *self.shared.access.lock().expect("gate lock") = access;
    }
}

impl Drop for StorageGate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn permission(method: &axum::http::Method, path: &str) -> &'static str {
    let object = path.contains("/o/") || path.ends_with("/o");
    match (method.as_str(), object) {
        ("GET" | "HEAD", true) if path.ends_with("/o") => "storage.objects.list",
        ("GET" | "HEAD", true) => "storage.objects.get",
        ("GET" | "HEAD", false) => "storage.buckets.get",
        ("DELETE", _) => "storage.objects.delete",
        _ => "storage.objects.create",
    }
}

fn allowed(access: Access, permission: &str) -> bool {
    match access {
        Access::ReadWrite => true,
        Access::ReadOnly => matches!(
            permission,
            "storage.objects.get" | "storage.objects.list" | "storage.buckets.get"
        ),
        Access::None => false,
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let needed = permission(&parts.method, parts.uri.path());
    let access = *shared.access.lock().expect("gate lock");
    if !allowed(access, needed) {
        let message = format!(
            "{} does not have {needed} access to the Google Cloud Storage {}. Permission '{needed}' denied on resource (or it may not exist).",
            shared.principal,
            if needed == "storage.buckets.get" {
                "bucket"
            } else {
                "object"
            }
        );
        let body = serde_json::json!({"error": {"code": 403, "message": message,
            "errors": [{"message": message, "domain": "global", "reason": "forbidden"}]}});
        return (
            StatusCode::FORBIDDEN,
            [("content-type", "application/json; charset=UTF-8")],
            body.to_string(),
        )
            .into_response();
    }
    let Ok(bytes) = to_bytes(body, 256 * 1024 * 1024).await else {
        return (StatusCode::BAD_REQUEST, "unreadable request body").into_response();
    };
    let mut upstream = shared.http.request(
        parts.method.clone(),
        format!("{}{path_and_query}", shared.upstream),
    );
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            upstream = upstream.header(name, value);
        }
    }
    match upstream.body(bytes).send().await {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if !hop_by_hop(name) && name != "content-length" {
                    response = response.header(name, value);
                }
            }
            let body = answer.bytes().await.unwrap_or_default();
            response
                .body(Body::from(body))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host" | "connection" | "transfer-encoding" | "keep-alive" | "upgrade" | "te" | "trailer"
    )
}
