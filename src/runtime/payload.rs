//! The event as the Runtime API delivers it, bytes, read into JSON by us.
//!
//! `lambda_runtime` 1.5 reads the payload with a `serde_json::Deserializer`
//! it never ends, so `{}\xff` or two objects in a row run the first one;
//! its own error type (`&lambda_runtime::deserializer::DeserializeError`)
//! becomes the `errorType` of a payload that nests too deep. Here every
//! such payload is refused as [`Error::InvalidEvent`], with a message that
//! says which rule it broke.

use crate::error::Error;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::cell::Cell;

/// The largest payload read from `/next`: Lambda's own limit for a
/// synchronous invocation (6 MB) and a little room. A larger one is refused
/// without being read further.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024 + 64 * 1024;

/// How deep arrays and objects may nest: serde_json's recursion limit (128
/// nested values refused, 127 read),
/// which keeps parsing (and dropping) an event off a deep stack. A deeper
/// event, even 100,000 levels, is an `InvalidEvent`, never a crash.
pub const MAX_DEPTH: usize = 127;

/// What one JSON value (or object key) costs at the peak of reading it:
/// serde_json's 32-byte `Value`, or an object entry's share, in vectors
/// that grow by doubling (measured: 3 million small numbers in an array,
/// a 6 MB event, took 211 MB; an object of 375,000 entries 54 MB).
const BYTES_PER_VALUE: usize = 70;

/// The most JSON values (keys counted) an event of a function of
/// `memory_mb` MB may hold: read, they may take half of its memory.
pub fn max_values(memory_mb: i32) -> usize {
    let memory = usize::try_from(memory_mb).unwrap_or(0).max(128) * 1024 * 1024;
    memory / 2 / BYTES_PER_VALUE
}

/// Reads `bytes` as exactly one JSON value, for a function of `memory_mb`
/// MB: UTF-8 text, at most [`MAX_DEPTH`] levels deep and
/// [`max_values`] values, nothing but white space after it.
///
/// # Example
/// ```
/// use exh_task::runtime::payload::decode;
/// assert!(decode(b"{}", 128).is_ok());
/// assert_eq!(decode(b"{} {}", 128).unwrap_err().error_type(), "InvalidEvent");
/// ```
pub fn decode(bytes: &[u8], memory_mb: i32) -> Result<Value, Error> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        Error::invalid_event(format!(
            "the event is not UTF-8 text (invalid byte at offset {})",
            error.valid_up_to()
        ))
    })?;
    // A value takes a byte and most a separator too: a text of n bytes
    // holds at most (n + 1) / 2, so only a long one is counted first.
    let most = max_values(memory_mb);
    if text.len().div_ceil(2) > most {
        count_values(text, most).map_err(|error| match error {
            Counted::Over => Error::invalid_event(format!(
                "the event holds over {most} JSON values (keys counted), more than a function \
                 of {memory_mb} MB holds once read: send fewer, or give the function more memory"
            )),
            Counted::Json(error) => Error::invalid_event(describe(&error)),
        })?;
    }
    serde_json::from_str(text).map_err(|error| Error::invalid_event(describe(&error)))
}

/// Why [`count_values`] stopped.
enum Counted {
    /// More values than it was to count.
    Over,
    /// The text is not one JSON value.
    Json(serde_json::Error),
}

/// Walks the JSON `text` without keeping any of it, counting its values
/// and keys up to `most`.
fn count_values(text: &str, most: usize) -> Result<(), Counted> {
    let counter = Counter {
        left: &Cell::new(most),
        over: &Cell::new(false),
    };
    let mut json = serde_json::Deserializer::from_str(text);
    match counter.deserialize(&mut json).and_then(|()| json.end()) {
        Ok(()) => Ok(()),
        Err(_) if counter.over.get() => Err(Counted::Over),
        Err(error) => Err(Counted::Json(error)),
    }
}

/// A value of [`count_values`]: counts itself and what it holds.
#[derive(Clone, Copy)]
struct Counter<'a> {
    left: &'a Cell<usize>,
    over: &'a Cell<bool>,
}

impl Counter<'_> {
    fn count<E: serde::de::Error>(self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.over.set(true);
                Err(E::custom("too many values"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Counter<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, json: D) -> Result<(), D::Error> {
        json.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counter<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.count()
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.count()
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.count()
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.count()
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.count()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.count()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        self.count()?;
        while items.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        self.count()?;
        while entries.next_key::<IgnoredAny>()?.is_some() {
            self.count()?;
            entries.next_value_seed(self)?;
        }
        Ok(())
    }
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
                let error = decode(&$bytes, 128).unwrap_err();
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
        assert!(decode(&nested(MAX_DEPTH), 128).is_ok());
    }

    #[test]
    fn white_space_around_the_value_is_fine() {
        assert_eq!(
            decode(b" \n{\"a\": 1}\r\n ", 128).unwrap(),
            serde_json::json!({"a": 1})
        );
    }

    /// `[0,0,…]` of `count` numbers.
    fn zeros(count: usize) -> Vec<u8> {
        let mut bytes = b"[0".to_vec();
        bytes.extend(std::iter::repeat_n(*b",0", count - 1).flatten());
        bytes.push(b']');
        bytes
    }

    #[test]
    fn an_event_of_more_values_than_the_memory_holds_is_refused() {
        let most = max_values(128);
        assert_eq!(most, 958_698);
        // The array itself is a value: `most - 1` numbers fill it.
        assert!(decode(&zeros(most - 1), 128).is_ok());
        let error = decode(&zeros(most), 128).unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(
            error.to_string().contains("over 958698 JSON values"),
            "{error}"
        );
        assert!(decode(&zeros(most), 256).is_ok(), "twice the memory");
        // Counted, as long as the numbers, but one value.
        let text = format!("\"{}\"", "a".repeat(4 * most));
        assert!(decode(text.as_bytes(), 128).is_ok());
    }

    #[test]
    fn keys_count_as_values() {
        let most = max_values(128);
        let entries = (0..most / 2).map(|key| format!("\"{key}\":0"));
        let object = format!("{{{}}}", entries.collect::<Vec<_>>().join(","));
        let error = decode(object.as_bytes(), 128).unwrap_err();
        assert!(error.to_string().contains("JSON values"), "{error}");
    }

    #[test]
    fn a_long_event_that_is_not_json_is_told_as_such_when_counted() {
        let mut bytes = zeros(max_values(128));
        bytes.insert(1, b'x');
        let error = decode(&bytes, 128).unwrap_err();
        assert!(error.to_string().contains("not JSON"), "{error}");
    }
}
