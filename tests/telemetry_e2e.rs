//! End-to-end tests of what the real `bootstrap` tells an operator: its
//! log lines and its metrics, under the Lambda Runtime API emulator, in
//! both runtime modes.
//!
//! With `AWS_LAMBDA_LOG_FORMAT=json` every line on stdout must be one JSON
//! object: exactly one summary line per invocation, carrying the Lambda
//! request id, the X-Ray trace id the runtime was given for that very
//! invocation (in concurrent mode too, where only the context has it) and
//! the ids its envelope carries; error lines with `errorType` and
//! `errorMessage`, never a `Debug` form; and, with
//! `EXH_TASK_METRICS_NAMESPACE`, Embedded Metric Format documents valid
//! per the specification whose counts are those the run caused. No line
//! carries a secret, a query string or a body. Waits are bounded; nothing
//! asserts how long something took.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use exh_task_sandbox::runtime_api::{Function, FunctionBuilder, Invocation, Invoke, RuntimeApi};
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use support::bootstrap::{in_both_modes, with_secrets, Mode, Secrets};
use support::events::{read_sample, ENVELOPE_SAMPLES};
use support::upstream::{Behaviour, Upstream, HEXONET_PATH};

/// Bound for every wait; none should come near it.
const BOUND: Duration = Duration::from_secs(20);

/// The metrics namespace the functions here are given.
const NAMESPACE: &str = "ExhTaskE2e";

/// The message and target of summary lines.
const SUMMARY: (&str, &str) = ("invocation", "exh_task::summary");

/// `function` writing JSON lines and EMF metrics, configured by `vars`
/// (the secret ones registered as secrets, so the output is checked for them).
fn observed(function: FunctionBuilder, vars: &[(&'static str, String)]) -> FunctionBuilder {
    let function = function
        .env("AWS_LAMBDA_LOG_FORMAT", "json")
        .env("EXH_TASK_METRICS_NAMESPACE", NAMESPACE);
    vars.iter().fold(function, |function, (name, value)| {
        if name.starts_with("API_OAUTH_") || *name == "HEXONET_PASSWORD" {
            function.secret_env(*name, value)
        } else {
            function.env(*name, value)
        }
    })
}

/// A distinct X-Ray header for the `index`th invocation.
fn trace_id(index: usize) -> String {
    format!("Root=1-674c0000-{index:024x};Parent={index:016x};Sampled=1")
}

/// `payloads` as invocations, each with its own [`trace_id`].
fn traced(payloads: Vec<Value>) -> Vec<Invoke> {
    payloads
        .into_iter()
        .enumerate()
        .map(|(index, payload)| Invoke::new(payload).trace_id(trace_id(index)))
        .collect()
}

/// How many of `lines` are the error line of one request (a batch item,
/// an SQS record).
fn warned(lines: &[Value]) -> usize {
    lines
        .iter()
        .filter(|line| line["fields"]["message"] == "request failed")
        .count()
}

/// Every line of the stopped `function`'s stdout, each parsed as JSON (a
/// test failure naming the line otherwise).
fn json_lines(function: &mut Function) -> Vec<Value> {
    function.stop();
    function
        .stdout()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("a stdout line is not JSON ({error}): {line}"))
        })
        .collect()
}

fn is_summary(line: &Value) -> bool {
    line["fields"]["message"] == SUMMARY.0 && line["target"] == SUMMARY.1
}

/// Whether `line` is the event `message` of the invocation `request_id`.
fn is_message_of(line: &Value, message: &str, request_id: &str) -> bool {
    line["fields"]["message"] == message && line["requestId"] == request_id
}

fn is_emf(line: &Value) -> bool {
    line.get("_aws").is_some()
}

/// The fields of the one summary line of `invocation`, which must carry
/// the request id and the trace id it was invoked with.
#[track_caller]
fn summary_of<'a>(lines: &'a [Value], invocation: &Invocation, index: usize) -> &'a Value {
    let summaries: Vec<&Value> = lines
        .iter()
        .filter(|line| is_summary(line) && line["requestId"] == invocation.request_id.as_str())
        .collect();
    assert_eq!(
        summaries.len(),
        1,
        "invocation {index} ({}) has {} summary lines",
        invocation.request_id,
        summaries.len()
    );
    let line = summaries[0];
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["xrayTraceId"], trace_id(index).as_str(), "{line}");
    let summary = &line["fields"];
    for field in ["ok", "cold_start"] {
        assert!(summary[field].is_boolean(), "{field} in {summary}");
    }
    for field in ["duration_ms", "upstream_calls", "retries", "pages"] {
        assert!(summary[field].is_number(), "{field} in {summary}");
    }
    assert!(summary["requests"].is_array(), "{summary}");
    for call in summary["calls"].as_array().expect("calls is a list") {
        for field in ["side", "method", "path"] {
            assert!(call[field].is_string(), "{field} in {call}");
        }
        let path = call["path"].as_str().unwrap_or_default();
        assert!(!path.contains('?'), "a query in {call}");
        assert!(call["attempts"].as_u64().is_some_and(|n| n >= 1), "{call}");
        assert!(call["duration_ms"].is_number(), "{call}");
        let outcome = ["status", "code", "errorType"];
        assert!(
            outcome.iter().any(|field| call.get(*field).is_some()),
            "no outcome in {call}"
        );
    }
    summary
}

/// Fails unless every error line carries `errorType` and `errorMessage`,
/// and no line holds an error's `Debug` form.
#[track_caller]
fn assert_errors_are_fields(lines: &[Value]) {
    for line in lines.iter().filter(|line| !is_emf(line)) {
        let fields = &line["fields"];
        let failure =
            fields["message"] == "invocation failed" || fields["message"] == "request failed";
        if line["level"] == "ERROR" || failure {
            assert!(fields["errorType"].is_string(), "no errorType in {line}");
            assert!(
                fields["errorMessage"].is_string(),
                "no errorMessage in {line}"
            );
        }
        let text = line.to_string();
        for debug_form in [
            "InvalidEvent(",
            "MissingConfig(",
            "Transport(",
            "Forbidden(",
        ] {
            assert!(!text.contains(debug_form), "a Debug form in {line}");
        }
    }
}

/// Fails unless no line carries `needles` (query strings, bodies).
#[track_caller]
fn assert_absent(lines: &[Value], needles: &[&str]) {
    for line in lines {
        let text = line.to_string();
        for needle in needles {
            assert!(!text.contains(needle), "{needle:?} in {line}");
        }
    }
}

/// The EMF documents among `lines`, each checked against the Embedded
/// Metric Format specification: `_aws` with an integer `Timestamp` and a
/// `CloudWatchMetrics` list of directives, each with a `Namespace`,
/// `Dimensions` (lists of at most 30 names) and `Metrics` (at most 100:
/// `Name`, optional `Unit`), every dimension a string member and every metric a number (or
/// a list of at most 100 numbers) member of the document.
#[track_caller]
fn emf_documents(lines: &[Value]) -> Vec<&Value> {
    let documents: Vec<&Value> = lines.iter().filter(|line| is_emf(line)).collect();
    for document in &documents {
        let metadata = &document["_aws"];
        assert!(metadata["Timestamp"].is_u64(), "Timestamp in {document}");
        let directives = metadata["CloudWatchMetrics"]
            .as_array()
            .unwrap_or_else(|| panic!("no CloudWatchMetrics in {document}"));
        assert!(!directives.is_empty(), "{document}");
        for directive in directives {
            assert_eq!(directive["Namespace"], NAMESPACE, "{document}");
            let sets = directive["Dimensions"].as_array().expect("Dimensions");
            for set in sets {
                let names = set.as_array().expect("a dimension set is a list");
                assert!(names.len() <= 30, "{document}");
                for name in names {
                    let name = name.as_str().expect("a dimension name");
                    assert!(document[name].is_string(), "dimension {name} in {document}");
                }
            }
            let metrics = directive["Metrics"].as_array().expect("Metrics");
            assert!(metrics.len() <= 100, "{document}");
            for metric in metrics {
                let name = metric["Name"].as_str().expect("a metric name");
                let value = &document[name];
                let numbers = match value {
                    Value::Array(values) => {
                        values.len() <= 100 && values.iter().all(Value::is_number)
                    }
                    value => value.is_number(),
                };
                assert!(numbers, "metric {name} in {document}");
                if let Some(unit) = metric.get("Unit") {
                    assert!(unit.is_string(), "{document}");
                }
            }
        }
    }
    documents
}

/// The sum of metric `name` over the documents with dimension `Side` =
/// `side` (`None`: the documents without it).
fn metric_sum(documents: &[&Value], side: Option<&str>, name: &str) -> u64 {
    documents
        .iter()
        .filter(|document| document["Side"].as_str() == side)
        .filter_map(|document| document[name].as_u64())
        .sum()
}

// ------------------------------------------------------------------------

in_both_modes!(
    every_envelope_writes_one_json_summary_line_with_the_ids_it_carries,
    a_503_then_an_answer_is_one_call_of_two_attempts_in_the_line_and_the_metrics,
    more_than_a_hundred_calls_are_spread_over_documents_within_the_emf_limits,
);

async fn every_envelope_writes_one_json_summary_line_with_the_ids_it_carries(mode: Mode) {
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("the sandbox starts on 127.0.0.1");
    let mut vars = sandbox.env();
    vars.push(("EXH_ALLOWED_PATHS", "/users/v1".into()));
    vars.push((
        "HEXONET_ALLOWED_COMMANDS",
        "StatusAccount,QueryDomainList".into(),
    ));
    let runtime = RuntimeApi::start().await;
    let mut function = observed(mode.function(&runtime), &vars).spawn();

    let mut payloads: Vec<Value> = ENVELOPE_SAMPLES
        .iter()
        .map(|name| read_sample(name))
        .collect();
    payloads.push(json!({}));
    payloads
        .push(json!({"exh": {"path": "/users/v1/", "rql": "select(id,email)&like(email,*leak*)"}}));
    payloads.push(json!({"exh": {"path": "/users/v1/unknown-user-id"}}));
    payloads.push(json!({"exh": {"path": "//evil"}}));
    payloads.push(json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}));
    payloads.push(json!({"batch": [{"exh": {"path": "x"}}, {}]}));
    let mut unreadable = read_sample("envelope-sqs.json");
    unreadable["Records"][1]["body"] = json!("not json");
    payloads.push(unreadable);
    payloads.push(read_sample("hexonet-query-domain-list-all-pages.json"));
    let direct = ENVELOPE_SAMPLES.len();
    let invocations = runtime.invoke_all(traced(payloads), BOUND).await;
    let lines = json_lines(&mut function);

    let summaries: Vec<&Value> = invocations
        .iter()
        .enumerate()
        .map(|(index, invocation)| summary_of(&lines, invocation, index))
        .collect();
    assert_eq!(
        lines.iter().filter(|line| is_summary(line)).count(),
        invocations.len(),
        "one summary line per invocation, no more"
    );
    let by_sample =
        |name: &str| summaries[ENVELOPE_SAMPLES.iter().position(|s| *s == name).unwrap()];

    // What each sample's summary says of it: its envelope and the ids it carries.
    let expected = [
        ("envelope-exh-task.json", "envelope", json!("exh_task")),
        (
            "envelope-exh-task.json",
            "exh_task_id",
            json!("6512b0c5e1f4a2000a1b2c3d"),
        ),
        (
            "envelope-exh-task.json",
            "exh_function_name",
            json!("exh-task"),
        ),
        ("envelope-sqs.json", "envelope", json!("sqs")),
        (
            "envelope-sqs.json",
            "sqs_message_ids",
            json!([
                "059f36b4-87a3-44ab-83d2-661975830a7d",
                "2e1424d4-f796-459a-8184-9c92662be6da"
            ]),
        ),
        (
            // Its second record asks for an unknown user: answered 404, so
            // it is in batchItemFailures, and the log says which it was.
            "envelope-sqs.json",
            "sqs_failed_message_ids",
            json!(["2e1424d4-f796-459a-8184-9c92662be6da"]),
        ),
        (
            "envelope-exh-api-function.json",
            "envelope",
            json!("exh_api_function"),
        ),
        (
            "envelope-exh-api-function.json",
            "requesting_user_id",
            json!("5a0b2adc265ced65a8cab862"),
        ),
        (
            "envelope-exh-api-function.json",
            "http_request_id",
            json!("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
        ),
        (
            "envelope-apigateway-http.json",
            "envelope",
            json!("api_gateway_http"),
        ),
        (
            "envelope-apigateway-http.json",
            "http_request_id",
            json!("JKJaXmPLvHcESHA="),
        ),
        (
            "envelope-apigateway-rest.json",
            "envelope",
            json!("api_gateway_rest"),
        ),
        (
            "envelope-function-url.json",
            "envelope",
            json!("function_url"),
        ),
        (
            "envelope-eventbridge-scheduler.json",
            "envelope",
            json!("eventbridge"),
        ),
        (
            "envelope-eventbridge-scheduler.json",
            "eventbridge_id",
            json!("53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"),
        ),
    ];
    for (name, field, value) in expected {
        let summary = by_sample(name);
        assert_eq!(summary[field], value, "{field} of {name}: {summary}");
    }
    let task = by_sample("envelope-exh-task.json");
    let call = &task["calls"][0];
    assert_eq!(
        (&call["path"], &call["status"]),
        (&json!("/users/v1/"), &json!(200)),
        "{task}"
    );

    let me = summaries[direct];
    assert_eq!(me["envelope"], "direct");
    assert_eq!(
        (&me["ok"], &me["requests"]),
        (&json!(true), &json!(["exh"]))
    );
    let listed = summaries[direct + 1];
    assert_eq!(
        listed["calls"][0]["path"], "/users/v1/",
        "the RQL stays out: {listed}"
    );
    let unknown = summaries[direct + 2];
    assert_eq!(
        unknown["ok"], false,
        "a 404 is an answer, not ok: {unknown}"
    );
    assert_eq!(unknown["calls"][0]["status"], 404, "{unknown}");
    assert!(unknown.get("errorType").is_none(), "{unknown}");
    let refused = summaries[direct + 3];
    let (error_type, _) = invocations[direct + 3].clone().expect_error();
    assert_eq!(refused["errorType"], error_type.as_str(), "{refused}");
    assert_eq!(refused["errors"][&error_type], 1, "{refused}");
    assert_eq!(refused["calls"], json!([]), "{refused}");
    let hexonet = summaries[direct + 4];
    let call = &hexonet["calls"][0];
    assert_eq!(
        (&call["side"], &call["command"], &call["code"]),
        (&json!("hexonet"), &json!("StatusAccount"), &json!(200))
    );

    // Errors that are answered: a batch item's, an SQS record's. Each has
    // its WARN line, and the summary counts it, without an errorType of
    // its own (the invocation did not fail).
    for (index, failed_id) in [
        (direct + 5, None),
        (direct + 6, Some("2e1424d4-f796-459a-8184-9c92662be6da")),
    ] {
        let summary = summaries[index];
        assert_eq!(summary["errors"], json!({"InvalidEvent": 1}), "{summary}");
        assert!(summary.get("errorType").is_none(), "{summary}");
        let warnings: Vec<&Value> = lines
            .iter()
            .filter(|line| is_message_of(line, "request failed", &invocations[index].request_id))
            .collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(
            (&warnings[0]["level"], &warnings[0]["fields"]["errorType"]),
            (&json!("WARN"), &json!("InvalidEvent"))
        );
        if let Some(id) = failed_id {
            assert_eq!(warnings[0]["message_id"], id, "{}", warnings[0]);
        }
    }

    // 2500 domains at LIMIT 1000: three pages, three calls.
    let paged = summaries[direct + 7];
    assert_eq!(
        (&paged["pages"], &paged["upstream_calls"]),
        (&json!(3), &json!(3)),
        "{paged}"
    );

    let cold: Vec<_> = summaries
        .iter()
        .filter(|summary| summary["cold_start"] == true)
        .collect();
    assert_eq!(cold.len(), 1, "only the first invocation is a cold start");
    assert_errors_are_fields(&lines);
    let refusal_lines = lines.iter().filter(|line| {
        is_message_of(
            line,
            "invocation failed",
            &invocations[direct + 3].request_id,
        )
    });
    assert_eq!(
        refusal_lines.count(),
        1,
        "one error line for the refused event"
    );
    // The sample's RQL, the test's RQL values, and the users' e-mail
    // addresses in the answers' bodies.
    assert_absent(&lines, &["select(", "limit(3)", "*leak*", "email", "s_pw"]);
    function.assert_no_secret_in_output();

    let documents = emf_documents(&lines);
    assert_eq!(
        metric_sum(&documents, None, "Invocations"),
        invocations.len() as u64
    );
    assert_eq!(metric_sum(&documents, None, "ColdStarts"), 1);
    assert_eq!(metric_sum(&documents, None, "Errors.InvalidEvent"), 3);
    let exh_calls: u64 = summaries
        .iter()
        .map(|s| {
            s["calls"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["side"] == "exh")
                .count() as u64
        })
        .sum();
    assert_eq!(
        metric_sum(&documents, Some("exh"), "UpstreamCalls"),
        exh_calls
    );
    assert_eq!(
        metric_sum(&documents, Some("hexonet"), "HexonetCode.200"),
        4
    );
    assert_eq!(metric_sum(&documents, Some("hexonet"), "PagesFetched"), 3);
    assert!(documents
        .iter()
        .all(|document| document["FunctionName"] == runtime.function_name()));
}

async fn a_503_then_an_answer_is_one_call_of_two_attempts_in_the_line_and_the_metrics(mode: Mode) {
    let upstream = Upstream::start(Behaviour::UnavailableOnce).await;
    let secrets: Secrets = vec![
        ("API_OAUTH_CONSUMER_KEY", "telemetry-key".into()),
        ("API_OAUTH_CONSUMER_SECRET", "telemetry-secret".into()),
        ("API_OAUTH_TOKEN", "telemetry-token".into()),
        ("API_OAUTH_TOKEN_SECRET", "telemetry-token-secret".into()),
        ("HEXONET_PASSWORD", "telemetry-hexonet-password".into()),
    ];
    let runtime = RuntimeApi::start().await;
    let function = observed(mode.function(&runtime), &[])
        .env("HEXONET_LOGIN", "me")
        .env("HEXONET_URL", format!("{}{HEXONET_PATH}", upstream.url));
    let mut function = with_secrets(function, &upstream.url, &secrets).spawn();

    // One after the other, so the 503 is the Extra Horizon call's.
    let first = runtime
        .invoke(
            Invoke::new(json!({"exh": {"path": "/users/v1/", "query": {"email": "a@b.example"}}}))
                .trace_id(trace_id(0)),
            BOUND,
        )
        .await;
    let second = runtime
        .invoke(
            Invoke::new(json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}))
                .trace_id(trace_id(1)),
            BOUND,
        )
        .await;
    let lines = json_lines(&mut function);

    let retried = summary_of(&lines, &first, 0);
    assert_eq!(retried["ok"], true, "{retried}");
    assert_eq!(retried["retries"], 1, "{retried}");
    let call = &retried["calls"][0];
    assert_eq!(
        (&call["status"], &call["attempts"]),
        (&json!(200), &json!(2)),
        "{call}"
    );
    let hexonet = summary_of(&lines, &second, 1);
    assert_eq!(hexonet["calls"][0]["code"], 200, "{hexonet}");
    assert_eq!(hexonet["retries"], 0, "{hexonet}");

    let documents = emf_documents(&lines);
    assert_eq!(metric_sum(&documents, Some("exh"), "UpstreamCalls"), 1);
    assert_eq!(metric_sum(&documents, Some("exh"), "Retries"), 1);
    assert_eq!(metric_sum(&documents, Some("hexonet"), "Retries"), 0);
    assert_eq!(
        metric_sum(&documents, Some("hexonet"), "HexonetCode.200"),
        1
    );
    let latencies: BTreeMap<&str, usize> = documents
        .iter()
        .filter_map(|document| {
            Some((
                document["Side"].as_str()?,
                document["UpstreamLatency"].as_array()?.len(),
            ))
        })
        .collect();
    assert_eq!(latencies, BTreeMap::from([("exh", 1), ("hexonet", 1)]));
    assert_absent(&lines, &["a@b.example", "a%40b.example"]);
    assert_errors_are_fields(&lines);
    function.assert_no_secret_in_output();
}

/// EMF takes at most 100 values per metric (and 100 metrics per
/// directive): a batch of 250 calls, one latency each, is spread over
/// documents that keep within the specification and together count
/// every call once.
async fn more_than_a_hundred_calls_are_spread_over_documents_within_the_emf_limits(mode: Mode) {
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("the sandbox starts on 127.0.0.1");
    let runtime = RuntimeApi::start().await;
    let mut function = observed(mode.function(&runtime), &sandbox.env()).spawn();
    const CALLS: usize = 250;
    let batch = json!({"batch": vec![json!({}); CALLS], "concurrency": 16});
    let invocation = runtime
        .invoke(Invoke::new(batch).trace_id(trace_id(0)), BOUND)
        .await;
    let lines = json_lines(&mut function);
    assert_eq!(summary_of(&lines, &invocation, 0)["upstream_calls"], CALLS);

    let documents = emf_documents(&lines);
    assert_eq!(metric_sum(&documents, None, "Invocations"), 1);
    assert_eq!(
        metric_sum(&documents, Some("exh"), "UpstreamCalls"),
        CALLS as u64
    );
    let latencies: usize = documents
        .iter()
        .filter(|document| document["Side"] == "exh")
        .filter_map(|document| document["UpstreamLatency"].as_array())
        .map(Vec::len)
        .sum();
    assert_eq!(latencies, CALLS);
    function.assert_no_secret_in_output();
}

/// An id an event carries is cut to 128 characters on every line that
/// names it, not only on the summary: a batch's error lines carry the
/// API function's requesting user, an SQS record's its `messageId`. The
/// answer still names the record by its id exactly.
#[tokio::test]
async fn overlong_ids_are_cut_on_every_line_and_exact_in_the_answer() {
    let runtime = RuntimeApi::start().await;
    let mut function = observed(Mode::Sequential.function(&runtime), &[]).spawn();
    let long = |letter: char| letter.to_string().repeat(50_000);
    let bad_items = json!({"batch": [{"exh": {"path": "x"}}, {"exh": {"path": "y"}}]});
    let mut api_function = read_sample("envelope-exh-api-function.json");
    api_function["headers"]["x-exh-requesting-user-id"] = json!(long('u'));
    api_function["body"] = json!(bad_items.to_string());
    api_function["isBase64Encoded"] = json!(false);
    let mut sqs = read_sample("envelope-sqs.json");
    sqs["Records"][0]["messageId"] = json!(long('m'));
    sqs["Records"][0]["body"] = json!("not json");
    let invocations = runtime
        .invoke_all(traced(vec![api_function, sqs]), BOUND)
        .await;
    let answers: Vec<Value> = invocations
        .into_iter()
        .map(Invocation::expect_response)
        .collect();
    assert_eq!(
        answers[1]["batchItemFailures"][0]["itemIdentifier"],
        long('m')
    );
    let lines = json_lines(&mut function);
    assert!(
        warned(&lines) >= 3,
        "the items' and the record's error lines: {lines:?}"
    );
    for line in &lines {
        let text = line.to_string();
        for letter in ['u', 'm'] {
            assert!(
                !text.contains(&letter.to_string().repeat(129)),
                "an id of over 128 characters in {}…",
                &text[..300.min(text.len())]
            );
        }
    }
}

/// A configured secret that an event quotes (pasted into the wrong field,
/// so the error message repeats it) is masked on every line: the error
/// lines of a batch's items and of SQS records too, not only the
/// invocation's own error and the answer.
#[tokio::test]
async fn a_secret_an_event_quotes_is_masked_on_every_error_line() {
    const SECRET: &str = "telemetry-pasted-secret-of-the-token";
    let secrets: Secrets = vec![
        ("API_OAUTH_CONSUMER_KEY", "telemetry-quoted-key".into()),
        (
            "API_OAUTH_CONSUMER_SECRET",
            "telemetry-quoted-secret".into(),
        ),
        ("API_OAUTH_TOKEN", "telemetry-quoted-token".into()),
        ("API_OAUTH_TOKEN_SECRET", SECRET.into()),
    ];
    let runtime = RuntimeApi::start().await;
    let function = observed(Mode::Sequential.function(&runtime), &[]);
    let mut function = with_secrets(function, "http://127.0.0.1:9", &secrets).spawn();
    // `all_pages` takes a boolean: the error quotes the string it got.
    let quoting = json!({"exh": {"path": "/users/v1/", "all_pages": SECRET}});
    let batch = json!({"batch": [quoting.clone(), quoting.clone()]});
    let mut sqs = read_sample("envelope-sqs.json");
    sqs["Records"][0]["body"] = json!(quoting.to_string());
    sqs["Records"][1]["body"] = json!(batch.to_string());
    let invocations = runtime
        .invoke_all(traced(vec![quoting, batch, sqs]), BOUND)
        .await;
    for invocation in &invocations {
        assert!(!invocation.body.contains(SECRET), "{}", invocation.body);
    }
    let lines = json_lines(&mut function);
    assert!(
        warned(&lines) >= 4,
        "the items' and the records' error lines: {lines:?}"
    );
    for line in &lines {
        assert!(!line.to_string().contains(SECRET), "{line}");
    }
    function.assert_no_secret_in_output();
}

/// An error that quotes a megabyte of its event (a string where a boolean
/// belongs) is cut in its middle wherever it leaves: every log line stays
/// far below CloudWatch's 256 KiB event limit (beyond it a line is split,
/// and no longer JSON), and the message still ends by naming the problem.
#[tokio::test]
async fn an_error_quoting_megabytes_of_the_event_is_cut_and_still_names_the_problem() {
    const LINE_BYTES: usize = 256 * 1024;
    let runtime = RuntimeApi::start().await;
    let mut function = observed(Mode::Sequential.function(&runtime), &[]).spawn();
    // Quotes and control characters: each grows when escaped, twice on
    // the ERROR line (Debug, then JSON).
    let quoting = json!({"exh": {"path": "/users/v1/", "all_pages": "\"\u{1}".repeat(500_000)}});
    let batch = json!({"batch": [quoting.clone()]});
    let mut url = read_sample("envelope-function-url.json");
    url["body"] = json!(quoting.to_string());
    let mut sqs = read_sample("envelope-sqs.json");
    sqs["Records"][0]["body"] = json!(quoting.to_string());
    let mut invocations = runtime
        .invoke_all(traced(vec![quoting, batch, url, sqs]), BOUND)
        .await
        .into_iter();
    let (error_type, message) = invocations.next().unwrap().expect_error();
    assert_eq!(error_type, "InvalidEvent");
    assert!(message.len() < LINE_BYTES / 8, "{} bytes", message.len());
    assert!(
        message.ends_with("expected a boolean"),
        "{}",
        &message[message.len() - 100..]
    );
    let batch = invocations.next().unwrap().expect_response();
    assert_eq!(
        batch["batch"][0]["error"]["type"], "InvalidEvent",
        "{batch}"
    );
    let (status, body) = {
        let response = invocations.next().unwrap().expect_response();
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        (response["statusCode"].clone(), body)
    };
    assert_eq!(status, 400);
    let answered = body["errorMessage"].as_str().unwrap();
    assert!(
        answered.ends_with("expected a boolean"),
        "{}",
        &answered[answered.len() - 100..]
    );
    function.stop();
    let stdout = function.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    for line in &lines {
        assert!(
            line.len() < LINE_BYTES,
            "a line of {} bytes: {}…",
            line.len(),
            &line[..300]
        );
        serde_json::from_str::<Value>(line).expect("every line is JSON");
    }
    let warned = lines
        .iter()
        .filter(|line| line.contains("\"request failed\""))
        .count();
    assert!(
        warned >= 3,
        "the item's, the HTTP request's and the record's error lines"
    );
}

/// However much an invocation does, its summary is one line CloudWatch
/// takes as one event (256 KiB): an SQS batch of 3 records of 1,000
/// requests each, on paths of 2,000 characters, lists the first calls and
/// requests and counts the rest under `omitted`; the counts cover all.
#[tokio::test]
async fn the_summary_of_thousands_of_calls_on_long_paths_stays_one_cloudwatch_event() {
    const LINE_BYTES: usize = 256 * 1024;
    const CALLS: usize = 3_000;
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("the sandbox starts on 127.0.0.1");
    let runtime = RuntimeApi::start().await;
    let mut function = observed(Mode::Sequential.function(&runtime), &sandbox.env()).spawn();
    let path = format!("/users/v1/{}", "p".repeat(2_000));
    let batch = json!({"batch": vec![json!({"exh": {"path": path}}); 1_000], "concurrency": 16});
    let mut sqs = read_sample("envelope-sqs.json");
    let template = sqs["Records"][0].clone();
    sqs["Records"] = (0..3)
        .map(|index| {
            let mut record = template.clone();
            record["messageId"] = json!(format!("record-{index}"));
            record["body"] = json!(batch.to_string());
            record
        })
        .collect();
    let invocation = runtime
        .invoke(Invoke::new(sqs).trace_id(trace_id(0)), BOUND)
        .await;
    let lines = json_lines(&mut function);
    let summary = summary_of(&lines, &invocation, 0);
    assert_eq!(summary["upstream_calls"], CALLS);
    let listed = summary["calls"].as_array().unwrap().len();
    assert!(listed < CALLS, "{listed} calls listed");
    assert_eq!(summary["omitted"]["calls"], CALLS - listed);
    let requests = summary["requests"].as_array().unwrap().len();
    assert_eq!(summary["omitted"]["requests"], CALLS - requests);
    assert_eq!(
        summary["sqs_failed_message_ids"].as_array().unwrap().len(),
        3
    );
    for call in summary["calls"].as_array().unwrap() {
        let path = call["path"].as_str().unwrap();
        assert!(
            path.chars().count() <= 257,
            "a path of {} characters",
            path.len()
        );
    }
    for line in &lines {
        let bytes = line.to_string().len();
        assert!(bytes < LINE_BYTES, "a line of {bytes} bytes");
    }
}

#[tokio::test]
async fn text_logs_are_one_readable_line_per_invocation_and_metrics_are_off_by_default() {
    let runtime = RuntimeApi::start().await;
    let mut function = Mode::Sequential.function(&runtime).spawn();
    let (error_type, _) = runtime
        .invoke(json!({"exh": {"path": "//evil"}}), BOUND)
        .await
        .expect_error();
    function.stop();
    let stdout = function.stdout();
    let summaries: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains(" invocation ") && line.contains("cold_start="))
        .collect();
    assert_eq!(summaries.len(), 1, "{stdout}");
    let summary = summaries[0];
    assert!(summary.contains("INFO"), "{summary}");
    assert!(
        summary.contains(&format!("errorType=\"{error_type}\"")),
        "{summary}"
    );
    assert!(summary.contains("requestId="), "{summary}");
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains("ERROR"))
        .collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    assert!(failed[0].contains("errorType=\"InvalidEvent\""), "{stdout}");
    assert!(!stdout.contains("InvalidEvent("), "a Debug form: {stdout}");
    assert!(
        !stdout.contains("\"_aws\""),
        "metrics without EXH_TASK_METRICS_NAMESPACE: {stdout}"
    );
}

#[tokio::test]
async fn the_lambda_log_level_hides_summaries_but_not_errors_their_ids_nor_metrics() {
    let runtime = RuntimeApi::start().await;
    // The level Lambda's advanced logging controls set (ApplicationLogLevel).
    let mut function = observed(Mode::Sequential.function(&runtime), &[])
        .env("AWS_LAMBDA_LOG_LEVEL", "ERROR")
        .spawn();
    let invocations = runtime
        .invoke_all(
            traced(vec![json!({"exh": {"path": "//evil"}}), json!({})]),
            BOUND,
        )
        .await;
    let lines = json_lines(&mut function);

    let logged: Vec<&Value> = lines.iter().filter(|line| !is_emf(line)).collect();
    assert_eq!(logged.len(), 2, "only the two ERROR lines: {logged:?}");
    for (line, invocation) in logged.iter().zip(&invocations) {
        assert_eq!(line["level"], "ERROR", "{line}");
        assert!(
            is_message_of(line, "invocation failed", &invocation.request_id),
            "{line}"
        );
    }
    let documents = emf_documents(&lines);
    assert_eq!(metric_sum(&documents, None, "Invocations"), 2);
    assert_eq!(metric_sum(&documents, None, "Errors.InvalidEvent"), 1);
    assert_eq!(metric_sum(&documents, None, "Errors.MissingConfig"), 1);
}
