//! A task's errors and the stable `errorType` each is reported with, as
//! `bootstrap`'s are: Extra Horizon's `retryPolicy` matches that name, so
//! it must not be a Rust type name (which `lambda_runtime` would use).

use crate::error::Error;
pub use crate::error::TaskError;
use std::borrow::Cow;
use std::fmt;

/// An error with the `errorType` the task chooses; exh-task's own errors
/// convert into it (`?`) keeping theirs.
///
/// # Example
/// ```
/// use exh_task::task::{Failure, TaskError};
/// let failure = Failure::new("NoDomains", "document d1 lists no domains");
/// assert_eq!((failure.error_type(), failure.to_string().as_str()),
///            ("NoDomains", "document d1 lists no domains"));
/// let timeout = Failure::from(exh_task::Error::timeout_sent("no answer"));
/// assert_eq!(timeout.error_type(), "Timeout");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    error_type: Cow<'static, str>,
    message: String,
}

impl Failure {
    /// A failure reported as `error_type`, with `message` (which must hold
    /// no secret: it is logged and returned to the caller).
    pub fn new(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Failure {
        Failure {
            error_type: error_type.into(),
            message: message.into(),
        }
    }
}

impl TaskError for Failure {
    fn error_type(&self) -> &str {
        &self.error_type
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::new(error.error_type(), error.to_string())
    }
}

/// A command that cannot be built is a bad request, as in an event.
impl From<crate::hexonet::Error> for Failure {
    fn from(error: crate::hexonet::Error) -> Failure {
        Error::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::error::LambdaError;

    #[test]
    fn a_failure_is_reported_with_the_error_type_it_was_given() {
        let reported = LambdaError::of(&Failure::new("DocumentGone", "document d1 is gone"));
        assert_eq!(reported.error_type, "DocumentGone");
        assert_eq!(reported.error_message, "document d1 is gone");
    }

    #[test]
    fn exh_task_errors_keep_their_contract_names() {
        let reported = LambdaError::of(&Error::MissingConfig(vec!["API_HOST"]));
        assert_eq!(reported.error_type, "MissingConfig");
        let failure = Failure::from(crate::hexonet::Error::MissingCommand);
        assert_eq!(failure.error_type(), "InvalidEvent");
    }
}
