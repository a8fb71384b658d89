//! The 1Password Events API as the collector and the provisioner both use it: streams, cursor
//! positions, pages of raw items, retries, token claims and introspection, and the redacted
//! bearer token. No storage, no service: what reads the API and nothing else.

mod client;
mod error;
mod page;
pub mod request;
mod retry;
pub mod secret;
pub mod token;

pub use client::{Client, ClientOptions, Connections, Introspection};
/// Streams and positions are part of the contract between the collector and the provisioner
/// (checkpoints keep positions; configs and summaries name streams); the client uses them as they are.
pub use contract::{Position, Stream, UnknownStream};
pub use error::{ApiError, RateWindow};
pub use page::Page;
pub use retry::{RetryPolicy, parse_retry_after};
