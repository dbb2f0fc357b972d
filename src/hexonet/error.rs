//! The error types of the pure HEXONET layer: [`Error`], a command that
//! cannot be built, and [`ParseError`], an answer that cannot be read.

use super::Template;
use std::fmt;

/// Why a HEXONET command could not be built from an event.
///
/// Every variant names the offending parameter, so the message alone tells
/// the caller what to fix. No variant ever carries a parameter *value*
/// except [`Error::InvalidIdn`], whose value is a domain name, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Occurs when the command is not a JSON object.
    NotAnObject {
        /// The JSON type that was given instead (`array`, `string`, …).
        found: &'static str,
    },
    /// Occurs when the command has no `COMMAND` parameter.
    MissingCommand,
    /// Occurs when `COMMAND` is empty or not a single string/number.
    InvalidCommandName,
    /// Occurs when a parameter name is empty or contains `=`, whitespace
    /// or a control character, which would let it inject another parameter
    /// into `s_command` or pass for another one once the API trims it.
    InvalidKey {
        /// The parameter name as given.
        key: String,
    },
    /// Occurs when a parameter holds a JSON object (or an array holds one).
    NestedObject {
        /// The upper-cased parameter name.
        key: String,
    },
    /// Occurs when an array parameter holds another array.
    NestedArray {
        /// The upper-cased parameter name.
        key: String,
    },
    /// Occurs when two parameters end up with the same name once upper-cased
    /// and flattened (`domain` and `DOMAIN`, or `DOMAIN: [..]` and `DOMAIN0`).
    DuplicateKey {
        /// The flattened parameter name given twice.
        key: String,
    },
    /// Occurs when an internationalised domain name in a `DOMAIN*`,
    /// `NAMESERVER*` or `DNSZONE*` parameter is not valid under UTS 46.
    InvalidIdn {
        /// The flattened parameter name.
        key: String,
        /// The domain name that could not be converted.
        value: String,
    },
    /// Occurs when the next page is asked for a command holding `LAST`,
    /// which the SDK refuses as well.
    PagingWithLast,
    /// Occurs when the next page is asked for a command whose `FIRST` is not
    /// an integer.
    InvalidFirst,
    /// Occurs when `all_pages` would take more than [`super::pages::MAX_PAGES`]
    /// requests for the list the first page announces.
    TooManyPages {
        /// The list's `TOTAL`.
        total: i64,
        /// The `LIMIT` of each page.
        limit: i64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotAnObject { found } => {
                write!(f, "hexonet command must be a JSON object, found {found}")
            }
            Error::MissingCommand => f.write_str("hexonet command has no COMMAND parameter"),
            Error::InvalidCommandName => {
                f.write_str("hexonet parameter COMMAND must be a non-empty string")
            }
            Error::InvalidKey { key } => write!(
                f,
                "hexonet parameter name {key:?} is invalid: it must be non-empty and hold no `=`, whitespace or control character"
            ),
            Error::NestedObject { key } => write!(
                f,
                "hexonet parameter {key} holds an object: only strings, numbers, booleans, null and arrays of those are allowed"
            ),
            Error::NestedArray { key } => write!(
                f,
                "hexonet parameter {key} holds an array inside an array: only one level of arrays is allowed"
            ),
            Error::DuplicateKey { key } => write!(
                f,
                "hexonet parameter {key} is given twice (parameter names are case-insensitive and arrays expand to KEY0, KEY1, …)"
            ),
            Error::InvalidIdn { key, value } => write!(
                f,
                "hexonet parameter {key} holds {value:?}, which is not a valid internationalised domain name"
            ),
            Error::PagingWithLast => f.write_str(
                "hexonet command holds LAST: remove it to page through the list",
            ),
            Error::InvalidFirst => f.write_str("hexonet parameter FIRST must be an integer"),
            Error::TooManyPages { total, limit } => write!(
                f,
                "hexonet all_pages: {total} entries at LIMIT {limit} take more than {} requests; raise LIMIT",
                super::pages::MAX_PAGES
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Why a text is not a HEXONET response (see [`super::parse`]).
///
/// The SDK does not fail here: it answers a canned response instead, which
/// [`ParseError::template`] names, so callers that must answer as the SDK
/// does (the [`super::Client`], [`super::Response::from_text`]) map every
/// kind to its template.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Occurs when the text (or the HTTP body) is empty.
    Empty,
    /// Occurs when no line names the `CODE` attribute.
    MissingCode,
    /// Occurs when no line names the `DESCRIPTION` attribute.
    MissingDescription,
    /// Occurs when `CODE` is not an integer as Python's `int()` reads one,
    /// where the SDK would raise on `getCode()`.
    CodeNotInteger {
        /// The `CODE` value as given.
        code: String,
    },
    /// Occurs when the text is 4 GiB or longer, more than a response
    /// keeps the places of its values for (no HTTP body gets near it).
    TooLarge,
}

impl ParseError {
    /// The SDK's answer for this text: `empty` for an empty text, `invalid`
    /// for every other kind.
    pub fn template(&self) -> Template {
        match self {
            ParseError::Empty => Template::Empty,
            _ => Template::Invalid,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("hexonet answer is empty"),
            ParseError::MissingCode => f.write_str("hexonet answer has no CODE"),
            ParseError::MissingDescription => f.write_str("hexonet answer has no DESCRIPTION"),
            ParseError::CodeNotInteger { code } => {
                write!(f, "hexonet answer's CODE {code:?} is not an integer")
            }
            ParseError::TooLarge => f.write_str("hexonet answer is 4 GiB or longer"),
        }
    }
}

impl std::error::Error for ParseError {}
