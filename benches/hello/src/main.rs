//! Hello world as a Lambda function: `lambda_runtime`'s basic example,
//! answering every event with `{"hello": "world"}`. It is the floor of
//! `make bench`: whatever exh-task's `bootstrap` takes beyond it, to start
//! or per invocation, is exh-task's own work.
//!
//! One thread, as `bootstrap` serves sequential invocations: the fastest
//! start `lambda_runtime` allows, so the comparison is the strictest one.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({"hello": "world"}))
    }))
    .await
}
