//! The sample events of `events/`, as the tests read them.

use serde_json::Value;

/// The samples of every envelope exh-task unwraps, one file each.
pub const ENVELOPE_SAMPLES: [&str; 7] = [
    "envelope-apigateway-http.json",
    "envelope-apigateway-rest.json",
    "envelope-eventbridge-scheduler.json",
    "envelope-exh-api-function.json",
    "envelope-exh-task.json",
    "envelope-function-url.json",
    "envelope-sqs.json",
];

/// The sample event `name` from `events/`; a test failure if it cannot be
/// read or is not JSON.
#[track_caller]
pub fn read_sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path} is not JSON: {error}"))
}
