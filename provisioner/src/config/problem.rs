//! One broken rule of the config: the key, the offending value and the rule.

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `bucket.name`.
    pub key: String,
    /// The offending value.
    pub value: String,
    /// The rule.
    pub rule: String,
}

impl Problem {
    /// A problem with `key`.
    pub fn new(key: &str, value: &str, rule: &str) -> Self {
        Self {
            key: key.to_owned(),
            value: value.to_owned(),
            rule: rule.to_owned(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.key, self.rule)
        } else {
            write!(f, "{}: {:?} {}", self.key, self.value, self.rule)
        }
    }
}
