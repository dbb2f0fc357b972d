//! [`Command`]: a HEXONET API command built from the event's JSON object and
//! flattened exactly as the Python SDKs' `APIClient.__flattenCommand` does
//! (the same in HEXONET's and CentralNic Reseller's).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::python;
use super::Error;

/// A flattened HEXONET command: upper-cased parameter names mapped to
/// single-line string values, kept sorted as the SDK sends them.
///
/// Built with [`Command::from_json`], which mirrors the SDK:
///
/// - names are upper-cased (`domain` → `DOMAIN`);
/// - arrays expand to `KEY0`, `KEY1`, …;
/// - `null` is dropped (inside an array too, the other indexes keep their
///   place: `[a, null, c]` → `KEY0`, `KEY2`);
/// - CR and LF are removed from values;
/// - `true`/`false` become `1`/`0` (the contract's choice: the SDK would
///   send Python's `True`/`False`);
/// - numbers print as Python's `str()` prints them (`100`, `1.0`, `1e+16`);
/// - objects, arrays inside arrays, names that are empty or hold `=`,
///   whitespace or a control character, and names given twice once
///   flattened are refused.
///
/// IDN names are converted later, as each platform's SDK decides (see
/// [`Protocol::wire_command`](super::Protocol::wire_command)).
///
/// `Debug` and `Display` show the [masked](Command::masked) rendering, so a
/// command never prints a password.
///
/// # Example
/// ```
/// use exh_task::hexonet::Command;
/// let cmd = Command::from_json(&serde_json::json!(
///     {"command": "CheckDomains", "domain": ["münchen.de", "a.com"], "x": true}
/// )).unwrap();
/// assert_eq!(cmd.name(), "CheckDomains");
/// assert_eq!(cmd.plain(), "COMMAND=CheckDomains\nDOMAIN0=münchen.de\nDOMAIN1=a.com\nX=1");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    params: BTreeMap<String, String>,
}

impl Command {
    /// Builds a command from a JSON value, which must be an object.
    pub fn from_json(value: &Value) -> Result<Self, Error> {
        match value {
            Value::Object(map) => Self::from_map(map),
            other => Err(Error::NotAnObject {
                found: crate::event::kind_of(other),
            }),
        }
    }

    /// Builds a command from a JSON object (see [`Command`] for the rules).
    pub fn from_map(map: &Map<String, Value>) -> Result<Self, Error> {
        let mut params = BTreeMap::new();
        for (key, value) in map {
            let key = parameter_name(key)?;
            for (name, value) in flatten(&key, value)? {
                insert_new(&mut params, name, value)?;
            }
        }
        match params.get("COMMAND") {
            None => Err(Error::MissingCommand),
            Some(name) if name.is_empty() => Err(Error::InvalidCommandName),
            Some(_) => Ok(Command { params }),
        }
    }

    /// The command name, the value of `COMMAND` (e.g. `QueryDomainList`).
    pub fn name(&self) -> &str {
        self.get("COMMAND").unwrap_or_default()
    }

    /// The value of a parameter, by its upper-case flattened name.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// Sets a parameter as the SDK's paging does (`cmd["FIRST"] = 100`):
    /// the name is upper-cased, CR/LF are removed from the value.
    pub fn set(&mut self, key: &str, value: impl ToString) -> Result<&mut Self, Error> {
        let key = parameter_name(key)?;
        self.params.insert(key, single_line(&value.to_string()));
        Ok(self)
    }

    /// Removes a parameter, by its upper-case flattened name.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.params.remove(key)
    }

    /// The parameters, sorted by name as they are sent.
    ///
    /// The values are unmasked: a `PASSWORD` parameter shows in clear.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `s_command` text before encoding: `KEY=value` lines joined by LF.
    ///
    /// Unmasked: it goes on the wire, never into a log.
    pub fn plain(&self) -> String {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// [`plain`](Command::plain) with passwords masked as the SDK masks its
    /// debug output: every `PASSWORD=` followed by text, to the end of the
    /// line, becomes `PASSWORD=***` (so `NEWPASSWORD` is masked too).
    pub fn masked(&self) -> String {
        crate::mask::hexonet::passwords(&self.plain())
    }

    /// The parameters with their values open to change (for the IDN
    /// conversion), sorted by name.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = (&str, &mut String)> {
        self.params.iter_mut().map(|(k, v)| (k.as_str(), v))
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Command").field(&self.masked()).finish()
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Upper-cases a parameter name after checking it cannot inject a line
/// or pass for another one: the API trims names, so `"COMMAND "` would be
/// a second `COMMAND` that the allow-list never saw. (Other Unicode is
/// kept, as the SDK sends it.)
fn parameter_name(key: &str) -> Result<String, Error> {
    if key.is_empty() || key.contains(|c: char| c == '=' || c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidKey {
            key: key.to_owned(),
        });
    }
    Ok(key.to_uppercase())
}

/// The flattened `(name, value)` pairs of one top-level parameter.
fn flatten(key: &str, value: &Value) -> Result<Vec<(String, String)>, Error> {
    let Value::Array(items) = value else {
        if key == "COMMAND" && !matches!(value, Value::String(_) | Value::Number(_)) {
            return Err(Error::InvalidCommandName);
        }
        return Ok(scalar(key, value)?
            .map(|v| (key.to_owned(), v))
            .into_iter()
            .collect());
    };
    if key == "COMMAND" {
        return Err(Error::InvalidCommandName);
    }
    let mut pairs = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if let Some(v) = scalar(key, item)? {
            pairs.push((format!("{key}{index}"), v));
        }
    }
    Ok(pairs)
}

/// The wire text of a scalar; `None` for null; an error for containers.
fn scalar(key: &str, value: &Value) -> Result<Option<String>, Error> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        Value::Number(n) => number_str(n),
        Value::String(s) => single_line(s),
        Value::Array(_) => {
            return Err(Error::NestedArray {
                key: key.to_owned(),
            })
        }
        Value::Object(_) => {
            return Err(Error::NestedObject {
                key: key.to_owned(),
            })
        }
    };
    Ok(Some(text))
}

/// Python's `str()` of the number `json.loads` would give: integers as
/// integers, everything else as a float.
fn number_str(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        python::float_str(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// The SDK's `re.sub(r"[\r\n]", "", value)`.
fn single_line(s: &str) -> String {
    s.replace(['\r', '\n'], "")
}

fn insert_new(
    params: &mut BTreeMap<String, String>,
    key: String,
    value: String,
) -> Result<(), Error> {
    if params.contains_key(&key) {
        return Err(Error::DuplicateKey { key });
    }
    params.insert(key, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One named test per case: the JSON command and the `s_command` text
    /// (or the error) it must give.
    macro_rules! encodes {
        ($($name:ident: $input:tt => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = Command::from_json(&json!($input)).map(|c| c.plain());
                assert_eq!(got, $want.map(str::to_owned));
            }
        )*};
    }

    fn key(k: &str) -> String {
        k.to_owned()
    }

    encodes! {
        keys_are_upper_cased_and_sorted: {"limit": 5, "command": "Q", "Domain": "a.com"}
            => Ok::<&str, Error>("COMMAND=Q\nDOMAIN=a.com\nLIMIT=5");
        arrays_expand_to_numbered_keys: {"COMMAND": "Q", "DOMAIN": ["a.com", "b.net"]}
            => Ok("COMMAND=Q\nDOMAIN0=a.com\nDOMAIN1=b.net");
        nulls_are_dropped: {"COMMAND": "Q", "X": null}
            => Ok("COMMAND=Q");
        nulls_in_arrays_keep_the_other_indexes: {"COMMAND": "Q", "X": ["a", null, "c"]}
            => Ok("COMMAND=Q\nX0=a\nX2=c");
        empty_arrays_send_nothing: {"COMMAND": "Q", "X": []}
            => Ok("COMMAND=Q");
        line_breaks_are_removed_from_values: {"COMMAND": "Q", "X": "a\r\nb\nc\r"}
            => Ok("COMMAND=Q\nX=abc");
        booleans_become_one_and_zero: {"COMMAND": "Q", "X": true, "Y": [false]}
            => Ok("COMMAND=Q\nX=1\nY0=0");
        floats_print_as_python_does: {"COMMAND": "Q", "A": 1.0, "B": 1e16, "C": 0.00001}
            => Ok("A=1.0\nB=1e+16\nC=1e-05\nCOMMAND=Q");
        negative_integers_stay_integers: {"COMMAND": "Q", "A": -42}
            => Ok("A=-42\nCOMMAND=Q");
        idn_names_stay_unicode_until_sent: {"COMMAND": "Q", "DOMAIN": "MÜNCHEN.de"}
            => Ok("COMMAND=Q\nDOMAIN=MÜNCHEN.de");
        a_missing_command_is_refused: {"DOMAIN": "a.com"}
            => Err(Error::MissingCommand);
        an_empty_command_is_refused: {"COMMAND": ""}
            => Err(Error::InvalidCommandName);
        an_array_command_is_refused: {"COMMAND": ["Q"]}
            => Err(Error::InvalidCommandName);
        nested_objects_are_refused_by_name: {"COMMAND": "Q", "contact": {"a": 1}}
            => Err(Error::NestedObject { key: key("CONTACT") });
        objects_in_arrays_are_refused_by_name: {"COMMAND": "Q", "x": [{"a": 1}]}
            => Err(Error::NestedObject { key: key("X") });
        arrays_in_arrays_are_refused_by_name: {"COMMAND": "Q", "x": [[1]]}
            => Err(Error::NestedArray { key: key("X") });
        keys_with_line_breaks_are_refused: {"COMMAND": "Q", "X\nPASSWORD": "a"}
            => Err(Error::InvalidKey { key: key("X\nPASSWORD") });
        keys_with_equals_signs_are_refused: {"COMMAND": "Q", "A=B": "a"}
            => Err(Error::InvalidKey { key: key("A=B") });
        a_second_command_padded_with_a_space_is_refused: {"COMMAND": "StatusAccount", "COMMAND ": "DeleteDomain"}
            => Err(Error::InvalidKey { key: key("COMMAND ") });
        keys_with_tabs_are_refused: {"COMMAND": "Q", "\tDOMAIN": "a"}
            => Err(Error::InvalidKey { key: key("\tDOMAIN") });
        keys_with_inner_spaces_are_refused: {"COMMAND": "Q", "DO MAIN": "a"}
            => Err(Error::InvalidKey { key: key("DO MAIN") });
        keys_with_other_unicode_are_sent_as_the_sdk_sends_them: {"COMMAND": "Q", "é": "a"}
            => Ok("COMMAND=Q\nÉ=a");
        keys_with_other_control_characters_are_refused: {"COMMAND": "Q", "DOMAIN\u{0}": "a"}
            => Err(Error::InvalidKey { key: key("DOMAIN\u{0}") });
        keys_differing_in_case_only_are_refused: {"COMMAND": "Q", "x": 1, "X": 2}
            => Err(Error::DuplicateKey { key: key("X") });
        arrays_colliding_with_numbered_keys_are_refused: {"COMMAND": "Q", "X": [1], "X0": 2}
            => Err(Error::DuplicateKey { key: key("X0") });
    }

    #[test]
    fn a_command_must_be_an_object() {
        let err = Command::from_json(&json!(["COMMAND"])).unwrap_err();
        assert_eq!(err, Error::NotAnObject { found: "an array" });
    }

    #[test]
    fn debug_output_masks_every_password() {
        let cmd = Command::from_json(&json!(
            {"COMMAND": "SetPassword", "PASSWORD": "old", "NEWPASSWORD": "new", "EMPTYPASSWORD": ""}
        ))
        .unwrap();
        let shown = format!("{cmd:?} {cmd}");
        assert!(!shown.contains("old") && !shown.contains("new"), "{shown}");
        assert_eq!(
            cmd.masked(),
            "COMMAND=SetPassword\nEMPTYPASSWORD=\nNEWPASSWORD=***\nPASSWORD=***"
        );
    }

    #[test]
    fn set_upper_cases_the_name_and_strips_line_breaks() {
        let mut cmd = Command::from_json(&json!({"COMMAND": "Q"})).unwrap();
        cmd.set("first", "1\n0").unwrap();
        assert_eq!(cmd.get("FIRST"), Some("10"));
        assert_eq!(cmd.name(), "Q");
    }
}
