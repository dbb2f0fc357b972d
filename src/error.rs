//! The one error type of exh-task and its stable `errorType` names.
//!
//! An invocation fails only when no upstream answer could be had or must not
//! be sought; an upstream answer that is not ok is a result, not an error.
//! Every message is written for the person reading the Lambda error and never
//! contains a secret.

use lambda_runtime::Diagnostic;
use std::borrow::Cow;
use std::fmt;

/// Why an invocation (or one item of a batch) produced no upstream answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Occurs when the event is not one of the accepted shapes or a request in
    /// it is malformed (unknown method, a path that is not a path, ...).
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// Occurs when a request needs a side (Extra Horizon or HEXONET) whose
    /// environment variables are not all set; names every missing variable.
    #[error("missing configuration: {} not set", .0.join(", "))]
    MissingConfig(Vec<&'static str>),
    /// Occurs when an allow-list refuses a command or a path.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Occurs when the upstream service refused the credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Occurs when the invocation deadline passed before an answer came, or
    /// came so near that no request was started. `sent` says whether the
    /// request had been sent: when it had and the call is not idempotent,
    /// its outcome is unknown (the message says so), so a retry policy
    /// must not take the failure for a refusal.
    #[error("timeout: {message}")]
    Timeout {
        /// What did not answer, or what was not sent, and why.
        message: String,
        /// Whether the request had been sent when the deadline came.
        sent: bool,
    },
    /// Occurs when the upstream service could not be reached, after retries.
    #[error("transport: {0}")]
    Transport(String),
    /// Occurs when the upstream answer could not be read.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
}

impl Error {
    /// Every [`Error::error_type`], in the order of the variants.
    pub const TYPES: [&'static str; 7] = [
        "InvalidEvent",
        "MissingConfig",
        "Forbidden",
        "Unauthorized",
        "Timeout",
        "Transport",
        "InvalidResponse",
    ];

    /// The contract's `errorType` name: stable, unlike Rust type names.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::InvalidEvent(_) => "InvalidEvent",
            Error::MissingConfig(_) => "MissingConfig",
            Error::Forbidden(_) => "Forbidden",
            Error::Unauthorized(_) => "Unauthorized",
            Error::Timeout { .. } => "Timeout",
            Error::Transport(_) => "Transport",
            Error::InvalidResponse(_) => "InvalidResponse",
        }
    }

    /// A [`Error::Timeout`] of a request that was never sent.
    pub fn timeout_unsent(message: impl Into<String>) -> Self {
        Error::Timeout {
            message: message.into(),
            sent: false,
        }
    }

    /// A [`Error::Timeout`] of a request that was sent and not answered.
    pub fn timeout_sent(message: impl Into<String>) -> Self {
        Error::Timeout {
            message: message.into(),
            sent: true,
        }
    }

    /// For a [`Error::Timeout`], whether the request had been sent; `None`
    /// for every other error.
    pub fn sent(&self) -> Option<bool> {
        match self {
            Error::Timeout { sent, .. } => Some(*sent),
            _ => None,
        }
    }

    /// This error with its message changed by `change` (a
    /// [`Error::MissingConfig`] names variables, and is kept as it is).
    pub fn map_message(self, change: impl FnOnce(String) -> String) -> Error {
        match self {
            Error::InvalidEvent(message) => Error::InvalidEvent(change(message)),
            Error::MissingConfig(names) => Error::MissingConfig(names),
            Error::Forbidden(message) => Error::Forbidden(change(message)),
            Error::Unauthorized(message) => Error::Unauthorized(change(message)),
            Error::Timeout { message, sent } => Error::Timeout {
                message: change(message),
                sent,
            },
            Error::Transport(message) => Error::Transport(change(message)),
            Error::InvalidResponse(message) => Error::InvalidResponse(change(message)),
        }
    }

    /// This error with its message [`abridged`]: as it may leave the
    /// function, in an answer or a log line. Abridge only after redacting.
    pub fn abridged(self) -> Error {
        self.map_message(|message| match abridged(&message) {
            Cow::Owned(cut) => cut,
            Cow::Borrowed(_) => message,
        })
    }

    /// Shorthand for [`Error::InvalidEvent`].
    pub(crate) fn invalid_event(message: impl Into<String>) -> Self {
        Error::InvalidEvent(message.into())
    }

    /// The error as the JSON object a batch item carries:
    /// `{"type": ..., "message": ...}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.document()).expect("error documents serialise")
    }

    /// The error as a batch item carries it.
    pub fn document(&self) -> ErrorDocument {
        ErrorDocument {
            error_type: self.error_type(),
            message: self.to_string(),
            sent: self.sent(),
        }
    }
}

/// An error in a result document: `{"type", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ErrorDocument {
    /// The contract's `errorType` name (`InvalidEvent`, `Forbidden`, ...).
    #[serde(rename = "type")]
    pub error_type: &'static str,
    /// What happened, without any secret.
    pub message: String,
    /// For a `Timeout` only: whether the request had been sent (when it had
    /// and the call is not idempotent, its outcome is unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<bool>,
}

/// The error object of the Lambda contract, `{"errorType", "errorMessage"}`:
/// what a failed invocation reports, what `/init/error` receives and what an
/// HTTP envelope answers with. One type, so the names cannot drift apart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaError {
    /// The contract's `errorType` name, which retry policies match (a
    /// task's own names as well as exh-task's).
    pub error_type: Cow<'static, str>,
    /// What happened, without any secret.
    pub error_message: String,
}

impl From<&Error> for LambdaError {
    fn from(error: &Error) -> LambdaError {
        LambdaError {
            error_type: error.error_type().into(),
            error_message: error.to_string(),
        }
    }
}

impl LambdaError {
    /// The Lambda error of a task's `error`, with its `errorType`.
    pub fn of<E: TaskError + ?Sized>(error: &E) -> LambdaError {
        LambdaError {
            error_type: error.error_type().to_owned().into(),
            error_message: error.to_string(),
        }
    }
}

/// How many characters of an upstream's own text (an error body, a
/// HEXONET `DESCRIPTION`) an error message quotes: enough to read the
/// cause, and an answer of megabytes cannot make a message of megabytes.
pub const QUOTED_CHARS: usize = 512;

/// At most `chars` characters of `text`, text from outside quoted in an
/// error message, with `…` where it was cut. Cut only after redacting: a
/// secret cut in two is no longer found.
pub fn shortened(text: &str, chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(chars) {
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
        None => Cow::Borrowed(text),
    }
}

/// The most characters of an error message that leaves the function (a
/// Lambda error, an HTTP error answer, a log line): an error quoting an
/// event's text (a string of megabytes where a boolean belongs) would
/// otherwise be refused by the Runtime API, and split by CloudWatch.
pub const MAX_MESSAGE_CHARS: usize = 8 * 1024;

/// `message` in at most [`MAX_MESSAGE_CHARS`] characters: a longer one
/// keeps its beginning and its end, which names the problem (`…, expected a
/// boolean`), around a `…`. Cut only after redacting.
pub fn abridged(message: &str) -> Cow<'_, str> {
    if message.chars().nth(MAX_MESSAGE_CHARS).is_none() {
        return Cow::Borrowed(message);
    }
    // Both exist: the message is longer than both halves.
    let half = MAX_MESSAGE_CHARS / 2;
    let head_end = message.char_indices().nth(half).map_or(0, |(at, _)| at);
    let tail_start = message
        .char_indices()
        .nth_back(half - 1)
        .map_or(0, |(at, _)| at);
    Cow::Owned(format!(
        "{}…{}",
        &message[..head_end],
        &message[tail_start..]
    ))
}

/// An error with a stable `errorType`, as an invocation fails with it:
/// Extra Horizon's `retryPolicy` and Lambda's destinations match that name,
/// so it must not be a Rust type name (which `lambda_runtime` would use).
///
/// [`Error`] is one (`InvalidEvent`, `Timeout`, …); so is
/// [`crate::task::Failure`]. Implement it for an error type of your own to
/// choose the names.
///
/// # Example
/// ```
/// use exh_task::task::TaskError;
/// #[derive(Debug)]
/// enum CheckError { NoDomains, Upstream(exh_task::Error) }
/// impl std::fmt::Display for CheckError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         match self {
///             CheckError::NoDomains => f.write_str("the document lists no domains"),
///             CheckError::Upstream(error) => error.fmt(f),
///         }
///     }
/// }
/// impl TaskError for CheckError {
///     fn error_type(&self) -> &str {
///         match self {
///             CheckError::NoDomains => "NoDomains",
///             CheckError::Upstream(error) => error.error_type(),
///         }
///     }
/// }
/// assert_eq!(CheckError::NoDomains.error_type(), "NoDomains");
/// ```
pub trait TaskError: fmt::Display {
    /// The `errorType` the invocation fails with.
    fn error_type(&self) -> &str;
}

impl TaskError for Error {
    fn error_type(&self) -> &str {
        Error::error_type(self)
    }
}

impl TaskError for LambdaError {
    fn error_type(&self) -> &str {
        &self.error_type
    }
}

impl fmt::Display for LambdaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error_message)
    }
}

impl From<LambdaError> for Diagnostic {
    fn from(error: LambdaError) -> Diagnostic {
        Diagnostic {
            error_type: error.error_type.into(),
            error_message: error.error_message,
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(error: Error) -> Diagnostic {
        LambdaError::from(&error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_is_cut_at_a_character_with_a_mark() {
        assert_eq!(shortened("abc", 3), "abc");
        assert_eq!(shortened("abcd", 3), "abc…");
        assert_eq!(shortened("ééé", 2), "éé…");
        assert_eq!(shortened("", 0), "");
    }

    #[test]
    fn a_long_message_keeps_its_beginning_and_its_end() {
        let short = "x".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(abridged(&short), short.as_str());
        let long = format!(
            "invalid type: string \"{}\", expected a boolean",
            "é".repeat(100_000)
        );
        let cut = abridged(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.starts_with("invalid type: string \"éé"), "{cut}");
        assert!(cut.ends_with("éé\", expected a boolean"), "{cut}");
        assert!(cut.contains("é…é"), "one mark where it was cut");
        let error = Error::invalid_event(long).abridged();
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(error.to_string().ends_with("expected a boolean"));
    }

    macro_rules! error_type {
        ($($name:ident: $error:expr => $expected:literal;)*) => {$(
            #[test]
            fn $name() {
                let diagnostic = Diagnostic::from($error);
                assert_eq!(diagnostic.error_type, $expected);
                assert!(Error::TYPES.contains(&$expected));
            }
        )*};
    }

    error_type! {
        invalid_event_is_reported_as_invalid_event: Error::invalid_event("x") => "InvalidEvent";
        missing_config_is_reported_as_missing_config: Error::MissingConfig(vec!["API_HOST"]) => "MissingConfig";
        forbidden_is_reported_as_forbidden: Error::Forbidden("x".into()) => "Forbidden";
        unauthorized_is_reported_as_unauthorized: Error::Unauthorized("x".into()) => "Unauthorized";
        timeout_is_reported_as_timeout: Error::timeout_sent("x") => "Timeout";
        transport_is_reported_as_transport: Error::Transport("x".into()) => "Transport";
        invalid_response_is_reported_as_invalid_response: Error::InvalidResponse("x".into()) => "InvalidResponse";
    }

    #[test]
    fn missing_config_message_names_every_variable() {
        let error = Error::MissingConfig(vec!["API_HOST", "API_OAUTH_TOKEN"]);
        assert_eq!(
            Diagnostic::from(error).error_message,
            "missing configuration: API_HOST, API_OAUTH_TOKEN not set"
        );
    }

    #[test]
    fn the_lambda_error_object_is_named_as_lambda_names_it() {
        let error = LambdaError::from(&Error::Forbidden("no".into()));
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            serde_json::json!({"errorType": "Forbidden", "errorMessage": "forbidden: no"})
        );
    }

    #[test]
    fn a_timeout_in_a_batch_item_says_whether_its_request_was_sent() {
        let json = Error::timeout_unsent("GET /x was not sent").to_json();
        assert_eq!(
            json,
            serde_json::json!({"type": "Timeout", "message": "timeout: GET /x was not sent", "sent": false})
        );
        assert_eq!(Error::timeout_sent("x").to_json()["sent"], true);
        assert!(Error::Forbidden("x".into()).to_json().get("sent").is_none());
    }

    #[test]
    fn batch_items_carry_type_and_message() {
        let json = Error::Forbidden("command DeleteDomain is not allowed".into()).to_json();
        assert_eq!(json["type"], "Forbidden");
        assert_eq!(
            json["message"],
            "forbidden: command DeleteDomain is not allowed"
        );
    }
}
