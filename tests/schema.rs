//! The JSON Schema of events and results: shipped up to date in
//! `schema/event.schema.json`, and true to every sample in `events/` and to what
//! the handler answers for it, as Python's `jsonschema` validates them.

mod support;

use exh_task::config::Config;
use exh_task::envelope::{self, Opened};
use exh_task::Handler;
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::python::run_script_async;

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events")
}

fn schema_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/event.schema.json")
}

#[test]
fn the_shipped_schema_is_the_one_the_types_derive() {
    let shipped: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_file()).unwrap()).unwrap();
    assert!(
        shipped == exh_task::schema::document(),
        "schema/event.schema.json is stale: run `cargo run --bin exh-task -- schema > schema/event.schema.json`"
    );
}

/// The request(s) inside a sample, as the handler will see them.
fn requests_in(event: Value) -> Vec<Value> {
    match envelope::open(event).unwrap() {
        Opened::Request(request) => vec![request],
        Opened::Http { request, .. } => vec![request.unwrap()],
        Opened::Sqs(records) => records
            .into_iter()
            .map(|record| record.request.unwrap())
            .collect(),
    }
}

/// The result document(s) inside what the handler answered.
fn results_in(answer: Value) -> Vec<Value> {
    if let Some(body) = answer.get("body").and_then(Value::as_str) {
        return if answer["statusCode"] == 200 {
            vec![serde_json::from_str(body).unwrap()]
        } else {
            vec![]
        };
    }
    if answer.get("batchItemFailures").is_some() {
        return vec![];
    }
    vec![answer]
}

#[tokio::test]
async fn every_sample_and_its_result_fit_the_schema_and_bad_events_do_not() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let config =
        Config::from_lookup(sandbox.lookup(|_| None)).expect("the sandbox configures both sides");
    let handler = Handler::new(config, exh_task::http::client().unwrap());

    let mut files: Vec<_> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut instances = Vec::new();
    let mut names = Vec::new();
    for file in &files {
        let event: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for request in requests_in(event.clone()) {
            instances.push(json!({"def": null, "instance": request}));
            names.push(format!("{name} (request)"));
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let answer = handler.handle(event, deadline).await.unwrap().to_value();
        for result in results_in(answer) {
            instances.push(json!({"def": "Result", "instance": result}));
            names.push(format!("{name} (result)"));
        }
    }
    let refused = [
        json!({"exh": {"pth": "/users/v1/me"}}),
        json!({"exh": {}, "extra": 1}),
        json!({"batch": [], "concurrency": 0}),
        json!({"hexonet": {"all_pages": true}}),
        json!({"exh": {"all_pages": "yes"}}),
    ];
    let first_refused = instances.len();
    for event in &refused {
        assert!(
            exh_task::event::Event::parse(event).is_err(),
            "the parser accepts {event}"
        );
        instances.push(json!({"def": null, "instance": event}));
    }

    let input = json!({"schema": exh_task::schema::document(), "instances": instances});
    let verdicts = run_script_async("jsonschema_validate.py", input, vec![]).await;
    let verdicts = verdicts.as_array().unwrap();
    for (name, verdict) in names.iter().zip(verdicts) {
        assert!(
            verdict.is_null(),
            "{name} does not fit the schema: {verdict}"
        );
    }
    for (event, verdict) in refused.iter().zip(&verdicts[first_refused..]) {
        assert!(
            !verdict.is_null(),
            "the schema accepts {event}, which the parser refuses"
        );
    }
}
