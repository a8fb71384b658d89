//! Running the real tools (`terraform`, `gcloud`, `bash`) step by step: output streams through,
//! progress is shown as `[n/total] step`, and a failure names its step. The bearer token is passed
//! only on a step's standard input, never in arguments or in any child's environment.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use collector::secret::Secret;

/// One command of a plan, apply or destroy.
#[derive(Debug, Clone)]
pub struct Step {
    /// What the step does, for progress and errors.
    pub name: String,
    /// The program (found on PATH).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: PathBuf,
    /// Written to its standard input, then closed.
    pub stdin: Option<Secret>,
}

impl Step {
    /// A step running `program args…` in `cwd`.
    pub fn new(name: &str, program: &str, args: &[&str], cwd: impl Into<PathBuf>) -> Self {
        Step {
            name: name.to_owned(),
            program: program.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            cwd: cwd.into(),
            stdin: None,
        }
    }

    /// Feeds `secret` on standard input.
    pub fn with_stdin(mut self, secret: Secret) -> Self {
        self.stdin = Some(secret);
        self
    }
}

/// A step that failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The program could not be started.
    #[error(
        "step {index}/{total} \"{name}\" could not start `{program}`: {source}; install it and make sure it is on PATH"
    )]
    Spawn {
        /// 1-based position.
        index: usize,
        /// Steps in all.
        total: usize,
        /// The step's name.
        name: String,
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The program failed.
    #[error(
        "step {index}/{total} \"{name}\" failed: `{program}` exited with {status}; fix the cause shown above and run the command again (every step is safe to repeat)"
    )]
    Failed {
        /// 1-based position.
        index: usize,
        /// Steps in all.
        total: usize,
        /// The step's name.
        name: String,
        /// The program.
        program: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
}

/// Runs `steps` in order, stopping at the first failure.
pub fn run(steps: &[Step]) -> Result<(), StepError> {
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        let index = i + 1;
        eprintln!("[{index}/{total}] {}", step.name);
        let started = Instant::now();
        let mut command = Command::new(&step.program);
        command
            .args(&step.args)
            .current_dir(&step.cwd)
            .env_remove("OP_BEARER_TOKEN")
            .env("TF_IN_AUTOMATION", "1")
            .stdin(if step.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let spawn_error = |source| StepError::Spawn {
            index,
            total,
            name: step.name.clone(),
            program: step.program.clone(),
            source,
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        if let (Some(secret), Some(mut stdin)) = (&step.stdin, child.stdin.take()) {
            stdin
                .write_all(secret.expose().as_bytes())
                .map_err(spawn_error)?;
        }
        let status = child.wait().map_err(spawn_error)?;
        if !status.success() {
            return Err(StepError::Failed {
                index,
                total,
                name: step.name.clone(),
                program: step.program.clone(),
                status,
            });
        }
        eprintln!(
            "[{index}/{total}] done: {} ({:.1} s)",
            step.name,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Runs `program args…` and returns its standard output (for reading back what a step did).
pub fn capture(program: &str, args: &[&str], cwd: &std::path::Path) -> Result<String, StepError> {
    let name = format!("{program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env_remove("OP_BEARER_TOKEN")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| StepError::Spawn {
            index: 1,
            total: 1,
            name: name.clone(),
            program: program.to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(StepError::Failed {
            index: 1,
            total: 1,
            name,
            program: program.to_owned(),
            status: output.status,
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
