//! The JSON Schema of events and results (`exh-task schema`,
//! `schema/event.schema.json`), derived from the types that parse and print them.
//!
//! The schema's root is a request event (what a direct invocation, an Extra
//! Horizon task's `data`, an HTTP body, an EventBridge `detail` or an SQS
//! record body holds); `$defs/Result` is the result document.

use crate::event::{MAX_BATCH_ITEMS, MAX_CONCURRENCY};
use crate::{exh, hexonet, outcome};
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde_json::{json, Value};

/// One request: `{}` (the current user, as in the seed), or exactly one of
/// `exh`, `hexonet` or `batch`.
#[derive(JsonSchema)]
#[schemars(rename = "Event", deny_unknown_fields)]
#[allow(dead_code)] // Only its schema is used: `event::Event::parse` reads events.
pub struct EventShape {
    /// The JSON Schema an editor checks the event against (this one); the
    /// function ignores it. Only at the root.
    #[serde(rename = "$schema")]
    schema: Option<String>,
    /// A call to any Extra Horizon endpoint.
    exh: Option<exh::Request>,
    /// A HEXONET command.
    hexonet: Option<hexonet::Request>,
    /// Requests run concurrently, answered in input order; an item cannot
    /// be a batch itself. At most 1,000.
    #[schemars(length(max = MAX_BATCH_ITEMS))]
    batch: Option<Vec<EventShape>>,
    /// How many batch items run at once. Default: 4.
    #[schemars(range(min = 1, max = MAX_CONCURRENCY))]
    concurrency: Option<usize>,
}

/// The schema document: the event at the root, the result in `$defs/Result`.
pub fn document() -> Value {
    // Events leave optional fields out; results print them as `null` (the
    // SDK's `None`), so only the event's schema refuses `null`.
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(refuse_null))
        .into_generator()
        .into_root_schema_for::<EventShape>()
        .to_value();
    // Results are only ever written: fields left out when empty
    // (`skip_serializing_if`) are not required.
    let mut results = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let result = results.subschema_for::<outcome::ResultDocument>();
    debug_assert_eq!(result.as_value()["$ref"], "#/$defs/Result");
    let definitions = schema["$defs"]
        .as_object_mut()
        .expect("the event has definitions");
    for (name, definition) in results.take_definitions(true) {
        let clash = definitions.insert(name.clone(), definition);
        debug_assert!(
            clash.is_none(),
            "{name} is defined for events and results alike"
        );
    }
    schema["title"] = "exh-task event".into();
    schema["description"] = "A request event for exh-task; $defs/Result is what it answers.".into();
    schema
}

/// Leaving a field out is how an event says "default": the schema offers
/// no `null` for optional fields (schemars adds one for every `Option`).
fn refuse_null(schema: &mut Schema) {
    let Some(fields) = schema.as_object_mut() else {
        return;
    };
    if fields.get("default") == Some(&Value::Null) {
        fields.remove("default");
    }
    if let Some(Value::Array(types)) = fields.get_mut("type") {
        types.retain(|kind| kind != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            fields.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(choices)) = fields.get_mut("anyOf") {
        choices.retain(|choice| choice != &json!({"type": "null"}));
        if let [Value::Object(only)] = choices.as_slice() {
            let only = only.clone();
            fields.remove("anyOf");
            fields.extend(only);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_schema_names_every_request_kind_and_defines_the_result() {
        let schema = document();
        let properties = schema["properties"].as_object().unwrap();
        let names: Vec<&str> = properties.keys().map(String::as_str).collect();
        assert_eq!(names, ["$schema", "exh", "hexonet", "batch", "concurrency"]);
        assert_eq!(schema["additionalProperties"], false);
        assert!(schema["$defs"]["Result"].is_object(), "{schema:#}");
    }

    #[test]
    fn optional_event_fields_are_left_out_rather_than_null() {
        let mut schema = document();
        schema["$defs"]
            .as_object_mut()
            .unwrap()
            .retain(|name, _| ["ExhRequest", "HexonetRequest", "System"].contains(&name.as_str()));
        let text = schema.to_string();
        assert!(!text.contains("\"null\""), "{text}");
        assert_eq!(
            document()["properties"]["exh"],
            json!({"$ref": "#/$defs/ExhRequest", "description": "A call to any Extra Horizon endpoint."})
        );
    }
}
