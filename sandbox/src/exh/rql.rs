//! Resource Query Language, as far as the sandbox's lists need it.
//!
//! # Format
//! Extra Horizon puts RQL straight after `?`, operators joined by `&` (and):
//! `?select(id,email)&eq(language,NL)&sort(-creationTimestamp)&limit(10,20)`.
//! Supported: `select(f,..)`, `limit(n)`, `limit(n,offset)`, `sort(+f,-g)`,
//! `eq`, `ne`, `lt`, `le`, `gt`, `ge` `(f,value)`, `in`/`out(f,v,..)`,
//! `like(f,pattern*)`, `and(..)`, `or(..)`. Fields may be dotted paths
//! (`data.systolic`). Plain `key=value` pairs are accepted too: `limit` and
//! `offset` page, any other key filters like `eq(key,value)`.

use std::cmp::Ordering;

use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

/// Page size when the query has no `limit`.
pub(crate) const DEFAULT_LIMIT: usize = 20;
/// Largest page Extra Horizon serves; larger limits are lowered to it.
pub(crate) const MAX_LIMIT: usize = 50;

/// Why a query is not valid RQL; the message names the offending part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid RQL: {0}")]
pub(crate) struct RqlError(String);

/// A parsed list query.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Query {
    filters: Vec<Filter>,
    select: Option<Vec<String>>,
    sort: Vec<(String, Ordering)>,
    limit: Option<usize>,
    offset: usize,
}

#[derive(Debug, PartialEq)]
enum Filter {
    Compare(String, Vec<Ordering>, String),
    In(String, Vec<String>),
    Out(String, Vec<String>),
    Like(String, String),
    And(Vec<Filter>),
    Or(Vec<Filter>),
}

/// A parsed `name(args)` call or a bare, percent-decoded value.
#[derive(Debug, PartialEq)]
enum Node {
    Call(String, Vec<Node>),
    Value(String),
}

/// Parses the raw query string (without `?`).
pub(crate) fn parse(raw_query: &str) -> Result<Query, RqlError> {
    let mut query = Query::default();
    for part in split_top_level(raw_query, '&')
        .into_iter()
        .filter(|p| !p.is_empty())
    {
        match part.find(['(', '=']) {
            Some(i) if part.as_bytes()[i] == b'=' => query.add_pair(&part[..i], &part[i + 1..])?,
            _ => {
                let node = parse_node(part)?;
                query.add_call(node)?;
            }
        }
    }
    Ok(query)
}

impl Query {
    /// Filters, sorts, pages and projects `items` into Extra Horizon's list
    /// shape `{"page": {"total", "offset", "limit"}, "data": [...]}`.
    pub(crate) fn apply(&self, items: &[Value]) -> Value {
        let mut matched: Vec<&Value> = items
            .iter()
            .filter(|item| self.filters.iter().all(|f| f.matches(item)))
            .collect();
        matched.sort_by(|a, b| {
            self.sort
                .iter()
                .map(|(field, direction)| {
                    let order = compare_values(lookup(a, field), lookup(b, field));
                    if *direction == Ordering::Less {
                        order.reverse()
                    } else {
                        order
                    }
                })
                .find(|order| order.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
        let data: Vec<Value> = matched
            .iter()
            .skip(self.offset)
            .take(limit)
            .map(|item| self.project(item))
            .collect();
        json!({
            "page": {"total": matched.len(), "offset": self.offset, "limit": limit},
            "data": data,
        })
    }

    fn project(&self, item: &Value) -> Value {
        let Some(fields) = &self.select else {
            return item.clone();
        };
        let mut out = Value::Object(Map::new());
        for field in fields {
            if let Some(value) = lookup(item, field) {
                insert(&mut out, field, value.clone());
            }
        }
        out
    }

    fn add_pair(&mut self, key: &str, value: &str) -> Result<(), RqlError> {
        let key = form_decode(key);
        let value = form_decode(value);
        match key.as_str() {
            "limit" => self.limit = Some(number(&value)?),
            "offset" => self.offset = number(&value)?,
            _ => self
                .filters
                .push(Filter::Compare(key, vec![Ordering::Equal], value)),
        }
        Ok(())
    }

    fn add_call(&mut self, node: Node) -> Result<(), RqlError> {
        let Node::Call(name, args) = node else {
            return Err(RqlError("expected an operator".into()));
        };
        match name.as_str() {
            "select" => self.select = Some(values(args)?),
            "sort" => {
                for field in values(args)? {
                    self.sort.push(match field.strip_prefix('-') {
                        Some(field) => (field.to_owned(), Ordering::Less),
                        None => (field.trim_start_matches('+').to_owned(), Ordering::Greater),
                    });
                }
            }
            "limit" => match values(args)?.as_slice() {
                [limit] => self.limit = Some(number(limit)?),
                [limit, offset] => {
                    self.limit = Some(number(limit)?);
                    self.offset = number(offset)?;
                }
                _ => {
                    return Err(RqlError(
                        "limit takes a limit and an optional offset".into(),
                    ))
                }
            },
            _ => self.filters.push(filter(name, args)?),
        }
        Ok(())
    }
}

fn filter(name: String, args: Vec<Node>) -> Result<Filter, RqlError> {
    let orderings = match name.as_str() {
        "eq" => vec![Ordering::Equal],
        "ne" => vec![Ordering::Less, Ordering::Greater],
        "lt" => vec![Ordering::Less],
        "le" => vec![Ordering::Less, Ordering::Equal],
        "gt" => vec![Ordering::Greater],
        "ge" => vec![Ordering::Greater, Ordering::Equal],
        "and" | "or" => {
            let inner = args
                .into_iter()
                .map(|arg| match arg {
                    Node::Call(name, args) => filter(name, args),
                    Node::Value(v) => Err(RqlError(format!("{v:?} is not an operator"))),
                })
                .collect::<Result<_, _>>()?;
            return Ok(if name == "and" {
                Filter::And(inner)
            } else {
                Filter::Or(inner)
            });
        }
        "in" | "out" | "like" => {
            let mut values = values(args)?;
            if values.len() < 2 {
                return Err(RqlError(format!("{name} takes a field and values")));
            }
            let field = values.remove(0);
            return Ok(match name.as_str() {
                "in" => Filter::In(field, values),
                "out" => Filter::Out(field, values),
                _ if values.len() == 1 => Filter::Like(field, values.remove(0)),
                _ => return Err(RqlError("like takes a field and a pattern".into())),
            });
        }
        _ => return Err(RqlError(format!("unknown operator {name:?}"))),
    };
    match <[String; 2]>::try_from(values(args)?) {
        Ok([field, value]) => Ok(Filter::Compare(field, orderings, value)),
        Err(_) => Err(RqlError(format!("{name} takes a field and a value"))),
    }
}

impl Filter {
    fn matches(&self, item: &Value) -> bool {
        match self {
            Filter::Compare(field, orderings, value) => candidates(lookup(item, field))
                .any(|v| orderings.contains(&compare_to_text(v, value))),
            Filter::In(field, values) => is_in(item, field, values),
            Filter::Out(field, values) => !is_in(item, field, values),
            Filter::Like(field, pattern) => candidates(lookup(item, field))
                .any(|v| v.as_str().is_some_and(|s| like(s, pattern))),
            Filter::And(filters) => filters.iter().all(|f| f.matches(item)),
            Filter::Or(filters) => filters.iter().any(|f| f.matches(item)),
        }
    }
}

fn is_in(item: &Value, field: &str, values: &[String]) -> bool {
    candidates(lookup(item, field)).any(|v| values.iter().any(|x| compare_to_text(v, x).is_eq()))
}

/// The values a filter looks at: an array field matches when an element does.
fn candidates(value: Option<&Value>) -> Box<dyn Iterator<Item = &Value> + '_> {
    match value {
        Some(Value::Array(items)) => Box::new(items.iter()),
        Some(value) => Box::new(std::iter::once(value)),
        None => Box::new(std::iter::once(&Value::Null)),
    }
}

/// Compares a JSON value with an RQL argument, read as the value's type.
fn compare_to_text(value: &Value, text: &str) -> Ordering {
    match value {
        Value::Number(n) => match (n.as_f64(), text.parse::<f64>()) {
            (Some(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Less),
            _ => Ordering::Less,
        },
        Value::String(s) => s.as_str().cmp(text),
        Value::Bool(b) => b.to_string().as_str().cmp(text),
        Value::Null if text == "null" => Ordering::Equal,
        _ => Ordering::Less,
    }
}

/// Orders sort keys: missing and null first, then numbers, strings, others.
fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Number(_)) => 1,
            Some(Value::String(_)) => 2,
            Some(_) => 3,
        }
    }
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// `*` matches any run of characters, case-insensitively, as Extra Horizon's
/// `like` does.
fn like(text: &str, pattern: &str) -> bool {
    let text = text.to_lowercase();
    let pattern = pattern.to_lowercase();
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

fn lookup<'v>(item: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(item, |value, key| value.get(key))
}

fn insert(target: &mut Value, path: &str, value: Value) {
    let mut keys = path.split('.').peekable();
    let mut target = target;
    while let Some(key) = keys.next() {
        let Value::Object(map) = target else { return };
        if keys.peek().is_none() {
            map.insert(key.to_owned(), value);
            return;
        }
        target = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
}

fn values(args: Vec<Node>) -> Result<Vec<String>, RqlError> {
    args.into_iter()
        .map(|arg| match arg {
            Node::Value(value) => Ok(value),
            Node::Call(name, _) => Err(RqlError(format!("{name}(..) is not a value"))),
        })
        .collect()
}

fn number(text: &str) -> Result<usize, RqlError> {
    text.parse()
        .map_err(|_| RqlError(format!("{text:?} is not a number")))
}

fn form_decode(text: &str) -> String {
    percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Splits at `separator` outside parentheses.
fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if c == separator && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Parses `name(arg,..)` where each arg is a call or a value.
fn parse_node(text: &str) -> Result<Node, RqlError> {
    let text = text.trim();
    let Some(open) = text.find('(') else {
        return Ok(Node::Value(
            percent_decode_str(text).decode_utf8_lossy().into_owned(),
        ));
    };
    let inner = text[open + 1..]
        .strip_suffix(')')
        .ok_or_else(|| RqlError(format!("{text:?} does not end with ')'")))?;
    let name = &text[..open];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(RqlError(format!("{name:?} is not an operator name")));
    }
    if inner.matches('(').count() != inner.matches(')').count() {
        return Err(RqlError(format!("unbalanced parentheses in {text:?}")));
    }
    let args = if inner.is_empty() {
        Vec::new()
    } else {
        split_top_level(inner, ',')
            .into_iter()
            .map(parse_node)
            .collect::<Result<_, _>>()?
    };
    Ok(Node::Call(name.to_owned(), args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people() -> Vec<Value> {
        (0..30)
            .map(|i| {
                json!({
                    "id": format!("id{i:02}"),
                    "age": 20 + i % 7,
                    "name": if i % 2 == 0 { format!("Even {i}") } else { format!("Odd {i}") },
                    "tags": if i % 3 == 0 { json!(["three"]) } else { json!([]) },
                    "data": {"score": i * 10},
                })
            })
            .collect()
    }

    fn ids(raw_query: &str) -> Vec<String> {
        let page = parse(raw_query).unwrap().apply(&people());
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect()
    }

    fn page(raw_query: &str) -> Value {
        parse(raw_query).unwrap().apply(&people())["page"].clone()
    }

    #[test]
    fn default_page_is_twenty_from_zero() {
        assert_eq!(page(""), json!({"total": 30, "offset": 0, "limit": 20}));
    }

    #[test]
    fn limit_is_capped_at_fifty() {
        assert_eq!(page("limit(500)")["limit"], 50);
    }

    #[test]
    fn limit_with_offset_pages() {
        assert_eq!(ids("limit(2,5)"), ["id05", "id06"]);
        assert_eq!(
            page("limit(2,5)"),
            json!({"total": 30, "offset": 5, "limit": 2})
        );
    }

    #[test]
    fn plain_limit_and_offset_keys_page() {
        assert_eq!(ids("limit=5&offset=28"), ["id28", "id29"]);
        assert_eq!(ids("limit=1&offset=3"), ["id03"]);
    }

    #[test]
    fn select_projects_dotted_fields() {
        let page = parse("select(id,data.score)&limit(1)")
            .unwrap()
            .apply(&people());
        assert_eq!(page["data"], json!([{"id": "id00", "data": {"score": 0}}]));
    }

    #[test]
    fn eq_reads_the_argument_as_the_field_type() {
        assert_eq!(ids("eq(age,20)&limit(3)"), ["id00", "id07", "id14"]);
        assert_eq!(ids("eq(name,Odd%201)"), ["id01"]);
    }

    #[test]
    fn plain_key_filters_like_eq() {
        assert_eq!(ids("name=Odd+1"), ["id01"]);
    }

    #[test]
    fn comparisons_and_or_combine() {
        assert_eq!(
            ids("or(lt(data.score,20),ge(data.score,290))"),
            ["id00", "id01", "id29"]
        );
        assert_eq!(
            ids("and(gt(age,25),ne(age,26))&limit(2)"),
            Vec::<String>::new()
        );
        assert_eq!(ids("gt(age,25)&limit(2)"), ["id06", "id13"]);
    }

    #[test]
    fn in_and_out_match_array_elements() {
        assert_eq!(page("in(tags,three)")["total"], 10);
        assert_eq!(page("out(tags,three)")["total"], 20);
        assert_eq!(page("in(id,id01,id02)")["total"], 2);
    }

    #[test]
    fn like_matches_stars_case_insensitively() {
        assert_eq!(
            ids("like(name,*d%202*)"),
            ["id21", "id23", "id25", "id27", "id29"]
        );
        assert_eq!(
            ids("like(name,even%202*)"),
            ["id02", "id20", "id22", "id24", "id26", "id28"]
        );
    }

    #[test]
    fn sort_descending_then_ascending() {
        assert_eq!(ids("sort(-age,+id)&limit(3)"), ["id06", "id13", "id20"]);
        assert_eq!(ids("sort(name)&limit(2)"), ["id00", "id10"]);
    }

    fn check_error(raw_query: &str) {
        assert!(parse(raw_query).is_err(), "{raw_query} should be rejected");
    }

    #[test]
    fn invalid_queries_are_errors() {
        for raw_query in [
            "limit(x)",
            "limit(1,2,3)",
            "frobnicate(a)",
            "eq(a)",
            "select(id",
            "eq(a,b))",
            "1a(b)",
            "eq(a,eq(b,c))",
            "and(x)",
            "limit=-1",
            "like(a,b,c)",
        ] {
            check_error(raw_query);
        }
    }
}
