//! Loading and saving checkpoints with generation preconditions.

use std::sync::Arc;

use bytes::Bytes;

use super::{Checkpoint, FormatError};
use crate::storage::{Generation, ObjectStore, Precondition, StorageError};

/// A checkpoint as loaded, with the generation a save must match (`None`: it does not exist yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The checkpoint, if there is one.
    pub checkpoint: Option<Checkpoint>,
    /// Its generation.
    pub generation: Option<Generation>,
}

/// Why a checkpoint could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The object is not a usable checkpoint.
    #[error(transparent)]
    Format(#[from] FormatError),
}

/// One stream's checkpoint object.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    store: Arc<dyn ObjectStore>,
    key: String,
}

impl CheckpointStore {
    /// The checkpoint at `key` in `store`.
    pub fn new(store: Arc<dyn ObjectStore>, key: impl Into<String>) -> Self {
        Self {
            store,
            key: key.into(),
        }
    }

    /// The object's name.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Loads the checkpoint.
    pub async fn load(&self) -> Result<Loaded, LoadError> {
        match self.store.read(&self.key).await? {
            None => Ok(Loaded {
                checkpoint: None,
                generation: None,
            }),
            Some((bytes, generation)) => Ok(Loaded {
                checkpoint: Some(Checkpoint::parse(&self.key, &bytes)?),
                generation: Some(generation),
            }),
        }
    }

    /// Saves `checkpoint` if the stored one is still at `expected` (`None`: only if none exists).
    pub async fn save(
        &self,
        checkpoint: &Checkpoint,
        expected: Option<Generation>,
    ) -> Result<Generation, StorageError> {
        let precondition = match expected {
            None => Precondition::DoesNotExist,
            Some(generation) => Precondition::GenerationMatch(generation),
        };
        self.store
            .write(
                &self.key,
                Bytes::from(checkpoint.to_bytes()),
                "application/json",
                precondition,
            )
            .await
    }
}

pub use LoadError as CheckpointLoadError;
