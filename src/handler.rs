//! The handler: one event in, one result (or one error) out.
//!
//! Built once per process from the configuration and the shared HTTP client;
//! cheap to clone, so the runtime's concurrent mode can hand a clone to each
//! worker.

use crate::config::Config;
use crate::error::Error;
use crate::event::Request;
use crate::exh;
use crate::outcome::Outcome;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Time kept back from the invocation deadline to report a timeout ourselves
/// rather than be killed by Lambda without a word.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(200);

/// Runs events. `Clone + Send + 'static`; clones share clients and config.
#[derive(Clone)]
pub struct Handler {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    exh: Option<exh::Client>,
}

impl Handler {
    /// A handler for `config`, sending through the shared `http` client.
    pub fn new(config: Config, http: reqwest::Client) -> Handler {
        let exh = config
            .exh
            .as_ref()
            .ok()
            .map(|exh| exh::Client::new(http.clone(), exh.clone(), config.debug));
        Handler {
            inner: Arc::new(Inner { config, exh }),
        }
    }

    /// The Lambda entry: the event's payload, bounded by its deadline.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let deadline = instant_of_epoch_ms(event.context.deadline);
        self.handle(event.payload, deadline).await
    }

    /// Runs `event` and returns the result document, or the error that kept
    /// any answer from being had.
    pub async fn handle(&self, event: Value, deadline: Instant) -> Result<Value, Error> {
        let request = Request::from_event(&event)?;
        let outcome = self.run(request, deadline).await?;
        Ok(outcome.to_json())
    }

    fn run(&self, request: Request, deadline: Instant) -> BoxFuture<'_, Result<Outcome, Error>> {
        async move {
            match request {
                Request::Exh(request) => self.exh(&request, deadline).await,
                Request::Batch { requests, concurrency } => {
                    let items = futures::stream::iter(requests)
                        .map(|item| async move {
                            match item {
                                Ok(request) => self.run(request, deadline).await,
                                Err(error) => Err(error),
                            }
                        })
                        .buffered(concurrency)
                        .collect()
                        .await;
                    Ok(Outcome::Batch(items))
                }
            }
        }
        .boxed()
    }

    async fn exh(&self, request: &exh::Request, deadline: Instant) -> Result<Outcome, Error> {
        // Refusals come before configuration, so a bad event is named as such.
        let prepared = request.prepare()?;
        if let Some(allowed) = &self.inner.config.allowed_paths {
            allowed.check(&prepared.path)?;
        }
        let client = match &self.inner.exh {
            Some(client) => client,
            None => return Err(self.inner.config.exh().err().expect("no client means no config")),
        };
        client.send(request, deadline).await.map(Outcome::Exh)
    }
}

/// The monotonic instant of a Lambda deadline (ms since the epoch), less
/// [`DEADLINE_MARGIN`]; a deadline in the past is now.
pub fn instant_of_epoch_ms(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let remaining = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn handler(vars: &[(&str, &str)]) -> Handler {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let config = Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap();
        Handler::new(config, crate::http::client().unwrap())
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn without_configuration_the_empty_event_names_every_missing_variable() {
        let error = handler(&[]).handle(json!({}), soon()).await.unwrap_err();
        assert_eq!(error.error_type(), "MissingConfig");
        assert!(error.to_string().contains("API_HOST, API_OAUTH_CONSUMER_KEY"), "{error}");
    }

    #[tokio::test]
    async fn a_bad_event_is_invalid_even_without_configuration() {
        let error = handler(&[]).handle(json!({"exh": {"path": "//evil"}}), soon()).await.unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
    }

    #[tokio::test]
    async fn a_path_outside_the_allow_list_is_forbidden_before_any_call() {
        let handler = handler(&[
            ("API_HOST", "http://127.0.0.1:9"),
            ("API_OAUTH_CONSUMER_KEY", "k"),
            ("API_OAUTH_CONSUMER_SECRET", "s"),
            ("API_OAUTH_TOKEN", "t"),
            ("API_OAUTH_TOKEN_SECRET", "ts"),
            ("EXH_ALLOWED_PATHS", "/users/v1/me"),
        ]);
        let error = handler.handle(json!({"exh": {"path": "/tasks/v1/"}}), soon()).await.unwrap_err();
        assert_eq!(error.error_type(), "Forbidden");
    }

    #[tokio::test]
    async fn batch_items_fail_alone() {
        let result = handler(&[])
            .handle(json!({"batch": [{"exh": {"path": "x"}}, {}]}), soon())
            .await
            .unwrap();
        assert_eq!(result["ok"], false);
        assert_eq!(result["batch"][0]["error"]["type"], "InvalidEvent");
        assert_eq!(result["batch"][1]["error"]["type"], "MissingConfig");
    }

    #[test]
    fn a_past_deadline_is_now() {
        let before = Instant::now();
        assert!(instant_of_epoch_ms(0) <= Instant::now() && instant_of_epoch_ms(0) >= before);
    }

    #[test]
    fn the_handler_can_serve_concurrent_workers() {
        fn assert_worker_safe<T: Clone + Send + Sync + 'static>() {}
        assert_worker_safe::<Handler>();
    }
}
