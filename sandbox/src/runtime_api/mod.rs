//! An in-process emulator of the AWS Lambda Runtime API, and a helper that
//! runs a compiled function binary against it: end-to-end tests speak the
//! real protocol, over loopback, without the cloud or Docker.
//!
//! The parts, one file each: the emulator as a test holds it
//! ([`RuntimeApi`], started by [`RuntimeApiBuilder`]; the server's state and
//! HTTP handlers behind it), one invocation ([`Invoke`] in, [`Pending`]
//! while it runs, [`Invocation`] or [`InvokeError`] out) and the function
//! process ([`Function`], started by [`FunctionBuilder`]).
//!
//! # What it emulates
//!
//! [`RuntimeApi`] serves the Runtime API (version `2018-06-01`) on
//! `127.0.0.1:<free port>`, as the Lambda service does inside an execution
//! environment (docs: "Using the Lambda runtime API for custom runtimes"):
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /2018-06-01/runtime/invocation/next` | long-polls until an invocation is queued, then `200` with the event as body and the headers below |
//! | `POST /2018-06-01/runtime/invocation/{id}/response` | `202 {"status":"OK"}`; the body is the function's result |
//! | `POST /2018-06-01/runtime/invocation/{id}/error` | `202 {"status":"OK"}`; the body is `{"errorType", "errorMessage", ...}` |
//! | `POST /2018-06-01/runtime/init/error` | `202` before the first `/next`, `403 InvalidStateTransition` after it |
//! | `POST /2020-01-01/extension/register` | `200` with a `Lambda-Extension-Identifier` (counted in [`Counts::extensions`]) |
//! | `GET /2020-01-01/extension/event/next` | waits until the emulator stops: no extension events are emulated (counted in [`Counts::extension_polls`]) |
//!
//! Faults a test can ask for: [`Invoke::raw`] sends an event byte for byte
//! (not JSON, not UTF-8, trailing bytes), [`Invoke::without_header`] hands an
//! invocation out without one of its headers,
//! [`RuntimeApi::fail_next_polls`] answers `/next` polls with an error status,
//! and [`RuntimeApi::hold_answers`] takes answers without ever answering
//! their posts.
//!
//! As in Lambda, whose init phase ends only when every registered
//! extension has asked for its next event, `/next` hands out no invocation
//! while an extension has registered without asking.
//!
//! `/next` answers carry `Lambda-Runtime-Aws-Request-Id`,
//! `Lambda-Runtime-Deadline-Ms` (Unix epoch milliseconds: delivery time plus
//! the function timeout), `Lambda-Runtime-Invoked-Function-Arn`,
//! `Lambda-Runtime-Trace-Id` (always, like Lambda), `Lambda-Runtime-Invocation-Id`
//! (the per-invocation nonce that current runtimes echo back on
//! `/response` and `/error`), and, when the test sets them,
//! `Lambda-Runtime-Client-Context`, `Lambda-Runtime-Cognito-Identity` and
//! `Lambda-Runtime-Aws-Tenant-Id`.
//!
//! Answers the function should never get, as the real service gives them
//! (the status codes are Lambda's; the JSON bodies are ours):
//!
//! | case | status |
//! | --- | --- |
//! | unknown request id, or one not yet handed out by `/next` | `400 InvalidRequestID` |
//! | a second `/response` or `/error` for the same invocation | `403 InvalidStateTransition` |
//! | an answer after the test stopped waiting for it (its timeout), or with a `Lambda-Runtime-Invocation-Id` that is not the invocation's | `410 Gone` |
//! | a `/response` body over 6 MiB (6,291,456 bytes) | `413 RequestEntityTooLarge`, and the invocation fails with `Function.ResponseSizeTooLarge` |
//! | any other path or method | `404` / `405` |
//!
//! Every such refusal is recorded ([`RuntimeApi::rejected`]) so a test can
//! assert that the function spoke the protocol cleanly. Several `/next` polls
//! may wait at once and several invocations may be in flight at once, as on
//! Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY` > 1).
//!
//! Not emulated: response streaming, SnapStart (`/restore/*`), extension events and
//! the Telemetry API; Lambda's own enforcement of the deadline (the function
//! is not frozen or killed: a late answer is accepted and flagged with
//! [`Invocation::past_deadline`]).
//!
//! # Waiting is always bounded
//!
//! Every wait takes a timeout and ends in a test failure that says what was
//! awaited and what the emulator saw (`/next` polls outstanding, invocations
//! queued and in flight), never in a hang. Nothing the function sends can
//! make the emulator panic: bad requests get the error answers above.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use exh_task_sandbox::runtime_api::{Function, RuntimeApi};
//! # const BOOTSTRAP: &str = "target/debug/bootstrap";
//!
//! // A `#[tokio::test]` in the function's own package, where `BOOTSTRAP` is
//! // `env!("CARGO_BIN_EXE_bootstrap")`.
//! async fn echoes_fifty_events() {
//!     let runtime = RuntimeApi::start().await;
//!     let mut function = Function::builder(BOOTSTRAP, &runtime)
//!         .env("API_HOST", "http://127.0.0.1:9999")
//!         .secret_env("API_OAUTH_CONSUMER_SECRET", "s3cr3t")
//!         .spawn();
//!     for n in 0..50 {
//!         let result = runtime
//!             .invoke(serde_json::json!({"n": n}), Duration::from_secs(10))
//!             .await
//!             .expect_response();
//!         assert_eq!(result["ok"], true);
//!     }
//!     runtime.assert_no_rejections();
//!     function.stop();
//!     function.assert_no_secret_in_output();
//! }
//! ```
//!
//! Declare the [`Function`] after the [`RuntimeApi`], so that it is dropped
//! (killed) first: a function whose Runtime API vanished may retry `/next`
//! in a tight loop.

mod function;
mod handlers;
mod invocation;
mod server;
mod state;

use std::time::Duration;

pub use self::function::{Function, FunctionBuilder, COLD_START_SETTLE};
pub use self::invocation::{InitError, Invocation, Invoke, InvokeError, Outcome, Pending};
pub use self::server::{Counts, Rejected, RuntimeApi, RuntimeApiBuilder};

/// The Runtime API version prefix every path starts with.
pub const API_PREFIX: &str = "/2018-06-01/runtime";

/// The Extensions API prefix (register, event/next).
pub const EXTENSION_PREFIX: &str = "/2020-01-01/extension";

/// Largest buffered `/response` body Lambda accepts (6 MiB).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// Function name used by default for the ARN and the function's environment.
pub const DEFAULT_FUNCTION_NAME: &str = "exh-task";

/// Region used by default for the ARN and `AWS_REGION`.
pub const DEFAULT_REGION: &str = "eu-west-1";

/// Function timeout used by default to compute `Lambda-Runtime-Deadline-Ms`.
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Header names of the Runtime API, as they travel on the wire.
pub mod header {
    /// `/next`: the request id; also the `{id}` of `/response` and `/error`.
    pub const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
    /// `/next`: the deadline, Unix epoch milliseconds.
    pub const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
    /// `/next`: the ARN of the invoked function, version or alias.
    pub const INVOKED_FUNCTION_ARN: &str = "lambda-runtime-invoked-function-arn";
    /// `/next`: the X-Ray tracing header.
    pub const TRACE_ID: &str = "lambda-runtime-trace-id";
    /// `/next`: client context of AWS Mobile SDK invocations (JSON).
    pub const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
    /// `/next`: Cognito identity of AWS Mobile SDK invocations (JSON).
    pub const COGNITO_IDENTITY: &str = "lambda-runtime-cognito-identity";
    /// `/next`: tenant id of tenant-isolated functions.
    pub const TENANT_ID: &str = "lambda-runtime-aws-tenant-id";
    /// `/next`, echoed on `/response` and `/error`: per-invocation nonce
    /// that lets the service reject stale answers (410 Gone).
    pub const INVOCATION_ID: &str = "lambda-runtime-invocation-id";
    /// `/error` and `/init/error`: the error category (`lambda_runtime`
    /// sends `unhandled` and `Runtime.InitError`).
    pub const FUNCTION_ERROR_TYPE: &str = "lambda-runtime-function-error-type";
}
