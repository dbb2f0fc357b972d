//! The `exh` request of an event and the URL it calls.
//!
//! # Format
//! ```json
//! {"method": "GET", "path": "/users/v1/", "rql": "select(id,email)",
//!  "query": {"limit": 10, "tag": ["a", "b"]}, "body": {...}, "all_pages": false}
//! ```
//! Every field is optional; `{}` is `GET /users/v1/me`, as in the seed. RQL goes
//! straight after `?` (`/users/v1/?select(id,email)&limit(10,20)`), the query
//! pairs after it; an array value repeats its key.

use super::oauth1::{OAUTH_ENCODE, RESERVED_PREFIX};
use super::path::check_path;
use super::ApiHost;
use crate::error::Error;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

/// A call to any Extra Horizon endpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ExhRequest")]
pub struct Request {
    /// HTTP method, any case. Default: `GET`.
    #[serde(default)]
    pub method: Option<String>,
    /// A path on `API_HOST` (never a URL). Default: `/users/v1/me`.
    #[serde(default)]
    pub path: Option<String>,
    /// Query pairs: strings, numbers, booleans, or arrays of them (a repeated
    /// key); `null` leaves the key out.
    #[serde(default)]
    pub query: Map<String, Value>,
    /// Resource Query Language, put straight after the `?`.
    #[serde(default)]
    pub rql: Option<String>,
    /// JSON body, sent with `Content-Type: application/json`.
    #[serde(default)]
    pub body: Option<Value>,
    /// Fetch every page of a list answer and merge them into `body.data`.
    #[serde(default)]
    pub all_pages: bool,
}

/// The default path: the authenticated user, as in the seed.
pub const DEFAULT_PATH: &str = "/users/v1/me";

/// Methods Extra Horizon serves.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Characters RQL cannot carry raw in a URL; its own syntax (`(),&=`) and
/// percent-escapes stay as written.
const RQL_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^');

/// A request checked and ready to send.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Upper-case method.
    pub method: reqwest::Method,
    /// The checked path, as given.
    pub path: String,
    /// RQL clauses, in order, without `limit(...)` when paging.
    rql: Vec<String>,
    /// The encoded query pairs (`name=value`).
    query: Vec<String>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// Whether every page is wanted.
    pub all_pages: bool,
}

impl Request {
    /// Checks the request and encodes its query; nothing is sent yet.
    pub fn prepare(&self) -> Result<Prepared, Error> {
        let mut prepared = self.checked()?;
        prepared.body = self.body.clone();
        Ok(prepared)
    }

    /// [`Request::prepare`], the body moved into the prepared request
    /// rather than copied.
    pub fn into_prepared(self) -> Result<Prepared, Error> {
        let mut prepared = self.checked()?;
        prepared.body = self.body;
        Ok(prepared)
    }

    /// The request checked and its query encoded, without its body.
    fn checked(&self) -> Result<Prepared, Error> {
        let method = self.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(Error::invalid_event(format!(
                "exh.method {method:?} is not one of {}",
                METHODS.join(", ")
            )));
        }
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("listed methods parse");
        let (path, path_query) = match self.path.as_deref().unwrap_or(DEFAULT_PATH).split_once('?')
        {
            Some((path, query)) => (path, Some(query)),
            None => (self.path.as_deref().unwrap_or(DEFAULT_PATH), None),
        };
        check_path(path)?;
        let rql: Vec<String> = path_query
            .into_iter()
            .chain(self.rql.as_deref().map(|rql| rql.trim_start_matches('?')))
            .flat_map(split_rql)
            .collect();
        if let Some(clause) = rql
            .iter()
            .find(|clause| clause.starts_with(RESERVED_PREFIX))
        {
            return Err(Error::invalid_event(format!(
                "exh.rql clause {clause:?} would be read as an OAuth1 parameter"
            )));
        }
        if self.body.is_some() && matches!(method, reqwest::Method::GET | reqwest::Method::HEAD) {
            return Err(Error::invalid_event(format!(
                "exh.body is not allowed with {method}: use POST, PUT or PATCH"
            )));
        }
        if self.all_pages && method != reqwest::Method::GET {
            return Err(Error::invalid_event("exh.all_pages needs method GET"));
        }
        Ok(Prepared {
            method,
            path: path.to_owned(),
            rql,
            query: encode_query(&self.query)?,
            body: None,
            all_pages: self.all_pages,
        })
    }
}

impl Prepared {
    /// The URL of this request on `host`.
    pub fn url(&self, host: &ApiHost) -> Url {
        self.url_with_rql(host, &self.rql)
    }

    /// The URL of one page: the request's RQL with its `limit(...)` replaced
    /// by `limit(limit,offset)`.
    pub fn page_url(&self, host: &ApiHost, limit: u64, offset: u64) -> Url {
        let mut rql: Vec<String> = self
            .rql
            .iter()
            .filter(|clause| !clause.starts_with("limit("))
            .cloned()
            .collect();
        rql.push(format!("limit({limit},{offset})"));
        self.url_with_rql(host, &rql)
    }

    fn url_with_rql(&self, host: &ApiHost, rql: &[String]) -> Url {
        let mut text = format!("{}{}", host.as_str(), self.path);
        let parts: Vec<&str> = rql.iter().chain(&self.query).map(String::as_str).collect();
        if !parts.is_empty() {
            text.push('?');
            text.push_str(&parts.join("&"));
        }
        // The host parsed as a URL and the path passed `check_path`.
        Url::parse(&text).expect("a checked path on a valid host is a URL")
    }
}

/// Splits RQL into its top-level clauses (`&` outside parentheses), encoding
/// what a URL cannot carry raw.
fn split_rql(rql: &str) -> Vec<String> {
    let mut clauses = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, c) in rql.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '&' if depth == 0 => {
                clauses.push(&rql[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    clauses.push(&rql[start..]);
    clauses
        .into_iter()
        .map(str::trim)
        .filter(|clause| !clause.is_empty())
        .map(|clause| utf8_percent_encode(clause, RQL_ENCODE).to_string())
        .collect()
}

fn encode_query(query: &Map<String, Value>) -> Result<Vec<String>, Error> {
    let mut pairs = Vec::new();
    for (name, value) in query {
        if name.starts_with(RESERVED_PREFIX) {
            return Err(Error::invalid_event(format!(
                "exh.query key {name:?} is reserved for OAuth1"
            )));
        }
        let values = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        for value in values {
            let Some(text) = scalar_text(value) else {
                if value.is_null() {
                    continue;
                }
                return Err(Error::invalid_event(format!(
                    "exh.query[{name:?}] must be a string, number, boolean or an array of them"
                )));
            };
            pairs.push(format!(
                "{}={}",
                utf8_percent_encode(name, OAUTH_ENCODE),
                utf8_percent_encode(&text, OAUTH_ENCODE)
            ));
        }
    }
    Ok(pairs)
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host() -> ApiHost {
        ApiHost::parse("api.x.extrahorizon.io").unwrap()
    }

    fn url(request: Value) -> String {
        let request: Request = serde_json::from_value(request).unwrap();
        request.prepare().unwrap().url(&host()).to_string()
    }

    fn refusal(request: Value) -> String {
        let request: Request = serde_json::from_value(request).unwrap();
        request.prepare().unwrap_err().to_string()
    }

    macro_rules! urls {
        ($($name:ident: $request:tt => $expected:literal;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(url(json!($request)), $expected);
            }
        )*};
    }

    urls! {
        empty_request_calls_users_me: {} => "https://api.x.extrahorizon.io/users/v1/me";
        rql_goes_straight_after_the_question_mark: {"path": "/users/v1/", "rql": "select(id,email)&limit(10,20)"}
            => "https://api.x.extrahorizon.io/users/v1/?select(id,email)&limit(10,20)";
        rql_may_start_with_a_question_mark: {"path": "/users/v1/", "rql": "?limit(5)"}
            => "https://api.x.extrahorizon.io/users/v1/?limit(5)";
        rql_in_the_path_is_kept: {"path": "/users/v1/?select(id)"}
            => "https://api.x.extrahorizon.io/users/v1/?select(id)";
        query_follows_rql: {"path": "/a", "rql": "limit(1)", "query": {"x": "1"}}
            => "https://api.x.extrahorizon.io/a?limit(1)&x=1";
        numbers_and_booleans_are_written_as_json_does: {"path": "/a", "query": {"n": 10, "f": 1.5, "b": true}}
            => "https://api.x.extrahorizon.io/a?n=10&f=1.5&b=true";
        arrays_repeat_the_key: {"path": "/a", "query": {"tag": ["a", "b"]}}
            => "https://api.x.extrahorizon.io/a?tag=a&tag=b";
        null_leaves_the_key_out: {"path": "/a", "query": {"x": null, "y": "1"}}
            => "https://api.x.extrahorizon.io/a?y=1";
        reserved_characters_are_percent_encoded: {"path": "/a", "query": {"q": "a b+c&d=e%f/?#"}}
            => "https://api.x.extrahorizon.io/a?q=a%20b%2Bc%26d%3De%25f%2F%3F%23";
        unicode_is_utf8_percent_encoded: {"path": "/a", "query": {"naïve": "日本"}}
            => "https://api.x.extrahorizon.io/a?na%C3%AFve=%E6%97%A5%E6%9C%AC";
        empty_values_stay: {"path": "/a", "query": {"x": ""}}
            => "https://api.x.extrahorizon.io/a?x=";
        rql_spaces_are_encoded: {"path": "/a", "rql": "eq(name,John Doe)"}
            => "https://api.x.extrahorizon.io/a?eq(name,John%20Doe)";
    }

    #[test]
    fn a_page_url_replaces_the_limit_clause() {
        let request: Request =
            serde_json::from_value(json!({"path": "/users/v1/", "rql": "select(id)&limit(10)"}))
                .unwrap();
        let prepared = request.prepare().unwrap();
        assert_eq!(
            prepared.page_url(&host(), 10, 30).to_string(),
            "https://api.x.extrahorizon.io/users/v1/?select(id)&limit(10,30)"
        );
    }

    #[test]
    fn unknown_methods_are_refused() {
        assert_eq!(
            refusal(json!({"method": "FETCH"})),
            "invalid event: exh.method \"FETCH\" is not one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
        );
    }

    #[test]
    fn methods_are_case_insensitive() {
        let request: Request = serde_json::from_value(json!({"method": "delete"})).unwrap();
        assert_eq!(request.prepare().unwrap().method, reqwest::Method::DELETE);
    }

    #[test]
    fn a_body_with_get_is_refused() {
        assert!(refusal(json!({"body": {"a": 1}})).contains("exh.body is not allowed with GET"));
    }

    #[test]
    fn all_pages_needs_get() {
        assert!(refusal(json!({"method": "POST", "all_pages": true})).contains("all_pages"));
    }

    #[test]
    fn oauth_names_in_the_query_are_refused() {
        assert!(refusal(json!({"query": {"oauth_token": "x"}})).contains("reserved for OAuth1"));
    }

    #[test]
    fn oauth_names_in_the_rql_are_refused() {
        assert!(refusal(json!({"rql": "limit(1)&oauth_token=x"})).contains("OAuth1 parameter"));
        assert!(refusal(json!({"path": "/users/v1/?oauth_nonce=1"})).contains("OAuth1 parameter"));
    }

    #[test]
    fn nested_query_objects_are_refused() {
        assert!(refusal(json!({"query": {"x": {"y": 1}}})).contains("exh.query[\"x\"]"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = serde_json::from_value::<Request>(json!({"pth": "/a"})).unwrap_err();
        assert!(error.to_string().contains("unknown field `pth`"));
    }
}
