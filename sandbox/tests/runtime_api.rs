//! Self-test of the Lambda Runtime API emulator ([`exh_task_sandbox::runtime_api`]):
//! these tests play the function themselves with a plain HTTP client,
//! sending the requests `lambda_runtime` sends, so they need no function
//! binary.

use std::time::Duration;

use exh_task_sandbox::runtime_api::{header, Function, Invoke, InvokeError, Outcome, RuntimeApi};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// Bound for every wait in these tests; none should come near it.
const BOUND: Duration = Duration::from_secs(10);

/// What `/next` handed out.
struct Next {
    request_id: String,
    invocation_id: String,
    headers: reqwest::header::HeaderMap,
    event: Value,
}

/// `GET /next` as `lambda_runtime` does it, bounded.
async fn next(client: &Client, runtime: &RuntimeApi) -> Next {
    let url = format!("{}/invocation/next", runtime.base_url());
    let response = tokio::time::timeout(BOUND, client.get(url).send())
        .await
        .expect("/next did not answer in time")
        .expect("/next failed");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let text = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("/next answered without {name}"))
            .to_str()
            .expect("header is not text")
            .to_owned()
    };
    let (request_id, invocation_id) = (text(header::REQUEST_ID), text(header::INVOCATION_ID));
    let event = response.json().await.expect("/next body is not JSON");
    Next {
        request_id,
        invocation_id,
        headers,
        event,
    }
}

/// `POST /response` (or `/error` with `lambda_runtime`'s headers), echoing
/// the invocation id as `lambda_runtime` 1.5 does; returns the status.
async fn answer(
    client: &Client,
    runtime: &RuntimeApi,
    request_id: &str,
    invocation_id: Option<&str>,
    error: bool,
    body: impl Into<reqwest::Body>,
) -> StatusCode {
    let kind = if error { "error" } else { "response" };
    let url = format!("{}/invocation/{request_id}/{kind}", runtime.base_url());
    let mut request = client.post(url).body(body);
    if error {
        request = request.header(header::FUNCTION_ERROR_TYPE, "unhandled");
    }
    if let Some(id) = invocation_id {
        request = request.header(header::INVOCATION_ID, id);
    }
    tokio::time::timeout(BOUND, request.send())
        .await
        .expect("the answer post did not return in time")
        .expect("the answer post failed")
        .status()
}

/// `POST /init/error` of a `MissingConfig` error ("no secrets"), with
/// `Lambda-Runtime-Function-Error-Type` if given; returns the status.
async fn init_error(
    client: &Client,
    runtime: &RuntimeApi,
    error_type_header: Option<&str>,
) -> StatusCode {
    let url = format!("{}/init/error", runtime.base_url());
    let body = json!({"errorType": "MissingConfig", "errorMessage": "no secrets"});
    let mut request = client.post(url).body(body.to_string());
    if let Some(error_type) = error_type_header {
        request = request.header(header::FUNCTION_ERROR_TYPE, error_type);
    }
    tokio::time::timeout(BOUND, request.send())
        .await
        .expect("the init error post did not return in time")
        .expect("the init error post failed")
        .status()
}

#[tokio::test]
async fn next_hands_out_the_event_and_response_completes_the_invocation() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let pending = runtime.submit(json!({"hello": "world"}));

    let next = next(&client, &runtime).await;
    assert_eq!(next.request_id, pending.request_id());
    assert_eq!(next.event, json!({"hello": "world"}));
    let deadline: u64 = next.headers[header::DEADLINE_MS]
        .to_str()
        .unwrap()
        .parse()
        .expect("deadline is not epoch milliseconds");
    assert!(
        deadline > 1_600_000_000_000,
        "deadline {deadline} is not in epoch ms"
    );
    assert_eq!(
        next.headers[header::INVOKED_FUNCTION_ARN],
        "arn:aws:lambda:eu-west-1:123456789012:function:exh-task"
    );
    assert!(next.headers[header::TRACE_ID]
        .to_str()
        .unwrap()
        .starts_with("Root=1-"));
    assert!(next.headers.get(header::CLIENT_CONTEXT).is_none());
    assert!(next.headers.get(header::COGNITO_IDENTITY).is_none());

    let status = answer(
        &client,
        &runtime,
        &next.request_id,
        Some(&next.invocation_id),
        false,
        r#"{"ok":true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let invocation = pending.wait(BOUND).await.expect("no answer");
    assert_eq!(invocation.outcome, Outcome::Response(json!({"ok": true})));
    assert_eq!(invocation.deadline_ms, deadline);
    assert!(invocation.echoed_invocation_id);
    assert!(!invocation.past_deadline);
    runtime.assert_no_rejections();
}

#[tokio::test]
async fn error_post_ends_the_invocation_with_its_type_and_message() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let pending = runtime.submit(json!({}));

    let next = next(&client, &runtime).await;
    let body = json!({"errorType": "MissingConfig", "errorMessage": "API_HOST is not set"});
    let status = answer(
        &client,
        &runtime,
        &next.request_id,
        Some(&next.invocation_id),
        true,
        body.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let invocation = pending.wait(BOUND).await.expect("no answer");
    assert_eq!(invocation.error_type_header.as_deref(), Some("unhandled"));
    assert_eq!(
        invocation.expect_error(),
        ("MissingConfig".to_owned(), "API_HOST is not set".to_owned())
    );
}

#[tokio::test]
async fn init_error_is_recorded_before_the_first_next_and_refused_after_it() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();

    let status = init_error(&client, &runtime, Some("Runtime.InitError")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let error = runtime
        .wait_for_init_error(BOUND)
        .await
        .expect("init error not recorded");
    assert_eq!(
        error.error_type_header.as_deref(),
        Some("Runtime.InitError")
    );
    assert_eq!(error.error_type, "MissingConfig");
    assert_eq!(error.error_message, "no secrets");

    runtime.submit(json!({}));
    next(&client, &runtime).await;
    let status = init_error(&client, &runtime, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(runtime.init_errors().len(), 1);
}

#[tokio::test]
async fn invocation_waiting_when_an_init_error_arrives_fails_with_it() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let pending = runtime.submit(json!({}));

    init_error(&client, &runtime, None).await;

    match pending.wait(BOUND).await {
        Err(InvokeError::InitFailed { error, .. }) => assert_eq!(error.error_type, "MissingConfig"),
        other => panic!("expected InitFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_request_id_is_refused_with_400() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let queued = runtime.submit(json!({}));

    let status = answer(&client, &runtime, "no-such-id", None, false, "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Queued but not yet handed out by /next is unknown to the function too.
    let status = answer(&client, &runtime, queued.request_id(), None, true, "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let rejected = runtime.rejected();
    assert_eq!(rejected.len(), 2);
    assert!(rejected.iter().all(|r| r.error_type == "InvalidRequestID"));
}

#[tokio::test]
async fn second_answer_for_the_same_invocation_is_refused_with_403() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let pending = runtime.submit(json!({}));
    let next = next(&client, &runtime).await;

    let first = answer(&client, &runtime, &next.request_id, None, false, "1").await;
    let second = answer(&client, &runtime, &next.request_id, None, false, "2").await;
    let third = answer(&client, &runtime, &next.request_id, None, true, "{}").await;

    assert_eq!(first, StatusCode::ACCEPTED);
    assert_eq!(second, StatusCode::FORBIDDEN);
    assert_eq!(third, StatusCode::FORBIDDEN);
    let invocation = pending.wait(BOUND).await.expect("no answer");
    assert_eq!(invocation.outcome, Outcome::Response(json!(1)));
    assert!(!invocation.echoed_invocation_id);
    assert_eq!(runtime.rejected()[0].error_type, "InvalidStateTransition");
}

#[tokio::test]
async fn answer_after_the_test_stopped_waiting_is_refused_with_410() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let pending = runtime.submit(json!({}));
    let next = next(&client, &runtime).await;

    match pending.wait(Duration::from_millis(50)).await {
        Err(InvokeError::TimedOut { picked_up, .. }) => assert!(picked_up),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let status = answer(&client, &runtime, &next.request_id, None, false, "{}").await;
    assert_eq!(status, StatusCode::GONE);
}

#[tokio::test]
async fn answer_with_another_invocation_id_is_refused_with_410_and_the_invocation_stays_open() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let pending = runtime.submit(json!({}));
    let next = next(&client, &runtime).await;

    let stale = answer(
        &client,
        &runtime,
        &next.request_id,
        Some("stale"),
        false,
        "1",
    )
    .await;
    let right = answer(
        &client,
        &runtime,
        &next.request_id,
        Some(&next.invocation_id),
        false,
        "2",
    )
    .await;

    assert_eq!(stale, StatusCode::GONE);
    assert_eq!(right, StatusCode::ACCEPTED);
    let invocation = pending.wait(BOUND).await.expect("no answer");
    assert_eq!(invocation.outcome, Outcome::Response(json!(2)));
}

#[tokio::test]
async fn next_long_polls_until_an_invocation_is_queued() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let url = format!("{}/invocation/next", runtime.base_url());
    let poll = tokio::spawn(async move { client.get(url).send().await });

    runtime.wait_for_polls(1, BOUND).await;
    assert!(!poll.is_finished());
    let pending = runtime.submit(json!({"n": 1}));

    let response = tokio::time::timeout(BOUND, poll)
        .await
        .expect("/next was not answered")
        .unwrap()
        .unwrap();
    assert_eq!(response.headers()[header::REQUEST_ID], pending.request_id());
    assert_eq!(runtime.polls_outstanding(), 0);
    assert_eq!(runtime.counts().in_flight, 1);
}

#[tokio::test]
async fn an_invocation_tells_when_it_was_handed_out_and_when_it_was_answered() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let queued_at = std::time::Instant::now();
    let pending = runtime.submit(json!({"n": 1}));
    // Lower bounds only: the machine may be slow, never fast.
    let pause = Duration::from_millis(30);
    tokio::time::sleep(pause).await;
    let next = next(&client, &runtime).await;
    tokio::time::sleep(pause).await;
    let status = answer(&client, &runtime, &next.request_id, None, false, "{}").await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let invocation = pending.wait(BOUND).await.unwrap();
    assert!(invocation.delivered_at - queued_at >= pause);
    assert!(invocation.answered_at - invocation.delivered_at >= pause);
}

#[tokio::test]
async fn no_invocation_is_handed_out_until_each_registered_extension_asks_for_its_events() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let extensions = runtime
        .base_url()
        .replace("/2018-06-01/runtime", "/2020-01-01/extension");
    let registered = client
        .post(format!("{extensions}/register"))
        .header("Lambda-Extension-Name", "test-extension")
        .json(&json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::OK);
    let identifier = registered.headers()["lambda-extension-identifier"].clone();
    let pending = runtime.submit(json!({"n": 1}));
    let url = format!("{}/invocation/next", runtime.base_url());
    let poll = tokio::spawn({
        let client = client.clone();
        async move { client.get(url).send().await }
    });
    runtime.wait_for_polls(1, BOUND).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!poll.is_finished(), "handed out during the init phase");

    let events = client
        .get(format!("{extensions}/event/next"))
        .header("Lambda-Extension-Identifier", identifier)
        .send();
    let _events = tokio::spawn(events);
    let response = tokio::time::timeout(BOUND, poll)
        .await
        .expect("/next was not answered once the extension asked for its events")
        .unwrap()
        .unwrap();
    assert_eq!(response.headers()[header::REQUEST_ID], pending.request_id());
    assert_eq!(runtime.counts().extension_polls, 1);
}

#[tokio::test]
async fn four_polls_take_four_invocations_at_once_and_answers_may_come_in_any_order() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let polls: Vec<_> = (0..4)
        .map(|_| {
            let (client, url) = (
                client.clone(),
                format!("{}/invocation/next", runtime.base_url()),
            );
            tokio::spawn(async move {
                let response = client.get(url).send().await.unwrap();
                let id = response.headers()[header::REQUEST_ID]
                    .to_str()
                    .unwrap()
                    .to_owned();
                (id, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    runtime.wait_for_polls(4, BOUND).await;

    let pending: Vec<_> = (0..4).map(|n| runtime.submit(json!({"n": n}))).collect();
    let mut taken = Vec::new();
    for poll in polls {
        taken.push(tokio::time::timeout(BOUND, poll).await.unwrap().unwrap());
    }
    let counts = runtime.counts();
    assert_eq!(
        (counts.in_flight, counts.max_in_flight, counts.polling),
        (4, 4, 0)
    );

    for (id, event) in taken.iter().rev() {
        let status = answer(
            &client,
            &runtime,
            id,
            None,
            false,
            json!({"echo": event}).to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    for (n, pending) in pending.into_iter().enumerate() {
        let result = pending.wait(BOUND).await.unwrap().expect_response();
        assert_eq!(result, json!({"echo": {"n": n}}));
    }
}

#[tokio::test]
async fn oversized_response_is_refused_with_413_and_fails_the_invocation() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let pending = runtime.submit(json!({}));
    let next = next(&client, &runtime).await;

    let huge = format!("\"{}\"", "x".repeat(6 * 1024 * 1024));
    let status = answer(&client, &runtime, &next.request_id, None, false, huge).await;

    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (error_type, _) = pending.wait(BOUND).await.unwrap().expect_error();
    assert_eq!(error_type, "Function.ResponseSizeTooLarge");
}

#[tokio::test]
async fn unanswered_invocation_ends_the_wait_with_a_message_that_says_why() {
    let runtime = RuntimeApi::start().await;

    let error = runtime
        .try_invoke(json!({}), Duration::from_millis(50))
        .await
        .expect_err("nobody answered, yet the invocation ended");

    assert!(matches!(
        error,
        InvokeError::TimedOut {
            picked_up: false,
            ..
        }
    ));
    assert!(
        error.to_string().contains("did not take invocation"),
        "{error}"
    );
    // Withdrawn: a later /next does not hand it out.
    assert_eq!(runtime.counts().queued, 0);
}

#[tokio::test]
async fn malformed_answers_are_reported_not_panicked_on() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let not_json = runtime.submit(json!({}));
    let bad_error = runtime.submit(json!({}));
    let first = next(&client, &runtime).await;
    let second = next(&client, &runtime).await;

    answer(
        &client,
        &runtime,
        &first.request_id,
        None,
        false,
        "not json",
    )
    .await;
    answer(
        &client,
        &runtime,
        &second.request_id,
        None,
        true,
        r#"{"errorType":1}"#,
    )
    .await;

    for pending in [not_json, bad_error] {
        match pending.wait(BOUND).await {
            Err(InvokeError::MalformedAnswer { .. }) => {}
            other => panic!("expected MalformedAnswer, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn client_context_and_cognito_identity_travel_as_json_headers() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let context = json!({"client": {"app_title": "Zoë ✓"}, "custom": {}, "environment": {}});
    let identity = json!({"identity_id": "id", "identity_pool_id": "pool"});
    runtime.submit(
        Invoke::new(json!({}))
            .client_context(context.clone())
            .cognito_identity(identity.clone())
            .tenant_id("tenant-1")
            .trace_id("Root=1-00000000-000000000000000000000001;Sampled=1"),
    );

    let next = next(&client, &runtime).await;
    let parsed = |name: &str| -> Value {
        serde_json::from_str(next.headers[name].to_str().expect("header is not ASCII")).unwrap()
    };
    assert_eq!(parsed(header::CLIENT_CONTEXT), context);
    assert_eq!(parsed(header::COGNITO_IDENTITY), identity);
    assert_eq!(next.headers[header::TENANT_ID], "tenant-1");
    assert_eq!(
        next.headers[header::TRACE_ID],
        "Root=1-00000000-000000000000000000000001;Sampled=1"
    );
}

#[tokio::test]
async fn deadline_follows_the_function_timeout() {
    let runtime = RuntimeApi::builder()
        .function_timeout(Duration::from_secs(3))
        .start()
        .await;
    let client = Client::new();
    runtime.submit(Invoke::new(json!({})).function_timeout(Duration::from_secs(900)));
    runtime.submit(json!({}));

    let long = next(&client, &runtime).await;
    let short = next(&client, &runtime).await;
    let deadline = |n: &Next| -> u64 {
        n.headers[header::DEADLINE_MS]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };

    // 900 s against 3 s, handed out moments apart.
    assert!(deadline(&long) > deadline(&short) + 800_000);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_refused_and_recorded() {
    let runtime = RuntimeApi::start().await;
    let client = Client::new();
    let base = runtime.base_url();

    let missing = client
        .get(format!("{base}/restore/next"))
        .send()
        .await
        .unwrap();
    let wrong = client
        .post(format!("{base}/invocation/next"))
        .send()
        .await
        .unwrap();

    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(runtime.rejected().len(), 2);
}

#[tokio::test]
async fn function_gets_the_lambda_environment_and_nothing_of_the_tests() {
    let runtime = RuntimeApi::start().await;
    let mut function = Function::builder("/bin/sh", &runtime)
        .arg("-c")
        .arg("env")
        .env("EXTRA", "1")
        .env_remove("TZ")
        .spawn();

    let status = function.wait_exit(BOUND).await.expect("sh did not exit");
    assert!(status.success());
    let env = function.stdout();
    let names: Vec<&str> = env.lines().filter_map(|l| l.split('=').next()).collect();
    for expected in [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_REGION",
        "EXTRA",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(env.contains(&format!("AWS_LAMBDA_RUNTIME_API={}\n", runtime.address())));
    assert!(!names.contains(&"TZ"));
    // cargo test sets these for the test process; the function must not see them.
    assert!(!names.iter().any(|n| n.starts_with("CARGO")), "{names:?}");
}

#[tokio::test]
async fn secrets_in_output_are_found_without_being_repeated() {
    let runtime = RuntimeApi::start().await;
    let mut function = Function::builder("/bin/sh", &runtime)
        .arg("-c")
        .arg("echo starting; echo \"key=$(printf %s \"$TOKEN\" | sed 's/&/%26/')\" >&2")
        .secret_env("TOKEN", "abc&def")
        .spawn();

    function.wait_exit(BOUND).await.expect("sh did not exit");

    let place = function
        .find_secret_in_output()
        .expect("the leak was not found");
    assert_eq!(place, "stderr line 1 contains the value of TOKEN");
    assert!(function.output_contains("starting"));
}

#[tokio::test]
async fn a_running_function_is_stopped_and_its_output_kept() {
    let runtime = RuntimeApi::start().await;
    let mut function = Function::spawn("/bin/sh", &runtime, [("GREETING", "hello")]);
    // `spawn` passes no arguments: sh reads its empty stdin and exits.
    function.wait_exit(BOUND).await.expect("sh did not exit");

    let mut sleeper = Function::builder("/bin/sh", &runtime)
        .arg("-c")
        .arg("echo ready; exec sleep 600")
        .spawn();
    assert!(sleeper.wait_for_output("ready", BOUND).await);
    assert!(sleeper.try_status().is_none());

    let status = sleeper.stop();
    assert!(!status.success());
    assert_eq!(sleeper.stdout(), "ready\n");
}

#[tokio::test]
async fn waiting_ends_when_the_emulator_stops() {
    let runtime = RuntimeApi::start().await;
    let pending = runtime.submit(json!({}));

    drop(runtime);

    let error = pending
        .wait(BOUND)
        .await
        .expect_err("an answer from nowhere");
    assert!(matches!(error, InvokeError::Stopped { .. }), "{error}");
}

#[tokio::test]
async fn held_answers_complete_the_invocation_and_their_posts_wait_until_the_emulator_stops() {
    let runtime = RuntimeApi::start().await;
    runtime.hold_answers();
    let client = Client::new();
    let pending = runtime.submit(json!({}));
    let next = next(&client, &runtime).await;
    let url = format!(
        "{}/invocation/{}/response",
        runtime.base_url(),
        next.request_id
    );
    let post = tokio::spawn(client.post(url).body("{\"ok\":true}").send());

    let invocation = pending.wait(BOUND).await.expect("the answer was taken");
    assert_eq!(invocation.expect_response(), json!({"ok": true}));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!post.is_finished(), "the held post was answered");

    drop(runtime);
    let status = tokio::time::timeout(BOUND, post)
        .await
        .expect("the held post still waits after the emulator stopped")
        .expect("the post's task")
        .expect("the post")
        .status();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}
