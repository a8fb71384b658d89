//! Loading and saving checkpoints with generation preconditions.

use std::sync::Arc;

use bytes::Bytes;

use super::{Checkpoint, FormatError};
use crate::storage::{Generation, ObjectStore, Precondition, StorageError};

/// A checkpoint as loaded: absent (the stream starts at its configured start, and the first save
/// must create it), or stored with the generation every save must match. A checkpoint holding an
/// intent was always read from storage, so it always comes with its generation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per checkpoint write; boxing would only add an allocation"
)]
pub enum Loaded {
    /// No checkpoint exists yet.
    Absent,
    /// The stored checkpoint and its generation.
    Stored {
        /// The checkpoint.
        checkpoint: Checkpoint,
        /// The generation a save must match.
        generation: Generation,
    },
}

impl Loaded {
    /// The checkpoint, if one is stored.
    pub fn checkpoint(&self) -> Option<&Checkpoint> {
        match self {
            Loaded::Absent => None,
            Loaded::Stored { checkpoint, .. } => Some(checkpoint),
        }
    }

    /// The checkpoint, if one is stored, taken.
    pub fn into_checkpoint(self) -> Option<Checkpoint> {
        match self {
            Loaded::Absent => None,
            Loaded::Stored { checkpoint, .. } => Some(checkpoint),
        }
    }

    /// The generation a save must match (`None`: the save must create the object).
    pub fn generation(&self) -> Option<Generation> {
        match self {
            Loaded::Absent => None,
            Loaded::Stored { generation, .. } => Some(*generation),
        }
    }
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
            None => Ok(Loaded::Absent),
            Some((bytes, generation)) => Ok(Loaded::Stored {
                checkpoint: Checkpoint::parse(&self.key, &bytes)?,
                generation,
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
