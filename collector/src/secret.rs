//! The bearer token, kept out of every `Debug`, `Display`, log line and error message.

/// A secret string. Its `Debug` prints `<redacted>`; only [`Secret::expose`] reveals it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret, trimming surrounding white space (secrets read from files end in `\n`).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into().trim().to_owned())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_its_value() {
        let secret = Secret::new("  very-secret-token\n");
        assert_eq!(secret.expose(), "very-secret-token");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert!(!format!("{:?}", Some(&secret)).contains("very"));
    }
}
