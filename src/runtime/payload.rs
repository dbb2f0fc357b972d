//! The event as the Runtime API delivers it, bytes, read into JSON by us.
//!
//! `lambda_runtime` 1.5 reads the payload with a `serde_json::Deserializer`
//! it never ends, so `{}\xff` or two objects in a row run the first one;
//! its own error type (`&lambda_runtime::deserializer::DeserializeError`)
//! becomes the `errorType` of a payload that nests too deep. Here every
//! such payload is refused as [`Error::InvalidEvent`], with a message that
//! says which rule it broke.

use crate::error::Error;
use serde_json::Value;

/// The largest payload read from `/next`: Lambda's own limit for a
/// synchronous invocation (6 MB) and a little room. A larger one is refused
/// without being read further.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024 + 64 * 1024;

/// How deep arrays and objects may nest: serde_json's recursion limit (128
/// nested values refused, 127 read),
/// which keeps parsing (and dropping) an event off a deep stack. A deeper
/// event, even 100,000 levels, is an `InvalidEvent`, never a crash.
pub const MAX_DEPTH: usize = 127;

/// Reads `bytes` as exactly one JSON value: UTF-8 text, at most
/// [`MAX_DEPTH`] levels deep, nothing but white space after it.
///
/// # Example
/// ```
/// use exh_task::runtime::payload::decode;
/// assert!(decode(b"{}").is_ok());
/// assert_eq!(decode(b"{} {}").unwrap_err().error_type(), "InvalidEvent");
/// ```
pub fn decode(bytes: &[u8]) -> Result<Value, Error> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        Error::invalid_event(format!(
            "the event is not UTF-8 text (invalid byte at offset {})",
            error.valid_up_to()
        ))
    })?;
    serde_json::from_str(text).map_err(|error| Error::invalid_event(describe(&error)))
}

/// Names the rule a payload broke; serde_json tells depth and trailing
/// bytes apart only by its messages, which are stable.
fn describe(error: &serde_json::Error) -> String {
    let message = error.to_string();
    if message.starts_with("recursion limit exceeded") {
        format!(
            "the event nests deeper than {MAX_DEPTH} levels (at line {} column {})",
            error.line(),
            error.column()
        )
    } else if message.starts_with("trailing characters") {
        format!(
            "the event has more after its JSON value (at line {} column {}): send one JSON value",
            error.line(),
            error.column()
        )
    } else {
        format!("the event is not JSON: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! refused {
        ($($name:ident: $bytes:expr => $says:literal;)*) => {$(
            #[test]
            fn $name() {
                let error = decode(&$bytes).unwrap_err();
                assert_eq!(error.error_type(), "InvalidEvent");
                assert!(error.to_string().contains($says), "{error}");
            }
        )*};
    }

    refused! {
        trailing_bytes_are_refused: *b"{}\xff" => "not UTF-8";
        a_second_object_is_refused: *b"{} {}" => "more after its JSON value";
        trailing_text_is_refused: *b"{\"exh\": {}}x" => "more after its JSON value";
        invalid_utf8_inside_a_string_is_refused: *b"{\"a\": \"\xc3\"}" => "not UTF-8";
        an_empty_payload_is_refused: *b"" => "not JSON";
        nesting_past_the_limit_is_refused: nested(MAX_DEPTH + 1) => "deeper than 127 levels";
        a_hundred_thousand_levels_are_refused: nested(100_000) => "deeper than 127 levels";
    }

    fn nested(depth: usize) -> Vec<u8> {
        let mut bytes = vec![b'['; depth];
        bytes.extend(std::iter::repeat_n(b']', depth));
        bytes
    }

    #[test]
    fn nesting_up_to_the_limit_is_read() {
        assert!(decode(&nested(MAX_DEPTH)).is_ok());
    }

    #[test]
    fn white_space_around_the_value_is_fine() {
        assert_eq!(
            decode(b" \n{\"a\": 1}\r\n ").unwrap(),
            serde_json::json!({"a": 1})
        );
    }
}
