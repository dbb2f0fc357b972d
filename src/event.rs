//! The request an event asks for.
//!
//! # Format
//! ```jsonc
//! {}                                        // GET /users/v1/me, like the seed
//! {"exh": {"method", "path", "query", "rql", "body", "all_pages"}}
//! {"hexonet": {"command", "all_pages", "subuser", "session", "otp", "remote_addr", "system"}}
//! {"batch": [<request>, ...], "concurrency": 4}
//! ```

use crate::error::Error;
use crate::exh;
use crate::hexonet;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// How many batch items run at once when the event does not say.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The most batch items that may run at once.
pub const MAX_CONCURRENCY: usize = 16;
/// The most requests one batch may hold: each has a result in the answer
/// and a line in the log, so this bounds both (a 2 MB event of a million
/// `1`s would otherwise take hundreds of MB). More are shared out over
/// messages (`exh-task split`, SQS).
pub const MAX_BATCH_ITEMS: usize = 1_000;

/// What an event asks for: one request, or a batch of them.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// One request.
    Single(Request),
    /// Several requests, run concurrently, answered in order.
    Batch {
        /// The items; one that is not a valid request carries its own
        /// error, so it cannot sink the others.
        items: Vec<Result<Request, Error>>,
        /// How many run at once (1 to [`MAX_CONCURRENCY`]).
        concurrency: usize,
    },
}

/// One request: a batch holds these, so a batch cannot hold a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// A call to Extra Horizon.
    Exh(exh::Request),
    /// A HEXONET command.
    Hexonet(hexonet::Request),
}

/// The root key an editor reads to find the event's JSON Schema
/// (`"$schema": "../schema/event.schema.json"`); the function ignores it.
pub const SCHEMA_KEY: &str = "$schema";

impl Event {
    /// Reads the event (already unwrapped from any envelope). A root
    /// [`SCHEMA_KEY`] naming the schema is accepted and ignored. Reads a
    /// copy: [`Event::from_value`] moves the event's parts instead.
    pub fn parse(event: &Value) -> Result<Event, Error> {
        Event::from_value(event.clone())
    }

    /// [`Event::parse`] of `event`, whose parts (a request's body, its
    /// query, a HEXONET command) are moved into the requests, not copied:
    /// an event held to its memory once read takes no more as requests.
    pub fn from_value(event: Value) -> Result<Event, Error> {
        let mut fields = object(event)?;
        match fields.get(SCHEMA_KEY) {
            None => {}
            Some(Value::String(_)) => {
                fields.shift_remove(SCHEMA_KEY);
            }
            Some(other) => {
                return Err(Error::invalid_event(format!(
                    "{SCHEMA_KEY} must be a string (the JSON Schema an editor checks the event against), not {}",
                    kind_of(other)
                )))
            }
        }
        Event::read(fields)
    }

    fn read(mut fields: Map<String, Value>) -> Result<Event, Error> {
        if fields.is_empty() {
            return Ok(Event::Single(Request::Exh(exh::Request::default())));
        }
        if fields.contains_key("batch") {
            only_keys(&fields, &["batch", "concurrency"])?;
            let batch = fields.shift_remove("batch").unwrap_or_default();
            return batch_event(batch, fields.get("concurrency"));
        }
        if fields.contains_key("exh") {
            only_keys(&fields, &["exh"])?;
            let mut request = fields.shift_remove("exh").unwrap_or_default();
            // The body is moved into the request as it is: read through
            // serde it would be built again, value by value, beside the
            // event's (twice its memory at the peak).
            let body = request
                .as_object_mut()
                .and_then(|request| request.shift_remove("body"));
            let mut request: exh::Request = typed(request, "exh")?;
            request.body = body.filter(|body| !body.is_null());
            return Ok(Event::Single(Request::Exh(request)));
        }
        if fields.contains_key("hexonet") {
            only_keys(&fields, &["hexonet"])?;
            let request = fields.shift_remove("hexonet").unwrap_or_default();
            return typed(request, "hexonet")
                .map(|request| Event::Single(Request::Hexonet(request)));
        }
        Err(unknown_shape(&fields))
    }
}

fn object(event: Value) -> Result<Map<String, Value>, Error> {
    match event {
        Value::Object(fields) => Ok(fields),
        other => Err(Error::invalid_event(format!(
            "the event must be a JSON object such as {{}} or {{\"exh\": {{...}}}}, not {}",
            kind_of(&other)
        ))),
    }
}

/// `side`'s request, its parts moved out of the event.
fn typed<T: DeserializeOwned>(request: Value, side: &str) -> Result<T, Error> {
    serde_json::from_value(request)
        .map_err(|error| Error::invalid_event(format!("{side}: {error}")))
}

fn batch_event(batch: Value, concurrency: Option<&Value>) -> Result<Event, Error> {
    let items = match batch {
        Value::Array(items) => items,
        other => {
            return Err(Error::invalid_event(format!(
                "batch must be an array of requests, not {}",
                kind_of(&other)
            )))
        }
    };
    if items.len() > MAX_BATCH_ITEMS {
        return Err(Error::invalid_event(format!(
            "a batch holds at most {MAX_BATCH_ITEMS} requests, not {}: share them out over \
             messages (exh-task split, SQS)",
            items.len()
        )));
    }
    let concurrency = match concurrency {
        None => DEFAULT_CONCURRENCY,
        Some(value) => value
            .as_u64()
            .filter(|n| (1..=MAX_CONCURRENCY as u64).contains(n))
            .ok_or_else(|| {
                Error::invalid_event(format!(
                    "concurrency must be a whole number from 1 to {MAX_CONCURRENCY}, not {value}"
                ))
            })? as usize,
    };
    // An item is read as a whole event, so a malformed nested batch is
    // named for what is wrong with it, and a well-formed one is refused.
    let items = items
        .into_iter()
        .map(|item| match Event::read(object(item)?)? {
            Event::Single(request) => Ok(request),
            Event::Batch { .. } => Err(Error::invalid_event("a batch cannot contain a batch")),
        })
        .collect();
    Ok(Event::Batch { items, concurrency })
}

fn only_keys(fields: &Map<String, Value>, allowed: &[&str]) -> Result<(), Error> {
    let unknown: Vec<&str> = fields
        .keys()
        .map(String::as_str)
        .filter(|key| !allowed.contains(key))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_event(format!(
            "unexpected field(s) {} beside {}",
            unknown.join(", "),
            allowed[0]
        )))
    }
}

fn unknown_shape(fields: &Map<String, Value>) -> Error {
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    Error::invalid_event(format!(
        "unrecognised event with field(s) {}: expected {{}}, {{\"exh\": {{...}}}}, {{\"hexonet\": {{...}}}} or {{\"batch\": [...]}}, \
         directly or inside an Extra Horizon task (data), an API Gateway / Function URL request (body), \
         an EventBridge event (detail) or SQS records (body)",
        keys.join(", ")
    ))
}

/// What kind of JSON value `value` is, for error messages ("an array").
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_event_asks_for_the_current_user() {
        assert_eq!(
            Event::parse(&json!({})).unwrap(),
            Event::Single(Request::Exh(exh::Request::default()))
        );
    }

    #[test]
    fn an_exh_event_carries_its_request() {
        let request =
            Event::parse(&json!({"exh": {"path": "/users/v1/", "all_pages": true}})).unwrap();
        let Event::Single(Request::Exh(request)) = request else {
            panic!("not exh")
        };
        assert_eq!(request.path.as_deref(), Some("/users/v1/"));
        assert!(request.all_pages);
    }

    #[test]
    fn a_batch_defaults_to_a_small_concurrency() {
        let request = Event::parse(&json!({"batch": [{}, {"exh": {}}]})).unwrap();
        assert_eq!(
            request,
            Event::Batch {
                items: vec![
                    Ok(Request::Exh(exh::Request::default())),
                    Ok(Request::Exh(exh::Request::default()))
                ],
                concurrency: DEFAULT_CONCURRENCY
            }
        );
    }

    #[test]
    fn a_bad_batch_item_carries_its_own_error() {
        let Event::Batch {
            items: requests, ..
        } = Event::parse(&json!({"batch": [{}, {"exh": {"pth": 1}}, {"batch": []}]})).unwrap()
        else {
            panic!("not a batch")
        };
        assert!(requests[0].is_ok());
        assert!(requests[1]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("exh: unknown field `pth`"));
        assert!(requests[2]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("a batch cannot contain a batch"));
    }

    #[test]
    fn a_hexonet_event_carries_its_request() {
        let request = Event::parse(&json!({"hexonet": {
            "command": {"COMMAND": "QueryDomainList", "LIMIT": 100}, "all_pages": true, "subuser": "r1"}}))
        .unwrap();
        let Event::Single(Request::Hexonet(request)) = request else {
            panic!("not hexonet")
        };
        assert_eq!(request.command["COMMAND"], "QueryDomainList");
        assert!(request.all_pages);
        assert_eq!(request.subuser.as_deref(), Some("r1"));
    }

    #[test]
    fn a_batch_over_the_item_cap_is_refused_before_its_items_are_read() {
        let at_cap =
            json!({"batch": vec![json!({"exh": {"path": "/users/v1/me"}}); MAX_BATCH_ITEMS]});
        assert!(Event::parse(&at_cap).is_ok());
        let over = json!({"batch": vec![json!(1); MAX_BATCH_ITEMS + 1]});
        let error = Event::parse(&over).unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(
            error
                .to_string()
                .contains("at most 1000 requests, not 1001"),
            "{error}"
        );
    }

    #[test]
    fn a_batch_mixes_exh_and_hexonet_items() {
        let Event::Batch {
            items: requests, ..
        } = Event::parse(
            &json!({"batch": [{}, {"hexonet": {"command": {"COMMAND": "StatusAccount"}}}]}),
        )
        .unwrap()
        else {
            panic!("not a batch")
        };
        assert!(matches!(requests[0], Ok(Request::Exh(_))));
        assert!(matches!(requests[1], Ok(Request::Hexonet(_))));
    }

    #[test]
    fn a_malformed_nested_batch_is_named_for_what_is_wrong_with_it() {
        let Event::Batch { items, .. } = Event::parse(&json!({"batch": [{"batch": {}}]})).unwrap()
        else {
            panic!("not a batch")
        };
        assert!(items[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("batch must be an array"));
    }

    macro_rules! refused {
        ($($name:ident: $event:tt => $message:literal;)*) => {$(
            #[test]
            fn $name() {
                let error = Event::parse(&json!($event)).unwrap_err();
                assert_eq!(error.error_type(), "InvalidEvent");
                assert!(error.to_string().contains($message), "{error}");
            }
        )*};
    }

    #[test]
    fn a_schema_key_inside_a_batch_item_is_the_item_s_error() {
        let Event::Batch { items, .. } =
            Event::parse(&json!({"batch": [{"$schema": "x", "exh": {}}]})).unwrap()
        else {
            panic!("not a batch")
        };
        let error = items[0].as_ref().unwrap_err();
        assert!(error.to_string().contains("$schema"), "{error}");
    }

    #[test]
    fn a_root_schema_key_is_ignored() {
        let event =
            json!({"$schema": "../schema/event.schema.json", "exh": {"path": "/users/v1/"}});
        let Event::Single(Request::Exh(request)) = Event::parse(&event).unwrap() else {
            panic!("not exh")
        };
        assert_eq!(request.path.as_deref(), Some("/users/v1/"));
        assert_eq!(
            Event::parse(&json!({"$schema": "x"})).unwrap(),
            Event::Single(Request::Exh(exh::Request::default()))
        );
    }

    refused! {
        a_schema_key_must_be_a_string: {"$schema": 1, "exh": {}} => "$schema must be a string";
        a_string_event_is_refused: "hello" => "must be a JSON object";
        an_unknown_field_is_named: {"exhh": {}} => "field(s) exhh";
        extra_fields_beside_exh_are_named: {"exh": {}, "x": 1} => "unexpected field(s) x beside exh";
        extra_fields_beside_hexonet_are_named: {"hexonet": {"command": {"COMMAND": "StatusAccount"}}, "x": 1} => "unexpected field(s) x beside hexonet";
        unknown_hexonet_fields_are_named: {"hexonet": {"COMMAND": "StatusAccount"}} => "hexonet: unknown field `COMMAND`";
        a_batch_must_be_an_array: {"batch": {}} => "batch must be an array";
        a_zero_concurrency_is_refused: {"batch": [], "concurrency": 0} => "concurrency must be a whole number from 1 to 16";
        a_huge_concurrency_is_refused: {"batch": [], "concurrency": 1000} => "from 1 to 16";
    }
}
