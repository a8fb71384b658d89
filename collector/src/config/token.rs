//! The bearer token: from `OP_BEARER_TOKEN` or the file `OP_BEARER_TOKEN_FILE` names (never a
//! flag's value), checked for characters an HTTP header cannot carry, and, when it is a JWT with
//! features, for every configured stream's feature. The token itself never appears in a message.

use contract::Stream;
use contract::summary::FailureReason;

use super::problems::{Problem, Reader, shown};
use onepassword_events::secret::Secret;
use onepassword_events::token::TokenClaims;

/// The variables a token may come from: `OP_BEARER_TOKEN` and `OP_BEARER_TOKEN_FILE`, or an
/// account's (`OP_BEARER_TOKEN_ACME`, `OP_BEARER_TOKEN_FILE_ACME`).
pub(super) struct TokenVariables {
    pub value: String,
    pub file: String,
}

/// The token, or `None` after recording why it cannot be used.
pub(super) fn bearer_token(r: &mut Reader<'_>, vars: &TokenVariables) -> Option<Secret> {
    let (value_var, file_var) = (vars.value.as_str(), vars.file.as_str());
    let (variable, token) = match (
        r.get(value_var).map(Secret::new),
        r.get(file_var).map(str::to_owned),
    ) {
        (Some(_), Some(_)) => {
            r.problem(
                file_var,
                format!("set either {value_var} or {file_var}, not both"),
            );
            return None;
        }
        (Some(token), None) => (value_var, token),
        (None, Some(path)) => (file_var, from_file(r, file_var, &path)?),
        (None, None) => {
            r.missing(
                value_var,
                &format!("the Events Reporting bearer token (on Cloud Run, from Secret Manager), or {file_var} naming a file that holds it"),
            );
            return None;
        }
    };
    match token.check_bearer() {
        Ok(()) => Some(token),
        Err(e) => {
            let what = if variable == value_var {
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

fn from_file(r: &mut Reader<'_>, variable: &str, path: &str) -> Option<Secret> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) if !text.trim().is_empty() => Some(Secret::new(text)),
            Ok(_) => {
                r.problem(variable, format!("{} is empty", shown(path)));
                None
            }
            Err(e) => {
                r.problem(
                    variable,
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
            r.problem(variable, format!("cannot read {}: {e}", shown(path)));
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
