//! A proxy in front of fake-gcs-server that adds what a real network and a real Cloud Storage do:
//! a delay on every request; faults on chosen requests (503 before forwarding, 503 **after**
//! forwarding: the write happened, the client is told it failed; 429; a dropped connection after
//! forwarding: the write happened, the client never hears back); and Cloud Storage's permission
//! check for one principal, answering what its [`Access`] does not allow with Cloud Storage's 403.
//!
//! Point a client (`STORAGE_EMULATOR_HOST`) at [`StorageProxy::endpoint`] instead of the emulator.
//! The `storage-proxy` binary runs one from the command line for the benchmark.

mod access;
mod faults;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use tokio::task::JoinHandle;

pub use access::Access;
pub use faults::{FaultedRequests, StorageFault, StorageFaultPlan};

use access::Permission;
use faults::Faults;

/// The principal [`StorageProxy::start`] and [`StorageProxy::start_on`] name in their denials.
const DEFAULT_PRINCIPAL: &str = "caller@example.com";

/// Headers that describe one connection, not the request: never passed on. `Content-Length` is
/// recomputed, since bodies are passed on whole.
const HOP_BY_HOP: [&str; 8] = [
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
];

#[derive(Debug)]
struct State {
    delay: Duration,
    access: Access,
    faults: Faults,
    requests: u64,
    /// Where each request is recorded as `METHOD PATH?QUERY BODY_BYTES`, one line each (for the cost
    /// measurement, which sorts them into Cloud Storage's operation classes).
    log: Option<std::fs::File>,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    principal: String,
    http: reqwest::Client,
    state: Mutex<State>,
}

/// What happens to an admitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// The principal lacks the permission: Cloud Storage's 403, nothing forwarded.
    Denied,
    /// Forwarded, with this fault if any.
    Forward(Option<StorageFault>),
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a single step, so a poisoned lock still holds consistent data.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts the request, checks its permission and decides its fault, and how long to wait
    /// before handling it. A denied request is answered before any fault is decided: it neither
    /// uses up a queued fault nor counts toward the plan, as Cloud Storage refuses it before doing
    /// anything.
    fn admit(&self, permission: Permission, is_write: bool) -> (Duration, Admission) {
        let mut state = self.lock();
        state.requests += 1;
        let admission = if state.access.grants(permission) {
            Admission::Forward(state.faults.decide(is_write))
        } else {
            Admission::Denied
        };
        (state.delay, admission)
    }
}

/// A running proxy on 127.0.0.1 for one principal, stopped when dropped.
#[derive(Debug)]
pub struct StorageProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// A proxy that could not start.
#[derive(Debug, thiserror::Error)]
pub enum StorageProxyError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP client that forwards to the upstream could not be built.
    #[error("cannot build the HTTP client that forwards to the upstream: {0}")]
    Client(#[source] reqwest::Error),
}

/// A request that was not forwarded, or whose answer must not reach the client.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ForwardError(String);

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl StorageProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:4443`) on a free port of 127.0.0.1,
    /// without delay or faults, its principal (`caller@example.com`) allowed everything.
    pub async fn start(upstream: &str) -> Result<StorageProxy, StorageProxyError> {
        Self::start_on(upstream, loopback(0)).await
    }

    /// Starts a proxy to `upstream` listening on `addr` (port 0 picks a free one), without delay or
    /// faults, its principal (`caller@example.com`) allowed everything.
    pub async fn start_on(
        upstream: &str,
        addr: SocketAddr,
    ) -> Result<StorageProxy, StorageProxyError> {
        Self::launch(upstream, addr, DEFAULT_PRINCIPAL, Access::ReadWrite).await
    }

    /// Starts a proxy to `upstream` on a free port of 127.0.0.1 for `principal` (e.g.
    /// `collector@p.iam.gserviceaccount.com`, as Cloud Storage names it in a 403), granting
    /// `access`, without delay or faults.
    pub async fn start_as(
        upstream: &str,
        principal: &str,
        access: Access,
    ) -> Result<StorageProxy, StorageProxyError> {
        Self::launch(upstream, loopback(0), principal, access).await
    }

    async fn launch(
        upstream: &str,
        addr: SocketAddr,
        principal: &str,
        access: Access,
    ) -> Result<StorageProxy, StorageProxyError> {
        let listen = |source| StorageProxyError::Listen { addr, source };
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(listen)?;
        let addr = listener.local_addr().map_err(listen)?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            principal: principal.to_owned(),
            http: reqwest::Client::builder()
                .build()
                .map_err(StorageProxyError::Client)?,
            state: Mutex::new(State {
                delay: Duration::ZERO,
                access,
                faults: Faults::new(),
                requests: 0,
                log: None,
            }),
        });
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let shared = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let shared = shared.clone();
                        async move { handle(&shared, request).await }
                    });
                    // An error here is a dropped connection, injected or not.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(StorageProxy { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT`: what `STORAGE_EMULATOR_HOST` should name.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The principal Cloud Storage's 403 names.
    pub fn principal(&self) -> &str {
        &self.shared.principal
    }

    /// What the principal may do now.
    pub fn access(&self) -> Access {
        self.shared.lock().access
    }

    /// Changes what the principal may do, from the next request on.
    pub fn set_access(&self, access: Access) {
        self.shared.lock().access = access;
    }

    /// Waits this long before handling each request (a network round trip), denied ones included.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.lock().delay = delay;
    }

    /// Replaces the fault plan (and restarts its count of eligible requests).
    pub fn set_faults(&self, plan: StorageFaultPlan) {
        self.shared.lock().faults.set_plan(plan);
    }

    /// Injects `fault` into the next eligible request the principal is allowed (after earlier
    /// queued ones).
    pub fn push_fault(&self, fault: StorageFault) {
        self.shared.lock().faults.push(fault);
    }

    /// How many times `fault` was injected so far.
    pub fn injected(&self, fault: StorageFault) -> u64 {
        self.shared.lock().faults.injected(fault)
    }

    /// Records every request from now on in `file`, one line each: `METHOD PATH?QUERY BODY_BYTES`
    /// (the body size from `Content-Length`, 0 without one).
    pub fn set_request_log(&self, file: std::fs::File) {
        self.shared.lock().log = Some(file);
    }

    /// Requests received so far, denied ones included.
    pub fn request_count(&self) -> u64 {
        self.shared.lock().requests
    }
}

impl Drop for StorageProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn json(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

/// The proxy's own answer (an injected fault, an unreachable upstream).
fn answer(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"error": {"code": status.as_u16(), "message": message}});
    json(status, "application/json", body.to_string())
}

async fn handle(
    shared: &Shared,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ForwardError> {
    let permission = Permission::needed(request.method(), request.uri().path());
    let is_write = matches!(
        *request.method(),
        hyper::Method::POST | hyper::Method::PUT | hyper::Method::PATCH
    );
    record(shared, &request);
    let (delay, admission) = shared.admit(permission, is_write);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let fault = match admission {
        Admission::Denied => {
            return Ok(json(
                StatusCode::FORBIDDEN,
                access::DENIAL_CONTENT_TYPE,
                access::denial(&shared.principal, permission),
            ));
        }
        Admission::Forward(fault) => fault,
    };
    match fault {
        Some(StorageFault::UnavailableBeforeForwarding) => {
            return Ok(answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "injected: 503 before forwarding",
            ));
        }
        Some(StorageFault::TooManyRequests) => {
            return Ok(answer(StatusCode::TOO_MANY_REQUESTS, "injected: 429"));
        }
        _ => {}
    }
    let forwarded = forward(shared, request).await;
    match fault {
        Some(StorageFault::UnavailableAfterForwarding) => Ok(answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "injected: 503 after forwarding",
        )),
        Some(StorageFault::DropAfterForwarding) => Err(ForwardError(
            "injected: connection dropped after forwarding".into(),
        )),
        _ => Ok(forwarded.unwrap_or_else(|e| answer(StatusCode::BAD_GATEWAY, &e.0))),
    }
}

/// Appends `request`'s line to the request log, if one is set.
fn record(shared: &Shared, request: &Request<Incoming>) {
    use std::io::Write as _;
    let mut state = shared.lock();
    if let Some(log) = state.log.as_mut() {
        let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let bytes = request
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        // A lost line shows as a missing count in the measurement, never as a failed request.
        let _ = writeln!(log, "{} {target} {bytes}", request.method());
    }
}

/// Sends `request` to the upstream and returns its answer, whole.
async fn forward(
    shared: &Shared,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ForwardError> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| ForwardError(format!("reading the request body: {e}")))?
        .to_bytes();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    let upstream = shared
        .http
        .request(parts.method, format!("{}{path}", shared.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| ForwardError(format!("forwarding to {}: {e}", shared.upstream)))?;
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    strip_hop_by_hop(&mut headers);
    let data = upstream
        .bytes()
        .await
        .map_err(|e| ForwardError(format!("reading the answer of {}: {e}", shared.upstream)))?;
    let mut response = Response::new(Full::new(data));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}
