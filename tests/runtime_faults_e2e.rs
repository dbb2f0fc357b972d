//! End-to-end tests of `bootstrap` under a hostile Lambda runtime: events
//! that are not one JSON value, `/next` answers that break the protocol, a
//! Runtime API that fails or hangs up, SIGTERM in the middle of an
//! invocation (and a second one while its answer is never taken), an
//! answer whose reply never comes, and
//! `RUST_LOG=trace` with secrets in the event.
//!
//! Each runs the real binary against the Runtime API emulator (or a TCP
//! listener that hangs up) on loopback. Every wait is bounded; nothing here
//! asserts how long something took.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use exh_task_sandbox::runtime_api::{header, Function, Invoke, InvokeError, RuntimeApi};
use serde_json::json;
use support::bootstrap::{in_both_modes, with_secrets, Mode, Secrets};
use support::upstream::{Behaviour, Upstream};

/// Bound for every wait; none should come near it.
const BOUND: Duration = Duration::from_secs(10);

/// `[[[…]]]`, `depth` levels.
fn nested(depth: usize) -> Vec<u8> {
    let mut bytes = vec![b'['; depth];
    bytes.extend(std::iter::repeat_n(b']', depth));
    bytes
}

in_both_modes!(
    events_that_are_not_one_json_value_are_invalid_events_and_the_function_lives,
    at_trace_level_no_event_reaches_the_log_and_a_non_utf8_event_is_refused,
    a_next_answer_without_its_headers_is_reported_or_skipped_and_the_function_lives,
    a_failing_next_is_polled_again_and_the_next_invocation_is_answered,
    sigterm_during_an_invocation_answers_it_flushes_the_log_and_exits_cleanly,
    sigterm_coming_twice_within_the_grace_is_taken_as_one,
    a_second_signal_ends_a_function_whose_answer_the_runtime_api_never_takes,
    a_worker_whose_answer_is_never_replied_to_gives_up_and_serves_the_next,
);

async fn events_that_are_not_one_json_value_are_invalid_events_and_the_function_lives(mode: Mode) {
    let runtime = RuntimeApi::start().await;
    let mut function = mode.function(&runtime).spawn();
    let cases: [(&[u8], &str); 5] = [
        (b"{}\xff", "not UTF-8"),
        (b"{} {}", "more after its JSON value"),
        (br#"{"exh": {}}{"exh": {}}"#, "more after its JSON value"),
        (&nested(128), "deeper than 127 levels"),
        (&nested(100_000), "deeper than 127 levels"),
    ];
    let invocations = runtime
        .invoke_all(cases.iter().map(|(bytes, _)| Invoke::raw(*bytes)), BOUND)
        .await;
    for (invocation, (_, says)) in invocations.into_iter().zip(cases) {
        let (error_type, message) = invocation.expect_error();
        assert_eq!(error_type, "InvalidEvent", "{message}");
        assert!(message.contains(says), "{message:?} does not say {says:?}");
    }
    // Still serving: the next event runs (and fails for want of configuration).
    let (error_type, message) = runtime.invoke(json!({}), BOUND).await.expect_error();
    assert_eq!(error_type, "MissingConfig", "{message}");
    assert!(function.try_status().is_none(), "the function ended");
    runtime.assert_no_rejections();
}

async fn at_trace_level_no_event_reaches_the_log_and_a_non_utf8_event_is_refused(mode: Mode) {
    const PASSWORD: &str = "e2e-hexonet-password-in-event-4d1e";
    const OTP: &str = "e2e-otp-917354";
    let runtime = RuntimeApi::start().await;
    let mut function = mode
        .function(&runtime)
        .env("RUST_LOG", "trace")
        .env("API_HOST", "http://127.0.0.1:9")
        .spawn();
    let event = json!({"hexonet": {"command": {"COMMAND": "ModifyAccount", "PASSWORD": PASSWORD},
                                   "otp": OTP}});
    let invocations = runtime
        .invoke_all(
            [Invoke::new(event), Invoke::raw(*b"{\"a\": \"\xc3\x28\"}")],
            BOUND,
        )
        .await;
    assert!(invocations[0].is_error());
    let (error_type, message) = invocations[1].clone().expect_error();
    assert_eq!(error_type, "InvalidEvent", "{message}");
    assert!(message.contains("not UTF-8"), "{message:?}");
    let (error_type, _) = runtime.invoke(json!({}), BOUND).await.expect_error();
    assert_eq!(error_type, "MissingConfig");
    assert!(function.try_status().is_none(), "the function ended");
    function.stop();
    // Control: trace level is on, so silence is not for want of logging.
    assert!(
        function.output_contains("TRACE") || function.output_contains("DEBUG"),
        "nothing was logged below INFO"
    );
    function.assert_output_excludes(PASSWORD, "the password of the event");
    function.assert_output_excludes(OTP, "the one-time password of the event");
    function.assert_output_excludes("ModifyAccount", "the command of the event");
    runtime.assert_no_rejections();
}

async fn a_next_answer_without_its_headers_is_reported_or_skipped_and_the_function_lives(
    mode: Mode,
) {
    let runtime = RuntimeApi::start().await;
    let mut function = mode.function(&runtime).spawn();

    let (error_type, message) = runtime
        .invoke(
            Invoke::new(json!({})).without_header(header::DEADLINE_MS),
            BOUND,
        )
        .await
        .expect_error();
    assert_eq!(error_type, "InvalidEvent", "{message}");
    assert!(
        message.contains("Lambda-Runtime-Deadline-Ms"),
        "{message:?}"
    );

    // Without a request id there is nothing to answer to: skipped.
    let unanswerable = runtime
        .try_invoke(
            Invoke::new(json!({})).without_header(header::REQUEST_ID),
            Duration::from_secs(2),
        )
        .await;
    assert!(
        matches!(
            unanswerable,
            Err(InvokeError::TimedOut {
                picked_up: true,
                ..
            })
        ),
        "{unanswerable:?}"
    );

    let (error_type, _) = runtime.invoke(json!({}), BOUND).await.expect_error();
    assert_eq!(error_type, "MissingConfig");
    assert!(function.try_status().is_none(), "the function ended");
    function.stop();
    assert!(function.output_contains("Lambda-Runtime-Aws-Request-Id"));
    runtime.assert_no_rejections();
}

async fn a_failing_next_is_polled_again_and_the_next_invocation_is_answered(mode: Mode) {
    let runtime = RuntimeApi::start().await;
    runtime.fail_next_polls(3 * mode.concurrency(), 500);
    let mut function = mode.function(&runtime).spawn();
    let (error_type, _) = runtime.invoke(json!({}), BOUND).await.expect_error();
    assert_eq!(error_type, "MissingConfig");
    assert!(function.try_status().is_none(), "the function ended");
    function.stop();
    assert!(
        function.output_contains("status 500"),
        "the failures were not logged"
    );
    runtime.assert_no_rejections();
}

async fn sigterm_during_an_invocation_answers_it_flushes_the_log_and_exits_cleanly(mode: Mode) {
    sigterm_during_an_invocation(mode, 1).await;
}

async fn sigterm_coming_twice_within_the_grace_is_taken_as_one(mode: Mode) {
    sigterm_during_an_invocation(mode, 2).await;
}

/// SIGTERM `times` over, 20 ms apart (well within the grace), while an
/// invocation waits on its upstream: it is answered with `Timeout`, the
/// log is flushed, and the function exits 0.
async fn sigterm_during_an_invocation(mode: Mode, times: usize) {
    // Slower than the shutdown grace, so the invocation is cut short.
    let upstream = Upstream::start(Behaviour::AnswerAfter(Duration::from_secs(5))).await;
    let runtime = RuntimeApi::start().await;
    let secrets: Secrets = vec![
        ("API_OAUTH_CONSUMER_KEY", "e2e-term-key".to_owned()),
        ("API_OAUTH_CONSUMER_SECRET", "e2e-term-secret".to_owned()),
        ("API_OAUTH_TOKEN", "e2e-term-token".to_owned()),
        ("API_OAUTH_TOKEN_SECRET", "e2e-term-token-secret".to_owned()),
    ];
    let mut function = with_secrets(mode.function(&runtime), &upstream.url, &secrets).spawn();
    let pending = runtime.submit(json!({}));
    runtime
        .wait_until("the invocation in flight", BOUND, |counts| {
            counts.in_flight == 1
        })
        .await;
    assert_eq!(
        runtime.counts().extensions,
        1,
        "no extension registered: Lambda would send no SIGTERM"
    );
    assert_eq!(
        runtime.counts().extension_polls,
        1,
        "the extension never asked for its events: Lambda would never end the init phase"
    );
    for time in 0..times {
        if time > 0 {
            // Apart, so that tokio cannot fold the two into one delivery.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        function.terminate();
    }

    let (error_type, message) = pending
        .wait(BOUND)
        .await
        .expect("the invocation in flight was answered")
        .expect_error();
    assert_eq!(error_type, "Timeout", "{message}");
    assert!(message.contains("SIGTERM"), "{message:?}");
    let status = function
        .wait_exit(BOUND)
        .await
        .expect("the function kept running after SIGTERM");
    assert!(
        status.success(),
        "the function exited with {status} after SIGTERM"
    );
    for line in ["shutting down", "shut down"] {
        assert!(function.output_contains(line), "no {line:?} in the log");
    }
    function.assert_no_secret_in_output();
    runtime.assert_no_rejections();
}

async fn a_second_signal_ends_a_function_whose_answer_the_runtime_api_never_takes(mode: Mode) {
    let runtime = RuntimeApi::start().await;
    runtime.hold_answers();
    let mut function = mode.function(&runtime).spawn();
    let answered = runtime.try_invoke(json!({}), BOUND).await;
    assert!(
        answered.is_ok(),
        "no answer was posted: {answered:?}\n{}",
        function.stderr()
    );

    function.terminate();
    // Well past the grace: the answer is still being posted, so the
    // function cannot end by itself.
    let first = function.wait_exit(Duration::from_secs(1)).await;
    assert!(first.is_none(), "the function ended with {first:?}");
    // The second may be the other signal (Ctrl-C after Lambda's SIGTERM).
    function.interrupt();
    let status = function
        .wait_exit(BOUND)
        .await
        .expect("the function kept running after a second signal");
    assert_eq!(status.code(), Some(130), "{status}");
    assert!(
        function.output_contains("a second signal"),
        "the forced exit was not logged"
    );
}

async fn a_worker_whose_answer_is_never_replied_to_gives_up_and_serves_the_next(mode: Mode) {
    let runtime = RuntimeApi::start().await;
    runtime.hold_answers();
    let mut function = mode.function(&runtime).spawn();
    // One more than there are workers: the last is only taken by a worker
    // that gave up waiting for the reply to its answer.
    let events = (0..=mode.concurrency()).map(|_| Invoke::new(json!({})));
    for invocation in runtime.invoke_all(events, BOUND).await {
        let (error_type, message) = invocation.expect_error();
        assert_eq!(error_type, "MissingConfig", "{message}");
    }
    // The line is written before the next poll, but read from the pipe
    // by a thread of the test's own: it may come after the answer.
    for says in ["could not be sent to the Runtime API", "no reply within"] {
        assert!(
            function.wait_for_output(says, BOUND).await,
            "the abandoned post was not logged ({says:?})"
        );
    }
    assert!(function.try_status().is_none(), "the function ended");
    function.stop();
}

#[tokio::test]
async fn concurrent_pollers_pause_between_tries_when_the_runtime_api_hangs_up() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    // The emulator only lends the builder its Lambda variables.
    let runtime = RuntimeApi::start().await;
    let mut function = Mode::Concurrent
        .function(&runtime)
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .spawn();
    // Counted from the pollers' first tries, not from the spawn, so a slow
    // start-up under load cannot eat the window.
    let polled = || connections.load(Ordering::SeqCst) >= 4;
    support::wait::until(polled, Duration::from_secs(10)).await;
    let first = connections.load(Ordering::SeqCst);
    assert!(
        first >= 4,
        "the pollers did not poll ({first} connections in 10 s)"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(function.try_status().is_none(), "the function ended");
    function.stop();
    server.abort();

    // Without a pause, four pollers make tens of thousands of tries here;
    // with one doubling from 20 ms, each makes about seven.
    let tries = connections.load(Ordering::SeqCst) - first;
    assert!(
        tries <= 100,
        "{tries} connections in 1.5 s: the pollers spin"
    );
    let lines = function.stdout().lines().count();
    assert!(lines <= 150, "{lines} log lines: the pollers spin");
}

#[tokio::test]
async fn sigterm_or_sigint_while_idle_ends_the_function_cleanly() {
    for (name, send) in [
        ("SIGTERM", Function::terminate as fn(&mut Function)),
        ("SIGINT", Function::interrupt),
    ] {
        let runtime = RuntimeApi::start().await;
        let mut function = Mode::Sequential.function(&runtime).spawn();
        runtime.wait_for_polls(1, BOUND).await;
        send(&mut function);
        let status = function
            .wait_exit(BOUND)
            .await
            .unwrap_or_else(|| panic!("the function kept running after {name}"));
        assert!(
            status.success(),
            "the function exited with {status} after {name}"
        );
        assert!(function.output_contains(name), "{name} was not logged");
        runtime.assert_no_rejections();
    }
}
