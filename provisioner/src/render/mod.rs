//! Rendering the config into Terraform or a gcloud script: a strict minijinja environment (an
//! undefined value is an error) with every template embedded in the binary.

mod alerts;
mod context;
pub mod dashboard;
pub mod environment;
pub mod event_feed;
mod filters;

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};

use crate::config::Config;
pub use context::{Context, collector_logs};
pub use filters::{hcl_string, shell_word};

/// Which tool the rendered files are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A Terraform root module calling the embedded reusable module.
    Terraform,
    /// A gcloud script creating the same resources.
    Gcloud,
}

impl Engine {
    /// The name `--engine` takes.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Terraform => "terraform",
            Engine::Gcloud => "gcloud",
        }
    }

    /// The folder below the output folder that holds this engine's files.
    fn folder(self) -> &'static str {
        self.name()
    }

    /// Files the tool itself keeps in the engine's folder (Terraform's working state), which are
    /// neither rendered nor stray.
    fn owns(self, relative: &Path) -> bool {
        let Some(first) = relative.components().nth(1) else {
            return false;
        };
        let first = first.as_os_str().to_string_lossy();
        self == Engine::Terraform
            && (first == ".terraform"
                || first == ".terraform.lock.hcl"
                || first == "tfplan"
                || first.starts_with("terraform.tfstate"))
    }
}

/// Rendered file names, relative to the output folder.
pub mod files {
    /// Terraform root module.
    pub const TF_MAIN: &str = "terraform/main.tf";
    /// The dashboard's JSON, which the Terraform root passes to the module (with the dashboard on).
    pub const TF_DASHBOARD: &str = "terraform/dashboard.json";
    /// Terraform backend.
    pub const TF_BACKEND: &str = "terraform/backend.tf";
    /// Folder of the embedded reusable module inside the root.
    pub const TF_MODULE_DIR: &str = "terraform/modules/onepassword-secops";
    /// gcloud deployment script.
    pub const GCLOUD_DEPLOY: &str = "gcloud/deploy.sh";
    /// gcloud removal script.
    pub const GCLOUD_DESTROY: &str = "gcloud/destroy.sh";
}

/// The reusable module, embedded from `terraform/`.
pub const MODULE_FILES: &[(&str, &str)] = &[
    (
        "versions.tf",
        include_str!("../../../terraform/versions.tf"),
    ),
    (
        "variables.tf",
        include_str!("../../../terraform/variables.tf"),
    ),
    ("main.tf", include_str!("../../../terraform/main.tf")),
    ("layout.tf", include_str!("../../../terraform/layout.tf")),
    (
        "collector_env.tf",
        include_str!("../../../terraform/collector_env.tf"),
    ),
    ("outputs.tf", include_str!("../../../terraform/outputs.tf")),
    ("feed.tf", include_str!("../../../terraform/feed.tf")),
    (
        "feed_variables.tf",
        include_str!("../../../terraform/feed_variables.tf"),
    ),
    (
        "alerting.tf",
        include_str!("../../../terraform/alerting.tf"),
    ),
    ("ci.tf", include_str!("../../../terraform/ci.tf")),
    (
        "dashboard.tf",
        include_str!("../../../terraform/dashboard.tf"),
    ),
];

const TEMPLATES: &[(&str, &str)] = &[
    (
        files::TF_MAIN,
        include_str!("../../../templates/terraform/main.tf.j2"),
    ),
    (
        files::TF_BACKEND,
        include_str!("../../../templates/terraform/backend.tf.j2"),
    ),
    (
        files::GCLOUD_DEPLOY,
        include_str!("../../../templates/gcloud/deploy.sh.j2"),
    ),
    (
        files::GCLOUD_DESTROY,
        include_str!("../../../templates/gcloud/destroy.sh.j2"),
    ),
];

/// A rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Path relative to the output folder.
    pub path: String,
    /// Its text.
    pub contents: String,
    /// Whether it is a script.
    pub executable: bool,
}

/// A template failed to render (a bug: the config was validated).
#[derive(Debug, thiserror::Error)]
#[error("rendering {template} failed: {error}")]
pub struct RenderError {
    template: String,
    error: minijinja::Error,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.add_filter("hcl", filters::hcl_filter);
    env.add_filter("sh", filters::sh_filter);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("embedded templates parse");
    }
    env
}

/// Renders every file of `engine` for `config`.
pub fn render(config: &Config, engine: Engine) -> Result<Vec<RenderedFile>, RenderError> {
    render_with_image(config, engine, None)
}

/// Renders every file of `engine` for `config`, the service running `image` when given (a
/// released image pinned by digest, which still comes through the release remote repository).
pub fn render_with_image(
    config: &Config,
    engine: Engine,
    image: Option<&str>,
) -> Result<Vec<RenderedFile>, RenderError> {
    let env = environment();
    let context = Context::from_config(config, image);
    let render = |name: &str| {
        env.get_template(name)
            .and_then(|t| t.render(&context))
            .map_err(|error| RenderError {
                template: name.to_owned(),
                error,
            })
    };
    let mut out = Vec::new();
    match engine {
        Engine::Terraform => {
            for name in [files::TF_MAIN, files::TF_BACKEND] {
                out.push(RenderedFile {
                    path: name.to_owned(),
                    contents: render(name)?,
                    executable: false,
                });
            }
            if config.dashboard.enabled {
                out.push(RenderedFile {
                    path: files::TF_DASHBOARD.to_owned(),
                    contents: dashboard_file(config),
                    executable: false,
                });
            }
            for (name, contents) in MODULE_FILES {
                out.push(RenderedFile {
                    path: format!("{}/{name}", files::TF_MODULE_DIR),
                    contents: (*contents).to_owned(),
                    executable: false,
                });
            }
        }
        Engine::Gcloud => {
            for name in [files::GCLOUD_DEPLOY, files::GCLOUD_DESTROY] {
                out.push(RenderedFile {
                    path: name.to_owned(),
                    contents: render(name)?,
                    executable: true,
                });
            }
        }
    }
    Ok(out)
}

/// The dashboard JSON file the Terraform root reads, pretty-printed for review.
fn dashboard_file(config: &Config) -> String {
    let logs = context::collector_logs(config);
    let mut text = serde_json::to_string_pretty(&dashboard::dashboard(config, &logs))
        .expect("a JSON value serializes");
    text.push('\n');
    text
}

/// Writing rendered files failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A path inside the output folder is a symbolic link (or not a regular file or folder).
    #[error(
        "{} is a symbolic link or not a regular file; provision writes only regular files inside \
         the output folder: remove it, or render into another folder (--out)",
        .0.display()
    )]
    NotRegular(std::path::PathBuf),
    /// The file system refused.
    #[error("cannot write {}: {error}", path.display())]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// Checks that `path` is absent or of the wanted kind, without following a symbolic link.
fn regular(path: &Path, dir: bool) -> Result<bool, WriteError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if (dir && meta.is_dir()) || (!dir && meta.is_file()) => Ok(true),
        Ok(_) => Err(WriteError::NotRegular(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(WriteError::Io {
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Writes rendered files below `out`, only as regular files in regular folders: a symbolic link
/// anywhere below `out` on the way to a file is refused, never followed.
pub fn write(out: &Path, rendered: &[RenderedFile]) -> Result<(), WriteError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| WriteError::Io { path, error }
    };
    for file in rendered {
        let mut dir = out.to_path_buf();
        let relative = Path::new(&file.path);
        let components: Vec<_> = relative.components().collect();
        for part in &components[..components.len().saturating_sub(1)] {
            dir.push(part);
            if !regular(&dir, true)? {
                std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            }
        }
        let path = out.join(relative);
        regular(&path, false)?;
        std::fs::write(&path, &file.contents).map_err(io(&path))?;
        if file.executable {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(io(&path))?;
        }
    }
    Ok(())
}

/// Differences between the files on disk below `out` and `rendered` (for `engine`), as unified
/// diffs, then the stray files in the engine's folder that a render would not write (Terraform's
/// own working files excepted); empty when they match.
pub fn drift(out: &Path, rendered: &[RenderedFile]) -> std::io::Result<String> {
    let mut report = String::new();
    for file in rendered {
        let on_disk = std::fs::read_to_string(out.join(&file.path)).unwrap_or_default();
        if on_disk != file.contents {
            let diff = similar::TextDiff::from_lines(&on_disk, &file.contents);
            report.push_str(&format!(
                "{}",
                diff.unified_diff().header(
                    &format!("{} (on disk)", file.path),
                    &format!("{} (rendered)", file.path)
                )
            ));
        }
    }
    let engine = if rendered.iter().any(|f| f.path.starts_with("gcloud/")) {
        Engine::Gcloud
    } else {
        Engine::Terraform
    };
    let mut stray = Vec::new();
    let mut pending = vec![out.join(engine.folder())];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let relative = path.strip_prefix(out).unwrap_or(&path).to_path_buf();
            if engine.owns(&relative) {
                continue;
            }
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else if !rendered
                .iter()
                .any(|f| Path::new(&f.path) == relative.as_path())
            {
                stray.push(relative.display().to_string());
            }
        }
    }
    stray.sort();
    for path in stray {
        report.push_str(&format!(
            "stray file: {path} (a render does not write it)\n"
        ));
    }
    Ok(report)
}
