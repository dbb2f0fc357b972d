//! End-to-end tests of every envelope through the real `bootstrap` binary,
//! under the Lambda Runtime API emulator in `tests/support`, in both runtime
//! modes (sequential and `AWS_LAMBDA_MAX_CONCURRENCY=4`).
//!
//! - Every sample `events/envelope-*.json` against the sandbox gets the
//!   answer its envelope expects: a plain result, an HTTP response, or SQS
//!   `batchItemFailures`.
//! - Each HTTP envelope answers each error with its status and a JSON
//!   `{"errorType", "errorMessage"}` body; an Extra Horizon API function
//!   always answers within 200–499.
//! - SQS names exactly the records that failed (an error, or a result that
//!   is not ok), and refused records never reach the upstream.
//! - A FIFO queue's records run in order; the first that fails and every
//!   record after it are failed back, and those after it never run.
//! - The plain envelopes (Extra Horizon task, EventBridge) fail as Lambda
//!   errors; an event of no accepted shape says which shapes are accepted.
//! - Over HTTP a side without an allow-list refuses every request (403)
//!   before sending anything; `/` and `*` open a side on purpose, with one
//!   warning at start-up; the other envelopes need no allow-list.
//!
//! No answer and no log line may carry a secret. Waits are bounded; nothing
//! asserts how long something took.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use exh_task::envelope::HttpKind;
use exh_task_sandbox::runtime_api::{FunctionBuilder, Invocation, Invoke, RuntimeApi};
use exh_task_sandbox::{hexonet, Sandbox, SandboxOptions};
use serde_json::{json, Value};
use support::bootstrap::{assert_no_secret_in, closed_port, in_both_modes, Mode, Secrets};
use support::events::{read_sample as sample, ENVELOPE_SAMPLES};
use support::upstream::{Behaviour, Upstream};

/// Bound for every wait; none should come near it.
const BOUND: Duration = Duration::from_secs(20);

/// The function timeout of invocations that are meant to time out.
const SHORT_TIMEOUT: Duration = Duration::from_millis(1500);

async fn start_sandbox() -> Sandbox {
    Sandbox::start(SandboxOptions::default())
        .await
        .expect("the sandbox starts on 127.0.0.1")
}

/// Whether the sandbox variable `name` holds a secret.
fn is_secret(name: &str) -> bool {
    name.starts_with("API_OAUTH_") || name == "HEXONET_PASSWORD"
}

/// `function` configured by `vars`, the secret ones registered as secrets so
/// the output is checked for them.
fn configured(function: FunctionBuilder, vars: &[(&'static str, String)]) -> FunctionBuilder {
    vars.iter().fold(function, |function, (name, value)| {
        if is_secret(name) {
            function.secret_env(*name, value)
        } else {
            function.env(*name, value)
        }
    })
}

/// The sandbox's variables of one side: `API_*` or `HEXONET_*`.
fn side(sandbox: &Sandbox, prefix: &str) -> Vec<(&'static str, String)> {
    sandbox
        .env()
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .collect()
}

/// What the HTTP samples need: Extra Horizon's users service, and one
/// harmless HEXONET command.
fn allowing_the_samples(vars: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    let vars = replacing(vars, "EXH_ALLOWED_PATHS", "/users/v1");
    replacing(vars, "HEXONET_ALLOWED_COMMANDS", "StatusAccount")
}

/// `vars` with `name` set to `value`.
fn replacing(
    mut vars: Vec<(&'static str, String)>,
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    vars.retain(|(var, _)| *var != name);
    vars.push((name, value.to_owned()));
    vars
}

/// Every secret value in play: the sandbox's and the wrong ones tests set.
fn secrets_in(configs: &[&[(&'static str, String)]]) -> Secrets {
    configs
        .iter()
        .flat_map(|vars| vars.iter())
        .filter(|(name, _)| is_secret(name))
        .cloned()
        .collect()
}

/// The response of an invocation that must not have failed, checked for secrets.
#[track_caller]
fn response(invocation: Invocation, secrets: &Secrets) -> Value {
    assert_no_secret_in(&invocation.body, "an answer", secrets);
    invocation.expect_response()
}

/// Fails unless `result` is `{"ok": true, "exh": {"status": 200, ...}}`; returns the body.
#[track_caller]
fn ok_body(result: &Value) -> &Value {
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["exh"]["status"], 200, "{result}");
    &result["exh"]["body"]
}

// ------------------------------------------------------------------------
// HTTP envelopes
// ------------------------------------------------------------------------

const HTTP_ENVELOPES: [HttpKind; 4] = [
    HttpKind::ApiGatewayRest,
    HttpKind::ApiGatewayHttp,
    HttpKind::FunctionUrl,
    HttpKind::ExhApiFunction,
];

/// What an HTTP envelope's body carries.
#[derive(Clone, Debug)]
enum Body {
    /// A request, as JSON text.
    Json(Value),
    /// A request, as base64 of its JSON text (`isBase64Encoded`).
    Base64(Value),
    /// Any text, as it is.
    Text(&'static str),
    /// Any text claimed to be base64.
    ClaimedBase64(&'static str),
}

/// The sample of an HTTP envelope.
fn sample_of(kind: HttpKind) -> &'static str {
    match kind {
        HttpKind::ApiGatewayRest => "envelope-apigateway-rest.json",
        HttpKind::ApiGatewayHttp => "envelope-apigateway-http.json",
        HttpKind::FunctionUrl => "envelope-function-url.json",
        HttpKind::ExhApiFunction => "envelope-exh-api-function.json",
    }
}

/// The sample of `kind` with `body` in place of the sample's.
fn carrying(kind: HttpKind, body: &Body) -> Value {
    let (text, base64) = match body {
        Body::Json(request) => (request.to_string(), false),
        Body::Base64(request) => (
            base64::engine::general_purpose::STANDARD.encode(request.to_string()),
            true,
        ),
        Body::Text(text) => (text.to_string(), false),
        Body::ClaimedBase64(text) => (text.to_string(), true),
    };
    let mut event = sample(sample_of(kind));
    event["body"] = json!(text);
    event["isBase64Encoded"] = json!(base64);
    event
}

/// The status `kind` answers for `error_type` (`None`: a result).
/// The contract: 400 for a bad event, 403 for an allow-list refusal,
/// 500 for a misconfigured function, 502 / 504 for upstream failures;
/// Extra Horizon API functions stay within 200–499, so 424 there.
fn expected_status(kind: HttpKind, error_type: Option<&str>) -> u16 {
    let status = match error_type {
        None => 200,
        Some("InvalidEvent") => 400,
        Some("Forbidden") => 403,
        Some("MissingConfig") => 500,
        Some("Timeout") => 504,
        Some("Unauthorized" | "Transport" | "InvalidResponse") => 502,
        Some(other) => panic!("no status for {other}"),
    };
    if kind == HttpKind::ExhApiFunction && status >= 500 {
        424
    } else {
        status
    }
}

/// `(status, body)` of an HTTP response, after checking its shape: a JSON
/// body, said so in `content-type`, not base64.
#[track_caller]
fn http_answer(response: &Value) -> (u16, Value) {
    let status = response["statusCode"]
        .as_u64()
        .unwrap_or_else(|| panic!("no statusCode in {response}")) as u16;
    assert_eq!(
        response["headers"]["content-type"], "application/json",
        "{response}"
    );
    assert_eq!(response["isBase64Encoded"], false, "{response}");
    let body = response["body"]
        .as_str()
        .unwrap_or_else(|| panic!("no text body in {response}"));
    let body = serde_json::from_str(body)
        .unwrap_or_else(|error| panic!("the body is not JSON ({error}): {body}"));
    (status, body)
}

/// The functions of the HTTP status scenario, by what they are set up to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    /// Extra Horizon on the sandbox, no HEXONET.
    Served,
    /// Wrong secrets for both sides.
    Refused,
    /// Extra Horizon on a closed port, HEXONET answering what is not HEXONET.
    Broken,
    /// Extra Horizon never answering.
    ///
    /// Every setup allows what the samples need ([`allowing_the_samples`]).
    Stalled,
}

/// One request in every HTTP envelope, and what each must answer.
struct HttpCase {
    what: &'static str,
    setup: Setup,
    body: Body,
    /// `None`: a result (`Some(ok)` of it); otherwise the error type.
    error_type: Option<&'static str>,
    ok: bool,
}

fn http_cases() -> Vec<HttpCase> {
    let case = |what, setup, body, error_type: Option<&'static str>, ok| HttpCase {
        what,
        setup,
        body,
        error_type,
        ok,
    };
    vec![
        case(
            "the current user",
            Setup::Served,
            Body::Json(json!({})),
            None,
            true,
        ),
        case("an empty body", Setup::Served, Body::Text(""), None, true),
        case(
            "a base64 request",
            Setup::Served,
            Body::Base64(json!({"exh": {"path": "/users/v1/me"}})),
            None,
            true,
        ),
        case(
            "an unknown user",
            Setup::Served,
            Body::Json(json!({"exh": {"path": "/users/v1/no-such-user"}})),
            None,
            false,
        ),
        case(
            "a path naming another host",
            Setup::Served,
            Body::Json(json!({"exh": {"path": "//evil.example/x"}})),
            Some("InvalidEvent"),
            false,
        ),
        case(
            "a body that is not JSON",
            Setup::Served,
            Body::Text("{\"exh\": "),
            Some("InvalidEvent"),
            false,
        ),
        case(
            "a body that is not base64",
            Setup::Served,
            Body::ClaimedBase64("not base64!"),
            Some("InvalidEvent"),
            false,
        ),
        case(
            "an unknown shape",
            Setup::Served,
            Body::Json(json!({"command": "StatusAccount"})),
            Some("InvalidEvent"),
            false,
        ),
        case(
            "a path outside the allow-list",
            Setup::Served,
            Body::Json(json!({"exh": {"path": "/tasks/v1/"}})),
            Some("Forbidden"),
            false,
        ),
        case(
            "an unconfigured side",
            Setup::Served,
            Body::Json(json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}})),
            Some("MissingConfig"),
            false,
        ),
        case(
            "a wrong OAuth1 secret",
            Setup::Refused,
            Body::Json(json!({})),
            Some("Unauthorized"),
            false,
        ),
        case(
            "a wrong HEXONET password",
            Setup::Refused,
            Body::Json(json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}})),
            Some("Unauthorized"),
            false,
        ),
        case(
            "a closed port",
            Setup::Broken,
            Body::Json(json!({})),
            Some("Transport"),
            false,
        ),
        case(
            "an answer that is not HEXONET's",
            Setup::Broken,
            Body::Json(json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}})),
            Some("InvalidResponse"),
            false,
        ),
        case(
            "a silent upstream",
            Setup::Stalled,
            Body::Json(json!({})),
            Some("Timeout"),
            false,
        ),
    ]
}

// ------------------------------------------------------------------------
// Scenarios
// ------------------------------------------------------------------------

in_both_modes!(
    http_callers_need_an_allow_list_for_each_side_and_nothing_is_sent_without_one,
    a_side_opened_on_purpose_serves_http_callers_and_says_so_once,
    every_sample_envelope_gets_the_answer_its_envelope_expects,
    each_http_envelope_answers_each_error_with_its_status_and_a_json_body,
    sqs_names_exactly_the_records_that_failed_and_refused_ones_never_reach_upstream,
    a_fifo_queue_keeps_its_order_the_records_after_a_failure_are_not_run_and_failed_back,
    plain_envelopes_fail_as_lambda_errors_and_unknown_shapes_name_the_accepted_ones,
);

/// A request for each side, and a batch of both, as an HTTP caller sends them.
fn requests_for_both_sides() -> [Value; 3] {
    [
        json!({"exh": {"path": "/users/v1/me"}}),
        json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
        json!({"batch": [{}, {"hexonet": {"command": {"COMMAND": "StatusAccount"}}}]}),
    ]
}

/// Both sides pointed at `upstream`, which answers as the APIs would.
fn both_sides_on(upstream: &Upstream) -> Vec<(&'static str, String)> {
    vec![
        ("API_HOST", upstream.url.clone()),
        ("API_OAUTH_CONSUMER_KEY", "e2e-consumer-key".into()),
        ("API_OAUTH_CONSUMER_SECRET", "e2e-consumer-secret".into()),
        ("API_OAUTH_TOKEN", "e2e-token".into()),
        ("API_OAUTH_TOKEN_SECRET", "e2e-token-secret".into()),
        ("HEXONET_URL", format!("{}{}", upstream.url, hexonet::PATH)),
        ("HEXONET_LOGIN", "e2e-login".into()),
        ("HEXONET_PASSWORD", "e2e-hexonet-password".into()),
    ]
}

async fn http_callers_need_an_allow_list_for_each_side_and_nothing_is_sent_without_one(mode: Mode) {
    let upstream = Upstream::start(Behaviour::Api).await;
    let vars = both_sides_on(&upstream);
    let secrets = secrets_in(&[&vars]);
    let exh_only = replacing(vars.clone(), "EXH_ALLOWED_PATHS", "/users/v1/me");
    let runtime = RuntimeApi::start().await;
    let mut function = configured(mode.function(&runtime), &vars).spawn();
    let open_runtime = RuntimeApi::start().await;
    let mut exh_only_function = configured(mode.function(&open_runtime), &exh_only).spawn();

    let over_http: Vec<(HttpKind, Value)> = HTTP_ENVELOPES
        .into_iter()
        .flat_map(|kind| requests_for_both_sides().map(|request| (kind, request)))
        .collect();
    let events = over_http
        .iter()
        .map(|(kind, request)| carrying(*kind, &Body::Json(request.clone())));
    for ((kind, request), invocation) in over_http
        .iter()
        .zip(runtime.invoke_all(events, BOUND).await)
    {
        let (status, body) = http_answer(&response(invocation, &secrets));
        // A batch is answered (200), each of its items refused on its own.
        let expected = if request.get("batch").is_some() {
            200
        } else {
            403
        };
        assert_eq!(status, expected, "{request} in {kind:?}: {body}");
        let refusals: Vec<&Value> = match body.get("batch") {
            Some(items) => items
                .as_array()
                .unwrap()
                .iter()
                .map(|item| &item["error"])
                .collect(),
            None => vec![&body],
        };
        for refusal in refusals {
            let error_type = refusal.get("errorType").or(refusal.get("type"));
            assert_eq!(
                error_type,
                Some(&json!("Forbidden")),
                "{request} in {kind:?}: {body}"
            );
            let message = refusal
                .get("errorMessage")
                .or(refusal.get("message"))
                .unwrap();
            let names_its_variable = ["EXH_ALLOWED_PATHS", "HEXONET_ALLOWED_COMMANDS"]
                .iter()
                .any(|variable| message.as_str().unwrap().contains(variable));
            assert!(names_its_variable, "{request} in {kind:?}: {body}");
        }
    }
    assert_eq!(
        upstream.requests(),
        0,
        "a refused request was sent: {:?}",
        upstream.seen()
    );

    // With an allow-list for one side, that side serves what it covers and
    // the other still refuses.
    let events = HTTP_ENVELOPES
        .map(|kind| carrying(kind, &Body::Json(requests_for_both_sides()[2].clone())));
    for (kind, invocation) in HTTP_ENVELOPES
        .iter()
        .zip(open_runtime.invoke_all(events, BOUND).await)
    {
        let (status, body) = http_answer(&response(invocation, &secrets));
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert_eq!(body["batch"][0]["ok"], true, "{kind:?}: {body}");
        assert_eq!(
            body["batch"][1]["error"]["type"], "Forbidden",
            "{kind:?}: {body}"
        );
    }
    let seen = upstream.seen();
    assert_eq!(seen.len(), HTTP_ENVELOPES.len(), "{seen:?}");
    assert!(
        seen.iter().all(|request| request.target == "/users/v1/me"),
        "{seen:?}"
    );

    // Whoever invokes the function directly, as a task, through EventBridge
    // or SQS already holds its permissions: no allow-list needed.
    let mut scheduled = sample("envelope-eventbridge-scheduler.json");
    scheduled["detail"] = requests_for_both_sides()[1].clone();
    let mut task = sample("envelope-exh-task.json");
    task["data"] = requests_for_both_sides()[0].clone();
    let mut queued = sample("envelope-sqs.json");
    queued["Records"][1]["body"] = json!(requests_for_both_sides()[2].to_string());
    let plain = [
        requests_for_both_sides()[2].clone(),
        scheduled,
        task,
        queued,
    ];
    let answers: Vec<Value> = runtime
        .invoke_all(plain, BOUND)
        .await
        .into_iter()
        .map(|invocation| response(invocation, &secrets))
        .collect();
    assert_eq!(answers[0]["ok"], true, "{}", answers[0]);
    assert_eq!(answers[1]["ok"], true, "{}", answers[1]);
    assert_eq!(answers[2]["ok"], true, "{}", answers[2]);
    assert_eq!(
        answers[3],
        json!({"batchItemFailures": []}),
        "{}",
        answers[3]
    );
    assert_eq!(upstream.requests(), HTTP_ENVELOPES.len() + 2 + 1 + 1 + 3);

    for (runtime, function) in [
        (&runtime, &mut function),
        (&open_runtime, &mut exh_only_function),
    ] {
        runtime.assert_no_rejections();
        function.stop();
        function.assert_no_secret_in_output();
    }
}

async fn a_side_opened_on_purpose_serves_http_callers_and_says_so_once(mode: Mode) {
    let upstream = Upstream::start(Behaviour::Api).await;
    let vars = replacing(
        replacing(both_sides_on(&upstream), "EXH_ALLOWED_PATHS", "/"),
        "HEXONET_ALLOWED_COMMANDS",
        "*",
    );
    let secrets = secrets_in(&[&vars]);
    let runtime = RuntimeApi::start().await;
    let mut function = configured(mode.function(&runtime), &vars).spawn();
    let anywhere = json!({"batch": [
        {"exh": {"path": "/tasks/v1/functions/admin/execute", "method": "POST", "body": {}}},
        {"hexonet": {"command": {"COMMAND": "DeleteDomain", "DOMAIN": "a.com"}}},
    ]});
    let events = HTTP_ENVELOPES.map(|kind| carrying(kind, &Body::Json(anywhere.clone())));
    for (kind, invocation) in HTTP_ENVELOPES
        .iter()
        .zip(runtime.invoke_all(events, BOUND).await)
    {
        let (status, body) = http_answer(&response(invocation, &secrets));
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert!(body["batch"][0].get("exh").is_some(), "{kind:?}: {body}");
        assert!(
            body["batch"][1].get("hexonet").is_some(),
            "{kind:?}: {body}"
        );
    }
    assert_eq!(upstream.requests(), 2 * HTTP_ENVELOPES.len());
    function.stop();
    let output = function.stderr() + &function.stdout();
    for warning in [
        "EXH_ALLOWED_PATHS lets every Extra Horizon path through",
        "HEXONET_ALLOWED_COMMANDS lets every HEXONET command through",
    ] {
        assert_eq!(
            output.matches(warning).count(),
            1,
            "{warning:?} in {output}"
        );
    }
    runtime.assert_no_rejections();
    function.assert_no_secret_in_output();
}

async fn every_sample_envelope_gets_the_answer_its_envelope_expects(mode: Mode) {
    let on_disk: BTreeSet<String> =
        std::fs::read_dir(format!("{}/events", env!("CARGO_MANIFEST_DIR")))
            .expect("events/ can be read")
            .map(|entry| {
                entry
                    .expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.starts_with("envelope-") && name.ends_with(".json"))
            .collect();
    let covered: BTreeSet<String> = ENVELOPE_SAMPLES
        .iter()
        .map(|name| name.to_string())
        .collect();
    assert_eq!(
        on_disk, covered,
        "every envelope sample must be covered here"
    );

    let sandbox = start_sandbox().await;
    let me = sandbox.services().exh.my_user_id();
    let vars = allowing_the_samples(sandbox.env());
    let secrets = secrets_in(&[&vars]);
    let runtime = RuntimeApi::start().await;
    let mut function = configured(mode.function(&runtime), &vars).spawn();
    let answers: Vec<Value> = runtime
        .invoke_all(ENVELOPE_SAMPLES.map(sample), BOUND)
        .await
        .into_iter()
        .map(|invocation| response(invocation, &secrets))
        .collect();
    let answer = |name: &str| &answers[ENVELOPE_SAMPLES.iter().position(|s| *s == name).unwrap()];

    // API Gateway HTTP: a base64 body asking for the current user.
    let (status, body) = http_answer(answer("envelope-apigateway-http.json"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(ok_body(&body)["id"], me.as_str());

    // API Gateway REST: select(id)&limit(2).
    let (status, body) = http_answer(answer("envelope-apigateway-rest.json"));
    assert_eq!(status, 200, "{body}");
    let users = ok_body(&body)["data"].as_array().expect("a list");
    assert_eq!(users.len(), 2, "{body}");
    assert!(
        users
            .iter()
            .all(|user| user.as_object().unwrap().keys().eq(["id"])),
        "{body}"
    );

    // Function URL: a batch of two.
    let (status, body) = http_answer(answer("envelope-function-url.json"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(ok_body(&body["batch"][0])["id"], me.as_str());
    assert_eq!(
        ok_body(&body["batch"][1])["data"].as_array().map(Vec::len),
        Some(1)
    );

    // Extra Horizon API function: `{}` is the current user.
    let (status, body) = http_answer(answer("envelope-exh-api-function.json"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(ok_body(&body)["id"], me.as_str());

    // EventBridge Scheduler: the plain result of `detail`.
    let result = answer("envelope-eventbridge-scheduler.json");
    assert_eq!(ok_body(result)["id"], me.as_str());

    // Extra Horizon task: the plain result of `data`, the task's result.
    let result = answer("envelope-exh-task.json");
    let users = ok_body(result)["data"].as_array().expect("a list");
    assert_eq!(users.len(), 3, "{result}");
    assert!(
        users
            .iter()
            .all(|user| user.as_object().unwrap().keys().eq(["id", "email"])),
        "{result}"
    );

    // SQS: the second record asks for an unknown user, a result that is not ok.
    let records = sample("envelope-sqs.json");
    assert_eq!(
        *answer("envelope-sqs.json"),
        json!({"batchItemFailures": [{"itemIdentifier": records["Records"][1]["messageId"]}]})
    );

    runtime.assert_no_rejections();
    function.stop();
    function.assert_no_secret_in_output();
}

async fn each_http_envelope_answers_each_error_with_its_status_and_a_json_body(mode: Mode) {
    let sandbox = start_sandbox().await;
    let not_hexonet = Upstream::start(Behaviour::NotJson).await;
    let silent = Upstream::start(Behaviour::Never).await;
    let served = side(&sandbox, "API_");
    let refused = [
        replacing(
            side(&sandbox, "API_"),
            "API_OAUTH_TOKEN_SECRET",
            "e2e-wrong-token-secret",
        ),
        replacing(
            side(&sandbox, "HEXONET_"),
            "HEXONET_PASSWORD",
            "e2e-wrong-password",
        ),
    ]
    .concat();
    let broken = [
        replacing(
            side(&sandbox, "API_"),
            "API_HOST",
            &format!("http://127.0.0.1:{}", closed_port()),
        ),
        replacing(
            side(&sandbox, "HEXONET_"),
            "HEXONET_URL",
            &format!("{}{}", not_hexonet.url, hexonet::PATH),
        ),
    ]
    .concat();
    let stalled = replacing(side(&sandbox, "API_"), "API_HOST", &silent.url);
    let secrets = secrets_in(&[&sandbox.env(), &refused]);
    let [served, refused, broken, stalled] =
        [served, refused, broken, stalled].map(allowing_the_samples);

    let setups = [
        (Setup::Served, &served),
        (Setup::Refused, &refused),
        (Setup::Broken, &broken),
        (Setup::Stalled, &stalled),
    ];
    let mut runtimes = Vec::new();
    for (setup, vars) in setups {
        let runtime = RuntimeApi::start().await;
        let function = configured(mode.function(&runtime), vars).spawn();
        // The function before its runtime, so it is dropped (killed) first.
        runtimes.push((setup, function, runtime));
    }

    let cases = http_cases();
    // Every function gets its cases in every envelope at once.
    let mut answers = Vec::new();
    for (setup, _, runtime) in &runtimes {
        let events: Vec<(&HttpCase, HttpKind, Invoke)> = cases
            .iter()
            .filter(|case| case.setup == *setup)
            .flat_map(|case| HTTP_ENVELOPES.map(|kind| (case, kind)))
            .map(|(case, kind)| {
                let invoke = Invoke::new(carrying(kind, &case.body));
                let invoke = if case.error_type == Some("Timeout") {
                    invoke.function_timeout(SHORT_TIMEOUT)
                } else {
                    invoke
                };
                (case, kind, invoke)
            })
            .collect();
        let labels: Vec<(&HttpCase, HttpKind)> = events
            .iter()
            .map(|(case, kind, _)| (*case, *kind))
            .collect();
        let invocations =
            runtime.invoke_all(events.into_iter().map(|(_, _, invoke)| invoke), BOUND);
        answers.push((labels, invocations));
    }
    let mut seen = BTreeSet::new();
    for (labels, invocations) in answers {
        for ((case, kind), invocation) in labels.into_iter().zip(invocations.await) {
            let what = format!("{} in {kind:?}", case.what);
            assert!(
                !invocation.past_deadline,
                "{what}: answered past the deadline"
            );
            let (status, body) = http_answer(&response(invocation, &secrets));
            assert_eq!(
                status,
                expected_status(kind, case.error_type),
                "{what}: {body}"
            );
            if kind == HttpKind::ExhApiFunction {
                assert!((200..500).contains(&status), "{what}: status {status}");
            }
            match case.error_type {
                None => assert_eq!(body["ok"], case.ok, "{what}: {body}"),
                Some(error_type) => {
                    let fields: Vec<&String> =
                        body.as_object().expect("an object").keys().collect();
                    assert_eq!(fields, ["errorType", "errorMessage"], "{what}: {body}");
                    assert_eq!(body["errorType"], error_type, "{what}: {body}");
                    assert!(
                        body["errorMessage"].as_str().is_some_and(|m| !m.is_empty()),
                        "{what}"
                    );
                    seen.insert(error_type);
                }
            }
        }
    }
    assert_eq!(
        seen,
        BTreeSet::from([
            "Forbidden",
            "InvalidEvent",
            "InvalidResponse",
            "MissingConfig",
            "Timeout",
            "Transport",
            "Unauthorized"
        ]),
        "every error type is answered"
    );
    // The refusals of the served function never reached the sandbox: only
    // the results did, one request each in each envelope.
    let results = cases
        .iter()
        .filter(|case| case.setup == Setup::Served && case.error_type.is_none())
        .count();
    let reached: Vec<String> = sandbox
        .recorded_requests()
        .iter()
        .filter(|request| request.status != 401 && !request.target.starts_with(hexonet::PATH))
        .map(|request| request.target.clone())
        .collect();
    assert_eq!(reached.len(), results * HTTP_ENVELOPES.len(), "{reached:?}");
    assert!(
        reached
            .iter()
            .all(|target| target.starts_with("/users/v1/")),
        "{reached:?}"
    );

    for (_, mut function, runtime) in runtimes {
        runtime.assert_no_rejections();
        function.stop();
        function.assert_no_secret_in_output();
    }
}

async fn sqs_names_exactly_the_records_that_failed_and_refused_ones_never_reach_upstream(
    mode: Mode,
) {
    let sandbox = start_sandbox().await;
    let vars = [
        sandbox.env(),
        vec![
            ("EXH_ALLOWED_PATHS", "/users/v1".to_owned()),
            (
                "HEXONET_ALLOWED_COMMANDS",
                "StatusAccount, StatusDomain".to_owned(),
            ),
        ],
    ]
    .concat();
    let secrets = secrets_in(&[&vars]);
    let runtime = RuntimeApi::start().await;
    let mut function = configured(mode.function(&runtime), &vars).spawn();
    let hexonet = |command: Value| json!({"hexonet": {"command": command}}).to_string();
    let exh = |path: &str| json!({"exh": {"path": path}}).to_string();
    // (messageId, body, upstream requests it makes, whether it fails)
    let records: Vec<(&str, String, usize, bool)> = vec![
        ("good-current-user", "{}".into(), 1, false),
        ("good-empty-body", "".into(), 1, false),
        (
            "good-hexonet",
            hexonet(json!({"COMMAND": "StatusAccount"})),
            1,
            false,
        ),
        (
            "good-batch",
            json!({"batch": [{}, {"exh": {"path": "/users/v1/", "rql": "limit(2)"}}]}).to_string(),
            2,
            false,
        ),
        ("bad-json", "{\"exh\": ".into(), 0, true),
        ("bad-shape", "[1, 2]".into(), 0, true),
        (
            "refused-dot-segment",
            exh("/users/v1/%2e%2e/tasks/v1/"),
            0,
            true,
        ),
        ("refused-path", exh("/tasks/v1/"), 0, true),
        (
            "refused-command",
            hexonet(json!({"COMMAND": "DeleteDomain", "DOMAIN": "e2e.com"})),
            0,
            true,
        ),
        (
            "failing-unknown-user",
            exh("/users/v1/no-such-user"),
            1,
            true,
        ),
        (
            "failing-unknown-domain",
            hexonet(json!({"COMMAND": "StatusDomain", "DOMAIN": "not-registered-e2e.com"})),
            1,
            true,
        ),
        (
            "failing-batch-item",
            json!({"batch": [{}, {"exh": {"path": "//evil.example"}}]}).to_string(),
            1,
            true,
        ),
    ];
    let event = json!({"Records": records.iter().map(|(id, body, _, _)| json!({
        "messageId": id, "receiptHandle": "h", "body": body, "attributes": {}, "messageAttributes": {},
        "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:exh-task-queue", "awsRegion": "eu-west-1"
    })).collect::<Vec<_>>()});
    // The same batch twice, so in concurrent mode two are in flight together.
    let answers = runtime.invoke_all([event.clone(), event], BOUND).await;

    let failing: Vec<Value> = records
        .iter()
        .filter(|(_, _, _, fails)| *fails)
        .map(|(id, _, _, _)| json!({"itemIdentifier": id}))
        .collect();
    for invocation in answers {
        assert_eq!(
            response(invocation, &secrets),
            json!({"batchItemFailures": failing})
        );
    }
    let recorded = sandbox.recorded_requests();
    let expected: usize = records.iter().map(|(_, _, requests, _)| requests).sum();
    assert_eq!(recorded.len(), 2 * expected, "{recorded:?}");
    for request in &recorded {
        let body = String::from_utf8_lossy(&request.body);
        assert!(!body.contains("DeleteDomain"), "a refused command was sent");
        assert!(
            !request.target.contains("tasks"),
            "a refused path was sent: {}",
            request.target
        );
    }
    runtime.assert_no_rejections();
    function.stop();
    function.assert_no_secret_in_output();
}

/// A FIFO queue's records are in order, and a failure must not be
/// overtaken (AWS: stop at the first failure, report it and every record
/// after it): they run one after the other, and the records after the
/// first that fails are not run but named in `batchItemFailures` too.
async fn a_fifo_queue_keeps_its_order_the_records_after_a_failure_are_not_run_and_failed_back(
    mode: Mode,
) {
    let sandbox = start_sandbox().await;
    let vars = side(&sandbox, "API_");
    let secrets = secrets_in(&[&vars]);
    let runtime = RuntimeApi::start().await;
    let mut function = configured(mode.function(&runtime), &vars).spawn();
    let record = |id: &str, path: &str, arn: &str| {
        json!({"messageId": id, "receiptHandle": "h", "body": json!({"exh": {"path": path}}).to_string(),
            "attributes": {"MessageGroupId": "g1", "SequenceNumber": "1"}, "messageAttributes": {},
            "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "eu-west-1"})
    };
    let queue = |arn: &str| {
        json!({"Records": [
            record("first", "/users/v1/me", arn),
            record("second-fails", "/users/v1/no-such-user", arn),
            record("third", "/users/v1/me", arn),
            record("fourth", "/users/v1/me", arn),
        ]})
    };
    let fifo = queue("arn:aws:sqs:eu-west-1:123456789012:exh-task-queue.fifo");
    let answer = response(runtime.invoke(fifo, BOUND).await, &secrets);
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "second-fails"},
            {"itemIdentifier": "third"}, {"itemIdentifier": "fourth"}]})
    );
    assert_eq!(
        sandbox.recorded_requests().len(),
        2,
        "the records after the failure ran"
    );

    // A standard queue has no order to keep: every record runs.
    sandbox.clear_recorded_requests();
    let standard = queue("arn:aws:sqs:eu-west-1:123456789012:exh-task-queue");
    let answer = response(runtime.invoke(standard, BOUND).await, &secrets);
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "second-fails"}]})
    );
    assert_eq!(sandbox.recorded_requests().len(), 4);
    runtime.assert_no_rejections();
    function.stop();
    function.assert_no_secret_in_output();
}

async fn plain_envelopes_fail_as_lambda_errors_and_unknown_shapes_name_the_accepted_ones(
    mode: Mode,
) {
    let sandbox = start_sandbox().await;
    let vars = replacing(side(&sandbox, "API_"), "EXH_ALLOWED_PATHS", "/users/v1");
    let secrets = secrets_in(&[&vars]);
    let runtime = RuntimeApi::start().await;
    let mut function = configured(mode.function(&runtime), &vars).spawn();
    let scheduled = |detail: Value| {
        let mut event = sample("envelope-eventbridge-scheduler.json");
        event["detail"] = detail;
        event
    };
    let task = |data: Value| {
        let mut event = sample("envelope-exh-task.json");
        event["data"] = data;
        event
    };
    // A result (whether ok) or an error (its type and what its message names).
    type Expected = Result<bool, (&'static str, &'static [&'static str])>;
    let cases: Vec<(Value, Expected)> = vec![
        (
            scheduled(json!({"exh": {"path": "/users/v1/me"}})),
            Ok(true),
        ),
        (
            task(json!({"exh": {"path": "/users/v1/no-such-user"}})),
            Ok(false),
        ),
        (task(Value::Null), Ok(true)),
        (
            scheduled(json!({"exh": {"path": "//evil.example"}})),
            Err(("InvalidEvent", &["another host"])),
        ),
        (
            scheduled(json!("run")),
            Err(("InvalidEvent", &["JSON object"])),
        ),
        (
            task(json!({"exh": {"path": "/tasks/v1/"}})),
            Err(("Forbidden", &["EXH_ALLOWED_PATHS"])),
        ),
        (
            task(json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}})),
            Err(("MissingConfig", &["HEXONET_LOGIN", "HEXONET_PASSWORD"])),
        ),
        (
            json!({"id": 1, "name": "not any envelope"}),
            Err((
                "InvalidEvent",
                &[
                    "{}",
                    "exh",
                    "hexonet",
                    "batch",
                    "Extra Horizon task",
                    "API Gateway",
                    "Function URL",
                    "EventBridge",
                    "SQS",
                ],
            )),
        ),
        (
            json!({"Records": [{"eventSource": "aws:sqs", "messageId": 7}]}),
            Err(("InvalidEvent", &["SQS"])),
        ),
        (
            json!({"httpMethod": "POST", "requestContext": {}, "body": 7}),
            Err(("InvalidEvent", &["API Gateway"])),
        ),
    ];
    let invocations = runtime
        .invoke_all(cases.iter().map(|(event, _)| event.clone()), BOUND)
        .await;
    for ((event, expected), invocation) in cases.iter().zip(invocations) {
        assert_no_secret_in(&invocation.body, "an answer", &secrets);
        match expected {
            Ok(ok) => {
                let result = invocation.expect_response();
                assert_eq!(result["ok"], *ok, "{event} answered {result}");
                assert!(
                    result["exh"]["status"].is_u64(),
                    "{event} answered {result}"
                );
            }
            Err((error_type, mentions)) => {
                let (got, message) = invocation.expect_error();
                assert_eq!(got, *error_type, "{event}: {message}");
                for mention in *mentions {
                    assert!(
                        message.contains(mention),
                        "{event}: {message:?} does not say {mention:?}"
                    );
                }
            }
        }
    }
    runtime.assert_no_rejections();
    function.stop();
    function.assert_no_secret_in_output();
}
