//! Running the real tools (`terraform`, `gcloud`, `bash`) step by step: output streams through,
//! progress is shown as `[n/total] step`, and a failure names its step. The bearer token is passed
//! only on a step's standard input, never in arguments or in any child's environment.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use onepassword_events::secret::Secret;

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
    /// Run again, a bounded number of times, while its output says it waits for something.
    pub retry: Option<Retry>,
}

/// When a failed step is run again: its output contains `when_output_contains` (the tool's own
/// words for "not there yet"), and attempts are left. Used for what Google Cloud creates
/// asynchronously, such as a new log-based metric that alert policies cannot refer to for minutes.
#[derive(Debug, Clone)]
pub struct Retry {
    /// Text in the tool's output that means "not yet".
    pub when_output_contains: String,
    /// What is being waited for, for the progress line.
    pub waiting_for: String,
    /// Runs in all, the first included.
    pub attempts: u32,
    /// Pause between runs.
    pub pause: Duration,
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
            retry: None,
        }
    }

    /// Runs the step again while it fails with `retry`'s text in its output.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
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
        "step {index}/{total} \"{name}\" could not start `{program}`: {error}; install it and make sure it is on PATH"
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
        error: std::io::Error,
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
    /// The program succeeded but printed something other than what was asked for.
    #[error("{name}: unexpected answer {output:?}")]
    Unexpected {
        /// What was read.
        name: String,
        /// What the program printed.
        output: String,
    },
}

/// Runs `steps` in order, stopping at the first failure.
pub fn run(steps: &[Step]) -> Result<(), StepError> {
    run_part(steps, 1, steps.len())
}

/// Runs `steps` as steps `first…` of `total` (a command whose steps run in parts, with work of its
/// own between them), stopping at the first failure.
pub fn run_part(steps: &[Step], first: usize, total: usize) -> Result<(), StepError> {
    for (i, step) in steps.iter().enumerate() {
        let index = first + i;
        eprintln!("[{index}/{total}] {}", step.name);
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let (status, waiting) = run_once(step, index, total)?;
            if status.success() {
                break;
            }
            match &step.retry {
                Some(retry) if waiting && attempt < retry.attempts => {
                    eprintln!(
                        "[{index}/{total}] waiting for {} (attempt {attempt} of {}, next in {} s)",
                        retry.waiting_for,
                        retry.attempts,
                        retry.pause.as_secs()
                    );
                    std::thread::sleep(retry.pause);
                    attempt += 1;
                }
                _ => {
                    return Err(StepError::Failed {
                        index,
                        total,
                        name: step.name.clone(),
                        program: step.program.clone(),
                        status,
                    });
                }
            }
        }
        eprintln!(
            "[{index}/{total}] done: {} ({:.1} s)",
            step.name,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Runs `step` once; its output streams through. With a [`Retry`], the output is also searched for
/// the retry's text, and the second value says whether it was there.
fn run_once(
    step: &Step,
    index: usize,
    total: usize,
) -> Result<(std::process::ExitStatus, bool), StepError> {
    let spawn_error = |error| StepError::Spawn {
        index,
        total,
        name: step.name.clone(),
        program: step.program.clone(),
        error,
    };
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
    if step.retry.is_some() {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = command.spawn().map_err(spawn_error)?;
    if let (Some(secret), Some(mut stdin)) = (&step.stdin, child.stdin.take()) {
        stdin
            .write_all(secret.expose().as_bytes())
            .map_err(spawn_error)?;
    }
    let seen = AtomicBool::new(false);
    let needle = step.retry.as_ref().map(|r| r.when_output_contains.as_str());
    let status = std::thread::scope(|scope| {
        if let (Some(needle), Some(out)) = (needle, child.stdout.take()) {
            let seen = &seen;
            scope.spawn(move || tee(out, std::io::stdout(), needle, seen));
        }
        if let (Some(needle), Some(err)) = (needle, child.stderr.take()) {
            let seen = &seen;
            scope.spawn(move || tee(err, std::io::stderr(), needle, seen));
        }
        child.wait()
    })
    .map_err(spawn_error)?;
    Ok((status, seen.load(Ordering::Relaxed)))
}

/// Copies `from` to `to` line by line, noting whether a line contains `needle`.
fn tee(from: impl std::io::Read, mut to: impl std::io::Write, needle: &str, seen: &AtomicBool) {
    for line in std::io::BufReader::new(from).lines().map_while(Result::ok) {
        if line.contains(needle) {
            seen.store(true, Ordering::Relaxed);
        }
        // The terminal going away must not hide the step's exit status.
        let _ = writeln!(to, "{line}");
    }
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
        .map_err(|error| StepError::Spawn {
            index: 1,
            total: 1,
            name: name.clone(),
            program: program.to_owned(),
            error,
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
