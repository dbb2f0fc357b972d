//! The HEXONET plain-text response: [`parse`] and the [`Response`] views,
//! mirroring the SDK's `responseparser.parse`, `ResponseTemplate` and
//! `Response`.
//!
//! # Format
//!
//! ```text
//! [RESPONSE]\r\n
//! code = 200\r\n
//! description = Command completed successfully\r\n
//! runtime = 0.12\r\n
//! queuetime = 0\r\n
//! property[DOMAIN][0] = a.com\r\n
//! property[DOMAIN][1] = b.net\r\n
//! property[TOTAL][0] = 2\r\n
//! EOF\r\n
//! ```
//!
//! CRLF is turned into LF, then the text is split on LF. A line counts when
//! it holds a `=` with a name before it: the name is everything before the
//! first `=`, trailing spaces and tabs removed (leading ones are kept); the
//! value is everything after it, leading and trailing spaces and tabs
//! removed (a lone CR stays). Other lines (`[RESPONSE]`, `EOF`, garbage) are
//! skipped. Names are upper-cased.
//!
//! A name starting with `property[` (any case) and holding a `]` is a
//! property: the text between the brackets, upper-cased and stripped of all
//! whitespace, names a column and the value is appended to it; whatever
//! follows the `]` (the `[0]` index) is ignored, so values keep the order of
//! the lines. Any other name is an attribute (`CODE`, `DESCRIPTION`,
//! `RUNTIME`, `QUEUETIME`, `PENDING` …); a later line wins.
//!
//! The text is then checked as the SDK does: an empty text, a text without
//! `CODE` or `DESCRIPTION`, and a `CODE` that is not an integer are not
//! responses ([`ParseError`]; the SDK answers the `empty` or `invalid`
//! template instead, as [`Response::from_text`] does); placeholders such as
//! `{CONNECTION_URL}` are filled in or removed.

use indexmap::IndexMap;
use serde::ser::{Serialize, Serializer};

use super::python;
use super::templates::Template;
use super::{Command, Error, ParseError};

/// One row of the list view: column name → value, in column order.
pub type Record = IndexMap<String, String>;

/// Parses a HEXONET response text as the SDK's `Response(text)` reads it.
///
/// Fails with a [`ParseError`] where the SDK would answer a template (an
/// empty text, no `CODE` or `DESCRIPTION`) or raise (a `CODE` that is not
/// an integer); [`Response::from_text`] answers the template instead.
/// Placeholders (`{CONNECTION_URL}`) are removed; use
/// [`Response::from_text`] to fill in the connection URL as the SDK's
/// client does.
///
/// # Example
/// ```
/// use exh_task::hexonet::{parse, ParseError};
/// let r = parse("[RESPONSE]\r\ncode = 200\r\ndescription = ok\r\nproperty[DOMAIN][0] = a.com\r\nEOF\r\n").unwrap();
/// assert_eq!(r.code(), 200);
/// assert_eq!(r.records()[0]["DOMAIN"], "a.com");
/// assert_eq!(r.pagination().page, Some(1));
/// assert_eq!(parse("<html>oops</html>"), Err(ParseError::MissingCode));
/// ```
pub fn parse(text: &str) -> Result<Response, ParseError> {
    read(text, None)
}

/// Parses an HTTP body as the SDK's client decodes it: UTF-8, else
/// Latin-1; `{CONNECTION_URL}` becomes `connection_url` when given.
pub(crate) fn parse_body(
    body: &[u8],
    connection_url: Option<&str>,
) -> Result<Response, ParseError> {
    let text = match std::str::from_utf8(body) {
        Ok(text) => text.to_owned(),
        Err(_) => body.iter().map(|&b| char::from(b)).collect(),
    };
    read(&text, connection_url)
}

/// A parsed HEXONET response: its hash (attributes and properties) and its
/// list view (columns, records, pagination).
///
/// Serializes to the contract's result shape:
/// `{"code", "description", "runtime", "queuetime", "properties", "columns",
/// "records", "pagination"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    plain: String,
    hash: Hash,
    code: i64,
    records: Vec<Record>,
    pagination: Pagination,
}

/// The paging figures of a list response, as the SDK's `getPagination`
/// computes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Pagination {
    /// Index of the first record: property `FIRST`, else 0 when there are
    /// records, else none.
    pub first: Option<i64>,
    /// Index of the last record: property `LAST`, else `count - 1` when
    /// there are records, else none.
    pub last: Option<i64>,
    /// The number of records in this response (not the `COUNT` property).
    pub count: i64,
    /// Property `LIMIT`, else `count`.
    pub limit: i64,
    /// Property `TOTAL`, else `count`.
    pub total: i64,
    /// `ceil(total / limit)`, 0 when either is 0.
    pub pages: i64,
    /// The current page, `floor(first / limit) + 1`, none without `first`
    /// or with a zero `limit`.
    pub page: Option<i64>,
}

/// The SDK's hash: attributes and `PROPERTY`, both in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
struct Hash {
    attributes: IndexMap<String, String>,
    properties: IndexMap<String, Vec<String>>,
}

impl Response {
    /// Builds a response as the SDK's `Response(text, cmd, cfg)` does, with
    /// `{CONNECTION_URL}` replaced by `connection_url` when given.
    /// A text that is not a response ([`ParseError`]) becomes the SDK's
    /// template for it ([`ParseError::template`]), a `CODE` that is not an
    /// integer (where the SDK would raise on `getCode()`) the `invalid` one.
    pub fn from_text(text: &str, connection_url: Option<&str>) -> Self {
        read(text, connection_url).unwrap_or_else(|error| error.template().response(connection_url))
    }

    /// Builds a response from an HTTP body as the SDK's client does: UTF-8,
    /// else Latin-1. Unlike [`Response::from_text`], every body that is not
    /// a response gives the `invalid` template, an empty one too (the SDK
    /// compares bytes with `""`, so its `empty` check never holds).
    pub fn from_bytes(body: &[u8], connection_url: Option<&str>) -> Self {
        parse_body(body, connection_url)
            .unwrap_or_else(|_| Template::Invalid.response(connection_url))
    }

    /// A response built from its attributes and properties (e.g. pages
    /// merged into one), with the plain text written as the API writes it.
    /// Without a numeric `CODE` it is the `invalid` template, as parsing would make it.
    pub(crate) fn from_parts(
        attributes: IndexMap<String, String>,
        properties: IndexMap<String, Vec<String>>,
    ) -> Self {
        let mut plain = String::from("[RESPONSE]\r\n");
        for (name, value) in &attributes {
            plain.push_str(&format!("{name}={value}\r\n"));
        }
        for (column, values) in &properties {
            for (index, value) in values.iter().enumerate() {
                plain.push_str(&format!("PROPERTY[{column}][{index}]={value}\r\n"));
            }
        }
        plain.push_str("EOF\r\n");
        let hash = Hash {
            attributes,
            properties,
        };
        Self::from_hash(plain, hash).unwrap_or_else(|error| error.template().response(None))
    }

    /// The views of a checked hash; fails without an integer `CODE`.
    fn from_hash(plain: String, hash: Hash) -> Result<Self, ParseError> {
        let code = hash.attributes.get("CODE").ok_or(ParseError::MissingCode)?;
        let code = python::parse_int(code)
            .ok_or_else(|| ParseError::CodeNotInteger { code: code.clone() })?;
        let records = records(&hash.properties);
        let pagination = pagination(&hash.properties, records.len());
        Ok(Response {
            plain,
            hash,
            code,
            records,
            pagination,
        })
    }

    /// The response code (`CODE`), e.g. 200, 545.
    pub fn code(&self) -> i64 {
        self.code
    }

    /// The response description (`DESCRIPTION`).
    pub fn description(&self) -> &str {
        self.attribute("DESCRIPTION").unwrap_or_default()
    }

    /// `RUNTIME` in seconds; 0 when absent or not a number.
    pub fn runtime(&self) -> f64 {
        self.float_attribute("RUNTIME")
    }

    /// `QUEUETIME` in seconds; 0 when absent or not a number.
    pub fn queuetime(&self) -> f64 {
        self.float_attribute("QUEUETIME")
    }

    fn float_attribute(&self, name: &str) -> f64 {
        self.attribute(name)
            .and_then(python::parse_float)
            .unwrap_or(0.0)
    }

    /// A top-level attribute of the hash by upper-case name (`CODE`,
    /// `DESCRIPTION`, `RUNTIME`, `QUEUETIME`, `PENDING` …), as text.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.hash.attributes.get(name).map(String::as_str)
    }

    /// All top-level attributes, in the order they first appeared.
    pub fn attributes(&self) -> &IndexMap<String, String> {
        &self.hash.attributes
    }

    /// The properties: column name → values, in the order they first appeared.
    pub fn properties(&self) -> &IndexMap<String, Vec<String>> {
        &self.hash.properties
    }

    /// The column names of the list view (paging columns included).
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.hash.properties.keys().map(String::as_str)
    }

    /// The values of one column.
    pub fn column(&self, name: &str) -> Option<&[String]> {
        self.hash.properties.get(name).map(Vec::as_slice)
    }

    /// The rows of the list view: row `i` holds the `i`-th value of every
    /// column that has one.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The paging figures.
    pub fn pagination(&self) -> Pagination {
        self.pagination
    }

    /// The response text the views were built from (after the SDK's
    /// template and placeholder rewrites).
    pub fn plain(&self) -> &str {
        &self.plain
    }

    /// A 2xx response (the first character of `CODE` is `2`).
    pub fn is_success(&self) -> bool {
        self.code_class() == Some('2')
    }

    /// A temporary error, 4xx.
    pub fn is_tmp_error(&self) -> bool {
        self.code_class() == Some('4')
    }

    /// A permanent error, 5xx.
    pub fn is_error(&self) -> bool {
        self.code_class() == Some('5')
    }

    /// The operation is pending (`PENDING = 1`).
    pub fn is_pending(&self) -> bool {
        self.attribute("PENDING") == Some("1")
    }

    fn code_class(&self) -> Option<char> {
        self.attribute("CODE").and_then(|c| c.chars().next())
    }
}

/// A response as the result document shows it; its JSON Schema is the
/// `hexonet` part of the result schema.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "HexonetResponse")]
pub struct ResponseView<'a> {
    /// The response code: 2xx success, 4xx temporary error, 5xx error.
    code: i64,
    /// The response description.
    description: &'a str,
    /// Seconds the API worked on the command.
    runtime: f64,
    /// Seconds the command waited in the API's queue.
    queuetime: f64,
    /// Every property, with its values, as the SDK's hash holds them.
    properties: &'a IndexMap<String, Vec<String>>,
    /// The list view's columns.
    columns: Vec<&'a str>,
    /// The list view's rows, one object per row.
    records: &'a [Record],
    /// The paging figures.
    pagination: Pagination,
}

impl Response {
    /// This response as the result document shows it.
    pub fn view(&self) -> ResponseView<'_> {
        ResponseView {
            code: self.code,
            description: self.description(),
            runtime: self.runtime(),
            queuetime: self.queuetime(),
            properties: &self.hash.properties,
            columns: self.columns().collect(),
            records: &self.records,
            pagination: self.pagination,
        }
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
}

/// The command for the page after `response`, as the SDK's
/// `requestNextResponsePage` builds it: `FIRST` = the command's `FIRST`
/// (or 0) + the response's limit, `LIMIT` = that limit. `None` when that
/// is past the total, or when the limit is not positive (where the SDK
/// would ask for the same page forever).
///
/// Fails with [`Error::PagingWithLast`] when the command holds `LAST`, and
/// with [`Error::InvalidFirst`] when its `FIRST` is not an integer, as the
/// SDK raises.
pub fn next_page(command: &Command, response: &Response) -> Result<Option<Command>, Error> {
    if command.get("LAST").is_some() {
        return Err(Error::PagingWithLast);
    }
    let first = match command.get("FIRST") {
        Some(first) => python::parse_int(first).ok_or(Error::InvalidFirst)?,
        None => 0,
    };
    let Pagination { limit, total, .. } = response.pagination();
    let next = first.saturating_add(limit);
    if limit <= 0 || next >= total {
        return Ok(None);
    }
    let mut next_command = command.clone();
    next_command.set("FIRST", next)?.set("LIMIT", limit)?;
    Ok(Some(next_command))
}

/// `Response.__init__`: the text checked, then its placeholders filled in
/// (`{CONNECTION_URL}`) or removed and the result checked again.
fn read(text: &str, connection_url: Option<&str>) -> Result<Response, ParseError> {
    let hash = checked(text)?;
    if !has_placeholder(text) {
        return Response::from_hash(text.to_owned(), hash);
    }
    let filled = match connection_url {
        Some(url) => text.replace("{CONNECTION_URL}", url),
        None => text.to_owned(),
    };
    let plain = remove_placeholders(&filled);
    let hash = checked(&plain)?;
    Response::from_hash(plain, hash)
}

/// `ResponseTemplate.__init__`'s checks, where the SDK would fall back to
/// its `empty` and `invalid` templates.
fn checked(text: &str) -> Result<Hash, ParseError> {
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let hash = parse_hash(text);
    if !hash.attributes.contains_key("CODE") {
        return Err(ParseError::MissingCode);
    }
    if !hash.attributes.contains_key("DESCRIPTION") {
        return Err(ParseError::MissingDescription);
    }
    Ok(hash)
}

/// `responseparser.parse`.
fn parse_hash(text: &str) -> Hash {
    let mut hash = Hash::default();
    for line in text.replace("\r\n", "\n").split('\n') {
        let Some((name, value)) = split_line(line) else {
            continue;
        };
        match property_name(name) {
            Some(column) => hash
                .properties
                .entry(column)
                .or_default()
                .push(value.to_owned()),
            // A plain `PROPERTY = x` line would make the SDK raise: skip it.
            None if name.eq_ignore_ascii_case("PROPERTY") => {}
            None => {
                hash.attributes
                    .insert(name.to_uppercase(), value.to_owned());
            }
        }
    }
    hash
}

/// `^([^=]*[^\t= ])[\t ]*=[\t ]*(.*)$`, then trailing blanks off the value.
fn split_line(line: &str) -> Option<(&str, &str)> {
    const BLANKS: [char; 2] = [' ', '\t'];
    let (name, value) = line.split_once('=')?;
    let name = name.trim_end_matches(BLANKS);
    if name.is_empty() {
        return None;
    }
    Some((name, value.trim_matches(BLANKS)))
}

/// `^property\[([^\]]*)\]` (any case): the column name, upper-cased, with
/// all whitespace removed.
fn property_name(name: &str) -> Option<String> {
    const PREFIX: &str = "property[";
    let prefix = name.get(..PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let (column, _) = name[PREFIX.len()..].split_once(']')?;
    Some(column.to_uppercase().replace(python::is_space, ""))
}

/// `re.search(r"\{[A-Z_]+\}", text)`.
fn has_placeholder(text: &str) -> bool {
    text.match_indices('{')
        .any(|(at, _)| placeholder_len(&text[at..]).is_some())
}

/// `re.sub(r"\{[A-Z_]+\}", "", text)`.
fn remove_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match placeholder_len(rest) {
            Some(len) => rest = &rest[len..],
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The byte length of the `{NAME}` placeholder `text` starts with.
fn placeholder_len(text: &str) -> Option<usize> {
    let inner = text.strip_prefix('{')?;
    let name_len = inner
        .bytes()
        .take_while(|b| b.is_ascii_uppercase() || *b == b'_')
        .count();
    (name_len > 0 && inner[name_len..].starts_with('}')).then_some(name_len + 2)
}

/// The list view's rows.
fn records(properties: &IndexMap<String, Vec<String>>) -> Vec<Record> {
    let rows = properties.values().map(Vec::len).max().unwrap_or(0);
    (0..rows)
        .map(|i| {
            properties
                .iter()
                .filter_map(|(column, values)| Some((column.clone(), values.get(i)?.clone())))
                .collect()
        })
        .collect()
}

/// `Response.getPagination`, for the figures the contract carries.
fn pagination(properties: &IndexMap<String, Vec<String>>, records: usize) -> Pagination {
    // `int()` of the column's first value; a value the SDK could not read
    // (it would raise) counts as absent.
    let figure = |name: &str| {
        properties
            .get(name)
            .and_then(|values| values.first())
            .and_then(|v| python::parse_int(v))
    };
    let count = i64::try_from(records).unwrap_or(i64::MAX);
    let first = figure("FIRST").or((count > 0).then_some(0));
    let last = figure("LAST").or((count > 0).then(|| count - 1));
    let limit = figure("LIMIT").unwrap_or(count);
    let total = figure("TOTAL").unwrap_or(count);
    let pages = if total != 0 && limit != 0 {
        ceil_div(total, limit)
    } else {
        0
    };
    let page = first
        .filter(|_| limit != 0)
        .map(|first| floor_div(first, limit).saturating_add(1));
    Pagination {
        first,
        last,
        count,
        limit,
        total,
        pages,
        page,
    }
}

/// `math.floor(a / b)` for `b != 0`.
fn floor_div(a: i64, b: i64) -> i64 {
    let (q, r) = (a.wrapping_div(b), a.wrapping_rem(b));
    if r != 0 && ((r < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

/// `math.ceil(a / b)` for `b != 0`.
fn ceil_div(a: i64, b: i64) -> i64 {
    let (q, r) = (a.wrapping_div(b), a.wrapping_rem(b));
    if r != 0 && ((r < 0) == (b < 0)) {
        q + 1
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One named test per case: a response text and what `f(parse(text))`
    /// must give.
    macro_rules! parses {
        ($($name:ident: $text:expr, |$r:ident| $got:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let $r = parse($text).unwrap();
                assert_eq!($got, $want);
            }
        )*};
    }

    /// One named test per text that is not a response: the kind [`parse`]
    /// refuses it with, and what `f(Response::from_text(text, None))`, the
    /// SDK's answer, must give.
    macro_rules! refuses {
        ($($name:ident: $text:expr => $kind:expr, |$r:ident| $got:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(parse($text), Err($kind));
                let $r = Response::from_text($text, None);
                assert_eq!($got, $want);
            }
        )*};
    }

    const LIST: &str = "[RESPONSE]\r\ncode = 200\r\ndescription = Command completed successfully\r\nruntime = 0.12\r\nqueuetime = 0\r\nproperty[DOMAIN][0] = a.com\r\nproperty[DOMAIN][1] = b.net\r\nproperty[FIRST][0] = 100\r\nproperty[LAST][0] = 101\r\nproperty[LIMIT][0] = 2\r\nproperty[TOTAL][0] = 7\r\nEOF\r\n";

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    parses! {
        code_and_description_are_read: LIST, |r| (r.code(), r.description()) => (200, "Command completed successfully");
        runtime_and_queuetime_are_numbers: LIST, |r| (r.runtime(), r.queuetime()) => (0.12, 0.0);
        properties_keep_their_line_order: LIST, |r| r.column("DOMAIN") => Some(&strings(&["a.com", "b.net"])[..]);
        columns_keep_their_first_appearance: LIST, |r| r.columns().collect::<Vec<_>>() => vec!["DOMAIN", "FIRST", "LAST", "LIMIT", "TOTAL"];
        the_first_record_holds_every_column: LIST, |r| r.records()[0].len() => 5;
        later_records_hold_the_longer_columns_only: LIST, |r| r.records()[1].keys().collect::<Vec<_>>() => vec!["DOMAIN"];
        paging_figures_come_from_the_properties: LIST, |r| r.pagination() => Pagination {
            first: Some(100), last: Some(101), count: 2, limit: 2, total: 7, pages: 4, page: Some(51) };
        paging_figures_default_to_the_record_count: "CODE=200\nDESCRIPTION=ok\nPROPERTY[X][0]=a\nPROPERTY[X][1]=b", |r| r.pagination() => Pagination {
            first: Some(0), last: Some(1), count: 2, limit: 2, total: 2, pages: 1, page: Some(1) };
        a_response_without_rows_has_no_page: "CODE=200\nDESCRIPTION=ok", |r| r.pagination() => Pagination {
            first: None, last: None, count: 0, limit: 0, total: 0, pages: 0, page: None };
        unreadable_paging_figures_count_as_absent: "CODE=200\nDESCRIPTION=ok\nPROPERTY[LIMIT][0]=x\nPROPERTY[X][0]=a", |r| r.pagination().limit => 1;
        lf_line_ends_work_too: "[RESPONSE]\ncode=200\ndescription=ok\nEOF\n", |r| r.code() => 200;
        blanks_around_equals_signs_are_dropped: "CODE \t=\t 200 \t\nDESCRIPTION= a b \t", |r| r.description() => "a b";
        leading_blanks_stay_in_attribute_names: "CODE=200\nDESCRIPTION=ok\n  pending = 1", |r| (r.is_pending(), r.attribute("  PENDING")) => (false, Some("1"));
        equals_signs_stay_in_values: "CODE=200\nDESCRIPTION=a=b = c", |r| r.description() => "a=b = c";
        empty_values_are_kept: "CODE=200\nDESCRIPTION=\nPROPERTY[X][0]=", |r| (r.description(), r.column("X").map(<[String]>::len)) => ("", Some(1));
        lone_carriage_returns_stay_in_values: "CODE=200\nDESCRIPTION=ok\r\r\n", |r| r.description() => "ok\r";
        property_names_are_upper_cased_without_whitespace: "CODE=200\nDESCRIPTION=ok\nProperty[ do main ][0]=a", |r| r.columns().collect::<Vec<_>>() => vec!["DOMAIN"];
        property_indexes_are_ignored: "CODE=200\nDESCRIPTION=ok\nPROPERTY[X][5]=a\nPROPERTY[X][0]=b", |r| r.column("X") => Some(&strings(&["a", "b"])[..]);
        a_later_attribute_line_wins: "CODE=200\nDESCRIPTION=a\nDESCRIPTION=b", |r| r.description() => "b";
        a_bare_property_line_is_skipped: "CODE=200\nDESCRIPTION=ok\nPROPERTY=x", |r| r.properties().len() => 0;
        unicode_survives: "CODE=200\nDESCRIPTION=ok\nPROPERTY[X][0]=münchen ✓", |r| r.records()[0]["X"].as_str() => "münchen ✓";
        a_missing_eof_is_fine: "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok", |r| r.code() => 200;
        placeholders_are_removed: "CODE=200\nDESCRIPTION=a{FOO_BAR}b{x}", |r| r.description() => "ab{x}";
        success_follows_the_first_digit: "CODE=545\nDESCRIPTION=x", |r| (r.is_success(), r.is_error(), r.is_tmp_error()) => (false, true, false);
    }

    refuses! {
        an_empty_text_gives_the_empty_template: "" => ParseError::Empty, |r| (r.code(), r.description()) => (423, "Empty API response. Probably unreachable API end point");
        garbage_gives_the_invalid_template: "<html>oops</html>" => ParseError::MissingCode, |r| (r.code(), r.description()) => (423, "Invalid API response. Contact Support");
        a_missing_description_gives_the_invalid_template: "CODE=200" => ParseError::MissingDescription, |r| r.code() => 423;
        a_code_that_is_no_number_gives_the_invalid_template: "CODE=abc\nDESCRIPTION=x" => ParseError::CodeNotInteger { code: "abc".into() }, |r| r.code() => 423;
        a_code_emptied_by_a_placeholder_gives_the_invalid_template: "CODE={X}\nDESCRIPTION=x" => ParseError::CodeNotInteger { code: String::new() }, |r| r.plain() => Template::Invalid.plain();
    }

    #[test]
    fn the_connection_url_fills_its_placeholder() {
        let r = Response::from_text("", Some("http://127.0.0.1/api/call.cgi"));
        assert_eq!(
            r.description(),
            "Empty API response. Probably unreachable API end point http://127.0.0.1/api/call.cgi"
        );
    }

    #[test]
    fn an_empty_body_gives_the_invalid_template() {
        assert_eq!(Response::from_bytes(b"", None).code(), 423);
        assert_eq!(
            Response::from_bytes(b"", None).description(),
            Template::Invalid.description()
        );
    }

    #[test]
    fn a_latin1_body_is_decoded() {
        let r = Response::from_bytes(b"CODE=200\nDESCRIPTION=M\xfcnchen", None);
        assert_eq!(r.description(), "München");
    }

    #[test]
    fn a_response_serializes_to_the_contract_shape() {
        let json = serde_json::to_value(parse(LIST).unwrap()).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "code",
                "description",
                "runtime",
                "queuetime",
                "properties",
                "columns",
                "records",
                "pagination"
            ]
        );
        assert_eq!(json["pagination"]["pages"], 4);
        assert_eq!(json["records"][1], serde_json::json!({"DOMAIN": "b.net"}));
    }

    fn command(json: serde_json::Value) -> Command {
        Command::from_json(&json).unwrap()
    }

    #[test]
    fn next_page_advances_first_by_the_limit() {
        let cmd = command(serde_json::json!({"COMMAND": "Q", "FIRST": 2}));
        let next = next_page(&cmd, &parse(LIST).unwrap()).unwrap().unwrap();
        assert_eq!(
            (next.get("FIRST"), next.get("LIMIT")),
            (Some("4"), Some("2"))
        );
    }

    #[test]
    fn next_page_stops_at_the_total() {
        let cmd = command(serde_json::json!({"COMMAND": "Q", "FIRST": 5}));
        assert_eq!(next_page(&cmd, &parse(LIST).unwrap()), Ok(None));
    }

    #[test]
    fn next_page_refuses_a_command_with_last() {
        let cmd = command(serde_json::json!({"COMMAND": "Q", "LAST": 5}));
        assert_eq!(
            next_page(&cmd, &parse(LIST).unwrap()),
            Err(Error::PagingWithLast)
        );
    }

    #[test]
    fn a_response_from_its_parts_reads_back_the_same() {
        let original = parse(LIST).unwrap();
        let rebuilt =
            Response::from_parts(original.attributes().clone(), original.properties().clone());
        assert_eq!(parse(rebuilt.plain()).unwrap(), rebuilt);
        assert_eq!(rebuilt.records(), original.records());
        assert_eq!(rebuilt.pagination(), original.pagination());
        assert_eq!(rebuilt.description(), original.description());
    }

    #[test]
    fn floor_and_ceil_division_follow_python() {
        assert_eq!(
            (floor_div(-7, 2), floor_div(7, -2), floor_div(6, 3)),
            (-4, -4, 2)
        );
        assert_eq!(
            (ceil_div(-7, 2), ceil_div(7, 2), ceil_div(6, 3)),
            (-3, 4, 2)
        );
    }
}
