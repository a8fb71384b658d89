//! The Events API base URL: `https://` anywhere, `http://` only on this machine (the simulator).

use url::Url;

use super::problems::{Reader, shown};

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

/// The Events API base URL in `variable` (`OP_API_BASE`, or an account's), or `None` after
/// recording why it cannot be used.
pub(super) fn api_base(r: &mut Reader<'_>, variable: &str) -> Option<Url> {
    let Some(text) = r.get(variable).map(str::to_owned) else {
        r.missing(
            variable,
            "the Events API base URL, e.g. https://events.1password.com (or events.ent.1password.com, events.1password.ca, events.1password.eu)",
        );
        return None;
    };
    match Url::parse(&text) {
        Ok(url) if url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url)) => {
            Some(url)
        }
        Ok(_) => {
            r.problem(
                variable,
                format!(
                    "{} must be an https:// URL (http:// only for 127.0.0.1 or localhost)",
                    shown(&text)
                ),
            );
            None
        }
        Err(e) => {
            r.problem(
                variable,
                format!(
                    "{} is not a URL ({e}); expected e.g. https://events.1password.com",
                    shown(&text)
                ),
            );
            None
        }
    }
}
