//! The Extra Horizon JavaScript SDK's OAuth1 client works against the sandbox
//! unchanged: the sandbox verifies signatures as Extra Horizon does, and
//! answers in the shapes the SDK reads (its error mapping included).

/// The reference scripts (Python, Node) live in the workspace root's tests.
#[path = "../../tests/support/python.rs"]
#[allow(dead_code)]
mod python;

use exh_task_sandbox::{Sandbox, SandboxOptions};
use python::run_script_async;
use serde_json::Value;

#[tokio::test]
async fn the_javascript_sdk_signs_requests_the_sandbox_accepts() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let mut env = sandbox.env();
    // The SDK takes hosts containing "localhost" as they are; others become
    // https://api.<host>.
    let localhost = format!("http://localhost:{}", sandbox.local_addr().port());
    env.iter_mut()
        .filter(|(name, _)| *name == "API_HOST")
        .for_each(|(_, value)| *value = localhost.clone());

    let got = run_script_async("js/exh_js_client.mjs", Value::Null, env).await;

    assert_eq!(got["me"]["email"], "sam.sandbox@example.com");
    assert_eq!(got["page"]["page"]["offset"], 20);
    assert_eq!(got["page"]["data"].as_array().unwrap().len(), 10);
    assert_eq!(
        got["page"]["data"][0].as_object().unwrap().len(),
        2,
        "select(id,email)"
    );
    assert_eq!(got["dutch"]["data"].as_array().unwrap().len(), 3);
    assert_eq!(got["created"]["data"]["note"], "ça va + 100%");
    assert_eq!(got["updated"]["affectedRecords"], 1);
    assert_eq!(got["removed"]["affectedRecords"], 1);
    assert_eq!(got["wrongSecret"]["name"], "OAUTH_SIGNATURE_EXCEPTION");
    assert_eq!(got["wrongSecret"]["status"], 401);
    let refused = sandbox
        .recorded_requests()
        .iter()
        .filter(|r| r.status == 401)
        .count();
    assert_eq!(refused, 1, "only the wrong secret was refused");
}
