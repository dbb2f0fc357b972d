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
//!
//! # Representation
//!
//! A [`Response`] owns its text (`plain`) and keeps each property value as a
//! span of it: parsing is one pass over the text that allocates nothing per
//! value (a 20,000-row list holds 100,000 values), so it runs near the speed
//! of finding the line ends, and a response needs little more memory than
//! its text. Owned copies are made only when asked for: the SDK-shaped
//! [`Response::properties`] and [`Response::records`] are built on their
//! first call, once per value, and kept; [`Response::values`] and the
//! serialised result borrow from the text.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

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
    read(Cow::Borrowed(text), None)
}

/// Parses an HTTP body as the SDK's client decodes it: UTF-8, else
/// Latin-1; `{CONNECTION_URL}` becomes `connection_url` when given.
pub(crate) fn parse_body(
    body: &[u8],
    connection_url: Option<&str>,
) -> Result<Response, ParseError> {
    let text = match std::str::from_utf8(body) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(body.iter().map(|&b| char::from(b)).collect()),
    };
    read(text, connection_url)
}

/// Which halves of a response the result document shows (the `view` field
/// of a `hexonet` request). Both halves hold every value, so a 20,000-row
/// list (4.6 MB as text) is a 5.3 MB result with both, close to Lambda's
/// 6 MB answer, and about half that with one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// `properties`, `columns` and `records` (the default).
    #[default]
    Both,
    /// `columns` and `records`, the list view.
    Records,
    /// `properties`, the SDK's hash.
    Properties,
}

/// A parsed HEXONET response: its hash (attributes and properties) and its
/// list view (columns, records, pagination).
///
/// Serializes to the contract's result shape:
/// `{"code", "description", "runtime", "queuetime", "properties", "columns",
/// "records", "pagination"}` (the halves [`Response::shown_as`] chose).
#[derive(Clone)]
pub struct Response {
    plain: String,
    attributes: IndexMap<String, String>,
    /// Each property's values, as spans of `plain`.
    columns: IndexMap<String, Vec<Span>>,
    code: i64,
    /// The length of the longest column: the number of records.
    rows: usize,
    shown: View,
    /// [`Response::properties`], built on its first call (boxed: most
    /// responses never build it, and it should not weigh on each).
    properties: OnceLock<Box<IndexMap<String, Vec<String>>>>,
    /// [`Response::records`], built on its first call.
    records: OnceLock<Box<[Record]>>,
}

/// Where a value lies in a response's text. Texts are at most 4 GiB
/// ([`ParseError::TooLarge`]), so two `u32` do: 8 bytes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// The span of `value`, a slice of the text that starts at `base`.
    fn of(base: *const u8, value: &str) -> Span {
        Span::new(value.as_ptr() as usize - base as usize, value.len())
    }

    /// Offsets past 4 GiB saturate; a text that long is refused before it
    /// becomes a response.
    fn new(start: usize, len: usize) -> Span {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            start: narrow(start),
            len: narrow(len),
        }
    }

    fn range(self) -> Range<usize> {
        let start = self.start as usize;
        start..start + self.len as usize
    }
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

/// The SDK's hash as read from a text: attributes, and `PROPERTY` as spans
/// of that text, both in insertion order.
#[derive(Debug, Default)]
struct Hash {
    attributes: IndexMap<String, String>,
    columns: IndexMap<String, Vec<Span>>,
}

impl Response {
    /// Builds a response as the SDK's `Response(text, cmd, cfg)` does, with
    /// `{CONNECTION_URL}` replaced by `connection_url` when given.
    /// A text that is not a response ([`ParseError`]) becomes the SDK's
    /// template for it ([`ParseError::template`]), a `CODE` that is not an
    /// integer (where the SDK would raise on `getCode()`) the `invalid` one.
    pub fn from_text(text: &str, connection_url: Option<&str>) -> Self {
        read(Cow::Borrowed(text), connection_url)
            .unwrap_or_else(|error| error.template().response(connection_url))
    }

    /// Builds a response from an HTTP body as the SDK's client does: UTF-8,
    /// else Latin-1. Unlike [`Response::from_text`], every body that is not
    /// a response gives the `invalid` template, an empty one too (the SDK
    /// compares bytes with `""`, so its `empty` check never holds).
    pub fn from_bytes(body: &[u8], connection_url: Option<&str>) -> Self {
        parse_body(body, connection_url)
            .unwrap_or_else(|_| Template::Invalid.response(connection_url))
    }

    /// A response built from its attributes and properties, with the plain
    /// text written as the API writes it (see [`Writer`]).
    #[cfg(test)]
    pub(crate) fn from_parts(
        attributes: IndexMap<String, String>,
        properties: IndexMap<String, Vec<String>>,
    ) -> Self {
        let mut writer = Writer::new(attributes, 0);
        for (column, values) in &properties {
            writer.column(column);
            for value in values {
                writer.value(value);
            }
        }
        writer.finish()
    }

    /// The views of a checked hash of `plain`; fails without an integer `CODE`.
    fn from_hash(plain: String, hash: Hash) -> Result<Self, ParseError> {
        if u32::try_from(plain.len()).is_err() {
            return Err(ParseError::TooLarge);
        }
        let code = hash.attributes.get("CODE").ok_or(ParseError::MissingCode)?;
        let code = python::parse_int(code)
            .ok_or_else(|| ParseError::CodeNotInteger { code: code.clone() })?;
        let rows = hash.columns.values().map(Vec::len).max().unwrap_or(0);
        Ok(Response {
            attributes: hash.attributes,
            columns: hash.columns,
            plain,
            code,
            rows,
            shown: View::Both,
            properties: OnceLock::new(),
            records: OnceLock::new(),
        })
    }

    /// This response, shown in results as `view` says.
    pub fn shown_as(mut self, view: View) -> Self {
        self.shown = view;
        self
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
        self.attributes.get(name).map(String::as_str)
    }

    /// All top-level attributes, in the order they first appeared.
    pub fn attributes(&self) -> &IndexMap<String, String> {
        &self.attributes
    }

    /// The properties: column name → values, in the order they first
    /// appeared. The owned copies are made on the first call (once per
    /// value) and kept; [`Response::values`] borrows instead.
    pub fn properties(&self) -> &IndexMap<String, Vec<String>> {
        self.properties.get_or_init(|| {
            Box::new(
                self.columns
                    .iter()
                    .map(|(name, spans)| {
                        let values = self.texts(spans).map(str::to_owned).collect();
                        (name.clone(), values)
                    })
                    .collect(),
            )
        })
    }

    /// The column names of the list view (paging columns included).
    pub fn columns(&self) -> impl ExactSizeIterator<Item = &str> {
        self.columns.keys().map(String::as_str)
    }

    /// The values of one column, owned (see [`Response::properties`]).
    pub fn column(&self, name: &str) -> Option<&[String]> {
        self.properties().get(name).map(Vec::as_slice)
    }

    /// The values of one column, borrowed from the response's text.
    ///
    /// # Example
    /// ```
    /// let r = exh_task::hexonet::parse(
    ///     "CODE=200\nDESCRIPTION=ok\nPROPERTY[DOMAIN][0]=a.com\nPROPERTY[DOMAIN][1]=b.net",
    /// )
    /// .unwrap();
    /// assert!(r.values("DOMAIN").unwrap().eq(["a.com", "b.net"]));
    /// ```
    pub fn values(&self, name: &str) -> Option<impl ExactSizeIterator<Item = &str> + Clone> {
        self.columns.get(name).map(|spans| self.texts(spans))
    }

    fn texts<'a>(&'a self, spans: &'a [Span]) -> impl ExactSizeIterator<Item = &'a str> + Clone {
        spans.iter().map(|span| self.text(*span))
    }

    fn text(&self, span: Span) -> &str {
        &self.plain[span.range()]
    }

    /// The rows of the list view: row `i` holds the `i`-th value of every
    /// column that has one. Built, once per value, on the first call and
    /// kept; the serialised result borrows from the text instead.
    pub fn records(&self) -> &[Record] {
        self.records.get_or_init(|| {
            let mut rows = Rows::of(self);
            let mut records = Vec::with_capacity(self.rows);
            while let Some(row) = rows.next_row() {
                let record = row
                    .pairs()
                    .map(|(column, value)| (column.to_owned(), value.to_owned()));
                records.push(record.collect());
            }
            records.into_boxed_slice()
        })
    }

    /// The number of records.
    pub fn record_count(&self) -> usize {
        self.rows
    }

    /// Record `i`, borrowed: `(column, value)` for every column that has
    /// an `i`-th value, in column order. It looks at every column: to walk
    /// all the records, [`Response::records`] (or the serialised result)
    /// looks only at the columns each row has.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (&str, &str)> {
        self.columns
            .iter()
            .filter_map(move |(column, spans)| Some((column.as_str(), self.text(*spans.get(i)?))))
    }

    /// The paging figures (read from the paging columns each time: a few
    /// lookups, cheaper than keeping them in every response).
    pub fn pagination(&self) -> Pagination {
        let figure = |name: &str| python::parse_int(self.values(name)?.next()?);
        pagination(figure, self.rows)
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

/// Two responses are equal when they read the same: the same text,
/// attributes, properties and view (spans and the copies built on demand
/// are how a response holds them, not what it says).
impl PartialEq for Response {
    fn eq(&self, other: &Self) -> bool {
        self.plain == other.plain
            && self.code == other.code
            && self.shown == other.shown
            && self.attributes == other.attributes
            && self.columns.len() == other.columns.len()
            && self.columns.iter().zip(&other.columns).all(
                |((ours, our_spans), (theirs, their_spans))| {
                    ours == theirs && self.texts(our_spans).eq(other.texts(their_spans))
                },
            )
    }
}

/// The code, the view and the text: everything else is read from the text.
impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("code", &self.code)
            .field("shown", &self.shown)
            .field("plain", &self.plain)
            .finish_non_exhaustive()
    }
}

/// Writes a response text as the API writes it (`[RESPONSE]`, `NAME=value`
/// lines, `PROPERTY[COLUMN][i]=value` lines column by column, `EOF`),
/// noting where each value lands: merged pages become one response with
/// each value copied once, into its text, and no `String` per value.
pub(crate) struct Writer {
    plain: String,
    hash: Hash,
    /// The column [`Writer::value`] appends to.
    current: usize,
}

impl Writer {
    /// A text with `attributes`; `capacity` is a guess of its final length.
    pub(crate) fn new(attributes: IndexMap<String, String>, capacity: usize) -> Writer {
        let mut plain = String::with_capacity(capacity);
        plain.push_str("[RESPONSE]\r\n");
        for (name, value) in &attributes {
            for part in [name.as_str(), "=", value, "\r\n"] {
                plain.push_str(part);
            }
        }
        Writer {
            plain,
            hash: Hash {
                attributes,
                columns: IndexMap::new(),
            },
            current: 0,
        }
    }

    /// The values that follow go to `column` (after any it already has).
    pub(crate) fn column(&mut self, column: &str) {
        self.current = match self.hash.columns.get_index_of(column) {
            Some(index) => index,
            None => {
                self.hash
                    .columns
                    .insert_full(column.to_owned(), Vec::new())
                    .0
            }
        };
    }

    /// Appends `value` to the current column (none yet: to nothing).
    pub(crate) fn value(&mut self, value: &str) {
        use fmt::Write;
        let Some((column, spans)) = self.hash.columns.get_index_mut(self.current) else {
            return;
        };
        // Writing to a String cannot fail.
        let _ = write!(self.plain, "PROPERTY[{column}][{}]=", spans.len());
        spans.push(Span::new(self.plain.len(), value.len()));
        self.plain.push_str(value);
        self.plain.push_str("\r\n");
    }

    /// The response; without a numeric `CODE` it is the `invalid`
    /// template, as parsing would make it.
    pub(crate) fn finish(mut self) -> Response {
        self.plain.push_str("EOF\r\n");
        Response::from_hash(self.plain, self.hash)
            .unwrap_or_else(|error| error.template().response(None))
    }
}

/// A response as the result document shows it; its JSON Schema is the
/// `hexonet` part of the result schema. The halves that the request's
/// `view` leaves out are absent.
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
    /// Every property, with its values, as the SDK's hash holds them
    /// (absent with `"view": "records"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "IndexMap<String, Vec<String>>")]
    properties: Option<Properties<'a>>,
    /// The list view's columns (absent with `"view": "properties"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>")]
    columns: Option<Vec<&'a str>>,
    /// The list view's rows, one object per row (absent with
    /// `"view": "properties"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<Record>")]
    records: Option<Records<'a>>,
    /// The paging figures.
    pagination: Pagination,
}

/// `properties`, serialised from the text's spans.
struct Properties<'a>(&'a Response);

/// One property's values, serialised from the text's spans.
struct Texts<'a>(&'a Response, &'a [Span]);

/// `records`, serialised from the text's spans.
struct Records<'a>(&'a Response);

/// The rows of a response in order, each looking only at the columns
/// long enough to have a value in it: the work is the number of values,
/// where asking every column for every row would be rows × columns (a
/// sparse answer of 25,000 rows and 25,000 one-value columns: 625 million
/// lookups).
struct Rows<'a> {
    response: &'a Response,
    /// The columns with a value in row `next` (and maybe after), in
    /// column order.
    open: Vec<(&'a str, &'a [Span])>,
    next: usize,
}

/// One row of [`Rows`]: its `(column, value)` pairs, in column order.
struct Row<'w, 'a> {
    response: &'a Response,
    open: &'w [(&'a str, &'a [Span])],
    index: usize,
}

impl<'a> Rows<'a> {
    fn of(response: &'a Response) -> Rows<'a> {
        let open = response
            .columns
            .iter()
            .map(|(column, spans)| (column.as_str(), spans.as_slice()))
            .collect();
        Rows {
            response,
            open,
            next: 0,
        }
    }

    fn next_row(&mut self) -> Option<Row<'_, 'a>> {
        let index = self.next;
        if index >= self.response.rows {
            return None;
        }
        self.next += 1;
        // As long as the row itself: each column left has a value in it.
        self.open.retain(|(_, spans)| spans.len() > index);
        Some(Row {
            response: self.response,
            open: &self.open,
            index,
        })
    }
}

impl<'a> Row<'_, 'a> {
    fn pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.open
            .iter()
            .map(|(column, spans)| (*column, self.response.text(spans[self.index])))
    }
}

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let response = self.0;
        let mut map = serializer.serialize_map(Some(response.columns.len()))?;
        for (column, spans) in &response.columns {
            map.serialize_entry(column, &Texts(response, spans))?;
        }
        map.end()
    }
}

impl Serialize for Texts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.texts(self.1))
    }
}

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.rows))?;
        let mut rows = Rows::of(self.0);
        while let Some(row) = rows.next_row() {
            seq.serialize_element(&row)?;
        }
        seq.end()
    }
}

impl Serialize for Row<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.pairs())
    }
}

impl Response {
    /// This response as the result document shows it (the halves
    /// [`Response::shown_as`] chose; both by default).
    pub fn view(&self) -> ResponseView<'_> {
        let shows = |half: View| self.shown == View::Both || self.shown == half;
        ResponseView {
            code: self.code,
            description: self.description(),
            runtime: self.runtime(),
            queuetime: self.queuetime(),
            properties: shows(View::Properties).then_some(Properties(self)),
            columns: shows(View::Records).then(|| self.columns().collect()),
            records: shows(View::Records).then_some(Records(self)),
            pagination: self.pagination(),
        }
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
}

/// Where a page of a list starts and how long it is: what is set on the
/// command as `FIRST` and `LIMIT` when that page is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// `FIRST`.
    pub first: i64,
    /// `LIMIT`.
    pub limit: i64,
}

impl Page {
    /// Sets `FIRST` and `LIMIT` on `command`, as the SDK's paging does.
    pub fn set_on(self, command: &mut Command) -> Result<(), Error> {
        command.set("FIRST", self.first)?.set("LIMIT", self.limit)?;
        Ok(())
    }

    /// The page after the one that starts at `first` and was answered
    /// `response`, as the SDK's `requestNextResponsePage` computes it:
    /// `first` + the response's limit, that limit. `None` when that is past
    /// the total, or when the limit is not positive (where the SDK would
    /// ask for the same page forever).
    pub fn after(first: i64, response: &Response) -> Option<Page> {
        let Pagination { limit, total, .. } = response.pagination();
        let next = first.saturating_add(limit);
        (limit > 0 && next < total).then_some(Page { first: next, limit })
    }

    /// The `FIRST` of `command` (0 without one), as the SDK reads it.
    ///
    /// Fails with [`Error::PagingWithLast`] when the command holds `LAST`,
    /// and with [`Error::InvalidFirst`] when its `FIRST` is not an integer,
    /// as the SDK raises.
    pub fn first_of(command: &Command) -> Result<i64, Error> {
        if command.get("LAST").is_some() {
            return Err(Error::PagingWithLast);
        }
        match command.get("FIRST") {
            Some(first) => python::parse_int(first).ok_or(Error::InvalidFirst),
            None => Ok(0),
        }
    }
}

/// The command for the page after `response`, as the SDK's
/// `requestNextResponsePage` builds it: `FIRST` = the command's `FIRST`
/// (or 0) + the response's limit, `LIMIT` = that limit (see
/// [`Page::after`]). `None` after the last page.
///
/// Fails with [`Error::PagingWithLast`] when the command holds `LAST`, and
/// with [`Error::InvalidFirst`] when its `FIRST` is not an integer, as the
/// SDK raises.
pub fn next_page(command: &Command, response: &Response) -> Result<Option<Command>, Error> {
    let Some(page) = Page::after(Page::first_of(command)?, response) else {
        return Ok(None);
    };
    let mut next_command = command.clone();
    page.set_on(&mut next_command)?;
    Ok(Some(next_command))
}

/// `Response.__init__`: the text checked, then its placeholders filled in
/// (`{CONNECTION_URL}`) or removed and the result checked again. A text
/// without placeholders (every real answer) is read once and kept as it is.
fn read(text: Cow<'_, str>, connection_url: Option<&str>) -> Result<Response, ParseError> {
    let hash = checked(&text)?;
    if !has_placeholder(&text) {
        return Response::from_hash(text.into_owned(), hash);
    }
    let filled = match connection_url {
        Some(url) => Cow::Owned(text.replace("{CONNECTION_URL}", url)),
        None => text,
    };
    let plain = remove_placeholders(&filled);
    let hash = checked(&plain)?;
    Response::from_hash(plain, hash)
}

/// `ResponseTemplate.__init__`'s checks, where the SDK would fall back to
/// its `empty` and `invalid` templates. The spans are of `text`.
fn checked(text: &str) -> Result<Hash, ParseError> {
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    if u32::try_from(text.len()).is_err() {
        return Err(ParseError::TooLarge);
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

/// `responseparser.parse`, in one pass: values as spans of `text`.
fn parse_hash(text: &str) -> Hash {
    let base = text.as_ptr();
    let mut hash = Hash::default();
    // A list comes column by column, so nearly every property line starts
    // as the one before it did (`property[DOMAIN]`): that prefix, as
    // written, names the same column without upper-casing or a lookup.
    let mut previous: Option<(&str, usize)> = None;
    for line in lines(text) {
        if let Some((prefix, index)) = previous {
            if let Some(rest) = line.strip_prefix(prefix) {
                // The prefix holds no `=`, so the name ends at the first
                // one in `rest`; a line without any is no key line.
                if let Some((_, value)) = split_at_equals(rest) {
                    hash.columns[index].push(Span::of(base, value));
                }
                continue;
            }
        }
        let Some((name, value)) = split_line(line) else {
            continue;
        };
        match property_name(name) {
            Some(written) => {
                let index = column_index(&mut hash.columns, written);
                previous = Some((&name[..PROPERTY_PREFIX.len() + written.len() + 1], index));
                hash.columns[index].push(Span::of(base, value));
            }
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

/// The lines of `text` as `text.replace("\r\n", "\n").split('\n')` gives
/// them, without the copy: each CR before an LF is dropped, a lone CR stays.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b'\n', current.as_bytes()) {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                let line = &current[..at];
                Some(line.strip_suffix('\r').unwrap_or(line))
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// `^([^=]*[^\t= ])[\t ]*=[\t ]*(.*)$`, then trailing blanks off the value.
fn split_line(line: &str) -> Option<(&str, &str)> {
    let (name, value) = split_at_equals(line)?;
    (!name.is_empty()).then_some((name, value))
}

/// `line` split at its first `=`: the name before it with trailing blanks
/// removed, the value after it with leading and trailing blanks removed.
#[inline(always)]
fn split_at_equals(line: &str) -> Option<(&str, &str)> {
    let at = memchr::memchr(b'=', line.as_bytes())?;
    Some((trim_blanks_end(&line[..at]), trim_blanks(&line[at + 1..])))
}

/// Spaces and tabs, the blanks the SDK's expressions strip.
#[inline(always)]
fn is_blank(byte: &u8) -> bool {
    matches!(byte, b' ' | b'\t')
}

/// `text` without its trailing blanks (ASCII: the cut keeps a character
/// boundary). These helpers run once per line: inlined even in a build
/// optimised for size.
#[inline(always)]
fn trim_blanks_end(text: &str) -> &str {
    let kept = text
        .bytes()
        .rposition(|b| !is_blank(&b))
        .map_or(0, |at| at + 1);
    &text[..kept]
}

/// `text` without its leading and trailing blanks.
#[inline(always)]
fn trim_blanks(text: &str) -> &str {
    let text = trim_blanks_end(text);
    &text[text.bytes().take_while(is_blank).count()..]
}

/// The start of a property's name, in any case.
const PROPERTY_PREFIX: &[u8] = b"property[";

/// `^property\[([^\]]*)\]` (any case): the column name as written.
fn property_name(name: &str) -> Option<&str> {
    let prefix = name.as_bytes().get(..PROPERTY_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(PROPERTY_PREFIX) {
        return None;
    }
    // The prefix matched ASCII, so its end is a character boundary.
    let rest = &name[PROPERTY_PREFIX.len()..];
    let end = memchr::memchr(b']', rest.as_bytes())?;
    Some(&rest[..end])
}

/// The index of the column `written` names (upper-cased, all whitespace
/// removed), added when new. A name that is already upper-case and has no
/// whitespace, as the API writes them, is looked up as it is.
fn column_index(columns: &mut IndexMap<String, Vec<Span>>, written: &str) -> usize {
    let normal = written
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b.is_ascii_lowercase());
    let name = if normal {
        Cow::Borrowed(written)
    } else {
        Cow::Owned(written.to_uppercase().replace(python::is_space, ""))
    };
    match columns.get_index_of(name.as_ref()) {
        Some(index) => index,
        None => columns.insert_full(name.into_owned(), Vec::new()).0,
    }
}

/// `re.search(r"\{[A-Z_]+\}", text)`.
fn has_placeholder(text: &str) -> bool {
    memchr::memchr_iter(b'{', text.as_bytes()).any(|at| placeholder_len(&text[at..]).is_some())
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

/// `Response.getPagination`, for the figures the contract carries, from
/// `figure`: `int()` of a column's first value, none where the SDK could
/// not read one (it would raise).
fn pagination(figure: impl Fn(&str) -> Option<i64>, records: usize) -> Pagination {
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
        // A line that starts as the property line before it did is read
        // by that prefix alone: it must read as the whole line would.
        a_repeated_prefix_without_equals_is_skipped: "CODE=200\nDESCRIPTION=ok\nPROPERTY[X][0]=a\nPROPERTY[X] b\nPROPERTY[X][1]=c", |r| r.column("X") => Some(&strings(&["a", "c"])[..]);
        an_equals_right_after_a_repeated_prefix_counts: "CODE=200\nDESCRIPTION=ok\nPROPERTY[X][0]=a\nPROPERTY[X]= b ", |r| r.column("X") => Some(&strings(&["a", "b"])[..]);
        a_repeated_prefix_keeps_equals_signs_in_values: "CODE=200\nDESCRIPTION=ok\nPROPERTY[X][0]=a\nPROPERTY[X][1] \t= b=c\t", |r| r.column("X") => Some(&strings(&["a", "b=c"])[..]);
        a_repeated_lower_case_prefix_names_its_column: "CODE=200\nDESCRIPTION=ok\nproperty[x][0]=a\nproperty[x][1]=b\nPROPERTY[Y][0]=c", |r| (r.column("X"), r.columns().count()) => (Some(&strings(&["a", "b"])[..]), 2);
        a_longer_column_name_is_not_a_repeated_prefix: "CODE=200\nDESCRIPTION=ok\nPROPERTY[X][0]=a\nPROPERTY[X]Y[1]=b\nPROPERTY[XY][0]=c", |r| (r.column("X"), r.column("XY")) => (Some(&strings(&["a", "b"])[..]), Some(&strings(&["c"])[..]));
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

    /// The keys of the result document's `hexonet` part for `view`.
    fn keys_shown_as(view: View) -> Vec<String> {
        let json = serde_json::to_value(parse(LIST).unwrap().shown_as(view)).unwrap();
        json.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn the_records_view_leaves_the_properties_out() {
        assert_eq!(
            keys_shown_as(View::Records),
            [
                "code",
                "description",
                "runtime",
                "queuetime",
                "columns",
                "records",
                "pagination"
            ]
        );
    }

    #[test]
    fn the_properties_view_leaves_the_list_view_out() {
        assert_eq!(
            keys_shown_as(View::Properties),
            [
                "code",
                "description",
                "runtime",
                "queuetime",
                "properties",
                "pagination"
            ]
        );
    }

    #[test]
    fn serialising_builds_neither_owned_properties_nor_records() {
        let response = parse(LIST).unwrap();
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["records"][0]["DOMAIN"], "a.com");
        assert_eq!(json["properties"]["DOMAIN"][1], "b.net");
        assert!(response.records.get().is_none() && response.properties.get().is_none());
    }

    #[test]
    fn rows_of_uneven_columns_hold_each_column_that_reaches_them_in_order() {
        let text = "CODE=200\nDESCRIPTION=ok\nPROPERTY[A][0]=a0\nPROPERTY[B][0]=b0\n\
                    PROPERTY[A][1]=a1\nPROPERTY[C][0]=c0\nPROPERTY[C][1]=c1\nPROPERTY[A][2]=a2\n";
        let response = parse(text).unwrap();
        let walked: Vec<Vec<(&str, &str)>> = (0..response.record_count())
            .map(|i| response.row(i).collect())
            .collect();
        assert_eq!(
            walked,
            [
                vec![("A", "a0"), ("B", "b0"), ("C", "c0")],
                vec![("A", "a1"), ("C", "c1")],
                vec![("A", "a2")],
            ]
        );
        let json = serde_json::to_value(&response).unwrap();
        let owned: Vec<Vec<(&str, &str)>> = response
            .records()
            .iter()
            .map(|record| {
                record
                    .iter()
                    .map(|(c, v)| (c.as_str(), v.as_str()))
                    .collect()
            })
            .collect();
        assert_eq!(owned, walked);
        for (i, row) in walked.iter().enumerate() {
            let shown = json["records"][i].as_object().unwrap();
            let shown: Vec<(&str, &str)> = shown
                .iter()
                .map(|(c, v)| (c.as_str(), v.as_str().unwrap()))
                .collect();
            assert_eq!(&shown, row);
        }
    }

    #[test]
    fn borrowed_values_and_rows_read_the_same_as_the_owned_views() {
        let response = parse(LIST).unwrap();
        let values: Vec<&str> = response.values("DOMAIN").unwrap().collect();
        assert_eq!(values, response.column("DOMAIN").unwrap());
        let row: Vec<(&str, &str)> = response.row(1).collect();
        let owned: Vec<(&str, &str)> = response.records()[1]
            .iter()
            .map(|(column, value)| (column.as_str(), value.as_str()))
            .collect();
        assert_eq!(row, owned);
        assert_eq!(response.record_count(), response.records().len());
    }

    #[test]
    fn column_names_written_in_any_case_share_one_column() {
        let r = parse("CODE=200\nDESCRIPTION=ok\nPROPERTY[DOMAIN][0]=a\nproperty[domain][1]=b\nPROPERTY[DOMAIN][2]=c").unwrap();
        assert_eq!(r.column("DOMAIN").unwrap(), strings(&["a", "b", "c"]));
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
