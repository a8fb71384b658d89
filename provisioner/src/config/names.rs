//! Google Cloud and 1Password naming rules as predicates: DNS labels, bucket names, object
//! prefixes, time zones and URL hosts. Each allows only characters that cannot break out of an HCL
//! string or a shell word.

pub(super) fn chars(value: &str, allowed: impl Fn(char) -> bool) -> bool {
    !value.is_empty() && value.chars().all(allowed)
}

pub(super) fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z]([-a-z0-9]*[a-z0-9])` with a length range.
pub(super) fn dns_label(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value.ends_with(lower_alnum)
        && chars(value, |c| lower_alnum(c) || c == '-')
}

pub(super) fn bucket_name(value: &str) -> bool {
    (3..=63).contains(&value.len())
        && value.starts_with(lower_alnum)
        && value.ends_with(lower_alnum)
        && chars(value, |c| lower_alnum(c) || matches!(c, '-' | '_' | '.'))
        && !value.starts_with("goog")
        && !value.contains("google")
}

pub(super) fn prefix(value: &str) -> bool {
    let trimmed = value.trim_end_matches('/');
    !trimmed.is_empty()
        && trimmed.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && chars(part, |c| {
                    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
                })
        })
}

pub(super) fn under(key: &str, folder: &str) -> bool {
    let folder = folder.trim_matches('/');
    let key = key.trim_matches('/');
    key == folder || key.starts_with(&format!("{folder}/"))
}

pub(super) fn time_zone(value: &str) -> bool {
    value == "UTC"
        || (value.contains('/')
            && value.split('/').all(|part| {
                part.starts_with(|c: char| c.is_ascii_uppercase())
                    && chars(part, |c| {
                        c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+')
                    })
            }))
}

pub(super) fn url_host(value: &str) -> bool {
    value.strip_prefix("https://").is_some_and(|host| {
        let host = host.trim_end_matches('/');
        host.contains('.') && chars(host, |c| lower_alnum(c) || matches!(c, '.' | '-'))
    })
}
