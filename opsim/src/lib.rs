//! A faithful local simulator of the 1Password Events API, for tests, demos and benchmarks.
//!
//! It serves `POST /api/v1|v2/{auditevents,signinattempts,itemusages}` with ResetCursor and Cursor
//! bodies, `GET /api/v2/auth/introspect` and the deprecated `GET /api/auth/introspect`, answers
//! errors as `{"Error":{"Message":…}}`, injects faults on demand, and records every item it served
//! so a test can compare what was served with what landed. It is never deployed.

mod auth;
mod cursor;
mod faults;
mod items;
mod log;
mod ratelimit;
mod server;
mod stream;

pub use auth::{TokenClaims, TokenGrant, mint_token};
pub use faults::{Fault, FaultPlan};
pub use log::LoggedEvent;
pub use server::{SimConfig, Simulator};
pub use stream::{ParseStreamError, Stream};
