//! The `tracing` subscriber of `bootstrap`.
//!
//! Levels and formats as `lambda_runtime::tracing::init_default_subscriber`
//! defines them: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `INFO`, as
//! the default level, with `RUST_LOG`'s directives on top;
//! `AWS_LAMBDA_LOG_FORMAT=json` (any case) for JSON lines, the runtime's
//! text lines (no time: CloudWatch stamps each line) otherwise.
//!
//! JSON lines keep the runtime's layout for what it has: `timestamp`,
//! `level`, `fields` (the event's fields, `message` among them) and
//! `target`. In place of its `span` and `spans` lists, the fields of every
//! span the event is in are members of the line itself, so the runtime's
//! `requestId` and `xrayTraceId` (which it takes from the invocation's
//! context in both runtime modes) are top-level on every line, where
//! CloudWatch Logs Insights finds them whatever spans lie between. The
//! summary line's JSON-text fields are embedded as JSON ([`super::summary`]).
//!
//! The runtime's invocation span is kept at every level, so that error
//! lines carry its ids also under `AWS_LAMBDA_LOG_LEVEL=ERROR`.
//!
//! The runtime logs a handler's error as its `Debug` form; that line is
//! dropped here, since [`super::summary`] writes the error with its
//! `errorType` and message as fields.

use super::metrics::{self, Metrics};
use super::summary;
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;
use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::filter::{filter_fn, FilterFn, LevelFilter};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormattedFields, Layer, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the subscriber and, when `EXH_TASK_METRICS_NAMESPACE` is set,
/// turns metrics on. Does nothing to a process that already has a subscriber.
pub fn init() {
    init_from(|name| std::env::var(name).ok());
}

/// [`init`], reading the environment through `lookup`.
pub fn init_from(lookup: impl Fn(&str) -> Option<String>) {
    if let Some(namespace) = lookup("EXH_TASK_METRICS_NAMESPACE").filter(|n| !n.is_empty()) {
        metrics::enable(Metrics {
            namespace,
            function_name: lookup("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
        });
    }
    let level = lookup("AWS_LAMBDA_LOG_LEVEL").or_else(|| lookup("RUST_LOG"));
    let level =
        LevelFilter::from_str(level.as_deref().unwrap_or("INFO")).unwrap_or(LevelFilter::INFO);
    let filter = INVOCATION_SPANS
        .iter()
        .fold(super::filter::filter(level), |filter, span| {
            filter.add_directive(span.parse().expect("a valid directive"))
        });
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(without_runtime_debug_errors());
    let json =
        lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|format| format.eq_ignore_ascii_case("json"));
    let installed = if json {
        registry.with(json_layer(std::io::stdout)).try_init()
    } else {
        registry.with(text_layer(std::io::stdout)).try_init()
    };
    // A process (a test, a user's own main) that has a subscriber keeps it.
    drop(installed);
}

/// Keeps the runtime's invocation span (`requestId`, `xrayTraceId`) at any
/// level: at `AWS_LAMBDA_LOG_LEVEL=ERROR` an INFO span would be off, and
/// the error lines would lose the ids that tie them to an invocation. The
/// targets create that span and log nothing, so no line is added: the
/// project's own loop (`bootstrap` and every task) and `lambda_runtime`'s
/// (a function of the user's own built on `lambda_runtime::run` with this
/// subscriber).
const INVOCATION_SPANS: [&str; 2] = [
    "exh_task::invocation=info",
    "lambda_runtime::layers::trace=info",
];

/// The text lines layer (the runtime's, without the time: CloudWatch
/// stamps each line), writing to `writer`.
fn text_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'writer> MakeWriter<'writer> + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .fmt_fields(escaped_fields())
        .with_writer(writer)
}

/// The text lines' fields, as `tracing_subscriber` writes them (the
/// message as it is, then `name=value`, a string quoted), but with every
/// control character escaped: a value written with `%` (an error quoting
/// an event's text, an upstream's answer) cannot end the line and write
/// one of its own, or colour the terminal.
fn escaped_fields() -> impl for<'writer> FormatFields<'writer> + Clone + 'static {
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        if field.name() != "message" {
            write!(writer, "{}=", field.name())?;
        }
        fmt::Write::write_fmt(&mut Escaping(writer), format_args!("{value:?}"))
    })
    .delimited(" ")
}

/// A writer that writes `\n`, `\r`, `\t` and every other control
/// character as its Rust escape, straight through to the one it wraps.
struct Escaping<'w, W>(&'w mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some(at) = rest.find(char::is_control) {
            self.0.write_str(&rest[..at])?;
            let control = rest[at..].chars().next().expect("a character at `at`");
            write!(self.0, "{}", control.escape_default())?;
            rest = &rest[at + control.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// The JSON lines layer, writing to `writer`.
fn json_layer<S, W>(writer: W) -> Layer<S, JsonFields, JsonLines, W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'writer> MakeWriter<'writer> + 'static,
{
    tracing_subscriber::fmt::layer()
        .event_format(JsonLines)
        .fmt_fields(JsonFields::new())
        .with_writer(writer)
}

/// Drops [`is_runtime_debug_error`] lines.
fn without_runtime_debug_errors() -> FilterFn<fn(&Metadata<'_>) -> bool> {
    filter_fn(|metadata| !is_runtime_debug_error(metadata))
}

/// The runtime's `error!("{error:?}")` of a handler's error: a message and
/// nothing else, from its panic-catching layer (its panic line has an
/// `error` field, and stays).
fn is_runtime_debug_error(metadata: &Metadata<'_>) -> bool {
    metadata.is_event()
        && *metadata.level() == tracing::Level::ERROR
        && metadata.target() == "lambda_runtime::layers::panic"
        && metadata.fields().field("error").is_none()
}

/// One flat JSON object per event; see the module doc.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut fields = Fields {
            members: Map::new(),
            embed_json: metadata.target() == summary::TARGET,
        };
        event.record(&mut fields);
        let mut line = Map::new();
        line.insert("timestamp".into(), Value::String(timestamp));
        line.insert("level".into(), Value::from(metadata.level().as_str()));
        line.insert("fields".into(), Value::Object(fields.members));
        line.insert("target".into(), Value::from(metadata.target()));
        // Innermost span first; a name already taken (by the line itself,
        // or an inner span) keeps its value.
        for span in context.event_scope().into_iter().flatten() {
            let extensions = span.extensions();
            let Some(formatted) = extensions.get::<FormattedFields<N>>() else {
                continue;
            };
            if let Ok(Value::Object(span_fields)) = serde_json::from_str(formatted) {
                for (name, value) in span_fields {
                    line.entry(name).or_insert(value);
                }
            }
        }
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// An event's fields as JSON members.
struct Fields {
    members: Map<String, Value>,
    /// Whether JSON text is embedded as JSON (summary lines).
    embed_json: bool,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        self.members.insert(field.name().to_owned(), value);
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        let embedded = (self.embed_json && (text.starts_with('[') || text.starts_with('{')))
            .then(|| serde_json::from_str(&text).ok())
            .flatten();
        self.put(field, embedded.unwrap_or(Value::String(text)));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// The JSON lines written while `log` runs, each parsed.
    fn json_lines(log: impl FnOnce()) -> Vec<Value> {
        written(json_layer, log)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// What the layer `layer` builds writes while `log` runs.
    fn written<L>(layer: impl FnOnce(Arc<std::io::PipeWriter>) -> L, log: impl FnOnce()) -> String
    where
        L: tracing_subscriber::Layer<
                tracing_subscriber::layer::Layered<
                    FilterFn<fn(&Metadata<'_>) -> bool>,
                    tracing_subscriber::Registry,
                >,
            > + Send
            + Sync
            + 'static,
    {
        let (mut reader, writer) = std::io::pipe().unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(without_runtime_debug_errors())
            .with(layer(Arc::new(writer)));
        // The subscriber, and with it the pipe's writer, is dropped after.
        tracing::subscriber::with_default(subscriber, log);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut reader, &mut text).unwrap();
        text
    }

    #[test]
    fn a_text_line_cannot_be_ended_by_a_value_it_quotes() {
        let text = written(text_layer, || {
            let quoted = "unknown field `x\nFORGED INFO ok=true\r\u{1b}[31m`";
            tracing::error!(errorType = "InvalidEvent", errorMessage = %quoted, "invocation failed");
            tracing::warn!(reason = quoted, "request failed: {quoted}");
            tracing::info!(ok = true, "plain");
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines.iter().all(|line| !line.starts_with("FORGED")),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            lines[0].ends_with(
                "invocation failed errorType=\"InvalidEvent\" \
                 errorMessage=unknown field `x\\nFORGED INFO ok=true\\r\\u{1b}[31m`"
            ),
            "{}",
            lines[0]
        );
        assert!(lines[2].ends_with("plain ok=true"), "{}", lines[2]);
    }

    #[test]
    fn a_json_line_has_the_event_fields_and_the_span_ids_at_the_top() {
        let lines = json_lines(|| {
            let span = tracing::info_span!(
                "Lambda runtime invoke",
                requestId = "r-1",
                xrayTraceId = "Root=1-a"
            );
            let _entered = span.enter();
            tracing::warn!(errorType = "Timeout", errorMessage = %"timeout: slow", "request failed");
        });
        let line = &lines[0];
        assert_eq!(line["level"], "WARN");
        let fields = &line["fields"];
        assert_eq!(fields["message"], "request failed");
        assert_eq!(fields["errorType"], "Timeout");
        assert_eq!(fields["errorMessage"], "timeout: slow");
        assert_eq!(line["requestId"], "r-1");
        assert_eq!(line["xrayTraceId"], "Root=1-a");
        assert!(line["timestamp"].is_string());
    }

    #[test]
    fn summary_fields_holding_json_text_are_embedded_as_json() {
        let lines = json_lines(|| {
            tracing::info!(target: summary::TARGET, calls = %"[{\"side\":\"exh\"}]", "invocation");
            tracing::info!(calls = %"[{\"side\":\"exh\"}]", "elsewhere");
        });
        assert_eq!(lines[0]["fields"]["calls"][0]["side"], "exh");
        assert_eq!(lines[1]["fields"]["calls"], "[{\"side\":\"exh\"}]");
    }

    #[test]
    fn only_the_runtimes_debug_form_error_line_is_dropped() {
        let lines = json_lines(|| {
            let error = crate::Error::Forbidden("no".into());
            tracing::error!(target: "lambda_runtime::layers::panic", "{error:?}");
            tracing::error!(target: "lambda_runtime::layers::panic", error = "boom", "user handler panicked");
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["fields"]["message"], "user handler panicked");
    }
}
