//! Where objects go: a GCS bucket (`GCS_BUCKET`, or `SINK_URL=gs://BUCKET`, through
//! `STORAGE_EMULATOR_HOST` when set) or a local folder (`SINK_URL=file:///folder`); not both.

use std::path::PathBuf;

use contract::env::{GCS_BUCKET, SINK_URL, STORAGE_EMULATOR_HOST};

use super::problems::{Reader, shown};

/// Where objects go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// A GCS bucket.
    Gcs {
        /// Bucket name.
        bucket: String,
        /// `STORAGE_EMULATOR_HOST`, normalised to a URL, when set.
        emulator: Option<String>,
    },
    /// A local folder with the same layout.
    Local(PathBuf),
}

impl Sink {
    /// `gs://bucket` or `file:///dir`.
    pub fn url(&self) -> String {
        match self {
            Sink::Gcs { bucket, .. } => format!("gs://{bucket}"),
            Sink::Local(dir) => format!("file://{}", dir.display()),
        }
    }
}

fn valid_bucket(name: &str) -> bool {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    let ends = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=222).contains(&name.len())
        && ok_chars
        && ends(name.bytes().next())
        && ends(name.bytes().last())
}

/// The sink, or `None` after recording why none can be used.
pub(super) fn sink(r: &mut Reader<'_>) -> Option<Sink> {
    let emulator = r.get(STORAGE_EMULATOR_HOST).map(|host| {
        if host.starts_with("http://") || host.starts_with("https://") {
            host.to_owned()
        } else {
            format!("http://{host}")
        }
    });
    let gcs = |bucket: String| Sink::Gcs {
        bucket,
        emulator: emulator.clone(),
    };
    match (
        r.get(SINK_URL).map(str::to_owned),
        r.get(GCS_BUCKET).map(str::to_owned),
    ) {
        (Some(url), Some(bucket)) => {
            r.problem(
                SINK_URL,
                format!(
                    "{} and GCS_BUCKET={} are both set; set one: GCS_BUCKET=BUCKET, or SINK_URL=gs://BUCKET or file:///folder",
                    shown(&url),
                    shown(&bucket)
                ),
            );
            None
        }
        (Some(url), None) if url.starts_with("file://") => {
            let path = PathBuf::from(&url["file://".len()..]);
            if path.is_absolute() {
                Some(Sink::Local(path))
            } else {
                r.problem(
                    SINK_URL,
                    format!(
                        "{} must name an absolute folder, e.g. file:///var/lib/collector",
                        shown(&url)
                    ),
                );
                None
            }
        }
        (Some(url), None) if url.starts_with("gs://") => {
            let bucket = url["gs://".len()..].trim_end_matches('/').to_owned();
            if valid_bucket(&bucket) {
                Some(gcs(bucket))
            } else {
                r.problem(
                    SINK_URL,
                    format!(
                        "{} does not name a valid bucket (gs://BUCKET; prefixes go in GCS_PREFIX)",
                        shown(&url)
                    ),
                );
                None
            }
        }
        (Some(url), None) => {
            r.problem(
                SINK_URL,
                format!("{} must start with gs:// or file://", shown(&url)),
            );
            None
        }
        (None, Some(bucket)) if valid_bucket(&bucket) => Some(gcs(bucket)),
        (None, Some(bucket)) => {
            r.problem(
                GCS_BUCKET,
                format!(
                    "{} is not a valid bucket name (3-63 lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit)",
                    shown(&bucket)
                ),
            );
            None
        }
        (None, None) => {
            r.missing(
                GCS_BUCKET,
                "the bucket's name (or SINK_URL=gs://BUCKET or file:///folder)",
            );
            None
        }
    }
}
