//! The `lambda_runtime` 1.5 defects that `exh_task::runtime` works around,
//! shown with `lambda_runtime`'s own loop (`lambda_runtime::run`, an echo
//! handler) against the Runtime API emulator, in this process.
//!
//! Each assertion states the defect as it is today: when one fails, the
//! upstream crate changed, and the workaround in `src/runtime/` may go.
//! The report for upstream, with a stand-alone program, is
//! `repro/lambda_runtime-runtime-faults/`.

use std::time::Duration;

use exh_task_sandbox::runtime_api::{header, Invoke, RuntimeApi};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

/// Bound for every wait.
const BOUND: Duration = Duration::from_secs(10);

async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

/// `lambda_runtime::run(echo)` against `runtime`, on a task of its own.
///
/// `lambda_runtime` reads its configuration from the process environment
/// when it starts, so the cases run one after the other in one test.
fn run_echo(runtime: &RuntimeApi) -> tokio::task::JoinHandle<Result<(), Error>> {
    for (name, value) in [
        ("AWS_LAMBDA_RUNTIME_API", runtime.runtime_api_env()),
        ("AWS_LAMBDA_FUNCTION_NAME", "defects".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
    ] {
        std::env::set_var(name, value);
    }
    tokio::spawn(lambda_runtime::run(service_fn(echo)))
}

#[tokio::test]
async fn lambda_runtime_runs_trailing_bytes_mislabels_deep_events_and_dies_on_a_bad_next() {
    // 1. Trailing bytes: the first value runs, the rest is ignored.
    let runtime = RuntimeApi::start().await;
    let loop_ = run_echo(&runtime);
    let answer = runtime
        .invoke(Invoke::raw(*br#"{"first": 1} {"second": 2}"#), BOUND)
        .await
        .expect_response();
    assert_eq!(
        answer,
        json!({"first": 1}),
        "trailing bytes are refused now"
    );

    // 2. Nesting past serde_json's limit: the error type is a Rust type name.
    let mut deep = vec![b'['; 128];
    deep.extend([b']'; 128]);
    let (error_type, _) = runtime
        .invoke(Invoke::raw(deep), BOUND)
        .await
        .expect_error();
    assert_eq!(
        error_type,
        "&lambda_runtime::deserializer::DeserializeError"
    );
    loop_.abort();

    // 3. A `/next` answer without a deadline: the loop panics.
    let runtime = RuntimeApi::start().await;
    let loop_ = run_echo(&runtime);
    let unanswered = runtime
        .try_invoke(
            Invoke::new(json!({})).without_header(header::DEADLINE_MS),
            Duration::from_secs(2),
        )
        .await;
    assert!(unanswered.is_err());
    let ended = tokio::time::timeout(BOUND, loop_)
        .await
        .expect("the loop survives a /next answer without a deadline now");
    assert!(ended.is_err_and(|error| error.is_panic()));

    // 4. A 500 from `/next`: read as an invocation, whose missing request
    // id panics (the status check of debug builds comes only after).
    let runtime = RuntimeApi::start().await;
    runtime.fail_next_polls(1, 500);
    let loop_ = run_echo(&runtime);
    let ended = tokio::time::timeout(BOUND, loop_)
        .await
        .expect("the loop survives a 500 from /next now");
    assert!(ended.is_err_and(|error| error.is_panic()));
}
