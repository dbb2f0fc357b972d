//! End-to-end tests of the real `bootstrap` binary: the compiled function runs
//! as a child process against the Lambda Runtime API emulator in
//! `tests/support`, and calls upstream servers that these tests run on
//! loopback: the sandbox, or small TCP servers that answer slowly, never, or
//! hang up.
//!
//! Every scenario runs in both runtime modes: sequential
//! (`AWS_LAMBDA_MAX_CONCURRENCY` unset, as on classic Lambda) and concurrent
//! (`AWS_LAMBDA_MAX_CONCURRENCY=4`, as on Lambda Managed Instances), one
//! function process per scenario and mode. Waits are bounded; nothing here
//! asserts how long something took, only that it stayed within a bound.
//!
//! The sandbox (the workspace's `exh-task-sandbox` crate, a dev-dependency)
//! does not count TCP connections, so a counting proxy in front of it shows
//! whether warm invocations keep theirs.

mod support;

use std::time::Duration;

use exh_task_sandbox::runtime_api::{FunctionBuilder, Invocation, Invoke, InvokeError, RuntimeApi};
use serde_json::{json, Value};
use support::bootstrap::{
    assert_no_secret_in, closed_port, in_both_modes, with_secrets, Mode, Secrets, CONCURRENCY,
};
use support::upstream::{Behaviour, Upstream, UPSTREAM_USER};

/// Bound for every wait; none should come near it.
const BOUND: Duration = Duration::from_secs(10);

/// The four OAuth1 secrets: distinctive, so a leak cannot be a coincidence,
/// and with characters that OAuth1 percent-encodes, so the encoded form of a
/// leak is looked for as well.
const SECRETS: [(&str, &str); 4] = [
    ("API_OAUTH_CONSUMER_KEY", "e2e-consumer-key-7c1f"),
    ("API_OAUTH_CONSUMER_SECRET", "e2e-consumer/secret+9d2a="),
    ("API_OAUTH_TOKEN", "e2e-token-3b8e"),
    ("API_OAUTH_TOKEN_SECRET", "e2e-token&secret!5f4c"),
];

/// Every Extra Horizon variable `{}` needs, in the order the error names them.
const EXH_VARIABLES: [&str; 5] = [
    "API_HOST",
    "API_OAUTH_CONSUMER_KEY",
    "API_OAUTH_CONSUMER_SECRET",
    "API_OAUTH_TOKEN",
    "API_OAUTH_TOKEN_SECRET",
];

/// [`SECRETS`] as [`Secrets`].
fn test_secrets() -> Secrets {
    SECRETS
        .iter()
        .map(|(name, value)| (*name, value.to_string()))
        .collect()
}

/// `function` with `API_HOST=host` and the four [`SECRETS`].
fn with_credentials(function: FunctionBuilder, host: &str) -> FunctionBuilder {
    with_secrets(function, host, &test_secrets())
}

/// `(errorType, errorMessage)` of each invocation, which must all be errors.
#[track_caller]
fn errors(invocations: Vec<Invocation>) -> Vec<(String, String)> {
    invocations
        .into_iter()
        .map(Invocation::expect_error)
        .collect()
}

// ------------------------------------------------------------------------
// Without the sandbox
// ------------------------------------------------------------------------

in_both_modes!(
    without_configuration_each_request_fails_with_the_error_that_names_its_cause,
    a_path_outside_the_allow_list_is_forbidden_without_an_upstream_call,
    an_api_host_that_cannot_be_right_fails_start_up_with_an_init_error_naming_it,
    an_unreachable_host_is_a_transport_error_that_names_the_call_and_no_secret,
    a_dropped_connection_is_retried_for_get_but_not_for_post,
    an_upstream_that_never_answers_is_a_timeout_reported_before_the_deadline,
    invocations_are_in_flight_together_only_in_concurrent_mode_and_share_connections,
    an_api_host_given_by_name_is_looked_up_and_called,
);

async fn without_configuration_each_request_fails_with_the_error_that_names_its_cause(mode: Mode) {
    let runtime = RuntimeApi::start().await;
    let _function = mode.function(&runtime).spawn();
    let answers = errors(
        runtime
            .invoke_all(
                [
                    json!({}),
                    json!("hello"),
                    json!({"exh": {"path": "https://evil.example/x"}}),
                    json!({"exh": {"path": "//evil"}}),
                ],
                BOUND,
            )
            .await,
    );

    let (error_type, message) = &answers[0];
    assert_eq!(error_type, "MissingConfig", "{message}");
    for variable in EXH_VARIABLES {
        assert!(
            message.contains(variable),
            "{message:?} does not name {variable}"
        );
    }
    for ((error_type, message), about) in
        answers[1..]
            .iter()
            .zip(["JSON object", "not a path", "another host"])
    {
        assert_eq!(error_type, "InvalidEvent", "{message}");
        assert!(
            message.contains(about),
            "{message:?} does not say {about:?}"
        );
    }
    runtime.assert_no_rejections();
}

async fn a_path_outside_the_allow_list_is_forbidden_without_an_upstream_call(mode: Mode) {
    // Nothing listens on API_HOST: any call made would end in Transport.
    let host = format!("http://127.0.0.1:{}", closed_port());
    let runtime = RuntimeApi::start().await;
    let mut function = with_credentials(mode.function(&runtime), &host)
        .env("EXH_ALLOWED_PATHS", "/users/v1/me")
        .spawn();
    let answers = errors(
        runtime
            .invoke_all(
                [
                    json!({"exh": {"path": "/tasks/v1/"}}),
                    json!({"exh": {"path": "/users/v1/meta"}}),
                    json!({"exh": {"method": "DELETE", "path": "/users/v1/abc"}}),
                    // Allowed, so it is sent: the contrast that shows the
                    // refusals above came before any call.
                    json!({}),
                ],
                BOUND,
            )
            .await,
    );

    for (error_type, message) in &answers[..3] {
        assert_eq!(error_type, "Forbidden", "{message}");
        assert!(message.contains("EXH_ALLOWED_PATHS"), "{message:?}");
    }
    assert_eq!(answers[3].0, "Transport", "{}", answers[3].1);
    runtime.assert_no_rejections();
    function.stop();
    function.assert_no_secret_in_output();
}

async fn an_api_host_that_cannot_be_right_fails_start_up_with_an_init_error_naming_it(mode: Mode) {
    let runtime = RuntimeApi::start().await;
    // Queued first, so it is waiting when the function gives up, as the
    // first caller of a function that cannot start is.
    let first = runtime.submit(json!({}));
    // A proxy the upstream client would use: the report goes to the
    // Runtime API, local to the environment, never through it.
    let proxy = format!("http://127.0.0.1:{}", closed_port());
    let mut function = with_credentials(mode.function(&runtime), "ftp://x")
        .env("HTTP_PROXY", &proxy)
        .env("ALL_PROXY", &proxy)
        .spawn();

    let init = match first.wait(BOUND).await {
        Err(InvokeError::InitFailed { error, .. }) => error,
        other => panic!("expected the invocation to fail with an init error, got {other:?}"),
    };
    assert_eq!(init.error_type, "InvalidConfig", "{}", init.body);
    assert_eq!(init.error_type_header.as_deref(), Some("InvalidConfig"));
    assert!(
        init.error_message.contains("API_HOST"),
        "{:?}",
        init.error_message
    );
    assert_no_secret_in(&init.body, "the init error", &test_secrets());

    let status = function
        .wait_exit(BOUND)
        .await
        .expect("the function kept running after its init error");
    assert!(
        !status.success(),
        "the function exited with {status} after its init error"
    );
    assert_eq!(
        runtime.counts().delivered,
        0,
        "an invocation was taken despite the init error"
    );
    // The log says it too, with the error's type and text as fields.
    let log = function.stderr() + &function.stdout();
    assert!(
        log.lines()
            .any(|line| line.contains("invalid configuration")
                && line.contains("InvalidConfig")
                && line.contains("API_HOST")),
        "{log}"
    );
    runtime.assert_no_rejections();
    function.assert_no_secret_in_output();
}

async fn an_unreachable_host_is_a_transport_error_that_names_the_call_and_no_secret(mode: Mode) {
    let host = format!("http://127.0.0.1:{}", closed_port());
    let runtime = RuntimeApi::start().await;
    let mut function = with_credentials(mode.function(&runtime), &host).spawn();
    let started = std::time::Instant::now();
    let invocations = runtime
        .invoke_all(
            [
                json!({}),
                json!({"exh": {"method": "POST", "path": "/data/v1/bp/documents", "body": {"systolic": 120}}}),
            ],
            BOUND,
        )
        .await;
    // Retries back off within the deadline (30 s here), but not for long.
    let spent = started.elapsed();
    assert!(
        spent < Duration::from_secs(5),
        "retrying an unreachable host took {spent:?}"
    );

    for (invocation, call) in invocations
        .into_iter()
        .zip(["GET /users/v1/me", "POST /data/v1/bp/documents"])
    {
        assert!(
            !invocation.past_deadline,
            "{call}: answered past the deadline"
        );
        let (error_type, message) = invocation.expect_error();
        assert_eq!(error_type, "Transport", "{message}");
        assert!(message.contains(call), "{message:?} does not name {call}");
        assert_no_secret_in(&message, "the Transport error", &test_secrets());
    }
    runtime.assert_no_rejections();
    function.stop();
    function.assert_no_secret_in_output();
}

async fn a_dropped_connection_is_retried_for_get_but_not_for_post(mode: Mode) {
    let get = Upstream::start(Behaviour::HangUp).await;
    let get_runtime = RuntimeApi::start().await;
    let _get_function = with_credentials(mode.function(&get_runtime), &get.url).spawn();
    let post = Upstream::start(Behaviour::HangUp).await;
    let post_runtime = RuntimeApi::start().await;
    let _post_function = with_credentials(mode.function(&post_runtime), &post.url).spawn();
    let event =
        json!({"exh": {"method": "POST", "path": "/data/v1/bp/documents", "body": {"n": 1}}});
    let (got, posted) = tokio::join!(
        get_runtime.invoke(json!({}), BOUND),
        post_runtime.invoke(event, BOUND)
    );

    let (error_type, message) = got.expect_error();
    assert_eq!(error_type, "Transport", "{message}");
    assert!(
        (2..=4).contains(&get.requests()),
        "a GET whose connection dropped was sent {} time(s); expected retries (at most 4 tries)",
        get.requests()
    );
    let (error_type, message) = posted.expect_error();
    assert_eq!(error_type, "Transport", "{message}");
    assert!(
        message.contains("POST /data/v1/bp/documents"),
        "{message:?}"
    );
    assert_eq!(
        post.requests(),
        1,
        "a POST whose answer was lost must not be sent again"
    );
    get_runtime.assert_no_rejections();
    post_runtime.assert_no_rejections();
}

async fn an_upstream_that_never_answers_is_a_timeout_reported_before_the_deadline(mode: Mode) {
    let upstream = Upstream::start(Behaviour::Never).await;
    let runtime = RuntimeApi::start().await;
    let mut function = with_credentials(mode.function(&runtime), &upstream.url).spawn();
    let function_timeout = Duration::from_millis(1500);
    let events =
        (0..mode.concurrency()).map(|_| Invoke::new(json!({})).function_timeout(function_timeout));
    let invocations = runtime.invoke_all(events, BOUND).await;

    for invocation in invocations {
        assert!(
            !invocation.past_deadline,
            "the Timeout came after the deadline: Lambda would have killed the function first"
        );
        let (error_type, message) = invocation.expect_error();
        assert_eq!(error_type, "Timeout", "{message}");
        assert!(message.contains("GET /users/v1/me"), "{message:?}");
    }
    assert!(upstream.requests() >= mode.concurrency());
    runtime.assert_no_rejections();
    function.stop();
    function.assert_no_secret_in_output();
}

async fn an_api_host_given_by_name_is_looked_up_and_called(mode: Mode) {
    // `localhost`, not an address: the start-up looks it up ahead
    // (`exh_task::dns`), the first connection takes that lookup.
    let upstream = Upstream::start(Behaviour::AnswerAfter(Duration::ZERO)).await;
    let port = upstream.authority().rsplit(':').next().unwrap().to_owned();
    let runtime = RuntimeApi::start().await;
    let host = format!("http://localhost:{port}");
    let mut function = with_credentials(mode.function(&runtime), &host).spawn();
    let invocations = runtime.invoke_all([json!({}), json!({})], BOUND).await;

    let user: Value = serde_json::from_str(UPSTREAM_USER).unwrap();
    for invocation in invocations {
        let answer = invocation.expect_response();
        assert_eq!(
            answer,
            json!({"ok": true, "exh": {"status": 200, "body": user}})
        );
    }
    assert_eq!(upstream.requests(), 2);
    runtime.assert_no_rejections();
    function.stop();
}

async fn invocations_are_in_flight_together_only_in_concurrent_mode_and_share_connections(
    mode: Mode,
) {
    let upstream = Upstream::start(Behaviour::AnswerAfter(Duration::from_millis(250))).await;
    let runtime = RuntimeApi::start().await;
    let mut function = with_credentials(mode.function(&runtime), &upstream.url).spawn();
    let count = 2 * CONCURRENCY;
    let invocations = runtime
        .invoke_all((0..count).map(|_| json!({})), BOUND)
        .await;

    let expected = json!({"ok": true, "exh": {"status": 200, "body": serde_json::from_str::<Value>(UPSTREAM_USER).unwrap()}});
    for invocation in invocations {
        assert_eq!(invocation.expect_response(), expected);
    }
    let counts = runtime.counts();
    match mode {
        Mode::Sequential => {
            assert_eq!(
                counts.max_in_flight, 1,
                "a sequential function took several invocations at once"
            );
            assert_eq!(upstream.max_in_flight(), 1);
        }
        Mode::Concurrent => {
            assert!(
                (2..=CONCURRENCY).contains(&counts.max_in_flight),
                "expected 2 to {CONCURRENCY} invocations in flight at once, saw {}",
                counts.max_in_flight
            );
            assert!(
                upstream.max_in_flight() > 1,
                "the upstream never saw two calls at once"
            );
        }
    }
    // Keep-alive: one connection per invocation in flight at once, reused after.
    assert_eq!(upstream.requests(), count);
    assert!(
        (1..=mode.concurrency()).contains(&upstream.connections()),
        "{count} invocations opened {} connections (at most {} expected)",
        upstream.connections(),
        mode.concurrency()
    );
    runtime.assert_no_rejections();
    function.stop();
    function.assert_no_secret_in_output();
}

// ------------------------------------------------------------------------
// With the sandbox
// ------------------------------------------------------------------------

mod with_the_sandbox {
    use super::*;
    use exh_task_sandbox::exh::{CREDENTIALS, SCHEMA_NAME, USER_COUNT};
    use exh_task_sandbox::record::Verdict;
    use exh_task_sandbox::{Sandbox, SandboxOptions};
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use support::bootstrap::BOOTSTRAP;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinSet;

    async fn start_sandbox() -> Sandbox {
        // The default port, 0, lets the system pick a free one.
        Sandbox::start(SandboxOptions::default())
            .await
            .expect("the sandbox starts on 127.0.0.1")
    }

    /// The sandbox's four OAuth1 variables.
    fn sandbox_secrets(sandbox: &Sandbox) -> Secrets {
        sandbox
            .env()
            .into_iter()
            .filter(|(name, _)| name.starts_with("API_OAUTH_"))
            .collect()
    }

    /// `function` pointed at `sandbox` (the sandbox's own URL).
    fn against(function: FunctionBuilder, sandbox: &Sandbox) -> FunctionBuilder {
        with_secrets(function, &sandbox.exh_url(), &sandbox_secrets(sandbox))
    }

    /// The response of one invocation, within [`BOUND`].
    async fn call(runtime: &RuntimeApi, event: Value) -> Value {
        runtime.invoke(event, BOUND).await.expect_response()
    }

    /// Fails the test unless `result` is `{"ok": true, "exh": {"status": 200, ...}}`;
    /// returns the body.
    #[track_caller]
    fn ok_body(result: &Value) -> &Value {
        assert_eq!(result["ok"], true, "{result}");
        assert_eq!(result["exh"]["status"], 200, "{result}");
        &result["exh"]["body"]
    }

    /// The ids of a list answer's items, in order.
    fn ids(body: &Value) -> Vec<&str> {
        body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("no data list in {body}"))
            .iter()
            .map(|item| item["id"].as_str().expect("an item without id"))
            .collect()
    }

    /// A TCP proxy on `127.0.0.1:0` in front of `target` that counts the
    /// connections it accepts: the sandbox does not count them itself.
    struct CountingProxy {
        url: String,
        connections: Arc<AtomicUsize>,
        server: tokio::task::JoinHandle<()>,
    }

    impl CountingProxy {
        async fn start(target: SocketAddr) -> CountingProxy {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0");
            let url = format!("http://{}", listener.local_addr().expect("local address"));
            let connections = Arc::new(AtomicUsize::new(0));
            let counted = connections.clone();
            let server = tokio::spawn(async move {
                let mut piped = JoinSet::new();
                while let Ok((mut client, _)) = listener.accept().await {
                    counted.fetch_add(1, Ordering::SeqCst);
                    piped.spawn(async move {
                        if let Ok(mut upstream) = TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                        }
                    });
                    while piped.try_join_next().is_some() {}
                }
            });
            CountingProxy {
                url,
                connections,
                server,
            }
        }

        fn connections(&self) -> usize {
            self.connections.load(Ordering::SeqCst)
        }
    }

    impl Drop for CountingProxy {
        fn drop(&mut self) {
            self.server.abort();
        }
    }

    in_both_modes!(
        the_sandbox_answers_every_kind_of_request_over_sixty_warm_invocations,
        warm_invocations_reuse_one_upstream_connection,
        a_wrong_token_secret_is_unauthorized_with_the_sandbox_reason_and_no_secret,
        debug_logging_shows_requests_and_responses_but_no_secret,
        json_log_format_writes_every_line_as_a_json_object,
    );

    async fn the_sandbox_answers_every_kind_of_request_over_sixty_warm_invocations(mode: Mode) {
        let sandbox = start_sandbox().await;
        let me = sandbox.services().exh.my_user_id();
        let runtime = RuntimeApi::start().await;
        let mut function = against(mode.function(&runtime), &sandbox).spawn();
        let documents = format!("/data/v1/{SCHEMA_NAME}/documents");

        const ROUNDS: usize = 5;
        for round in 0..ROUNDS {
            // Independent reads, queued together: in flight together when concurrent.
            let reads: Vec<Value> = runtime
                .invoke_all(
                    [
                        json!({}),
                        json!({"exh": {"path": "/users/v1/", "rql": "select(id,email)&limit(10,20)"}}),
                        json!({"exh": {"path": "/users/v1/", "all_pages": true}}),
                        json!({"exh": {"path": "/users/v1/", "query": {"language": "NL"},
                                       "rql": "limit(10)", "all_pages": true}}),
                        json!({"exh": {"path": "/users/v1/no-such-user"}}),
                        json!({"batch": [{}, {"exh": {"path": format!("/users/v1/{me}")}},
                                         {"exh": {"path": "/nope/v1/"}}, {"exh": {"path": "//evil"}}],
                               "concurrency": 2}),
                    ],
                    BOUND,
                )
                .await
                .into_iter()
                .map(Invocation::expect_response)
                .collect();

            assert_eq!(
                ok_body(&reads[0])["id"],
                me.as_str(),
                "round {round}: {{}} is not the token's user"
            );

            let page = ok_body(&reads[1]);
            assert_eq!(page["page"]["total"], USER_COUNT);
            assert_eq!(page["page"]["offset"], 20);
            assert_eq!(ids(page).len(), 10);
            for user in page["data"].as_array().unwrap() {
                let mut fields: Vec<&String> = user.as_object().unwrap().keys().collect();
                fields.sort();
                assert_eq!(
                    fields,
                    ["email", "id"],
                    "select(id,email) was not applied: {user}"
                );
            }

            let all = ok_body(&reads[2]);
            let all_ids = ids(all);
            assert_eq!(all_ids.len(), USER_COUNT as usize, "all_pages missed items");
            assert_eq!(all["page"]["total"], USER_COUNT);
            assert_eq!(all_ids[0], me, "the first user is not the first item");
            // The sandbox's ids grow in list order: sorted and distinct means
            // every item once, pages in order.
            assert!(
                all_ids.windows(2).all(|pair| pair[0] < pair[1]),
                "pages out of order or repeated"
            );

            let dutch = ok_body(&reads[3]);
            let dutch_count = ids(dutch).len();
            assert_eq!(dutch["page"]["total"], dutch_count, "{dutch}");
            assert!(
                dutch_count > 10,
                "expected several pages of NL users, got {dutch_count}"
            );
            assert!(dutch["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|user| user["language"] == "NL"));

            assert_eq!(reads[4]["ok"], false, "{}", reads[4]);
            assert_eq!(reads[4]["exh"]["status"], 404);
            assert_eq!(
                reads[4]["exh"]["body"]["name"],
                "RESOURCE_UNKNOWN_EXCEPTION"
            );

            let batch = &reads[5];
            assert_eq!(batch["ok"], false, "{batch}");
            assert_eq!(ok_body(&batch["batch"][0])["id"], me.as_str());
            assert_eq!(ok_body(&batch["batch"][1])["id"], me.as_str());
            assert_eq!(batch["batch"][2]["ok"], false);
            assert_eq!(batch["batch"][2]["exh"]["status"], 404);
            assert_eq!(batch["batch"][3]["ok"], false);
            assert_eq!(batch["batch"][3]["error"]["type"], "InvalidEvent");

            // A document's life, one step after the other.
            let systolic = 120 + round;
            let created = call(
                &runtime,
                json!({"exh": {"method": "POST", "path": documents,
                               "body": {"systolic": systolic, "diastolic": 80}}}),
            )
            .await;
            let created = ok_body(&created);
            assert_eq!(created["data"]["systolic"], systolic, "{created}");
            let document = format!(
                "{documents}/{}",
                created["id"].as_str().expect("the new document's id")
            );
            let read = call(&runtime, json!({"exh": {"path": document}})).await;
            assert_eq!(
                ok_body(&read)["data"],
                json!({"systolic": systolic, "diastolic": 80})
            );
            let updated = call(
                &runtime,
                json!({"exh": {"method": "PUT", "path": document, "body": {"systolic": 140}}}),
            )
            .await;
            assert_eq!(ok_body(&updated)["affectedRecords"], 1);
            let read = call(&runtime, json!({"exh": {"path": document}})).await;
            assert_eq!(
                ok_body(&read)["data"],
                json!({"systolic": 140, "diastolic": 80})
            );
            let deleted = call(
                &runtime,
                json!({"exh": {"method": "DELETE", "path": document}}),
            )
            .await;
            assert_eq!(ok_body(&deleted)["affectedRecords"], 1);
            let gone = call(&runtime, json!({"exh": {"path": document}})).await;
            assert_eq!(
                (&gone["ok"], &gone["exh"]["status"]),
                (&json!(false), &json!(404)),
                "{gone}"
            );
        }

        assert_eq!(runtime.counts().answered, ROUNDS * 12);
        let recorded = sandbox.recorded_requests();
        let refused: Vec<String> = recorded
            .iter()
            .filter(|request| request.verdict != Verdict::Valid || request.status == 401)
            .map(|request| {
                format!(
                    "{} {} -> {} {:?}",
                    request.method, request.target, request.status, request.verdict
                )
            })
            .collect();
        assert!(
            refused.is_empty(),
            "the sandbox refused signed requests:\n{}",
            refused.join("\n")
        );
        runtime.assert_no_rejections();
        function.stop();
        function.assert_no_secret_in_output();
        function.assert_output_excludes(
            "Extra Horizon request",
            "a request log line without EXH_TASK_DEBUG",
        );
    }

    async fn warm_invocations_reuse_one_upstream_connection(mode: Mode) {
        let sandbox = start_sandbox().await;
        let proxy = CountingProxy::start(sandbox.local_addr()).await;
        let runtime = RuntimeApi::start().await;
        let mut function = with_secrets(
            mode.function(&runtime),
            &proxy.url,
            &sandbox_secrets(&sandbox),
        )
        .spawn();
        const INVOCATIONS: usize = 60;
        let invocations = runtime
            .invoke_all((0..INVOCATIONS).map(|_| json!({})), BOUND)
            .await;

        for invocation in invocations {
            ok_body(&invocation.expect_response());
        }
        assert_eq!(sandbox.recorded_requests().len(), INVOCATIONS);
        // One connection per invocation in flight at once, and a few more at
        // most: hyper-util's pool races a new connect against waiting for an
        // idle connection, and a connect it started but did not need still
        // ends in the pool (seen once: 5 connections for 4 workers under load).
        let most = 2 * mode.concurrency();
        assert!(
            (1..=most).contains(&proxy.connections()),
            "{INVOCATIONS} warm invocations opened {} connections; expected about 1 per invocation in flight at once (at most {most})",
            proxy.connections(),
        );
        runtime.assert_no_rejections();
        function.stop();
        function.assert_no_secret_in_output();
    }

    async fn a_wrong_token_secret_is_unauthorized_with_the_sandbox_reason_and_no_secret(
        mode: Mode,
    ) {
        let sandbox = start_sandbox().await;
        let mut secrets = sandbox_secrets(&sandbox);
        for (name, value) in &mut secrets {
            if *name == "API_OAUTH_TOKEN_SECRET" {
                *value = "e2e-wrong-token-secret".to_owned();
            }
        }
        let runtime = RuntimeApi::start().await;
        // With debug logging, so the refusal's logging is checked for leaks too.
        let mut function = with_secrets(mode.function(&runtime), &sandbox.exh_url(), &secrets)
            .env("EXH_TASK_DEBUG", "1")
            .spawn();
        let answers = errors(
            runtime
                .invoke_all(
                    [
                        json!({}),
                        json!({"exh": {"method": "POST", "path": format!("/data/v1/{SCHEMA_NAME}/documents"),
                                       "body": {"systolic": 1}}}),
                    ],
                    BOUND,
                )
                .await,
        );

        for (error_type, message) in &answers {
            assert_eq!(error_type, "Unauthorized", "{message}");
            assert!(
                message.contains("109") && message.contains("OAUTH_SIGNATURE_EXCEPTION"),
                "{message:?}"
            );
            assert_no_secret_in(message, "the Unauthorized error", &secrets);
            assert_no_secret_in(
                message,
                "the Unauthorized error",
                &sandbox_secrets(&sandbox),
            );
        }
        // Refused credentials are not retried: one request per invocation.
        let recorded = sandbox.recorded_requests();
        assert_eq!(recorded.len(), 2, "{recorded:?}");
        assert!(recorded.iter().all(|request| request.status == 401));
        runtime.assert_no_rejections();
        function.stop();
        function.assert_no_secret_in_output();
    }

    async fn debug_logging_shows_requests_and_responses_but_no_secret(mode: Mode) {
        let sandbox = start_sandbox().await;
        let runtime = RuntimeApi::start().await;
        let mut function = against(mode.function(&runtime), &sandbox)
            .env("EXH_TASK_DEBUG", "1")
            .spawn();
        let documents = format!("/data/v1/{SCHEMA_NAME}/documents");
        let results: Vec<Value> = runtime
            .invoke_all(
                [
                    json!({}),
                    json!({"exh": {"method": "POST", "path": documents, "body": {"systolic": 117}}}),
                    json!({"exh": {"path": "/nope/v1/"}}),
                ],
                BOUND,
            )
            .await
            .into_iter()
            .map(Invocation::expect_response)
            .collect();
        assert_eq!(results[2]["exh"]["status"], 404);
        function.stop();

        let output = function.stdout() + &function.stderr();
        for expected in [
            "Extra Horizon request",
            "Extra Horizon response",
            "method=GET",
            "method=POST",
            "/users/v1/me",
            &documents,
            "systolic",
            "status=200",
            "status=404",
            "RESOURCE_UNKNOWN_EXCEPTION",
            "oauth_signature_method",
        ] {
            assert!(
                output.contains(expected),
                "the debug log does not show {expected:?}"
            );
        }
        function.assert_no_secret_in_output();
        runtime.assert_no_rejections();
    }

    async fn json_log_format_writes_every_line_as_a_json_object(mode: Mode) {
        let sandbox = start_sandbox().await;
        let runtime = RuntimeApi::start().await;
        // Lambda's advanced logging controls set `JSON`.
        let mut function = against(mode.function(&runtime), &sandbox)
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("EXH_TASK_DEBUG", "1")
            .spawn();
        let invocations = runtime.invoke_all([json!({}), json!("hello")], BOUND).await;
        assert!(!invocations[0].is_error() && invocations[1].is_error());
        function.stop();

        let mut lines = 0;
        let mut messages = Vec::new();
        for (stream, text) in [("stdout", function.stdout()), ("stderr", function.stderr())] {
            for line in text.lines().filter(|line| !line.trim().is_empty()) {
                let parsed: Value = serde_json::from_str(line)
                    .unwrap_or_else(|error| panic!("{stream} line is not JSON ({error}): {line}"));
                assert!(
                    parsed.is_object(),
                    "{stream} line is not a JSON object: {line}"
                );
                lines += 1;
                if let Some(message) = parsed["fields"]["message"].as_str() {
                    messages.push(message.to_owned());
                }
            }
        }
        assert!(
            lines >= 2,
            "expected the debug log lines, got {lines} lines"
        );
        for expected in ["Extra Horizon request", "Extra Horizon response"] {
            assert!(
                messages.iter().any(|message| message == expected),
                "no {expected:?} in {messages:?}"
            );
        }
        function.assert_no_secret_in_output();
        runtime.assert_no_rejections();
    }

    #[test]
    fn the_bootstrap_binary_does_not_link_the_sandbox() {
        let bytes = std::fs::read(BOOTSTRAP).expect("the bootstrap binary can be read");
        // Lossy text, so std's substring search does the scanning.
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains("EXH_ALLOWED_PATHS"),
            "control: the scan does not find the function's own strings"
        );
        for needle in [
            "DUPLICATE_REQUEST_EXCEPTION",
            "OAUTH_SIGNATURE_EXCEPTION",
            "RESOURCE_UNKNOWN_EXCEPTION",
            CREDENTIALS.consumer_secret,
            CREDENTIALS.token_secret,
            SCHEMA_NAME,
        ] {
            assert!(
                !text.contains(needle),
                "bootstrap contains the sandbox's {needle:?}: the sandbox is linked in"
            );
        }
    }
}
