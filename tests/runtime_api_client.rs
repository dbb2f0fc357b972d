//! `exh_task::runtime::api`, the Runtime API client of the runtime loop,
//! against the Runtime API emulator on loopback: what it posts is what
//! Lambda reads, whatever a task names its errors.

use std::borrow::Cow;
use std::time::Duration;

use exh_task::error::LambdaError;
use exh_task::runtime::api::RuntimeApi as Client;
use exh_task::runtime::endpoint::Endpoint;
use exh_task_sandbox::runtime_api::RuntimeApi;
use serde_json::json;

/// Bound for every wait; none should come near it.
const BOUND: Duration = Duration::from_secs(10);

async fn answered_with(error: LambdaError) -> exh_task_sandbox::runtime_api::Invocation {
    let runtime = RuntimeApi::start().await;
    answered_at(&runtime, &runtime.runtime_api_env(), error).await
}

/// `error`, posted by a client that reached `runtime` at `address` (an
/// `AWS_LAMBDA_RUNTIME_API` value).
async fn answered_at(
    runtime: &RuntimeApi,
    address: &str,
    error: LambdaError,
) -> exh_task_sandbox::runtime_api::Invocation {
    let endpoint = Endpoint::parse(address).expect("an address");
    let client = Client::new(&endpoint).expect("a client");
    let pending = runtime.submit(json!({}));
    let next = tokio::time::timeout(
        BOUND,
        client.next_until(
            std::future::pending(),
            &exh_task::runtime::in_flight::InFlight::unshared(),
        ),
    )
    .await
    .expect("an invocation")
    .expect("not stopped")
    .expect("a usable one");
    client
        .fail(&next.request_id, next.invocation_id.as_ref(), &error)
        .await;
    pending
        .wait(BOUND)
        .await
        .expect("the error reached the Runtime API")
}

#[tokio::test]
async fn an_error_is_posted_with_its_error_type_in_the_header_and_the_body() {
    let invocation = answered_with(LambdaError {
        error_type: Cow::Borrowed("DocumentGone"),
        error_message: "document d1 is gone".into(),
    })
    .await;
    assert_eq!(
        invocation.error_type_header.as_deref(),
        Some("DocumentGone")
    );
    let (error_type, message) = invocation.expect_error();
    assert_eq!(
        (error_type.as_str(), message.as_str()),
        ("DocumentGone", "document d1 is gone")
    );
}

#[tokio::test]
async fn an_error_type_no_header_can_hold_is_still_posted_in_the_body() {
    let invocation = answered_with(LambdaError {
        error_type: Cow::Owned("Document\ngone".into()),
        error_message: "document d1 is gone".into(),
    })
    .await;
    assert_eq!(invocation.error_type_header, None);
    let (error_type, _) = invocation.expect_error();
    assert_eq!(error_type, "Document\ngone");
}

#[tokio::test]
async fn the_runtime_api_is_reached_at_a_url_as_well_as_at_host_and_port() {
    let runtime = RuntimeApi::start().await;
    let url = format!("http://{}/", runtime.runtime_api_env());
    let error = LambdaError {
        error_type: Cow::Borrowed("Reached"),
        error_message: "at a URL".into(),
    };
    let (error_type, _) = answered_at(&runtime, &url, error).await.expect_error();
    assert_eq!(error_type, "Reached");
}
