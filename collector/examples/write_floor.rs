//! The benchmark's write floor: writes the data objects a collector run produced (read from a
//! local folder sink) to a GCS endpoint as create-only objects, one after another, with the
//! collector's own store, and nothing else: no API, no checkpoint.
//!
//! Usage: write_floor --from DIR --bucket BUCKET --endpoint http://127.0.0.1:PORT

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use collector::storage::{GcsStore, ObjectStore as _, Precondition};

fn objects(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            objects(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "ndjson") {
            found.push(path);
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut from, mut bucket, mut endpoint) = (None, None, None);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--from" => from = Some(PathBuf::from(value)),
            "--bucket" => bucket = Some(value),
            "--endpoint" => endpoint = Some(value),
            other => bail!(
                "unknown argument {other:?}; usage: write_floor --from DIR --bucket BUCKET --endpoint URL"
            ),
        }
    }
    let (Some(from), Some(bucket), Some(endpoint)) = (from, bucket, endpoint) else {
        bail!("usage: write_floor --from DIR --bucket BUCKET --endpoint URL");
    };
    let mut files = Vec::new();
    objects(&from, &mut files).with_context(|| format!("cannot list {}", from.display()))?;
    files.sort();
    if files.is_empty() {
        bail!("no .ndjson objects under {}", from.display());
    }
    let store = GcsStore::connect(&bucket, Some(&endpoint)).await?;
    let started = Instant::now();
    let mut bytes = 0usize;
    for path in &files {
        let data =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        bytes += data.len();
        let name = path
            .strip_prefix(&from)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        store
            .write(
                &name,
                Bytes::from(data),
                "application/x-ndjson",
                Precondition::DoesNotExist,
            )
            .await
            .with_context(|| format!("cannot write {name}"))?;
    }
    println!(
        "wrote {} objects ({bytes} bytes) in {:.3} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
