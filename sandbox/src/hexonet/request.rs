//! The `call.cgi` request, read as the server reads it: [`Form`], the
//! connection fields, and [`Params`], the command.
//!
//! # Format
//!
//! An `application/x-www-form-urlencoded` text (a POST body, or the query
//! of a GET), e.g. from the HEXONET SDK:
//!
//! ```text
//! s_entity=1234&s_login=sandbox-user&s_pw=…&s_command=COMMAND%3DCheckDomain%0ADOMAIN%3Da.com
//! ```
//!
//! `+` is a space and `%XX` a byte; bytes that are not UTF-8 become U+FFFD.
//! A field given twice counts once, the first time; an empty field counts as
//! absent. `s_command` holds the command's lines, separated by LF (CRLF
//! works too), each `KEY=VALUE`: blanks around key and value are removed,
//! the key is upper-cased, a later line for the same key wins, and lines
//! without `=` (such as `[COMMAND]` and `EOF`) are skipped.
//!
//! Passwords never reach the request log: [`mask_secrets`] hides `s_pw` and
//! every `PASSWORD=` line of `s_command` first.

use std::collections::BTreeMap;

use url::form_urlencoded;

use super::reply::Reply;

/// The decoded fields of a form, in the order received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// Decodes `raw`; never fails (see the module's format notes).
    pub(crate) fn parse(raw: &[u8]) -> Self {
        Form(form_urlencoded::parse(raw).into_owned().collect())
    }

    /// The first value of `name`, unless it is empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }
}

/// A command: upper-case parameter names mapped to values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Params(BTreeMap<String, String>);

impl Params {
    /// Reads the `KEY=VALUE` lines of `s_command`.
    pub(crate) fn parse(command: &str) -> Self {
        let params = command
            .split('\n')
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.trim().to_uppercase(), value.trim().to_owned()))
            .filter(|(key, _)| !key.is_empty())
            .collect();
        Params(params)
    }

    /// The value of `name` (upper case), unless it is empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// The value of `name`, or 504 `Missing required attribute; NAME`.
    pub(crate) fn require(&self, name: &str) -> Result<&str, Reply> {
        self.get(name).ok_or_else(|| Reply::missing(name))
    }

    /// `name` as an integer in `range`, `default` when absent; 505 when
    /// it is no integer or outside `range`.
    pub(crate) fn integer(
        &self,
        name: &str,
        default: usize,
        range: std::ops::RangeInclusive<usize>,
    ) -> Result<usize, Reply> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| Reply::invalid_syntax(name)),
        }
    }

    /// `name` as a flag: `1` is true, absent or `0` false; 505 otherwise.
    pub(crate) fn flag(&self, name: &str) -> Result<bool, Reply> {
        match self.get(name) {
            None | Some("0") => Ok(false),
            Some("1") => Ok(true),
            Some(_) => Err(Reply::invalid_syntax(name)),
        }
    }

    /// The values of `PREFIX0`, `PREFIX1`, … in index order, with their
    /// names; empty values are skipped, as absent ones.
    pub(crate) fn indexed(&self, prefix: &str) -> Vec<(&str, &str)> {
        let mut found: Vec<(u64, &str, &str)> = self
            .0
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .filter(|(_, value)| !value.is_empty())
            .filter_map(|(key, value)| {
                let index = &key[prefix.len()..];
                let is_index = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
                Some((
                    index.parse().ok().filter(|_| is_index)?,
                    key.as_str(),
                    value.as_str(),
                ))
            })
            .collect();
        found.sort_unstable_by_key(|(index, _, _)| *index);
        found
            .into_iter()
            .map(|(_, key, value)| (key, value))
            .collect()
    }
}

/// `raw` with the value of every `s_pw` field, and of every `PASSWORD` line
/// inside `s_command`, replaced by `***`; the other bytes as they were.
pub(crate) fn mask_secrets(raw: &[u8]) -> Vec<u8> {
    let mut masked = Vec::with_capacity(raw.len());
    for (i, field) in raw.split(|&b| b == b'&').enumerate() {
        if i > 0 {
            masked.push(b'&');
        }
        let (name, value) = match field.iter().position(|&b| b == b'=') {
            Some(at) => (&field[..at], &field[at + 1..]),
            None => (field, &b""[..]),
        };
        match decode(name).as_str() {
            "s_pw" => masked.extend_from_slice(b"s_pw=***"),
            "s_command" if has_password_line(&decode(value)) => {
                let command = decode(value)
                    .split('\n')
                    .map(|line| match line.split_once('=') {
                        Some((key, _)) if key.trim().eq_ignore_ascii_case("PASSWORD") => {
                            format!("{key}=***")
                        }
                        _ => line.to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                masked.extend_from_slice(name);
                masked.push(b'=');
                masked.extend(
                    form_urlencoded::byte_serialize(command.as_bytes()).flat_map(str::bytes),
                );
            }
            _ => masked.extend_from_slice(field),
        }
    }
    masked
}

fn decode(bytes: &[u8]) -> String {
    form_urlencoded::parse(bytes)
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}

fn has_password_line(command: &str) -> bool {
    command.split('\n').any(|line| {
        line.split_once('=')
            .is_some_and(|(key, _)| key.trim().eq_ignore_ascii_case("PASSWORD"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One named test per case: a command text and what `f(Params::parse(text))` gives.
    macro_rules! params {
        ($($name:ident: $text:expr, |$p:ident| $got:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let $p = Params::parse($text);
                assert_eq!($got, $want);
            }
        )*};
    }

    params! {
        keys_are_upper_cased_and_blanks_trimmed: "command = CheckDomain\n Domain=a.com ", |p| (p.get("COMMAND"), p.get("DOMAIN")) => (Some("CheckDomain"), Some("a.com"));
        crlf_lines_work: "COMMAND=X\r\nDOMAIN=a.com\r\n", |p| p.get("DOMAIN") => Some("a.com");
        lines_without_equals_are_skipped: "[COMMAND]\nCOMMAND=X\nEOF", |p| p.0.len() => 1;
        equals_signs_stay_in_values: "AUTH=a=b", |p| p.get("AUTH") => Some("a=b");
        a_later_line_wins: "X=1\nX=2", |p| p.get("X") => Some("2");
        empty_values_count_as_absent: "X=", |p| p.require("X") => Err(Reply::missing("X"));
        indexed_values_come_in_numeric_order: "DOMAIN10=k\nDOMAIN2=c\nDOMAIN0=a\nDOMAINX=no\nDOMAIN=no\nDOMAIN3=", |p| p.indexed("DOMAIN") => vec![("DOMAIN0", "a"), ("DOMAIN2", "c"), ("DOMAIN10", "k")];
        an_integer_outside_its_range_is_invalid_syntax: "LIMIT=0", |p| p.integer("LIMIT", 5, 1..=10) => Err(Reply::invalid_syntax("LIMIT"));
        an_absent_integer_takes_its_default: "", |p| p.integer("LIMIT", 5, 1..=10) => Ok(5);
        a_flag_is_zero_or_one: "WIDE=yes", |p| p.flag("WIDE") => Err(Reply::invalid_syntax("WIDE"));
    }

    #[test]
    fn a_form_keeps_the_first_non_empty_field() {
        let form = Form::parse(b"s_login=a%21b&s_login=other&s_pw=&s_command=X%3D1+2");
        assert_eq!(form.get("s_login"), Some("a!b"));
        assert_eq!(form.get("s_pw"), None);
        assert_eq!(form.get("s_command"), Some("X=1 2"));
    }

    #[test]
    fn garbage_forms_decode_without_failing() {
        let form = Form::parse(b"%zz&&=&s_pw=%ff%fe&\xff\xfe=1");
        assert_eq!(form.get("s_pw"), Some("\u{fffd}\u{fffd}"));
    }

    #[test]
    fn passwords_are_masked_and_the_rest_kept() {
        let raw = b"s_entity=1234&s_pw=p%26ss&s_login=u&s_command=COMMAND%3DX%0Apassword+%3D+s3cret%0AY%3D1";
        let masked = String::from_utf8(mask_secrets(raw)).unwrap();
        assert!(masked.starts_with("s_entity=1234&s_pw=***&s_login=u&s_command="));
        let command = Form::parse(masked.as_bytes())
            .get("s_command")
            .unwrap()
            .to_owned();
        assert_eq!(command, "COMMAND=X\npassword =***\nY=1");
        assert!(!masked.contains("s3cret") && !masked.contains("p%26ss"));
    }

    #[test]
    fn a_form_without_passwords_is_recorded_as_it_came() {
        let raw = b"s_login=u&s_command=COMMAND%3DX&odd&%zz=1";
        assert_eq!(mask_secrets(raw), raw);
    }
}
