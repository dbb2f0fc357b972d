//! The event a task's handler gets: the Extra Horizon Task object with its
//! `data` typed by the task, or any other envelope as `bootstrap` detects it.
//!
//! # Format
//! The Task object Extra Horizon sends (a data-service `task` action puts
//! the document's id in `data`):
//! ```json
//! {"id": "6512b0c5e1f4a2000a1b2c3d", "functionName": "check-domains",
//!  "status": "inProgress", "data": {"documentId": "5f5e1a10000000000000d001"},
//!  "tags": [], "priority": 1, "createdByUserId": "…", "creationTimestamp": "…"}
//! ```
//! A missing or `null` `data` is read as `{}`, as `bootstrap` reads it.

use crate::envelope::{self, Detected, Opened};
use crate::error::Error;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// An invocation's event, for a task whose `data` is a `T`.
///
/// # Example
/// ```
/// use exh_task::task::Event;
/// #[derive(serde::Deserialize)]
/// #[serde(rename_all = "camelCase")]
/// struct Data { document_id: String }
///
/// let event: Event<Data> = Event::parse(serde_json::json!(
///     {"id": "t1", "functionName": "check-domains", "data": {"documentId": "d1"}}
/// )).unwrap();
/// let Event::Task(task) = event else { panic!("a task") };
/// assert_eq!((task.id.as_deref(), task.data.document_id.as_str()), (Some("t1"), "d1"));
/// ```
#[derive(Debug, Clone, PartialEq)]
// One per invocation, matched once: boxing the task would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Event<T> {
    /// An Extra Horizon task (the payload has a string `functionName`).
    Task(Task<T>),
    /// Any other envelope (direct invocation, EventBridge, HTTP, SQS),
    /// opened as [`envelope::open`] opens it for `bootstrap`.
    Other(Opened),
}

/// The Extra Horizon Task object, its `data` typed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task<T> {
    /// The task's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The function the task runs (this one).
    pub function_name: String,
    /// The task's `data`, as the task reads it.
    pub data: T,
    /// `inProgress` while it runs.
    #[serde(default)]
    pub status: Option<String>,
    /// The tags it was created with.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its priority.
    #[serde(default)]
    pub priority: Option<i64>,
    /// Who created it: a user's id.
    #[serde(default)]
    pub created_by_user_id: Option<String>,
    /// Who created it: an OAuth application's id.
    #[serde(default)]
    pub created_by_application_id: Option<String>,
    /// Every other field (timestamps, …), as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl<T: DeserializeOwned> Event<T> {
    /// Detects the envelope of `payload`; a task's `data` must read as `T`,
    /// else the invocation fails with `InvalidEvent` saying why.
    pub fn parse(payload: Value) -> Result<Event<T>, Error> {
        match envelope::open_keeping_task(payload)? {
            Detected::Opened(opened) => Ok(Event::Other(opened)),
            Detected::Task(mut task) => {
                if task.get("data").is_none_or(Value::is_null) {
                    task["data"] = json!({});
                }
                serde_json::from_value(task)
                    .map(Event::Task)
                    .map_err(|error| {
                        Error::InvalidEvent(format!(
                            "the Extra Horizon task does not parse: {error}"
                        ))
                    })
            }
        }
    }
}

impl<T: DeserializeOwned> Event<T> {
    /// What the task is asked to do: a task's `data`, or a direct
    /// invocation's (or EventBridge `detail`'s) event read as `T`, so the
    /// same handler runs on `{"documentId": …}` from `cargo lambda invoke`.
    /// HTTP and SQS envelopes fail with `InvalidEvent`: match on
    /// [`Event::Other`] to serve those.
    ///
    /// # Example
    /// ```
    /// use exh_task::task::Event;
    /// let event: Event<serde_json::Value> = Event::parse(serde_json::json!({"n": 1})).unwrap();
    /// assert_eq!(event.into_data().unwrap(), serde_json::json!({"n": 1}));
    /// ```
    pub fn into_data(self) -> Result<T, Error> {
        match self {
            Event::Task(task) => Ok(task.data),
            Event::Other(Opened::Request(request)) => {
                serde_json::from_value(request).map_err(|error| {
                    Error::InvalidEvent(format!("the event is not this task's data: {error}"))
                })
            }
            Event::Other(_) => Err(Error::InvalidEvent(
                "this task serves Extra Horizon tasks and direct invocations, not HTTP or SQS"
                    .into(),
            )),
        }
    }
}

/// What a handler takes as its event: [`Event`] for a task of its own,
/// [`Value`] for the raw payload (what `bootstrap`'s handler takes).
pub trait FromPayload: Sized {
    /// Reads the invocation's payload; an `Err` fails the invocation with
    /// its `errorType` before the handler runs.
    fn from_payload(payload: Value) -> Result<Self, Error>;
}

impl FromPayload for Value {
    fn from_payload(payload: Value) -> Result<Self, Error> {
        Ok(payload)
    }
}

impl<T: DeserializeOwned> FromPayload for Event<T> {
    fn from_payload(payload: Value) -> Result<Self, Error> {
        Event::parse(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        document_id: String,
    }

    fn sample_task() -> Value {
        let text = include_str!("../../events/envelope-exh-task.json");
        let mut task: Value = serde_json::from_str(text).unwrap();
        task["data"] = json!({"documentId": "d1"});
        task
    }

    #[test]
    fn the_sample_task_object_reads_with_its_data_typed() {
        let Event::Task(task) = Event::<Data>::parse(sample_task()).unwrap() else {
            panic!("a task")
        };
        assert_eq!(task.data.document_id, "d1");
        assert_eq!(task.function_name, "exh-task");
        assert_eq!(task.tags, ["nightly-sync"]);
        assert_eq!(task.priority, Some(1));
        assert_eq!(
            task.other["statusChangedTimestamp"],
            "2026-11-25T06:00:00.000Z"
        );
    }

    #[test]
    fn a_task_without_data_reads_its_data_from_an_empty_object() {
        let event = Event::<Value>::parse(json!({"functionName": "f", "data": null})).unwrap();
        assert_eq!(event.into_data().unwrap(), json!({}));
    }

    #[test]
    fn data_of_the_wrong_shape_is_an_invalid_event_that_names_the_field() {
        let error = Event::<Data>::parse(json!({"functionName": "f", "data": {}})).unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(error.to_string().contains("documentId"), "{error}");
    }

    #[test]
    fn a_direct_invocation_is_read_as_the_data_itself() {
        let event = Event::<Data>::parse(json!({"documentId": "d2"})).unwrap();
        assert_eq!(
            event.into_data().unwrap(),
            Data {
                document_id: "d2".into()
            }
        );
    }

    #[test]
    fn sqs_is_another_envelope_and_has_no_single_data() {
        let sqs = json!({"Records": [{"messageId": "a", "eventSource": "aws:sqs", "body": "{}"}]});
        let event = Event::<Data>::parse(sqs).unwrap();
        assert!(matches!(event, Event::Other(Opened::Sqs(_))));
        assert_eq!(event.into_data().unwrap_err().error_type(), "InvalidEvent");
    }
}
