//! Rendering the config into Terraform or a gcloud script: a strict minijinja environment (an
//! undefined value is an error) with every template embedded in the binary.

mod context;
mod filters;

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};

use crate::config::Config;
pub use context::Context;
pub use filters::{hcl_string, shell_word};

/// Which tool the rendered files are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A Terraform root module calling the embedded reusable module.
    Terraform,
    /// A gcloud script creating the same resources.
    Gcloud,
}

/// Rendered file names, relative to the output folder.
pub mod files {
    /// Terraform root module.
    pub const TF_MAIN: &str = "terraform/main.tf";
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
    ("outputs.tf", include_str!("../../../terraform/outputs.tf")),
    ("feed.tf", include_str!("../../../terraform/feed.tf")),
    (
        "alerting.tf",
        include_str!("../../../terraform/alerting.tf"),
    ),
    ("ci.tf", include_str!("../../../terraform/ci.tf")),
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
#[error("rendering {template} failed: {source}")]
pub struct RenderError {
    template: String,
    #[source]
    source: minijinja::Error,
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
    let env = environment();
    let context = Context::from_config(config);
    let render = |name: &str| {
        env.get_template(name)
            .and_then(|t| t.render(&context))
            .map_err(|source| RenderError {
                template: name.to_owned(),
                source,
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

/// Writes rendered files below `out`.
pub fn write(out: &Path, rendered: &[RenderedFile]) -> std::io::Result<()> {
    for file in rendered {
        let path = out.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, &file.contents)?;
        if file.executable {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(())
}

/// Differences between the files on disk below `out` and `rendered`, as unified diffs; empty when
/// they match.
pub fn drift(out: &Path, rendered: &[RenderedFile]) -> String {
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
    report
}
