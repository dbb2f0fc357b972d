//! The event as the Runtime API delivers it, bytes, read into JSON by us.
//!
//! `lambda_runtime` 1.5 reads the payload with a `serde_json::Deserializer`
//! it never ends, so `{}\xff` or two objects in a row run the first one;
//! its own error type (`&lambda_runtime::deserializer::DeserializeError`)
//! becomes the `errorType` of a payload that nests too deep. Here every
//! such payload is refused as [`Error::InvalidEvent`], with a message that
//! says which rule it broke.

use crate::error::Error;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
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

/// What a JSON value costs at the peak of reading it, in bytes, beside
/// what it holds: serde_json's 32-byte `Value`, in a parent that grows by
/// doubling. Measured with `preserve_order` (release build, peak resident
/// memory over 300,000 items): `0`, `[]` or `{}` 72 bytes each, `"a"` 104,
/// a 40-byte string 120, `[0]` 376, `{"a":0}` 488, `{"a":[0]}` 792,
/// `{"a":{"b":0}}` 904; the weights below give these or more.
const VALUE_BYTES: usize = 72;

/// What a non-empty array's storage adds (a vector of at least 4 values).
const ARRAY_BYTES: usize = 232;

/// What a non-empty object's storage adds (its index table and entries).
const OBJECT_BYTES: usize = 272;

/// What an object key adds beside its text ([`text_bytes`]).
const KEY_BYTES: usize = 40;

/// The most the weights give one byte of JSON text: nested single-value
/// arrays, `[[[0]]]`, where each `[` and `]` pair adds
/// [`VALUE_BYTES`] + [`ARRAY_BYTES`].
const MOST_BYTES_PER_TEXT_BYTE: usize = (VALUE_BYTES + ARRAY_BYTES) / 2;

/// What a string of `length` bytes allocates: nothing when empty, else
/// `malloc`'s chunk (16-byte steps, 32 at least).
fn text_bytes(length: usize) -> usize {
    match length {
        0 => 0,
        _ => (length + 8).next_multiple_of(16).max(32),
    }
}

/// The memory an event of a function of `memory_mb` MB may take once
/// read: half of the function's memory.
pub fn event_memory(memory_mb: i32) -> usize {
    function_memory(memory_mb) / 2
}

/// The memory of a function of `memory_mb` MB, in bytes: 128 MB, Lambda's
/// least, at the least.
pub fn function_memory(memory_mb: i32) -> usize {
    usize::try_from(memory_mb).unwrap_or(0).max(128) * 1024 * 1024
}

/// Whether a text of `length` bytes could take over `most` once read, and
/// so must be weighed before it is: shorter ones cannot.
fn could_take_over(length: usize, most: usize) -> bool {
    most_weight(length) > most
}

/// The function's memory in MB, as Lambda sets it in
/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (the runtime does not start without
/// it); outside Lambda (the `exh-task` CLI, tests), or unreadable, the
/// least Lambda gives, 128 MB. Read once.
pub fn function_memory_mb() -> i32 {
    static MEMORY_MB: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *MEMORY_MB.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
            .ok()
            .and_then(|memory| memory.parse().ok())
            .unwrap_or(128)
    })
}

/// Reads `bytes` as exactly one JSON value, for a function of `memory_mb`
/// MB: UTF-8 text, at most [`MAX_DEPTH`] levels deep, taking at most
/// [`event_memory`] once read, nothing but white space after it.
///
/// # Example
/// ```
/// use exh_task::runtime::payload::decode;
/// assert!(decode(b"{}", 128).is_ok());
/// assert_eq!(decode(b"{} {}", 128).unwrap_err().error_type(), "InvalidEvent");
/// ```
pub fn decode(bytes: &[u8], memory_mb: i32) -> Result<Value, Error> {
    let text = utf8(bytes)?;
    // One text alone: weighed only if it is long enough to take too much.
    match could_take_over(text.len(), event_memory(memory_mb)) {
        true => Allowance::new(memory_mb).decode(text, EVENT),
        false => parse(text, EVENT),
    }
}

/// What `bytes` would take once read by [`decode`], in bytes, found
/// without keeping any of it; refused as [`decode`] would refuse it.
///
/// # Example
/// ```
/// use exh_task::runtime::payload::weight;
/// assert!(weight(b"[0, 1, 2]", 128).unwrap() > 3 * 32);
/// assert_eq!(weight(b"[0,", 128).unwrap_err().error_type(), "InvalidEvent");
/// ```
pub fn weight(bytes: &[u8], memory_mb: i32) -> Result<usize, Error> {
    Allowance::new(memory_mb).weigh(utf8(bytes)?, EVENT)
}

/// [`decode`] of `bytes` that [`weight`] has weighed already.
pub(crate) fn decode_weighed(bytes: &[u8]) -> Result<Value, Error> {
    parse(utf8(bytes)?, EVENT)
}

/// The most that JSON text of `length` bytes can take once read: an
/// upper bound, found without reading it.
pub(crate) fn most_weight(length: usize) -> usize {
    length.saturating_mul(MOST_BYTES_PER_TEXT_BYTE)
}

/// What `bytes`, JSON from an upstream, take once read, if at most `most`,
/// found without keeping any of it.
pub(crate) fn weight_within(bytes: &[u8], most: usize) -> Result<usize, Weighed> {
    weigh(upstream_text(bytes)?, most)
}

/// `bytes`, JSON from an upstream, read if what its values take once read
/// is at most `most` bytes: the value and that weight, found as it is
/// built; what was built is dropped once it would be more.
pub(crate) fn build_within(bytes: &[u8], most: usize) -> Result<(Value, usize), Weighed> {
    build(upstream_text(bytes)?, most)
}

fn upstream_text(bytes: &[u8]) -> Result<&str, Weighed> {
    std::str::from_utf8(bytes).map_err(|error| {
        Weighed::Json(serde::de::Error::custom(format!(
            "not UTF-8 (invalid byte at offset {})",
            error.valid_up_to()
        )))
    })
}

/// What a text of `length` bytes read as one JSON string takes.
pub(crate) fn string_weight(length: usize) -> usize {
    VALUE_BYTES + text_bytes(length)
}

/// What the payload is called in the errors about it.
const EVENT: &str = "event";

/// What is left of the memory the JSON texts that one event carries may
/// take once read ([`event_memory`]), spent text by text: the bodies of its
/// envelope (an HTTP body, every SQS record's) share it.
///
/// # Example
/// ```
/// use exh_task::runtime::payload::Allowance;
/// let mut bodies = Allowance::new(128);
/// assert!(bodies.decode(r#"{"exh": {}}"#, "SQS message body").is_ok());
/// let error = bodies.decode("[0,", "SQS message body").unwrap_err();
/// assert!(error.to_string().contains("the SQS message body is not JSON"));
/// ```
#[derive(Debug)]
pub struct Allowance {
    memory_mb: i32,
    left: usize,
}

impl Allowance {
    /// The whole allowance of one event of a function of `memory_mb` MB.
    pub fn new(memory_mb: i32) -> Allowance {
        Allowance {
            memory_mb,
            left: event_memory(memory_mb),
        }
    }

    /// Reads `text`, the event's `what`, as exactly one JSON value, as
    /// [`decode`] reads an event, if what it takes once read is left
    /// (weighed first, keeping nothing); spends that.
    pub fn decode(&mut self, text: &str, what: &str) -> Result<Value, Error> {
        let (value, weight) = read(text, self.left).map_err(|error| self.error(error, what))?;
        self.left -= weight;
        Ok(value)
    }

    /// Spends, and gives, the weight of `text`, if that is left.
    fn weigh(&mut self, text: &str, what: &str) -> Result<usize, Error> {
        let weight = weigh(text, self.left).map_err(|error| self.error(error, what))?;
        self.left -= weight;
        Ok(weight)
    }

    /// Why `what` was not read.
    fn error(&self, error: Weighed, what: &str) -> Error {
        match error {
            Weighed::Over => self.refusal(what),
            Weighed::Json(error) => Error::invalid_event(describe(&error, what)),
        }
    }

    /// Why a text that would take more than is left is refused.
    fn refusal(&self, what: &str) -> Error {
        let memory_mb = self.memory_mb;
        let whole = event_memory(memory_mb);
        // What is taken is told as the rest, so that the two add up.
        let left = Megabytes(self.left).tenths();
        let taken = match self.left == whole {
            true => String::new(),
            false => format!(
                ", less the {} MB the event's other bodies take",
                Tenths(Megabytes(whole).tenths() - left)
            ),
        };
        Error::invalid_event(format!(
            "the {what} would take over {} MB once read, half of the function's \
             {memory_mb} MB{taken}: send less, or give the function more memory",
            Tenths(left)
        ))
    }
}

/// A number of bytes, written in MB: to a tenth below 10 MB, whole from
/// 10 MB, rounded down.
pub(crate) struct Megabytes(pub usize);

impl Megabytes {
    /// The number of tenths of a MB written.
    pub(crate) fn tenths(&self) -> usize {
        match self.0 * 10 / (1024 * 1024) {
            tenths if tenths >= 100 => tenths / 10 * 10,
            tenths => tenths,
        }
    }
}

impl std::fmt::Display for Megabytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Tenths(self.tenths()).fmt(f)
    }
}

/// A number of tenths, written as a decimal number.
pub(crate) struct Tenths(pub usize);

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 % 10 {
            0 => write!(f, "{}", self.0 / 10),
            tenth => write!(f, "{}.{tenth}", self.0 / 10),
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(bytes).map_err(|error| {
        Error::invalid_event(format!(
            "the event is not UTF-8 text (invalid byte at offset {})",
            error.valid_up_to()
        ))
    })
}

/// `text`, the `what`, read; a text that is not one JSON value is refused.
fn parse(text: &str, what: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|error| Error::invalid_event(describe(&error, what)))
}

/// Why [`weigh`] or [`build`] stopped.
#[derive(Debug)]
pub(crate) enum Weighed {
    /// The text would take more than it was to weigh.
    Over,
    /// The text is not one JSON value.
    Json(serde_json::Error),
}

/// Walks the JSON `text` without keeping any of it, adding up what its
/// values would take once read, up to `most` bytes: the sum.
fn weigh(text: &str, most: usize) -> Result<usize, Weighed> {
    let scale = Scale {
        left: &Cell::new(most),
        over: &Cell::new(false),
    };
    let mut json = serde_json::Deserializer::from_str(text);
    match scale.deserialize(&mut json).and_then(|()| json.end()) {
        Ok(()) => Ok(most - scale.left.get()),
        Err(_) if scale.over.get() => Err(Weighed::Over),
        Err(error) => Err(Weighed::Json(error)),
    }
}

/// Reads the JSON `text` into a value if what it takes once read is at
/// most `most`: the value and that weight. A text long enough to take more
/// is weighed first, keeping nothing, so that one that does is refused
/// before any of it is built.
fn read(text: &str, most: usize) -> Result<(Value, usize), Weighed> {
    if could_take_over(text.len(), most) {
        weigh(text, most)?;
    }
    build(text, most)
}

/// Reads the JSON `text` into a value, each part taking its weight from
/// `most` as it is built (the weights [`weigh`] gives): the value and the
/// sum, or why not, what was built dropped.
fn build(text: &str, most: usize) -> Result<(Value, usize), Weighed> {
    let scale = Scale {
        left: &Cell::new(most),
        over: &Cell::new(false),
    };
    let mut json = serde_json::Deserializer::from_str(text);
    let value = Builder(scale).deserialize(&mut json).and_then(|value| {
        json.end()?;
        Ok(value)
    });
    match value {
        Ok(value) => Ok((value, most - scale.left.get())),
        Err(_) if scale.over.get() => Err(Weighed::Over),
        Err(error) => Err(Weighed::Json(error)),
    }
}

/// A value (or key) of [`weigh`]: takes its weight, and its contents',
/// from what is left.
#[derive(Clone, Copy)]
struct Scale<'a> {
    left: &'a Cell<usize>,
    over: &'a Cell<bool>,
}

impl Scale<'_> {
    fn take<E: serde::de::Error>(self, bytes: usize) -> Result<(), E> {
        match self.left.get().checked_sub(bytes) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.over.set(true);
                Err(E::custom("the event would take too much memory"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Scale<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, json: D) -> Result<(), D::Error> {
        json.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scale<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.take(VALUE_BYTES)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.take(VALUE_BYTES)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.take(VALUE_BYTES)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.take(VALUE_BYTES)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        self.take(string_weight(text.len()))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.take(VALUE_BYTES)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        self.take(VALUE_BYTES)?;
        if items.next_element_seed(self)?.is_some() {
            self.take(ARRAY_BYTES)?;
            while items.next_element_seed(self)?.is_some() {}
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        self.take(VALUE_BYTES)?;
        let mut first = true;
        while let Some(key) = entries.next_key_seed(KeyLength)? {
            if std::mem::take(&mut first) {
                self.take(OBJECT_BYTES)?;
            }
            self.take(KEY_BYTES + text_bytes(key))?;
            entries.next_value_seed(self)?;
        }
        Ok(())
    }
}

/// A value of [`build`]: the value read, built once its weight is taken,
/// as `serde_json::Value`'s own `Deserialize` builds it.
#[derive(Clone, Copy)]
struct Builder<'a>(Scale<'a>);

impl<'de> DeserializeSeed<'de> for Builder<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, json: D) -> Result<Value, D::Error> {
        json.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Builder<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Value, E> {
        self.0.take(VALUE_BYTES)?;
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Value, E> {
        self.0.take(VALUE_BYTES)?;
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Value, E> {
        self.0.take(VALUE_BYTES)?;
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Value, E> {
        self.0.take(VALUE_BYTES)?;
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Value, E> {
        self.0.take(string_weight(text.len()))?;
        Ok(Value::String(text.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Value, E> {
        self.0.take(string_weight(text.len()))?;
        Ok(Value::String(text))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.0.take(VALUE_BYTES)?;
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        self.0.take(VALUE_BYTES)?;
        let mut values = Vec::new();
        while let Some(value) = items.next_element_seed(self)? {
            if values.is_empty() {
                self.0.take(ARRAY_BYTES)?;
            }
            values.push(value);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        self.0.take(VALUE_BYTES)?;
        let mut map = serde_json::Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            if map.is_empty() {
                self.0.take(OBJECT_BYTES)?;
            }
            self.0.take(KEY_BYTES + text_bytes(key.len()))?;
            let value = entries.next_value_seed(self)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// An object key of [`weigh`]: its length.
struct KeyLength;

impl<'de> DeserializeSeed<'de> for KeyLength {
    type Value = usize;

    fn deserialize<D: serde::Deserializer<'de>>(self, json: D) -> Result<usize, D::Error> {
        json.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyLength {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<usize, E> {
        Ok(key.len())
    }
}

/// Names the rule `what` (the event, a body in it) broke; serde_json
/// tells depth and trailing bytes apart only by its messages, which are
/// stable.
fn describe(error: &serde_json::Error, what: &str) -> String {
    let message = error.to_string();
    if message.starts_with("recursion limit exceeded") {
        format!(
            "the {what} nests deeper than {MAX_DEPTH} levels (at line {} column {})",
            error.line(),
            error.column()
        )
    } else if message.starts_with("trailing characters") {
        format!(
            "the {what} has more after its JSON value (at line {} column {}): send one JSON value",
            error.line(),
            error.column()
        )
    } else {
        format!("the {what} is not JSON: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! refused {
        ($($name:ident: $bytes:expr => $says:literal;)*) => {$(
            #[test]
            fn $name() {
                let error = refusal(&$bytes, 128);
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

    /// `[item,item,…]` of `count` items.
    fn array_of(item: &str, count: usize) -> Vec<u8> {
        let mut text = String::from("[");
        for at in 0..count {
            text.push_str(if at == 0 { "" } else { "," });
            text.push_str(item);
        }
        text.push(']');
        text.into_bytes()
    }

    /// How many `item`s, each weighing `weight`, fill the memory of an
    /// event of a 128 MB function in one array.
    fn fill(weight: usize) -> usize {
        (event_memory(128) - VALUE_BYTES - ARRAY_BYTES) / weight
    }

    /// Why `decode` refused `bytes`; a short panic if it did not.
    fn refusal(bytes: &[u8], memory_mb: i32) -> Error {
        match decode(bytes, memory_mb) {
            Ok(_) => panic!("{} bytes read", bytes.len()),
            Err(error) => error,
        }
    }

    #[test]
    fn an_event_that_would_take_over_half_the_memory_is_refused() {
        let most = fill(VALUE_BYTES);
        assert!(decode(&array_of("0", most), 128).is_ok());
        let error = refusal(&array_of("0", most + 1), 128);
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(
            error
                .to_string()
                .contains("would take over 64 MB once read"),
            "{error}"
        );
        assert!(
            decode(&array_of("0", most + 1), 256).is_ok(),
            "twice the memory"
        );
    }

    #[test]
    fn what_a_value_holds_weighs_too() {
        // A quarter as many items as numbers fill the memory, but each
        // weighs more than four numbers.
        let count = fill(VALUE_BYTES) / 4;
        for item in ["[0]", "{\"a\":0}", "{\"a\":[0]}"] {
            let error = refusal(&array_of(item, count), 128);
            assert!(
                error.to_string().contains("would take over"),
                "{item}: {error}"
            );
        }
        for item in ["[]", "{}", "\"\""] {
            assert!(decode(&array_of(item, count), 128).is_ok(), "{item}");
        }
    }

    #[test]
    fn the_weight_is_what_the_values_take() {
        let numbers = 1_000;
        assert_eq!(
            weight(&array_of("0", numbers), 128).unwrap(),
            VALUE_BYTES + ARRAY_BYTES + numbers * VALUE_BYTES
        );
        assert_eq!(
            weight(br#"{"ab": "c"}"#, 128).unwrap(),
            VALUE_BYTES + OBJECT_BYTES + KEY_BYTES + 32 + VALUE_BYTES + 32
        );
    }

    #[test]
    fn what_decode_refuses_weight_refuses() {
        let (deep, heavy) = (nested(MAX_DEPTH + 1), array_of("0", fill(VALUE_BYTES) + 1));
        for bytes in [&b"{}\xff"[..], b"{} {}", b"", &deep, &heavy] {
            let decoded = refusal(bytes, 128).to_string();
            let weighed = weight(bytes, 128).unwrap_err().to_string();
            assert_eq!(weighed, decoded);
        }
    }

    #[test]
    fn the_bodies_of_one_event_share_its_allowance() {
        let body = String::from_utf8(array_of("0", fill(VALUE_BYTES) * 5 / 8)).unwrap();
        let mut bodies = Allowance::new(128);
        assert!(bodies.decode(&body, "SQS message body").is_ok());
        let error = bodies.decode(&body, "SQS message body").unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(
            error.to_string().contains(
                "the SQS message body would take over 23 MB once read, half of the function's \
                 128 MB, less the 41 MB the event's other bodies take"
            ),
            "{error}"
        );
        assert!(Allowance::new(128)
            .decode(&body, "SQS message body")
            .is_ok());
    }

    #[test]
    fn short_bodies_are_charged_what_they_take() {
        let mut bodies = Allowance::new(128);
        let body = r#"{"exh": {"path": "/users/v1/me"}}"#;
        // 10,000 records of an SQS batch, ~1 KB each once read.
        for _ in 0..10_000 {
            assert!(bodies.decode(body, "SQS message body").is_ok());
        }
        assert!(bodies.left > event_memory(128) - 12 * 1024 * 1024);
    }

    #[test]
    fn a_body_is_named_in_its_errors() {
        let mut bodies = Allowance::new(128);
        for (text, says) in [
            ("{} x", "the HTTP body has more after its JSON value"),
            ("[", "the HTTP body is not JSON"),
        ] {
            let error = bodies.decode(text, "HTTP body").unwrap_err();
            assert!(error.to_string().contains(says), "{error}");
        }
    }

    #[test]
    fn a_long_text_is_weighed_by_its_allocation_not_its_length() {
        let long = format!(
            "\"{}\"",
            "a".repeat(event_memory(128) / MOST_BYTES_PER_TEXT_BYTE)
        );
        assert!(decode(long.as_bytes(), 128).is_ok());
    }

    #[test]
    fn a_long_event_that_is_not_json_is_told_as_such_when_weighed() {
        let mut bytes = array_of("0", fill(VALUE_BYTES) + 1);
        bytes.insert(1, b'x');
        let error = refusal(&bytes, 128);
        assert!(error.to_string().contains("not JSON"), "{error}");
    }
}
