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

    /// `sha256:` and the first 16 hex digits of the secret's SHA-256: tells two tokens apart in a
    /// run summary (which token a run used) without revealing either.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(self.0.as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
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
        let fingerprint = secret.fingerprint();
        assert_eq!(fingerprint, Secret::new("very-secret-token").fingerprint());
        assert_ne!(fingerprint, Secret::new("other-token").fingerprint());
        assert!(fingerprint.starts_with("sha256:") && fingerprint.len() == 23);
        assert!(!fingerprint.contains("very"));
    }
}
