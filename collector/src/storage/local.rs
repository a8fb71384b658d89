//! A local folder with the bucket's object layout and the same write semantics: create-only writes
//! are atomic hard links (which fail if the name exists) and generation-matched writes replace the
//! file atomically under an exclusive lock. A file's generation is its modification time in
//! nanoseconds, set strictly increasing, so content and generation change in one rename.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;

use super::{Generation, ObjectStore, Precondition, StorageError};

const LOCK_FILE: &str = ".collector.lock";

/// Objects as files below a root folder.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    fn path(&self, name: &str) -> Result<PathBuf, StorageError> {
        let clean = !name.is_empty()
            && !name.starts_with('/')
            && name
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..");
        if !clean {
            return Err(StorageError::Invalid {
                name: name.to_owned(),
                message: "object names must be relative paths without empty, '.' or '..' parts"
                    .into(),
            });
        }
        Ok(self.root.join(name))
    }
}

fn io_error(name: &str, error: std::io::Error) -> StorageError {
    let message = error.to_string();
    match error.kind() {
        std::io::ErrorKind::PermissionDenied
        | std::io::ErrorKind::ReadOnlyFilesystem
        | std::io::ErrorKind::Unsupported => StorageError::Denied {
            name: name.to_owned(),
            message,
        },
        _ => StorageError::Transient {
            name: name.to_owned(),
            message,
        },
    }
}

fn generation_of(file: &File) -> std::io::Result<Generation> {
    let modified = file.metadata()?.modified()?;
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    Ok(i64::try_from(nanos).unwrap_or(i64::MAX).max(1))
}

fn read_sync(path: &Path) -> std::io::Result<Option<(Bytes, Generation)>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let generation = generation_of(&file)?;
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut data)?;
    Ok(Some((Bytes::from(data), generation)))
}

/// Writes `data` to a fresh temporary file beside `path`, flushed to disk, with mtime `generation`;
/// returns its path and the generation read back from it (a file system with coarse timestamps may
/// round the time set). Linking or renaming keeps the inode, so the object has this generation.
fn temp_file(
    path: &Path,
    data: &[u8],
    generation: Generation,
) -> std::io::Result<(PathBuf, Generation)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    let temp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)?;
    file.write_all(data)?;
    let when = UNIX_EPOCH + Duration::from_nanos(u64::try_from(generation).unwrap_or(0));
    file.set_modified(when)?;
    file.sync_all()?;
    Ok((temp, generation_of(&file)?))
}

/// Flushes the directory holding `path`, so a created or renamed entry is durable.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

fn now_nanos() -> Generation {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

fn write_sync(
    root: &Path,
    path: &Path,
    data: &[u8],
    precondition: Precondition,
) -> Result<Generation, std::io::Error> {
    match precondition {
        Precondition::DoesNotExist => {
            let (temp, generation) = temp_file(path, data, now_nanos())?;
            let linked = fs::hard_link(&temp, path);
            let _ = fs::remove_file(&temp);
            linked?;
            // The new name must survive a crash before the checkpoint that points past it does.
            sync_dir(path)?;
            Ok(generation)
        }
        Precondition::GenerationMatch(expected) => {
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(root.join(LOCK_FILE))?;
            lock.lock()?;
            let current = match File::open(path) {
                Ok(file) => generation_of(&file)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
                Err(e) => return Err(e),
            };
            if current != expected || current == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "generation mismatch",
                ));
            }
            let (temp, generation) = temp_file(path, data, now_nanos().max(current + 1))?;
            if generation <= current {
                let _ = fs::remove_file(&temp);
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "this file system's timestamps are too coarse to tell generations apart; use a folder on ext4, xfs, btrfs or tmpfs",
                ));
            }
            fs::rename(&temp, path).inspect_err(|_| {
                let _ = fs::remove_file(&temp);
            })?;
            sync_dir(path)?;
            Ok(generation)
        }
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn read(&self, name: &str) -> Result<Option<(Bytes, Generation)>, StorageError> {
        let path = self.path(name)?;
        tokio::task::spawn_blocking(move || read_sync(&path))
            .await
            .map_err(|e| StorageError::Transient {
                name: name.to_owned(),
                message: e.to_string(),
            })?
            .map_err(|e| io_error(name, e))
    }

    async fn write(
        &self,
        name: &str,
        data: Bytes,
        _content_type: &str,
        precondition: Precondition,
    ) -> Result<Generation, StorageError> {
        let path = self.path(name)?;
        let root = self.root.clone();
        let result =
            tokio::task::spawn_blocking(move || write_sync(&root, &path, &data, precondition))
                .await
                .map_err(|e| StorageError::Transient {
                    name: name.to_owned(),
                    message: e.to_string(),
                })?;
        result.map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => StorageError::PreconditionFailed {
                name: name.to_owned(),
            },
            _ => io_error(name, e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_only_and_generation_matched_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        assert_eq!(store.read("a/b.json").await.unwrap(), None);
        let g1 = store
            .write(
                "a/b.json",
                Bytes::from_static(b"one"),
                "t",
                Precondition::DoesNotExist,
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .write(
                    "a/b.json",
                    Bytes::from_static(b"x"),
                    "t",
                    Precondition::DoesNotExist
                )
                .await,
            Err(StorageError::PreconditionFailed {
                name: "a/b.json".into()
            })
        );
        let (data, generation) = store.read("a/b.json").await.unwrap().unwrap();
        assert_eq!((&data[..], generation), (&b"one"[..], g1));
        let g2 = store
            .write(
                "a/b.json",
                Bytes::from_static(b"two"),
                "t",
                Precondition::GenerationMatch(g1),
            )
            .await
            .unwrap();
        assert!(g2 > g1);
        assert!(matches!(
            store
                .write(
                    "a/b.json",
                    Bytes::from_static(b"3"),
                    "t",
                    Precondition::GenerationMatch(g1)
                )
                .await,
            Err(StorageError::PreconditionFailed { .. })
        ));
        assert!(matches!(
            store
                .write(
                    "new",
                    Bytes::from_static(b"3"),
                    "t",
                    Precondition::GenerationMatch(5)
                )
                .await,
            Err(StorageError::PreconditionFailed { .. })
        ));
        assert_eq!(
            &store.read("a/b.json").await.unwrap().unwrap().0[..],
            b"two"
        );
        assert!(matches!(
            store.read("../escape").await,
            Err(StorageError::Invalid { .. })
        ));
        // No temporary files are left behind.
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("a"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("b.json")]);
    }

    #[tokio::test]
    async fn concurrent_generation_matched_writers_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let g = store
            .write(
                "cp",
                Bytes::from_static(b"0"),
                "t",
                Precondition::DoesNotExist,
            )
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .write(
                        "cp",
                        Bytes::from(format!("{i}")),
                        "t",
                        Precondition::GenerationMatch(g),
                    )
                    .await
                    .is_ok()
            }));
        }
        let mut wins = 0;
        for task in tasks {
            wins += usize::from(task.await.unwrap());
        }
        assert_eq!(wins, 1);
    }
}
