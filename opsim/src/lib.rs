//! A faithful local simulator of the 1Password Events API, for tests, demos and benchmarks.
//!
//! It serves `POST /api/v1|v2/{auditevents,signinattempts,itemusages}` with ResetCursor and Cursor
//! bodies, `GET /api/v2/auth/introspect` and the deprecated `GET /api/auth/introspect`, answers
//! errors as `{"Error":{"Message":…}}`, honours each token's features, enforces the per-token rate
//! limits (600 a minute, 30,000 an hour), answers the edge cases of the real service on request
//! (`"items":null`, `has_more: true` before an empty page), injects faults on demand, and records
//! every item it served so a test can compare what was served with what landed, appends events at
//! a steady rate, and counts requests per token (`GET /opsim/requests`). It is never
//! deployed.

mod append;
mod auth;
mod cursor;
mod faults;
mod items;
mod log;
mod ratelimit;
mod requests;
mod server;
mod stream;

pub use append::{AppendRate, AppendRateError, append_steadily};
pub use auth::{TokenClaims, TokenGrant, mint_token};
pub use faults::{Fault, FaultPlan};
pub use items::go_rfc3339;
pub use log::LoggedEvent;
pub use ratelimit::RateLimits;
pub use requests::{TokenRequests, fingerprint};
pub use server::{Appender, RetryAfter, SimConfig, Simulator};
pub use stream::{ParseStreamError, Stream};
