//! Importing the guide's Python function state (`{"cursor_auditevents": …}`) as an audit-events
//! checkpoint, so a migration continues from the same cursor: no gap, no duplicate.

use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;

use crate::checkpoint::{Checkpoint, CheckpointLoadError, CheckpointStore};
use crate::storage::{ObjectStore, StorageError};
use onepassword_events::{Position, Stream};

/// The guide's state file.
#[derive(Debug, Deserialize)]
struct GuideState {
    cursor_auditevents: Option<String>,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not the guide's state.
    #[error(
        "the state file is not the guide's state.json ({0}); expected {{\"cursor_auditevents\": \"…\"}}"
    )]
    NotGuideState(String),
    /// The guide's function never saved a cursor.
    #[error(
        "the state file has no cursor_auditevents: the guide's function never completed a run; start fresh instead (LOOKBACK_HOURS applies)"
    )]
    NoCursor,
    /// A checkpoint exists already.
    #[error(
        "a checkpoint already exists at {0}; rerun with --force to replace it (only when the collector has not run since the Python function stopped)"
    )]
    Exists(String),
    /// The existing checkpoint holds an unfinished batch.
    #[error(
        "the checkpoint at {0} holds an unfinished batch; let the collector finish it (run-once) before importing"
    )]
    PendingIntent(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The existing checkpoint could not be read.
    #[error(transparent)]
    Load(#[from] CheckpointLoadError),
}

/// Creates the audit-events checkpoint at `key` from the guide's `state.json` bytes.
pub async fn import_guide_state(
    store: Arc<dyn ObjectStore>,
    key: &str,
    state: &[u8],
    force: bool,
) -> Result<Checkpoint, ImportError> {
    let guide: GuideState =
        serde_json::from_slice(state).map_err(|e| ImportError::NotGuideState(e.to_string()))?;
    let cursor = guide
        .cursor_auditevents
        .filter(|c| !c.is_empty())
        .ok_or(ImportError::NoCursor)?;
    let checkpoints = CheckpointStore::new(store, key);
    let loaded = checkpoints.load().await?;
    if let Some(existing) = loaded.checkpoint() {
        if existing.intent.is_some() {
            return Err(ImportError::PendingIntent(key.to_owned()));
        }
        if !force {
            return Err(ImportError::Exists(key.to_owned()));
        }
    }
    let checkpoint = Checkpoint::new(
        Stream::AuditEvents.name(),
        Position::Cursor(cursor),
        Utc::now(),
    );
    checkpoints.save(&checkpoint, loaded.generation()).await?;
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    #[tokio::test]
    async fn imports_once_and_refuses_to_clobber() {
        let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new());
        let state =
            br#"{"cursor_auditevents": "CURSOR-1", "last_run": "2026-11-01T00:00:00+00:00"}"#;
        let checkpoint = import_guide_state(store.clone(), "s/a.json", state, false)
            .await
            .unwrap();
        assert_eq!(checkpoint.position, Position::Cursor("CURSOR-1".into()));
        assert!(matches!(
            import_guide_state(store.clone(), "s/a.json", state, false).await,
            Err(ImportError::Exists(_))
        ));
        let newer = br#"{"cursor_auditevents": "CURSOR-2"}"#;
        let forced = import_guide_state(store.clone(), "s/a.json", newer, true)
            .await
            .unwrap();
        assert_eq!(forced.position, Position::Cursor("CURSOR-2".into()));
        assert!(matches!(
            import_guide_state(store.clone(), "t", b"{}", false).await,
            Err(ImportError::NoCursor)
        ));
        assert!(matches!(
            import_guide_state(store, "t", b"[", false).await,
            Err(ImportError::NotGuideState(_))
        ));
    }
}
