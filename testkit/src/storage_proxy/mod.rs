//! A proxy in front of fake-gcs-server that adds what a real network and a real Cloud Storage do:
//! a delay on every request, and faults on chosen requests: 503 before forwarding, 503 **after**
//! forwarding (the write happened, the client is told it failed), 429, and a dropped connection
//! after forwarding (the write happened, the client never hears back).
//!
//! Point a client (`STORAGE_EMULATOR_HOST`) at [`StorageProxy::endpoint`] instead of the emulator.
//! The `storage-proxy` binary runs one from the command line for the benchmark.

mod faults;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::task::JoinHandle;

pub use faults::{FaultedRequests, StorageFault, StorageFaultPlan};

use faults::Faults;

#[derive(Debug)]
struct State {
    delay: Duration,
    faults: Faults,
    requests: u64,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a single step, so a poisoned lock still holds consistent data.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts the request and decides its fault, and how long to wait before handling it.
    fn admit(&self, is_write: bool) -> (Duration, Option<StorageFault>) {
        let mut state = self.lock();
        state.requests += 1;
        let fault = state.faults.decide(is_write);
        (state.delay, fault)
    }
}

/// A running proxy on 127.0.0.1, stopped when dropped.
#[derive(Debug)]
pub struct StorageProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// The proxy could not forward or could not listen.
#[derive(Debug)]
struct ForwardError(String);

impl std::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ForwardError {}

impl StorageProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:4443`) on a free port of 127.0.0.1,
    /// without delay or faults.
    pub async fn start(upstream: &str) -> std::io::Result<StorageProxy> {
        Self::start_on(upstream, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a proxy to `upstream` listening on `addr` (port 0 picks a free one).
    pub async fn start_on(upstream: &str, addr: SocketAddr) -> std::io::Result<StorageProxy> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .build()
                .map_err(std::io::Error::other)?,
            state: Mutex::new(State {
                delay: Duration::ZERO,
                faults: Faults::new(),
                requests: 0,
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

    /// Waits this long before handling each request (a network round trip).
    pub fn set_delay(&self, delay: Duration) {
        self.shared.lock().delay = delay;
    }

    /// Replaces the fault plan (and restarts its count of eligible requests).
    pub fn set_faults(&self, plan: StorageFaultPlan) {
        self.shared.lock().faults.set_plan(plan);
    }

    /// Injects `fault` into the next eligible request (after earlier queued ones).
    pub fn push_fault(&self, fault: StorageFault) {
        self.shared.lock().faults.push(fault);
    }

    /// How many times `fault` was injected so far.
    pub fn injected(&self, fault: StorageFault) -> u64 {
        self.shared.lock().faults.injected(fault)
    }

    /// Requests received so far.
    pub fn request_count(&self) -> u64 {
        self.shared.lock().requests
    }
}

impl Drop for StorageProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"error": {"code": status.as_u16(), "message": message}});
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(
    shared: &Shared,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ForwardError> {
    let is_write = matches!(
        *request.method(),
        hyper::Method::POST | hyper::Method::PUT | hyper::Method::PATCH
    );
    let (delay, fault) = shared.admit(is_write);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
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
    for hop in [
        hyper::header::HOST,
        hyper::header::CONTENT_LENGTH,
        hyper::header::CONNECTION,
    ] {
        headers.remove(hop);
    }
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
    for hop in [
        hyper::header::CONTENT_LENGTH,
        hyper::header::TRANSFER_ENCODING,
        hyper::header::CONNECTION,
    ] {
        headers.remove(hop);
    }
    let data = upstream
        .bytes()
        .await
        .map_err(|e| ForwardError(format!("reading the answer of {}: {e}", shared.upstream)))?;
    let mut response = Response::new(Full::new(data));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}
