//! The smallest `lambda_runtime` 1.5 function: it answers its event and
//! the function ARN its context holds.
//! Run it against `fake_runtime_api.py` (see README.md) to see each defect.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run_concurrent(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(json!({
            "event": event.payload,
            "invoked_function_arn": event.context.invoked_function_arn,
        }))
    }))
    .await
}
