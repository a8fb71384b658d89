//! Quoting filters: every value reaches HCL and shell through one of these, even after validation.

use minijinja::Value;

/// A double-quoted HCL string literal: escapes `\`, `"`, control characters, and the template
/// sequences `${` and `%{`, so no value can end the string or start an interpolation.
pub fn hcl_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A single-quoted shell word: nothing inside is interpreted.
pub fn shell_word(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| value.to_string())
}

pub(super) fn hcl_filter(value: Value) -> String {
    hcl_string(&text(&value))
}

pub(super) fn sh_filter(value: Value) -> String {
    shell_word(&text(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl_strings_cannot_break_out() {
        assert_eq!(hcl_string("plain"), r#""plain""#);
        assert_eq!(hcl_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(hcl_string("${var.x} %{if}"), r#""$${var.x} %%{if}""#);
        assert_eq!(hcl_string("line\nbreak"), r#""line\nbreak""#);
        assert_eq!(hcl_string("cost $5"), r#""cost $5""#);
    }

    #[test]
    fn shell_words_cannot_break_out() {
        assert_eq!(shell_word("plain"), "'plain'");
        assert_eq!(shell_word("it's; rm -rf /"), r"'it'\''s; rm -rf /'");
        assert_eq!(shell_word("$(id)`id`"), "'$(id)`id`'");
    }
}
