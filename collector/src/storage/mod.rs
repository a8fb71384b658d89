//! Object storage behind two operations only: read (with generation) and conditional write.
//!
//! Against fake-gcs-server, only `write_object` and `read_object` of the official crate travel over
//! HTTP/JSON, and only multipart writes honour preconditions, so the exactly-once protocol is built
//! on exactly these two: a create-only write (`DoesNotExist`) and a generation-matched write.

mod gcs;
mod local;
// A test double: compiled for the unit tests and, through the `test-support` feature the
// collector's own dev-dependency turns on, for the integration tests; never in a release build.
#[cfg(any(test, feature = "test-support"))]
mod memory;

use async_trait::async_trait;
use bytes::Bytes;

pub use gcs::{GcsBuildError, GcsStore};
pub use local::LocalStore;
#[cfg(any(test, feature = "test-support"))]
pub use memory::{MemoryFault, MemoryStore};

/// An object's generation: changes with every write; 0 means "does not exist".
pub type Generation = i64;

/// The condition a write must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Only if no object has this name (`ifGenerationMatch=0`).
    DoesNotExist,
    /// Only if the object's current generation is this one.
    GenerationMatch(Generation),
}

/// A failed storage operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The precondition failed (HTTP 412): another writer got there first.
    #[error("precondition failed on {name}: another writer changed it first")]
    PreconditionFailed {
        /// Object name.
        name: String,
    },
    /// A failure that may pass: the next run retries.
    #[error("storage temporarily unavailable for {name}: {message}")]
    Transient {
        /// Object name.
        name: String,
        /// What happened.
        message: String,
    },
    /// The collector's identity may not do this (HTTP 401/403, or a folder it may not write).
    #[error("storage refused {name}: permission denied: {message}")]
    Denied {
        /// Object name.
        name: String,
        /// What happened and what to grant.
        message: String,
    },
    /// The bucket (or the folder) does not exist.
    #[error("storage refused {name}: {message}")]
    NotFound {
        /// Object name.
        name: String,
        /// What is missing.
        message: String,
    },
    /// The object name cannot be stored as it is (a configuration problem).
    #[error("storage refused {name}: {message}")]
    Invalid {
        /// Object name.
        name: String,
        /// Why, and what names are accepted.
        message: String,
    },
}

/// Where objects go: a GCS bucket, a local folder, or memory in tests.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// The object's bytes and generation, or `None` if it does not exist.
    async fn read(&self, name: &str) -> Result<Option<(Bytes, Generation)>, StorageError>;

    /// Writes the object if `precondition` holds; returns the new generation.
    async fn write(
        &self,
        name: &str,
        data: Bytes,
        content_type: &str,
        precondition: Precondition,
    ) -> Result<Generation, StorageError>;
}
