//! Invalid settings: each problem names the variable (or flag), the bad value (quoted, so an
//! empty one reads `""`, and cut short when long) and the rule; all of them are reported at once.

use contract::env::Number;
use contract::summary::FailureReason;

use super::Vars;

/// One invalid setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The variable (or flag).
    pub variable: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// The kind of problem: an invalid setting, or a token that lacks a configured stream's
    /// feature.
    pub reason: FailureReason,
}

impl Problem {
    /// An invalid setting.
    pub fn new(variable: &str, message: impl Into<String>) -> Problem {
        Problem {
            variable: variable.to_owned(),
            message: message.into(),
            reason: FailureReason::InvalidConfiguration,
        }
    }
}

/// Every invalid setting found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {}: {}", p.variable, p.message)).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<Problem>);

impl ConfigError {
    /// Why the collector refuses to start: a token lacking a configured stream's feature when
    /// that is all that is wrong, an invalid configuration otherwise.
    pub fn reason(&self) -> FailureReason {
        if !self.0.is_empty()
            && self
                .0
                .iter()
                .all(|p| p.reason == FailureReason::FeatureMissing)
        {
            FailureReason::FeatureMissing
        } else {
            FailureReason::InvalidConfiguration
        }
    }
}

/// A value as messages show it: quoted (an empty value reads `""`), control characters escaped,
/// and cut after 64 characters, saying how many more there were.
pub fn shown(value: &str) -> String {
    const MAX: usize = 64;
    let count = value.chars().count();
    if count <= MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head:?}… ({} more characters)", count - MAX)
    }
}

/// Reads variables and collects every problem found.
pub(super) struct Reader<'a> {
    pub vars: &'a Vars,
    pub problems: Vec<Problem>,
}

impl<'a> Reader<'a> {
    pub fn new(vars: &'a Vars) -> Self {
        Reader {
            vars,
            problems: Vec::new(),
        }
    }

    /// The variable's value, trimmed; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Whether the variable was given at all (even blank).
    pub fn is_set(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// For a required variable: `is required`, or, when it is set but blank, says so.
    pub fn missing(&mut self, name: &str, rule: &str) {
        let message = match self.vars.get(name) {
            Some(value) => format!("is set to {}, but it is required: {rule}", shown(value)),
            None => format!("is required: {rule}"),
        };
        self.problem(name, message);
    }

    pub fn problem(&mut self, variable: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(variable, message));
    }

    /// Whether a problem names `variable` already.
    pub fn has_problem(&self, variable: &str) -> bool {
        self.problems.iter().any(|p| p.variable == variable)
    }

    /// A whole-number variable within its range, or its default (after recording the problem).
    pub fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        number: &Number<T>,
    ) -> T {
        self.number_as(number.name, number.default, number)
    }

    /// The whole number in `variable` (an account's variant of `number`, defaulting to `default`)
    /// within `number`'s range, or `default` (after recording the problem).
    pub fn number_as<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        variable: &str,
        default: T,
        number: &Number<T>,
    ) -> T {
        let Some(text) = self.get(variable).map(str::to_owned) else {
            return default;
        };
        match text.parse::<T>() {
            Ok(n) if number.accepts(n) => n,
            _ => {
                self.problem(
                    variable,
                    format!(
                        "{} is not a whole number in {}..={}",
                        shown(&text),
                        number.min,
                        number.max
                    ),
                );
                default
            }
        }
    }

    /// An object name or folder (`folder` allows one trailing `/`), checked for the parts a bucket
    /// path must not have; `None` (after recording the problem) when it has one.
    pub fn object_path(&mut self, name: &str, value: &str, folder: bool) -> Option<String> {
        let body = if folder {
            value.strip_suffix('/').unwrap_or(value)
        } else {
            value
        };
        let problem = if value.starts_with('/') {
            Some("is absolute (starts with \"/\"); object names are relative to the bucket, e.g. onepassword-audit".to_owned())
        } else if value.chars().any(char::is_control) {
            Some("contains a control character".to_owned())
        } else if body.is_empty() || body.split('/').any(str::is_empty) {
            Some("has an empty part (\"//\" or a trailing \"/\" on an object name)".to_owned())
        } else {
            body.split('/')
                .find(|p| *p == "." || *p == "..")
                .map(|part| format!("has a {} part; use a plain folder path", shown(part)))
        };
        match problem {
            Some(problem) => {
                self.problem(name, format!("{} {problem}", shown(value)));
                None
            }
            None => Some(body.to_owned()),
        }
    }
}
