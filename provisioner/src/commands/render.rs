//! `provision render` (write the files, or `--check` them against the ones on disk), and the render
//! into the output folder that `plan`, `apply` and `destroy` run their files from.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::render::{self, Engine, RenderError, RenderedFile, WriteError};

/// The files could not be rendered into the output folder.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A template failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// `render --check` found the files on disk different, or could not compare them.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A template failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The output folder could not be read.
    #[error("cannot read {}", out.display())]
    Read {
        /// The output folder.
        out: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The files differ.
    #[error(
        "the files in {out} differ from a fresh render; run `provision render --engine {engine} --out {out}` to update them (and remove the stray files it names)",
        out = out.display(),
        engine = engine.name()
    )]
    Drift {
        /// The differences, as unified diffs and stray files (for standard output).
        diff: String,
        /// The output folder.
        out: PathBuf,
        /// The engine rendered for.
        engine: Engine,
    },
}

/// `provision render`: writes `engine`'s files for `config` below `out`; returns their paths.
pub fn render(config: &Config, engine: Engine, out: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let files = render::render(config, engine)?;
    render::write(out, &files)?;
    Ok(files.iter().map(|file| out.join(&file.path)).collect())
}

/// `provision render --check`: how many files below `out` match a fresh render, or how they
/// differ.
pub fn check(config: &Config, engine: Engine, out: &Path) -> Result<usize, CheckError> {
    let files = render::render(config, engine)?;
    let diff = render::drift(out, &files).map_err(|source| CheckError::Read {
        out: out.to_path_buf(),
        source,
    })?;
    if diff.is_empty() {
        Ok(files.len())
    } else {
        Err(CheckError::Drift {
            diff,
            out: out.to_path_buf(),
            engine,
        })
    }
}

/// Renders `engine`'s files for `config` below `out` (the service running `image` when given)
/// for a command to run, saying so on standard error.
pub fn for_run(
    config: &Config,
    engine: Engine,
    out: &Path,
    image: Option<&str>,
) -> Result<Vec<RenderedFile>, OutputError> {
    let files = render::render_with_image(config, engine, image)?;
    render::write(out, &files)?;
    eprintln!("rendered {} files into {}", files.len(), out.display());
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_counts_matching_files_and_fails_with_the_differences() {
        let config = crate::config::parse(
            "test.yaml",
            "project_id: acme-secops-prod\nregion: us-central1\n",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let written = render(&config, Engine::Gcloud, dir.path()).unwrap();
        assert_eq!(written.len(), 2);
        assert_eq!(check(&config, Engine::Gcloud, dir.path()).unwrap(), 2);
        std::fs::write(&written[0], "edited\n").unwrap();
        let drift = check(&config, Engine::Gcloud, dir.path()).unwrap_err();
        let CheckError::Drift { diff, engine, .. } = &drift else {
            panic!("{drift:?}");
        };
        assert_eq!(*engine, Engine::Gcloud);
        assert!(diff.contains("-edited"), "{diff}");
        assert!(
            drift
                .to_string()
                .contains("run `provision render --engine gcloud --out"),
            "{drift}"
        );
    }
}
