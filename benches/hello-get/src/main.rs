//! Hello world that calls an API: `lambda_runtime`'s basic example, but each
//! invocation first sends one plain `GET $API_HOST/users/v1/me` with a
//! shared `reqwest` client (the same features as exh-task's), and answers
//! with its status. It is the floor of exh-task's own work per warm
//! invocation: what any Rust function that makes the same call pays for
//! the loopback round trip, so the difference from it is exh-task's own
//! (the event, the OAuth1 signature, the result, the summary line).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let url = format!("{}/users/v1/me", std::env::var("API_HOST")?);
    let client = reqwest::Client::new();
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let request = client.get(&url);
        async move {
            let response = request.send().await?;
            let status = response.status().as_u16();
            response.bytes().await?;
            Ok::<_, Error>(json!({"status": status}))
        }
    }))
    .await
}
