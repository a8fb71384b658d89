//! The bearer token, kept out of every `Debug`, `Display`, log line and error message, and checked
//! for the shape a bearer token must have before anything sends it.

/// A secret string. Its `Debug` prints `<redacted>`; only [`Secret::expose`] reveals it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// Why a value cannot be a bearer token. Positions count characters from 1; the token itself is
/// never part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    /// Nothing but white space.
    #[error("is empty")]
    Empty,
    /// A line break inside the token (surrounding ones are trimmed).
    #[error(
        "contains a line break at character {at}: a bearer token is one line; copy it again \
         without line breaks"
    )]
    LineBreak {
        /// Position of the line break.
        at: usize,
    },
    /// Another control character, or white space inside the token.
    #[error(
        "contains {what} at character {at}: a bearer token is printable ASCII only; copy it \
         again from 1Password"
    )]
    Control {
        /// Position of the character.
        at: usize,
        /// What it is, e.g. `a tab` or `the control character U+0007`.
        what: String,
    },
    /// A character outside ASCII (often a typographic quote or dash from a document).
    #[error(
        "contains a non-ASCII character (U+{code:04X}) at character {at}: a bearer token is \
         printable ASCII only; copy it again from 1Password, not from a document"
    )]
    NonAscii {
        /// Position of the character.
        at: usize,
        /// Its code point.
        code: u32,
    },
}

impl Secret {
    /// Wraps a secret, trimming surrounding white space (secrets read from files end in `\n`).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into().trim().to_owned())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Checks that the secret can be a bearer token: one line of printable ASCII.
    pub fn check_bearer(&self) -> Result<(), TokenFormatError> {
        if self.0.is_empty() {
            return Err(TokenFormatError::Empty);
        }
        for (index, c) in self.0.chars().enumerate() {
            let at = index + 1;
            match c {
                '\n' | '\r' => return Err(TokenFormatError::LineBreak { at }),
                '!'..='~' => {}
                ' ' => {
                    return Err(TokenFormatError::Control {
                        at,
                        what: "a space".into(),
                    });
                }
                '\t' => {
                    return Err(TokenFormatError::Control {
                        at,
                        what: "a tab".into(),
                    });
                }
                c if c.is_ascii() => {
                    return Err(TokenFormatError::Control {
                        at,
                        what: format!("the control character U+{:04X}", c as u32),
                    });
                }
                c => {
                    return Err(TokenFormatError::NonAscii { at, code: c as u32 });
                }
            }
        }
        Ok(())
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

    #[test]
    fn only_one_line_of_printable_ascii_is_a_bearer_token() {
        assert_eq!(Secret::new("eyJh.eyJ-_x.sig=\n").check_bearer(), Ok(()));
        let cases = [
            ("  \n", TokenFormatError::Empty),
            ("abc\ndef", TokenFormatError::LineBreak { at: 4 }),
            ("ab\r\ncd", TokenFormatError::LineBreak { at: 3 }),
            (
                "ab\u{7}c",
                TokenFormatError::Control {
                    at: 3,
                    what: "the control character U+0007".into(),
                },
            ),
            (
                "ab cd",
                TokenFormatError::Control {
                    at: 3,
                    what: "a space".into(),
                },
            ),
            (
                "ab\u{2019}cd",
                TokenFormatError::NonAscii {
                    at: 3,
                    code: 0x2019,
                },
            ),
        ];
        for (value, expected) in cases {
            let error = Secret::new(value).check_bearer().unwrap_err();
            assert_eq!(error, expected, "{value:?}");
            assert!(!error.to_string().contains("cd"), "never echoes the token");
        }
    }
}
