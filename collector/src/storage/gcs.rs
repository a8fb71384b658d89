//! Google Cloud Storage through the official `google-cloud-storage` crate: buffered (multipart)
//! writes with `ifGenerationMatch`, reads with the object's generation.

use async_trait::async_trait;
use bytes::Bytes;
use google_cloud_storage::client::Storage;

use super::{Generation, ObjectStore, Precondition, StorageError};

/// Objects in one GCS bucket.
#[derive(Debug, Clone)]
pub struct GcsStore {
    client: Storage,
    bucket: String,
    resource: String,
}

/// Why a GCS client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the Cloud Storage client: {0}")]
pub struct GcsBuildError(String);

impl GcsStore {
    /// A store for `bucket`. With `emulator_endpoint` (from `STORAGE_EMULATOR_HOST`) it talks to that
    /// endpoint with anonymous credentials; otherwise to Google with Application Default Credentials.
    pub async fn connect(
        bucket: &str,
        emulator_endpoint: Option<&str>,
    ) -> Result<GcsStore, GcsBuildError> {
        // Keep every object under the resumable-upload threshold: only multipart uploads honour
        // preconditions on the emulator, and batches are capped well below this.
        let mut builder = Storage::builder().with_resumable_upload_threshold(32usize * 1024 * 1024);
        if let Some(endpoint) = emulator_endpoint {
            builder = builder.with_endpoint(endpoint).with_credentials(
                google_cloud_auth::credentials::anonymous::Builder::new().build(),
            );
        }
        let client = builder
            .build()
            .await
            .map_err(|e| GcsBuildError(e.to_string()))?;
        Ok(GcsStore {
            client,
            bucket: bucket.to_owned(),
            resource: format!("projects/_/buckets/{bucket}"),
        })
    }

    fn classify(&self, name: &str, error: &google_cloud_storage::Error) -> StorageError {
        let name = name.to_owned();
        match error.http_status_code() {
            Some(412) => StorageError::PreconditionFailed { name },
            Some(401 | 403) => StorageError::Denied {
                name,
                message: format!(
                    "grant the collector's service account roles/storage.objectUser on bucket {} \
                     ({error})",
                    self.bucket
                ),
            },
            Some(404) => StorageError::NotFound {
                name,
                message: format!("bucket {} does not exist ({error})", self.bucket),
            },
            _ => StorageError::Transient {
                name,
                message: error.to_string(),
            },
        }
    }
}

#[async_trait]
impl ObjectStore for GcsStore {
    async fn read(&self, name: &str) -> Result<Option<(Bytes, Generation)>, StorageError> {
        let mut response = match self.client.read_object(&self.resource, name).send().await {
            Ok(response) => response,
            Err(e) if e.http_status_code() == Some(404) => return Ok(None),
            Err(e) => return Err(self.classify(name, &e)),
        };
        let generation = response.object().generation;
        let mut data = Vec::new();
        while let Some(chunk) = response.next().await {
            data.extend_from_slice(&chunk.map_err(|e| self.classify(name, &e))?);
        }
        Ok(Some((Bytes::from(data), generation)))
    }

    async fn write(
        &self,
        name: &str,
        data: Bytes,
        content_type: &str,
        precondition: Precondition,
    ) -> Result<Generation, StorageError> {
        let generation = match precondition {
            Precondition::DoesNotExist => 0,
            Precondition::GenerationMatch(g) => g,
        };
        self.client
            .write_object(&self.resource, name, data)
            .set_content_type(content_type)
            .set_if_generation_match(generation)
            .send_buffered()
            .await
            .map(|object| object.generation)
            .map_err(|e| self.classify(name, &e))
    }
}
