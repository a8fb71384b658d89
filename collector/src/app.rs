//! Wiring validated settings into a pipeline: the Events API client, the store, the stream plans.

use std::sync::Arc;

use crate::config::{Settings, Sink};
use crate::onepassword::Client;
use crate::onepassword::token::TokenClaims;
use crate::pipeline::Pipeline;
use crate::storage::{GcsStore, LocalStore, ObjectStore};

/// Why the collector could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// The GCS client could not be built.
    #[error(transparent)]
    Gcs(#[from] crate::storage::GcsBuildError),
    /// The local folder could not be created.
    #[error("cannot use the local folder {path}: {source}")]
    Local {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The store `sink` names.
pub async fn open_store(sink: &Sink) -> Result<Arc<dyn ObjectStore>, StartError> {
    Ok(match sink {
        Sink::Gcs { bucket, emulator } => {
            Arc::new(GcsStore::connect(bucket, emulator.as_deref()).await?)
        }
        Sink::Local(dir) => Arc::new(LocalStore::new(dir).map_err(|source| StartError::Local {
            path: dir.display().to_string(),
            source,
        })?),
    })
}

/// The pipeline `settings` describe.
pub async fn build(settings: &Settings) -> Result<Pipeline, StartError> {
    let client = Client::new(
        settings.api_base.clone(),
        settings.token.clone(),
        settings.client,
    )?;
    let store = open_store(&settings.sink).await?;
    let expiry =
        TokenClaims::decode(settings.token.expose()).and_then(|claims| claims.expires_at());
    if let Some(at) = expiry {
        tracing::info!(token_expires_at = %at.to_rfc3339(), days_left = (at - chrono::Utc::now()).num_days(), "bearer token expiry");
    }
    Ok(
        Pipeline::new(client, store, settings.plans.clone(), settings.limits)
            .with_token_expiry(expiry)
            .with_token_fingerprint(settings.token.fingerprint()),
    )
}
