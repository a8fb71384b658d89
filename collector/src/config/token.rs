//! The bearer token: from `OP_BEARER_TOKEN` or the file `OP_BEARER_TOKEN_FILE` names (never a
//! flag's value), checked for characters an HTTP header cannot carry, and, when it is a JWT with
//! features, for every configured stream's feature. The token itself never appears in a message.

use contract::Stream;
use contract::env::{OP_BEARER_TOKEN, OP_BEARER_TOKEN_FILE};
use contract::summary::FailureReason;

use super::problems::{Problem, Reader, shown};
use crate::onepassword::token::TokenClaims;
use crate::secret::Secret;

/// The token, or `None` after recording why it cannot be used.
pub(super) fn bearer_token(r: &mut Reader<'_>) -> Option<Secret> {
    let (variable, token) = match (
        r.get(OP_BEARER_TOKEN).map(Secret::new),
        r.get(OP_BEARER_TOKEN_FILE).map(str::to_owned),
    ) {
        (Some(_), Some(_)) => {
            r.problem(
                OP_BEARER_TOKEN_FILE,
                "set either OP_BEARER_TOKEN or OP_BEARER_TOKEN_FILE, not both",
            );
            return None;
        }
        (Some(token), None) => (OP_BEARER_TOKEN, token),
        (None, Some(path)) => (OP_BEARER_TOKEN_FILE, from_file(r, &path)?),
        (None, None) => {
            r.missing(
                OP_BEARER_TOKEN,
                "the Events Reporting bearer token (on Cloud Run, from Secret Manager), or OP_BEARER_TOKEN_FILE naming a file that holds it",
            );
            return None;
        }
    };
    match token.check_bearer() {
        Ok(()) => Some(token),
        Err(e) => {
            let what = if variable == OP_BEARER_TOKEN {
                "the token".to_owned()
            } else {
                format!(
                    "the token in {}",
                    shown(r.get(variable).unwrap_or_default())
                )
            };
            r.problem(variable, format!("{what} {e}"));
            None
        }
    }
}

fn from_file(r: &mut Reader<'_>, path: &str) -> Option<Secret> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) if !text.trim().is_empty() => Some(Secret::new(text)),
            Ok(_) => {
                r.problem(OP_BEARER_TOKEN_FILE, format!("{} is empty", shown(path)));
                None
            }
            Err(e) => {
                r.problem(
                    OP_BEARER_TOKEN_FILE,
                    format!(
                        "{} is not text: a bearer token is printable ASCII, but byte {} is not UTF-8",
                        shown(path),
                        e.utf8_error().valid_up_to() + 1
                    ),
                );
                None
            }
        },
        Err(e) => {
            r.problem(
                OP_BEARER_TOKEN_FILE,
                format!("cannot read {}: {e}", shown(path)),
            );
            None
        }
    }
}

/// A problem for each of `streams` whose feature the token's claims lack (a token whose claims
/// name no features is left to the API to judge). `variable` is where the streams were named.
pub(super) fn missing_features(token: &Secret, streams: &[Stream], variable: &str) -> Vec<Problem> {
    let Some(claims) = TokenClaims::decode(token.expose()) else {
        return Vec::new();
    };
    let has = claims.features.clone().unwrap_or_default().join(", ");
    claims
        .missing(streams.iter().copied())
        .into_iter()
        .map(|stream| Problem {
            variable: variable.to_owned(),
            message: format!(
                "names {stream}, but the bearer token lacks the {stream} feature (it has: {has}); issue a token with {} selected (1Password: Integrations > Events Reporting), or remove {stream} from {variable}",
                stream.feature_label()
            ),
            reason: FailureReason::FeatureMissing,
        })
        .collect()
}
