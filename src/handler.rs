//! The handler: one event in, one result (or one error) out.
//!
//! Built once per process from the configuration and the shared HTTP client;
//! cheap to clone, so the runtime's concurrent mode can hand a clone to each
//! worker.

use crate::config::Config;
use crate::envelope::{self, Opened, SqsRecord};
use crate::error::Error;
use crate::event::{Request, DEFAULT_CONCURRENCY};
use crate::exh;
use crate::hexonet;
use crate::http::describe;
use crate::outcome::Outcome;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Time kept back from the invocation deadline to report a timeout ourselves
/// rather than be killed by Lambda without a word.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(200);

/// The largest result a synchronous Lambda invocation may return (6 MB),
/// less room for the envelope around it.
pub const MAX_RESULT_BYTES: usize = 6 * 1024 * 1024 - 64 * 1024;

/// Runs events. `Clone + Send + 'static`; clones share clients and config.
#[derive(Clone)]
pub struct Handler {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    exh: Option<exh::Client>,
    /// `Err` when the HEXONET side is configured but its proxy is unusable.
    hexonet: Option<Result<hexonet::Client, Error>>,
}

impl Handler {
    /// A handler for `config`, sending through the shared `http` client.
    pub fn new(config: Config, http: reqwest::Client) -> Handler {
        let exh = config
            .exh
            .as_ref()
            .ok()
            .map(|exh| exh::Client::new(http.clone(), exh.clone(), config.debug));
        let hexonet = config.hexonet.as_ref().ok().map(|hexonet| {
            let http = match &hexonet.proxy {
                None => http.clone(),
                Some(proxy) => crate::http::client_via(proxy).map_err(|error| {
                    Error::Transport(format!(
                        "HEXONET_PROXY cannot be used: {}",
                        describe(&error)
                    ))
                })?,
            };
            Ok(hexonet::Client::new(http, hexonet.clone(), config.debug))
        });
        Handler {
            inner: Arc::new(Inner {
                config,
                exh,
                hexonet,
            }),
        }
    }

    /// The Lambda entry: the event's payload, bounded by its deadline.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let deadline = instant_of_epoch_ms(event.context.deadline);
        tracing::debug!(
            deadline_ms = event.context.deadline,
            remaining_ms = deadline
                .saturating_duration_since(Instant::now())
                .as_millis() as u64,
            "invocation"
        );
        self.handle(event.payload, deadline).await
    }

    /// Runs `event`, in whatever envelope it comes, and returns what that
    /// envelope expects: the result document (or the error that kept any
    /// answer from being had), an HTTP response, or SQS `batchItemFailures`.
    pub async fn handle(&self, event: Value, deadline: Instant) -> Result<Value, Error> {
        match envelope::open(event)? {
            Opened::Request(event) => self.respond(&event, deadline).await,
            Opened::Http { kind, request } => {
                let result = match request {
                    Ok(event) => self.respond(&event, deadline).await,
                    Err(error) => Err(error),
                };
                Ok(kind.response(result))
            }
            Opened::Sqs(records) => Ok(self.sqs(records, deadline).await),
        }
    }

    /// The result document of one request event.
    async fn respond(&self, event: &Value, deadline: Instant) -> Result<Value, Error> {
        let request = Request::from_event(event)?;
        let result = self.run(request, deadline).await?.to_json();
        let size = json_size(&result);
        if size > MAX_RESULT_BYTES {
            return Err(Error::InvalidResponse(format!(
                "the result is {size} bytes, over Lambda's 6 MB limit: ask for less (select(), limit())"
            )));
        }
        Ok(result)
    }

    /// Runs each record; those that fail or answer not ok are named in
    /// `batchItemFailures`, so SQS retries only them.
    async fn sqs(&self, records: Vec<SqsRecord>, deadline: Instant) -> Value {
        let failures: Vec<Value> = futures::stream::iter(records)
            .map(|record| async move {
                let result = match record.request {
                    Ok(event) => self.respond(&event, deadline).await,
                    Err(error) => Err(error),
                };
                match result {
                    Ok(result) if result["ok"] == true => None,
                    Ok(_) => Some(record.message_id),
                    Err(error) => {
                        tracing::warn!(message_id = %record.message_id, %error, "SQS record failed");
                        Some(record.message_id)
                    }
                }
            })
            .buffered(DEFAULT_CONCURRENCY)
            .filter_map(|failure| async move { failure.map(|id| json!({"itemIdentifier": id})) })
            .collect()
            .await;
        json!({"batchItemFailures": failures})
    }

    fn run(&self, request: Request, deadline: Instant) -> BoxFuture<'_, Result<Outcome, Error>> {
        async move {
            match request {
                Request::Exh(request) => self.exh(&request, deadline).await,
                Request::Hexonet(request) => self.hexonet(&request, deadline).await,
                Request::Batch {
                    requests,
                    concurrency,
                } => {
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
        let Some(client) = &self.inner.exh else {
            return Err(self
                .inner
                .config
                .exh()
                .expect_err("no client means no config"));
        };
        client.run(&prepared, deadline).await.map(Outcome::Exh)
    }
}

impl Handler {
    async fn hexonet(
        &self,
        request: &hexonet::Request,
        deadline: Instant,
    ) -> Result<Outcome, Error> {
        // Refusals come before configuration, so a bad event is named as such.
        let prepared = request.prepare()?;
        if let Some(allowed) = &self.inner.config.allowed_commands {
            allowed.check(prepared.command.name())?;
        }
        let client = match &self.inner.hexonet {
            Some(Ok(client)) => client,
            Some(Err(error)) => return Err(error.clone()),
            None => {
                return Err(self
                    .inner
                    .config
                    .hexonet()
                    .expect_err("no client means no config"))
            }
        };
        client.send(&prepared, deadline).await.map(Outcome::Hexonet)
    }
}

/// The length of `value` serialised, without building the text.
fn json_size(value: &Value) -> usize {
    struct Counter(usize);
    impl Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).expect("counting cannot fail");
    counter.0
}

/// 2001-01-01 in ms since the epoch: no real deadline comes before it.
const EPOCH_2001_MS: u64 = 978_307_200_000;

/// The monotonic instant of a Lambda deadline (ms since the epoch), less
/// [`DEADLINE_MARGIN`]; a deadline in the past is now.
///
/// A value before 2001 cannot be an epoch time: `cargo lambda watch` 1.9
/// sends the function's timeout itself (`600000`), so such a value is read as
/// that many milliseconds from now.
pub fn instant_of_epoch_ms(deadline_ms: u64) -> Instant {
    let remaining = if deadline_ms < EPOCH_2001_MS {
        Duration::from_millis(deadline_ms)
    } else {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64);
        Duration::from_millis(deadline_ms.saturating_sub(now_ms))
    };
    Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn handler(vars: &[(&str, &str)]) -> Handler {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = Config::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .unwrap();
        Handler::new(config, crate::http::client().unwrap())
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn without_configuration_the_empty_event_names_every_missing_variable() {
        let error = handler(&[]).handle(json!({}), soon()).await.unwrap_err();
        assert_eq!(error.error_type(), "MissingConfig");
        assert!(
            error
                .to_string()
                .contains("API_HOST, API_OAUTH_CONSUMER_KEY"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_bad_event_is_invalid_even_without_configuration() {
        let error = handler(&[])
            .handle(json!({"exh": {"path": "//evil"}}), soon())
            .await
            .unwrap_err();
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
        let error = handler
            .handle(json!({"exh": {"path": "/tasks/v1/"}}), soon())
            .await
            .unwrap_err();
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

    #[tokio::test]
    async fn http_envelopes_answer_errors_as_responses() {
        let event = json!({"version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
            "headers": {}, "requestContext": {"http": {"method": "POST", "path": "/"}}, "body": "{\"exh\": {\"path\": \"x\"}}",
            "isBase64Encoded": false});
        let response = handler(&[]).handle(event, soon()).await.unwrap();
        assert_eq!(response["statusCode"], 400);
    }

    #[tokio::test]
    async fn sqs_names_only_the_records_that_failed() {
        let record =
            |id: &str, body: &str| json!({"messageId": id, "eventSource": "aws:sqs", "body": body});
        let event = json!({"Records": [record("a", "{\"exh\": {\"path\": \"x\"}}"), record("b", "not json")]});
        let response = handler(&[]).handle(event, soon()).await.unwrap();
        assert_eq!(
            response,
            json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]})
        );
    }

    const HEXONET_ON_A_CLOSED_PORT: [(&str, &str); 3] = [
        ("HEXONET_LOGIN", "me"),
        ("HEXONET_PASSWORD", "pw"),
        ("HEXONET_URL", "http://127.0.0.1:9/api/call.cgi"),
    ];

    #[tokio::test]
    async fn a_hexonet_command_outside_the_allow_list_is_forbidden_before_any_call() {
        let mut vars = HEXONET_ON_A_CLOSED_PORT.to_vec();
        vars.push(("HEXONET_ALLOWED_COMMANDS", "CheckDomain,StatusAccount"));
        let error = handler(&vars)
            .handle(
                json!({"hexonet": {"command": {"COMMAND": "DeleteDomain", "DOMAIN": "a.com"}}}),
                soon(),
            )
            .await
            .unwrap_err();
        assert_eq!(error.error_type(), "Forbidden");
        assert!(error.to_string().contains("DeleteDomain"), "{error}");
    }

    #[tokio::test]
    async fn an_unconfigured_hexonet_names_its_missing_variables() {
        let error = handler(&[])
            .handle(
                json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
                soon(),
            )
            .await
            .unwrap_err();
        assert_eq!(
            error,
            Error::MissingConfig(vec!["HEXONET_LOGIN", "HEXONET_PASSWORD"])
        );
    }

    #[tokio::test]
    async fn a_bad_hexonet_command_is_invalid_even_without_configuration() {
        let error = handler(&[])
            .handle(json!({"hexonet": {"command": {"DOMAIN": "a.com"}}}), soon())
            .await
            .unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
    }

    #[test]
    fn json_size_counts_the_serialised_bytes() {
        let value = json!({"a": [1, "é"]});
        assert_eq!(json_size(&value), value.to_string().len());
    }

    #[test]
    fn a_past_deadline_is_now() {
        let before = Instant::now();
        let deadline = instant_of_epoch_ms(EPOCH_2001_MS);
        assert!(deadline >= before && deadline <= Instant::now());
    }

    #[test]
    fn an_epoch_deadline_leaves_the_time_until_it_less_the_margin() {
        let in_ten_seconds = SystemTime::now() + Duration::from_secs(10);
        let epoch_ms = in_ten_seconds
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let remaining = instant_of_epoch_ms(epoch_ms) - Instant::now();
        assert!(remaining <= Duration::from_secs(10) - DEADLINE_MARGIN);
        assert!(remaining > Duration::from_secs(5));
    }

    #[test]
    fn a_deadline_given_as_a_timeout_counts_from_now() {
        let remaining = instant_of_epoch_ms(600_000) - Instant::now();
        assert!(remaining <= Duration::from_millis(600_000) - DEADLINE_MARGIN);
        assert!(remaining > Duration::from_secs(500));
    }

    #[test]
    fn the_handler_can_serve_concurrent_workers() {
        fn assert_worker_safe<T: Clone + Send + Sync + 'static>() {}
        assert_worker_safe::<Handler>();
    }
}
