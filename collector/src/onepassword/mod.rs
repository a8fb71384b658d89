//! The 1Password Events API: streams, cursor positions, pages of raw items, retries, token claims.

mod client;
mod error;
mod page;
mod position;
mod retry;
mod stream;
pub mod token;

pub use client::{Client, ClientOptions, Introspection};
pub use error::{ApiError, RateWindow};
pub use page::Page;
pub use position::Position;
pub use retry::{RetryPolicy, parse_retry_after};
pub use stream::{Stream, UnknownStream};
