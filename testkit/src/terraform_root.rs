//! A throw-away Terraform root for tests that evaluate the module's own expressions without its
//! provider (which cannot be downloaded here): some of the module's files or a file of the test's,
//! the values a rendered root passes the module as `terraform.tfvars.json`, and `terraform console`
//! (an expression's value, as JSON) or any other `terraform` command run in it.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::tools::{tool, workspace_root};

/// The arguments a rendered root's `module "onepassword_secops"` block passes the module, without
/// its `source`, as Terraform variables (JSON).
pub fn module_arguments(root_main: &str) -> serde_json::Value {
    let root: serde_json::Value =
        hcl::from_str(root_main).expect("the rendered root's main.tf is HCL");
    let mut arguments = root["module"]["onepassword_secops"].clone();
    arguments
        .as_object_mut()
        .expect("the root calls the module onepassword_secops")
        .remove("source");
    arguments
}

/// A temporary folder used as a Terraform root.
#[derive(Debug)]
pub struct TerraformRoot {
    dir: tempfile::TempDir,
}

impl Default for TerraformRoot {
    fn default() -> Self {
        Self::new()
    }
}

impl TerraformRoot {
    /// An empty root.
    pub fn new() -> Self {
        TerraformRoot {
            dir: tempfile::tempdir().expect("create a Terraform root folder"),
        }
    }

    /// Writes `name` with `contents`.
    pub fn file(self, name: &str, contents: &str) -> Self {
        std::fs::write(self.dir.path().join(name), contents)
            .unwrap_or_else(|e| panic!("write {name}: {e}"));
        self
    }

    /// Copies the module's `terraform/NAME` files, as they are in the checkout.
    pub fn module_files(self, names: &[&str]) -> Self {
        for name in names {
            std::fs::copy(
                workspace_root().join("terraform").join(name),
                self.dir.path().join(name),
            )
            .unwrap_or_else(|e| panic!("copy terraform/{name}: {e}"));
        }
        self
    }

    /// Sets the variables' values (`terraform.tfvars.json`).
    pub fn variables(self, values: &serde_json::Value) -> Self {
        self.file("terraform.tfvars.json", &values.to_string())
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `terraform args…` in the root, without prompts, colours or version checks.
    pub fn terraform(&self, args: &[&str]) -> Command {
        let mut command = Command::new(tool("terraform"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1");
        command
    }

    /// `expression` evaluated by `terraform console` in the root, as JSON (through `jsonencode`).
    /// Fails the test, naming Terraform, when it cannot run or refuses the expression.
    pub fn eval(&self, expression: &str) -> serde_json::Value {
        let mut child = self
            .terraform(&["console"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("terraform runs (Terraform 1.11 must be on PATH)");
        child
            .stdin
            .take()
            .expect("terraform console's input")
            .write_all(format!("jsonencode({expression})\n").as_bytes())
            .expect("write to terraform console");
        let out = child.wait_with_output().expect("terraform console ends");
        assert!(
            out.status.success(),
            "terraform console {expression}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Terraform prints the JSON text as a quoted string.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let quoted: String = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "terraform console prints a quoted string ({e}); it printed: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        serde_json::from_str(&quoted).expect("jsonencode gives JSON")
    }
}
