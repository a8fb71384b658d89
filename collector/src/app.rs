//! Wiring validated settings into a pipeline: the Events API client, the store, the stream plans.

use std::sync::Arc;

use crate::config::{Settings, Sink};
use crate::pipeline::{Account, Pipeline};
use crate::storage::{GcsStore, LocalStore, ObjectStore};
use onepassword_events::Connections;
use onepassword_events::token::TokenClaims;

/// Why the collector could not start. Each message carries its cause, so none has a `source`:
/// a chain printer (`{:#}`) shows every cause once.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(reqwest::Error),
    /// The GCS client could not be built.
    #[error(transparent)]
    Gcs(#[from] crate::storage::GcsBuildError),
    /// The local folder could not be created.
    #[error("cannot use the local folder {path}: {error}")]
    Local {
        /// The folder.
        path: String,
        /// Why.
        error: std::io::Error,
    },
}

impl StartError {
    /// The failure's reason, as the `collector cannot start` line reports it.
    pub fn reason(&self) -> crate::pipeline::FailureReason {
        use crate::pipeline::FailureReason;
        match self {
            StartError::Http(_) => FailureReason::Internal,
            StartError::Gcs(_) => FailureReason::StorageUnavailable,
            StartError::Local { error, .. } => match error.kind() {
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                    FailureReason::StorageDenied
                }
                _ => FailureReason::InvalidConfiguration,
            },
        }
    }
}

/// The store `sink` names.
pub async fn open_store(sink: &Sink) -> Result<Arc<dyn ObjectStore>, StartError> {
    Ok(match sink {
        Sink::Gcs { bucket, emulator } => {
            Arc::new(GcsStore::connect(bucket, emulator.as_deref()).await?)
        }
        Sink::Local(dir) => Arc::new(LocalStore::new(dir).map_err(|error| StartError::Local {
            path: dir.display().to_string(),
            error,
        })?),
    })
}

/// The pipeline `settings` describe: an Events API client per account (each with its own token,
/// so its own rate limit), all over one pool of connections (so idle connections follow the
/// accounts at once, not the number of accounts), one store.
pub async fn build(settings: &Settings) -> Result<Pipeline, StartError> {
    let store = open_store(&settings.sink).await?;
    let connections = Connections::new(settings.client).map_err(StartError::Http)?;
    let mut accounts = Vec::with_capacity(settings.accounts.len());
    for account in &settings.accounts {
        let client = connections.client(account.api_base.clone(), account.token.clone());
        let expiry =
            TokenClaims::decode(account.token.expose()).and_then(|claims| claims.expires_at());
        if let Some(at) = expiry {
            let days_left = (at - chrono::Utc::now()).num_days();
            match &account.name {
                Some(name) => {
                    tracing::info!(account = %name, token_expires_at = %at.to_rfc3339(), days_left, "bearer token expiry")
                }
                None => {
                    tracing::info!(token_expires_at = %at.to_rfc3339(), days_left, "bearer token expiry")
                }
            }
        }
        accounts.push(Account {
            name: account.name.clone(),
            client,
            plans: account.plans.clone(),
            token_expires_at: expiry,
            token_fingerprint: Some(account.token.fingerprint()),
        });
    }
    let pipeline = Pipeline::of_accounts(accounts, store, settings.limits);
    Ok(match settings.accounts.first() {
        Some(first) if first.name.is_some() => pipeline.with_parallel(
            settings.accounts_in_parallel,
            crate::pipeline::run_order_key(&settings.state_prefix),
        ),
        _ => pipeline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_start_error_prints_its_cause_once() {
        let file =
            std::env::temp_dir().join(format!("collector-not-a-folder-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        let error = open_store(&Sink::Local(file.join("inside")))
            .await
            .unwrap_err();
        let chain = format!("{:#}", anyhow::Error::from(error));
        std::fs::remove_file(&file).unwrap();
        let cause = "Not a directory";
        assert_eq!(chain.matches(cause).count(), 1, "{chain}");
    }
}
