//! The 1Password Events API as the collector and the provisioner both use it: streams, cursor
//! positions, pages of raw items, retries, token claims and introspection, and the redacted
//! bearer token. No storage, no service: what reads the API and nothing else.

mod client;
mod error;
mod page;
mod position;
mod retry;
pub mod secret;
mod stream;
pub mod token;

pub use client::{Client, ClientOptions, Introspection};
pub use error::{ApiError, RateWindow};
pub use page::Page;
pub use position::Position;
pub use retry::{RetryPolicy, parse_retry_after};
pub use stream::{Stream, UnknownStream};
