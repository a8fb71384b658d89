//! The HTTP server: routes, request bodies, pages, errors, faults, and the handle tests hold.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::{TokenClaims, TokenGrant, authenticate};
use crate::cursor::CursorState;
use crate::faults::{Fault, FaultPlan};
use crate::items::base32_uuid;
use crate::log::{EventLog, LoggedEvent};
use crate::ratelimit::{RateLimiter, RateLimits};
use crate::requests::{RequestCounts, TokenRequests};
use crate::stream::Stream;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// How a simulator starts: seed, tokens, backlog, rate limit and faults.
#[derive(Debug, Clone)]
pub struct SimConfig {
    seed: u64,
    tokens: Vec<TokenGrant>,
    backlog: HashMap<Stream, usize>,
    history: Duration,
    backlog_end: Option<DateTime<Utc>>,
    rate_limit: Option<RateLimits>,
    retry_after: RetryAfter,
    page_quirks: bool,
    faults: FaultPlan,
    page_delay: std::time::Duration,
}

/// How a 429 from the rate limiter says when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    #[default]
    Seconds,
    /// `Retry-After: <HTTP date>`, e.g. `Wed, 25 Nov 2026 10:00:00 GMT`.
    HttpDate,
    /// No `Retry-After` header at all.
    Omitted,
}

/// `Retry-After` as an HTTP date `wait` from now, rounded up to the next whole second.
pub(crate) fn http_date_after(wait: std::time::Duration) -> String {
    let at =
        Utc::now() + Duration::from_std(wait).unwrap_or(Duration::zero()) + Duration::seconds(1);
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

impl SimConfig {
    /// No tokens, no events, no faults, no rate limit; events are reproducible for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            tokens: Vec::new(),
            backlog: HashMap::new(),
            history: Duration::minutes(30),
            backlog_end: None,
            rate_limit: None,
            retry_after: RetryAfter::default(),
            page_quirks: false,
            faults: FaultPlan::none(),
            page_delay: std::time::Duration::ZERO,
        }
    }

    /// Accepts this token.
    pub fn with_token(mut self, grant: TokenGrant) -> Self {
        self.tokens.push(grant);
        self
    }

    /// A backlog of `n` events on `stream`, spread over the history window ending at start-up.
    pub fn with_events(mut self, stream: Stream, n: usize) -> Self {
        self.backlog.insert(stream, n);
        self
    }

    /// How far back the backlog reaches (default 30 minutes, inside the API's default one-hour
    /// ResetCursor window).
    pub fn with_history(mut self, history: std::time::Duration) -> Self {
        self.history = Duration::from_std(history).unwrap_or(Duration::minutes(30));
        self
    }

    /// Ends the backlog at this instant instead of at start-up, so timestamps (and so every byte)
    /// are reproducible across runs.
    pub fn with_backlog_end(mut self, end: DateTime<Utc>) -> Self {
        self.backlog_end = Some(end);
        self
    }

    /// Refuses more than `per_minute` requests per token per minute with 429 (the real API: 600),
    /// and more than the real API's 30,000 per hour.
    pub fn with_rate_limit(mut self, per_minute: u32) -> Self {
        self.rate_limit = Some(RateLimits {
            per_minute,
            ..RateLimits::REAL
        });
        self
    }

    /// Refuses requests past either limit per token with 429.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limit = Some(limits);
        self
    }

    /// How the rate limiter's 429s give `Retry-After` (default: seconds).
    pub fn with_retry_after(mut self, style: RetryAfter) -> Self {
        self.retry_after = style;
        self
    }

    /// Answers as the real service does at the edges of a log: an empty page carries
    /// `"items":null`, and a full page says `has_more: true` even when nothing follows it, so the
    /// next request gets an empty page.
    pub fn with_page_quirks(mut self) -> Self {
        self.page_quirks = true;
        self
    }

    /// Answers every events request (every page) this much later: a network round trip.
    pub fn with_page_delay(mut self, delay: std::time::Duration) -> Self {
        self.page_delay = delay;
        self
    }

    /// Injects these faults.
    pub fn with_faults(mut self, plan: FaultPlan) -> Self {
        self.faults = plan;
        self
    }
}

struct Inner {
    logs: HashMap<Stream, EventLog>,
    served: HashMap<Stream, Vec<String>>,
    faults: FaultPlan,
    limiter: Option<RateLimiter>,
    requests: u64,
    by_token: RequestCounts,
}

struct Shared {
    tokens: Vec<TokenGrant>,
    retry_after: RetryAfter,
    page_quirks: bool,
    account_uuid: String,
    issued_at: DateTime<Utc>,
    page_delay: std::time::Duration,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (every update is a single step).
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running simulator on 127.0.0.1. Dropping it stops the server.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start(config: SimConfig) -> std::io::Result<Simulator> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on `addr` (port 0 picks a free one).
    pub async fn start_on(config: SimConfig, addr: SocketAddr) -> std::io::Result<Simulator> {
        let now = Utc::now();
        let logs = Stream::ALL
            .into_iter()
            .map(|stream| {
                let backlog = config.backlog.get(&stream).copied().unwrap_or(0);
                let end = config.backlog_end.unwrap_or(now);
                (
                    stream,
                    EventLog::new(config.seed, stream, backlog, end, config.history),
                )
            })
            .collect();
        let mut rng = <rand::rngs::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(config.seed);
        let shared = Arc::new(Shared {
            tokens: config.tokens,
            retry_after: config.retry_after,
            page_quirks: config.page_quirks,
            account_uuid: base32_uuid(&mut rng),
            issued_at: now - Duration::days(1),
            page_delay: config.page_delay,
            inner: Mutex::new(Inner {
                logs,
                served: HashMap::new(),
                faults: config.faults,
                limiter: config.rate_limit.map(RateLimiter::new),
                requests: 0,
                by_token: RequestCounts::default(),
            }),
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Simulator {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends `n` new events to `stream`, timestamped now, after every earlier event.
    pub fn append(&self, stream: Stream, n: usize) {
        let mut inner = self.shared.lock();
        if let Some(log) = inner.logs.get_mut(&stream) {
            log.append(n, Utc::now());
        }
    }

    /// A handle that appends without keeping the simulator alive (for a background task).
    pub fn appender(&self) -> Appender {
        Appender(Arc::downgrade(&self.shared))
    }

    /// Appends items given as raw JSON text (a fixture corpus, say) to `stream`; they are served
    /// byte-for-byte and placed in the log at their arrival, now, whatever their own timestamps say.
    pub fn append_raw(&self, stream: Stream, raws: impl IntoIterator<Item = String>) {
        let mut inner = self.shared.lock();
        if let Some(log) = inner.logs.get_mut(&stream) {
            log.append_raw(raws, Utc::now());
        }
    }

    /// The whole log of `stream`, with each event's raw bytes as served.
    pub fn events(&self, stream: Stream) -> Vec<LoggedEvent> {
        let inner = self.shared.lock();
        let log = &inner.logs[&stream];
        (0..log.len()).map(|i| log.get(i)).collect()
    }

    /// Number of events in the log of `stream`.
    pub fn event_count(&self, stream: Stream) -> usize {
        self.shared.lock().logs[&stream].len()
    }

    /// Uuids served in complete 200 responses, in order, repeats included.
    pub fn served(&self, stream: Stream) -> Vec<String> {
        self.shared
            .lock()
            .served
            .get(&stream)
            .cloned()
            .unwrap_or_default()
    }

    /// Injects `fault` into the next events request (after earlier queued ones).
    pub fn push_fault(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.shared.lock().faults = plan;
    }

    /// Requests received on every endpoint so far.
    pub fn request_count(&self) -> u64 {
        self.shared.lock().requests
    }

    /// Requests per token (by fingerprint) and endpoint, as `GET /opsim/requests` serves them.
    pub fn requests_by_token(&self) -> Vec<TokenRequests> {
        self.shared.lock().by_token.snapshot()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Appends to a running simulator; see [`Simulator::appender`].
#[derive(Debug, Clone)]
pub struct Appender(std::sync::Weak<Shared>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Appender {
    /// Appends `n` events to `stream`, timestamped now; `false` once the simulator is gone.
    pub fn append(&self, stream: Stream, n: usize) -> bool {
        let Some(shared) = self.0.upgrade() else {
            return false;
        };
        if let Some(log) = shared.lock().logs.get_mut(&stream) {
            log.append(n, Utc::now());
        }
        true
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/{version}/{stream}", post(events))
        .route("/api/v2/auth/introspect", get(introspect_v2))
        .route("/api/auth/introspect", get(introspect_v1))
        .route("/opsim/requests", get(requests))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(shared)
}

/// `{"Error":{"Message":…}}` with `status`.
fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"Error": {"Message": message}}).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn authorize<'a>(shared: &'a Shared, headers: &HeaderMap) -> Result<&'a TokenGrant, Box<Response>> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    authenticate(&shared.tokens, header, Utc::now())
        .map_err(|refusal| Box::new(error(StatusCode::UNAUTHORIZED, refusal.message())))
}

fn token_uuid(token: &str) -> String {
    let mut rng = <rand::rngs::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(
        token.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        }),
    );
    base32_uuid(&mut rng)
}

/// `GET /opsim/requests`: `{"tokens":[{fingerprint, account, requests: {endpoint: n}, total}]}`.
async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    let tokens = shared.lock().by_token.snapshot();
    axum::Json(serde_json::json!({ "tokens": tokens })).into_response()
}

async fn introspect_v2(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.lock().requests += 1;
    let grant = match authorize(&shared, &headers) {
        Ok(grant) => grant,
        Err(response) => return *response,
    };
    shared.lock().by_token.count(&grant.token, "introspect");
    let features: Vec<&str> = grant.features.iter().map(|s| s.path_segment()).collect();
    // A real-shaped token names its integration (`sub`) and account (`1password.com/auuid`).
    let claims = TokenClaims::decode(&grant.token);
    let body = serde_json::json!({
        "uuid": claims.as_ref().map_or_else(|| token_uuid(&grant.token), |c| c.sub.clone()),
        "issued_at": shared.issued_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "features": features,
        "account_uuid": claims.map_or_else(|| shared.account_uuid.clone(), |c| c.account_uuid),
    });
    axum::Json(body).into_response()
}

async fn introspect_v1(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.lock().requests += 1;
    let grant = match authorize(&shared, &headers) {
        Ok(grant) => grant,
        Err(response) => return *response,
    };
    shared.lock().by_token.count(&grant.token, "introspect");
    let features: Vec<&str> = grant.features.iter().map(|s| s.path_segment()).collect();
    let body = serde_json::json!({
        "UUID": TokenClaims::decode(&grant.token).map_or_else(|| token_uuid(&grant.token), |c| c.sub),
        "IssuedAt": shared.issued_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "Features": features,
    });
    axum::Json(body).into_response()
}

/// A request body: ResetCursor or Cursor.
enum Request {
    Reset {
        limit: usize,
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
    },
    Continue(CursorState, String),
}

fn parse_time(value: &serde_json::Value, key: &str) -> Result<DateTime<Utc>, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("{key} must be an RFC 3339 timestamp string"))?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{key} is not an RFC 3339 timestamp: {e}"))
}

fn parse_request(body: &[u8], stream: Stream) -> Result<Request, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("request body is not valid JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or("request body must be a JSON object")?;
    if let Some(cursor) = object.get("cursor") {
        if object.len() != 1 {
            return Err("a cursor request must contain only the cursor".into());
        }
        let text = cursor.as_str().ok_or("cursor must be a string")?;
        let state = CursorState::decode(text, stream).ok_or("invalid cursor")?;
        return Ok(Request::Continue(state, text.to_owned()));
    }
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "limit" | "start_time" | "end_time"))
    {
        return Err(format!("unknown field {key:?} in reset cursor"));
    }
    let limit = match object.get("limit") {
        None => DEFAULT_LIMIT,
        Some(limit) => {
            let n = limit
                .as_f64()
                .filter(|n| n.fract() == 0.0)
                .ok_or("limit must be a whole number")?;
            if !(1.0..=MAX_LIMIT as f64).contains(&n) {
                return Err(format!("limit must be between 1 and {MAX_LIMIT}, got {n}"));
            }
            n as usize
        }
    };
    let end = object
        .get("end_time")
        .map(|v| parse_time(v, "end_time"))
        .transpose()?;
    let start = match object.get("start_time") {
        Some(v) => parse_time(v, "start_time")?,
        None => end.unwrap_or_else(Utc::now) - Duration::hours(1),
    };
    if end.is_some_and(|end| end < start) {
        return Err("end_time must not be before start_time".into());
    }
    Ok(Request::Reset { limit, start, end })
}

/// A page ready to send, and the uuids it carries.
struct Page {
    body: Vec<u8>,
    uuids: Vec<String>,
}

fn build_page(inner: &Inner, stream: Stream, request: &Request, quirks: bool) -> Page {
    let log = &inner.logs[&stream];
    let (position, limit, end_nanos, given_cursor) = match request {
        Request::Reset { limit, start, end } => (
            log.first_at_or_after(*start),
            *limit,
            end.map(|e| e.timestamp_nanos_opt().unwrap_or(i64::MAX)),
            None,
        ),
        Request::Continue(state, text) => (state.p, state.l, state.e, Some(text.as_str())),
    };
    let bound = match end_nanos {
        Some(end) => {
            let end = DateTime::<Utc>::from_timestamp_nanos(end);
            log.first_at_or_after(end)
        }
        None => log.len(),
    };
    let position = position.min(bound);
    let stop = (position + limit).min(bound);
    let next = CursorState {
        s: stream.path_segment().to_owned(),
        p: stop,
        l: limit,
        e: end_nanos,
    };
    // An empty page repeats the cursor it was given, as the real API does.
    let cursor = match given_cursor {
        Some(given) if stop == position => given.to_owned(),
        _ => next.encode(),
    };
    // The real service says whether the page was full, not whether anything follows it.
    let has_more = if quirks {
        stop - position == limit
    } else {
        stop < bound
    };
    let mut body = Vec::with_capacity(64 + cursor.len() + (stop - position) * 1024);
    body.extend_from_slice(b"{\"cursor\":\"");
    body.extend_from_slice(cursor.as_bytes());
    body.extend_from_slice(b"\",\"has_more\":");
    body.extend_from_slice(if has_more { b"true" } else { b"false" });
    if quirks && stop == position {
        // Go encodes an empty (nil) slice as null.
        body.extend_from_slice(b",\"items\":null}");
        return Page {
            body,
            uuids: Vec::new(),
        };
    }
    body.extend_from_slice(b",\"items\":[");
    let mut uuids = Vec::with_capacity(stop - position);
    log.for_each(position..stop, |uuid, raw| {
        if !uuids.is_empty() {
            body.push(b',');
        }
        body.extend_from_slice(raw.as_bytes());
        uuids.push(uuid.to_owned());
    });
    body.extend_from_slice(b"]}");
    Page { body, uuids }
}

fn json_response(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn events(
    State(shared): State<Arc<Shared>>,
    Path((version, stream)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.lock().requests += 1;
    if !shared.page_delay.is_zero() {
        tokio::time::sleep(shared.page_delay).await;
    }
    let stream: Stream = match (version.as_str(), stream.parse()) {
        ("v1" | "v2", Ok(stream)) => stream,
        _ => return error(StatusCode::NOT_FOUND, "Not Found"),
    };
    let grant = match authorize(&shared, &headers) {
        Ok(grant) => grant,
        Err(response) => return *response,
    };
    // The published API documents only 401 for a token without the endpoint's feature.
    if !grant.features.contains(&stream) {
        let message = format!("Unauthorized: token does not have the {stream} feature");
        return error(StatusCode::UNAUTHORIZED, &message);
    }
    let fault = {
        let mut inner = shared.lock();
        inner.by_token.count(&grant.token, stream.path_segment());
        if let Some(limiter) = inner.limiter.as_mut()
            && let Err(wait) = limiter.check(&grant.token, Instant::now())
        {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            let value = match shared.retry_after {
                RetryAfter::Seconds => Some(HeaderValue::from(wait.as_secs_f64().ceil() as u64)),
                RetryAfter::HttpDate => HeaderValue::from_str(&http_date_after(wait)).ok(),
                RetryAfter::Omitted => None,
            };
            if let Some(value) = value {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        inner.faults.next()
    };
    let request = match parse_request(&body, stream) {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    match fault {
        None => {}
        Some(Fault::TooManyRequests { retry_after }) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            return response;
        }
        Some(Fault::TooManyRequestsUntil(wait)) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            if let Ok(value) = HeaderValue::from_str(&http_date_after(wait)) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Some(Fault::ServerError(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, status.canonical_reason().unwrap_or("Server Error"));
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::CutBody) => {
            let page = build_page(&shared.lock(), stream, &request, shared.page_quirks);
            let full = page.body.len();
            let half = Bytes::from(page.body).slice(..full / 2);
            // Yield the first half, give hyper time to flush it with the headers, then fail the
            // body so the connection is cut with the declared length unmet.
            let cut = futures::stream::unfold(Some(half), |state| async move {
                match state {
                    Some(half) => Some((Ok::<Bytes, std::io::Error>(half), None)),
                    None => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        let cut = std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "opsim: connection cut",
                        );
                        Some((Err(cut), None))
                    }
                }
            });
            let mut response = Response::new(Body::from_stream(cut));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return response;
        }
        Some(Fault::MalformedJson) => {
            let page = build_page(&shared.lock(), stream, &request, shared.page_quirks);
            let mut body = page.body;
            body.truncate(body.len() / 2);
            return json_response(body);
        }
    }
    let page = {
        let mut inner = shared.lock();
        let page = build_page(&inner, stream, &request, shared.page_quirks);
        inner
            .served
            .entry(stream)
            .or_default()
            .extend(page.uuids.iter().cloned());
        page
    };
    json_response(page.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_body_shapes_and_rejects_bad_ones() {
        assert!(matches!(
            parse_request(b"{}", Stream::AuditEvents),
            Ok(Request::Reset { limit: 100, .. })
        ));
        assert!(matches!(
            parse_request(
                br#"{"limit":1000,"start_time":"2026-01-01T00:00:00Z"}"#,
                Stream::AuditEvents
            ),
            Ok(Request::Reset { limit: 1000, .. })
        ));
        for bad in [
            &br#"{"limit":0}"#[..],
            br#"{"limit":1001}"#,
            br#"{"limit":2.5}"#,
            br#"{"start_time":"yesterday"}"#,
            br#"{"cursor":"garbage"}"#,
            br#"{"cursor":"x","limit":5}"#,
            br#"{"colour":"red"}"#,
            b"[]",
            b"not json",
        ] {
            assert!(
                parse_request(bad, Stream::AuditEvents).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
