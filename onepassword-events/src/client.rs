//! The Events API client: POST a page for a position, GET introspect; retries with backoff.
//!
//! A 429 is waited out, not counted against the retry limit: for as long as its `Retry-After`
//! (seconds or an HTTP date) says, else with backoff until the window resets, as long as the run's
//! budget allows. When the budget cannot wait it out (the hourly limit, typically), the call ends
//! with [`ApiError::RateLimited`] saying when requests can resume, and the run stops cleanly.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER, USER_AGENT};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use super::{ApiError, Page, Position, RateWindow, RetryPolicy, Stream, parse_retry_after};
use crate::secret::Secret;

const AGENT: &str = concat!("onepassword-secops-collector/", env!("CARGO_PKG_VERSION"));

/// Timeouts and retries of a [`Client`].
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// Timeout of one HTTP request, body included.
    pub timeout: Duration,
    /// Retries of failed calls.
    pub retry: RetryPolicy,
}

/// The collector's defaults (`contract::env`).
impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(contract::env::HTTP_TIMEOUT_SECONDS.default),
            retry: RetryPolicy::default(),
        }
    }
}

/// What `GET /api/v2/auth/introspect` says about the token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Introspection {
    /// The token's (integration's) uuid.
    pub uuid: String,
    /// When the token was issued.
    pub issued_at: String,
    /// Streams the token may read.
    #[serde(default)]
    pub features: Vec<String>,
    /// The account's uuid.
    #[serde(default)]
    pub account_uuid: Option<String>,
}

/// HTTP connections that the clients of several accounts share: one pool and one TLS
/// configuration. Idle connections (and their buffers) then number at most the most requests ever
/// in flight at once, whatever the number of accounts; each client still sends its own token, and
/// a connection carries no identity of its own.
#[derive(Debug, Clone)]
pub struct Connections {
    http: reqwest::Client,
    options: ClientOptions,
}

impl Connections {
    /// A pool whose requests use `options`' timeout and retries.
    pub fn new(options: ClientOptions) -> Result<Connections, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Connections { http, options })
    }

    /// A client of `base` (e.g. `https://events.1password.com`) using `token` over these
    /// connections.
    pub fn client(&self, base: Url, token: Secret) -> Client {
        Client {
            http: self.http.clone(),
            base,
            token,
            options: self.options,
        }
    }
}

/// A client of one Events API host.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Secret,
    options: ClientOptions,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "Error")]
    error: ErrorMessage,
}

#[derive(Deserialize)]
struct ErrorMessage {
    #[serde(rename = "Message")]
    message: String,
}

fn api_message(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned())
}

/// One attempt's failure: permanent, rate limited (with the server's `Retry-After`, if any), or
/// transient.
enum Attempt {
    Permanent(ApiError),
    RateLimited(String, Option<Duration>),
    Transient(String),
}

/// A minute: a 429 streak longer than this cannot be the per-minute limit.
const MINUTE: Duration = Duration::from_secs(60);
/// An hour: the longest the hourly limit can take to free a request.
const HOUR: Duration = Duration::from_secs(3600);
/// Time left in the budget below which no last try is made after a 429 without `Retry-After`.
const LAST_TRY: Duration = Duration::from_millis(500);

impl Client {
    /// A client of `base` (e.g. `https://events.1password.com`) using `token`, with connections
    /// of its own.
    pub fn new(base: Url, token: Secret, options: ClientOptions) -> Result<Client, reqwest::Error> {
        Ok(Connections::new(options)?.client(base, token))
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", url.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    async fn attempt(
        &self,
        request: reqwest::RequestBuilder,
        endpoint: &str,
    ) -> Result<Bytes, Attempt> {
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
            .map_err(|_| {
            Attempt::Permanent(ApiError::InvalidToken {
                reason: "it contains a character not allowed in an HTTP header".into(),
            })
        })?;
        authorization.set_sensitive(true);
        let response = request
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, AGENT)
            .send()
            .await
            .map_err(|e| Attempt::Transient(format!("request failed: {}", without_url(&e))))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let body = response.bytes().await.map_err(|e| {
            Attempt::Transient(format!("response body cut off: {}", without_url(&e)))
        })?;
        match status {
            StatusCode::OK => Ok(body),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(Attempt::Permanent(ApiError::Unauthorized {
                    endpoint: endpoint.to_owned(),
                    message: api_message(&body),
                }))
            }
            StatusCode::TOO_MANY_REQUESTS => Err(Attempt::RateLimited(
                format!("rate limited (429): {}", api_message(&body)),
                retry_after,
            )),
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => Err(
                Attempt::Transient(format!("server error ({s}): {}", api_message(&body))),
            ),
            s => Err(Attempt::Permanent(ApiError::Rejected {
                endpoint: endpoint.to_owned(),
                status: s.as_u16(),
                message: api_message(&body),
            })),
        }
    }

    /// Runs `call` with retries until it succeeds, fails permanently, runs out of attempts, or the
    /// next wait would pass `deadline`. 429s do not count as attempts: they are waited out until
    /// `deadline`, then end the call with [`ApiError::RateLimited`].
    async fn with_retries<T, F>(
        &self,
        endpoint: &str,
        deadline: Instant,
        call: impl Fn() -> F,
    ) -> Result<T, ApiError>
    where
        F: std::future::Future<Output = Result<T, Attempt>>,
    {
        let retry = self.options.retry;
        let mut attempt = 0;
        let mut limited = 0;
        let mut limited_since: Option<Instant> = None;
        loop {
            let last = match call().await {
                Ok(value) => return Ok(value),
                Err(Attempt::Permanent(error)) => return Err(error),
                Err(Attempt::RateLimited(last, retry_after)) => {
                    limited += 1;
                    let now = Instant::now();
                    let streak = now - *limited_since.get_or_insert(now);
                    // Without Retry-After the window is unknown: back off (uncounted) for as long
                    // as the budget lasts; 429s that outlast a whole minute can only be the
                    // hourly limit.
                    let window = match retry_after {
                        Some(wait) if wait > MINUTE => RateWindow::Hour,
                        None if streak >= MINUTE => RateWindow::Hour,
                        _ => RateWindow::Minute,
                    };
                    let left = deadline.saturating_duration_since(now);
                    let wait = match retry_after {
                        Some(wait) => wait,
                        // A backoff past the deadline becomes one last try just before it.
                        None => match retry.wait(limited, None) {
                            backoff if backoff < left => backoff,
                            _ if left > LAST_TRY => left - LAST_TRY / 2,
                            _ => left,
                        },
                    };
                    if now + wait >= deadline {
                        let until = retry_after.unwrap_or(match window {
                            RateWindow::Minute => MINUTE,
                            RateWindow::Hour => HOUR,
                        });
                        let resets_at = chrono::Utc::now()
                            + chrono::Duration::from_std(until).unwrap_or(chrono::Duration::MAX);
                        return Err(ApiError::RateLimited {
                            endpoint: endpoint.to_owned(),
                            window,
                            resets_at,
                            announced: retry_after.is_some(),
                        });
                    }
                    tracing::warn!(endpoint, wait_ms = wait.as_millis() as u64, error = %last, "rate limited by the Events API; waiting");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(Attempt::Transient(last)) => last,
            };
            limited_since = None;
            attempt += 1;
            let wait = retry.wait(attempt, None);
            if attempt >= retry.max_attempts || Instant::now() + wait >= deadline {
                return Err(ApiError::Unavailable {
                    endpoint: endpoint.to_owned(),
                    attempts: attempt,
                    last,
                });
            }
            tracing::warn!(endpoint, attempt, wait_ms = wait.as_millis() as u64, error = %last, "retrying Events API call");
            tokio::time::sleep(wait).await;
        }
    }

    /// Fetches the page of `stream` at `position`.
    pub async fn page(
        &self,
        stream: Stream,
        position: &Position,
        deadline: Instant,
    ) -> Result<Page, ApiError> {
        let endpoint = crate::request::endpoint(stream);
        let url = self.url(&endpoint);
        let body = crate::request::body(position);
        self.with_retries(&endpoint, deadline, || async {
            let request = self
                .http
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
            let bytes = self.attempt(request, &endpoint).await?;
            Page::parse(bytes).map_err(Attempt::Transient)
        })
        .await
    }

    /// What the API says about the token (`GET /api/v2/auth/introspect`).
    pub async fn introspect(&self) -> Result<Introspection, ApiError> {
        let endpoint = "/api/v2/auth/introspect";
        let url = self.url(endpoint);
        let deadline = Instant::now() + Duration::from_secs(60);
        self.with_retries(endpoint, deadline, || async {
            let bytes = self.attempt(self.http.get(url.clone()), endpoint).await?;
            serde_json::from_slice(&bytes)
                .map_err(|e| Attempt::Transient(format!("malformed introspection: {e}")))
        })
        .await
    }
}

/// reqwest errors print their URL; ours carry no secrets, but keep messages short and stable.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" for url ({url})"), "");
    }
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
