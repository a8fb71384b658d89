//! Log lines Cloud Logging understands: one JSON object per line with `severity`, `message`, `time`,
//! the event's fields, and `summary` embedded as JSON; or plain text for a terminal.

use std::borrow::Cow;
use std::fmt;
use std::io::IsTerminal as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;

/// Longest value a log line carries for one field, in characters; the rest is cut, saying how much.
pub const MAX_FIELD_CHARS: usize = 1024;

/// `value` cut to [`MAX_FIELD_CHARS`] characters.
pub fn capped(value: &str) -> Cow<'_, str> {
    match value.char_indices().nth(MAX_FIELD_CHARS) {
        None => Cow::Borrowed(value),
        Some((end, _)) => Cow::Owned(format!(
            "{}…[{} more bytes cut]",
            &value[..end],
            value.len() - end
        )),
    }
}

/// Formats events as Cloud Logging structured JSON.
#[derive(Debug, Default, Clone, Copy)]
pub struct CloudLoggingJson;

/// Formats events as one plain line each: `TIME LEVEL message key=value…`, every control character
/// escaped (so no value can start a line of its own), values capped, colour only on a terminal.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainText {
    /// Colour the level with ANSI escapes.
    pub ansi: bool,
}

struct Fields(Map<String, Value>);

impl Fields {
    /// What both formats start from: the event's message (empty when it has none), and its other
    /// fields.
    fn of(event: &Event<'_>) -> (Value, Map<String, Value>) {
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let message = fields
            .0
            .remove("message")
            .unwrap_or_else(|| Value::String(String::new()));
        (message, fields.0)
    }

    fn text(&mut self, field: &Field, value: &str) {
        self.0.insert(
            field.name().to_owned(),
            Value::String(capped(value).into_owned()),
        );
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.text(field, &format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        // A field named `summary` carries a JSON document (ours): embed it as structure.
        if field.name() == "summary"
            && let Ok(parsed) = serde_json::from_str::<Value>(value)
        {
            self.0.insert(field.name().to_owned(), parsed);
            return;
        }
        self.text(field, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
}

/// Cloud Logging's severity for a tracing level.
pub fn severity(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl<S, N> FormatEvent<S, N> for CloudLoggingJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (message, fields) = Fields::of(event);
        let mut line = Map::new();
        line.insert("severity".into(), severity(event.metadata().level()).into());
        line.insert("message".into(), message);
        line.insert("time".into(), now().into());
        line.insert("target".into(), event.metadata().target().into());
        line.extend(fields);
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// `text` with every control character (and the bidirectional overrides that reorder what a
/// terminal shows) escaped, and backslashes doubled, so the text stays on its line and means one
/// thing.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// A field value as a plain line shows it: escaped, and quoted when empty or holding a space, a
/// quote or an `=`.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => {
            let text = escaped(text);
            if text.is_empty() || text.contains([' ', '"', '=']) {
                format!("\"{}\"", text.replace('"', "\\\""))
            } else {
                text
            }
        }
        other => escaped(&other.to_string()),
    }
}

impl<S, N> FormatEvent<S, N> for PlainText
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (message, fields) = Fields::of(event);
        let level = *event.metadata().level();
        let name = severity(&level);
        let message = match message {
            Value::String(text) => escaped(&text),
            other => escaped(&other.to_string()),
        };
        if self.ansi {
            let colour = match level {
                Level::ERROR => "31",
                Level::WARN => "33",
                Level::INFO => "32",
                Level::DEBUG | Level::TRACE => "34",
            };
            write!(writer, "{} \x1b[{colour}m{name:<7}\x1b[0m {message}", now())?;
        } else {
            write!(writer, "{} {name:<7} {message}", now())?;
        }
        for (key, value) in &fields {
            write!(writer, " {key}={}", shown(value))?;
        }
        writeln!(writer)
    }
}

/// Installs the global subscriber (stderr is not used by Cloud Run's parser; stdout is). Text
/// lines are coloured only when stdout is a terminal.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stdout);
    let _ = match format {
        LogFormat::Json => builder.event_format(CloudLoggingJson).try_init(),
        LogFormat::Text => builder
            .event_format(PlainText {
                ansi: std::io::stdout().is_terminal(),
            })
            .try_init(),
    };
}

/// What `log` writes as Cloud Logging JSON lines (for tests of what other modules log).
#[cfg(test)]
pub(crate) fn capture_json(log: impl FnOnce()) -> String {
    tests::capture_with(CloudLoggingJson, log)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_have_cloud_logging_shape() {
        let text = capture_json(|| {
            tracing::warn!(stream = "auditevents", attempt = 2u64, "retrying");
            tracing::info!(summary = r#"{"events":3}"#, "collector run summary");
        });
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["severity"], "WARNING");
        assert_eq!(lines[0]["message"], "retrying");
        assert_eq!(lines[0]["stream"], "auditevents");
        assert_eq!(lines[0]["attempt"], 2);
        assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(lines[1]["summary"]["events"], 3);
    }

    pub(crate) fn capture_with<F>(format: F, log: impl FnOnce()) -> String
    where
        F: FormatEvent<
                tracing_subscriber::Registry,
                tracing_subscriber::fmt::format::DefaultFields,
            > + Send
            + Sync
            + 'static,
    {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(format)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(capture.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_newline_in_a_field_cannot_forge_a_text_line_and_nothing_is_coloured() {
        let forged = "42\n2026-11-26T00:00:00Z ERROR  forged line\r\u{1b}[31mred\u{202e}";
        let text = capture_with(PlainText { ansi: false }, || {
            tracing::info!(trigger = "push", id = %forged, "run \n triggered");
            tracing::warn!(error = "a b=\"c\"", empty = "", "two");
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("INFO    run \\n triggered"), "{text}");
        // The value has spaces, so it is quoted; its control characters are escaped inside.
        assert!(
            lines[0].contains(
                r#"id="42\n2026-11-26T00:00:00Z ERROR  forged line\r\u{1b}[31mred\u{202e}""#
            ),
            "{text}"
        );
        assert!(!text.contains('\u{1b}') && !text.contains('\r') && !text.contains('\u{202e}'));
        assert!(
            lines[1].contains(r#"error="a b=\"c\"""#) && lines[1].contains(r#"empty="""#),
            "{text}"
        );
        let coloured = capture_with(PlainText { ansi: true }, || tracing::error!("x"));
        assert!(coloured.contains("\u{1b}[31m"), "a terminal gets colour");
    }

    #[test]
    fn an_event_without_a_message_has_an_empty_one_in_both_formats() {
        let json = capture_json(|| tracing::info!(stream = "auditevents"));
        let line: Value = serde_json::from_str(json.trim()).unwrap();
        assert_eq!(line["message"], "", "{json}");
        assert_eq!(line["stream"], "auditevents", "{json}");
        let text = capture_with(PlainText { ansi: false }, || {
            tracing::info!(stream = "auditevents", count = 3u64)
        });
        assert!(
            text.ends_with("INFO     count=3 stream=auditevents\n"),
            "{text:?}"
        );
    }

    #[test]
    fn huge_fields_are_capped_in_both_formats() {
        let huge = "m".repeat(1_900_000);
        let json = capture_with(
            CloudLoggingJson,
            || tracing::info!(id = %huge, "run triggered"),
        );
        let text = capture_with(
            PlainText { ansi: false },
            || tracing::info!(id = %huge, "run triggered"),
        );
        for out in [&json, &text] {
            assert!(out.len() < MAX_FIELD_CHARS + 200, "{} bytes", out.len());
            assert!(out.contains(&format!("[{} more bytes cut]", 1_900_000 - MAX_FIELD_CHARS)));
        }
        let line: Value = serde_json::from_str(json.trim()).unwrap();
        assert!(
            line["id"]
                .as_str()
                .unwrap()
                .starts_with(&"m".repeat(MAX_FIELD_CHARS))
        );
    }
}
