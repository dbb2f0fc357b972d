//! The handler: one event in, one result (or one error) out.
//!
//! Built once per process from the configuration and the shared HTTP client;
//! cheap to clone, so the runtime's concurrent mode can hand a clone to each
//! worker.

use crate::allow_list::{self, Caller, CommandAllowList, PathAllowList};
use crate::answer_memory::AnswerMemory;
use crate::config::Config;
use crate::envelope::{self, Opened, Reply, SqsRecord};
use crate::error::Error;
use crate::event::{Event, Request, DEFAULT_CONCURRENCY};
use crate::exh;
use crate::hexonet;
use crate::http::{describe, Upstream};
use crate::limits::{BodyBudget, Spent};
use crate::mask::Redactor;
use crate::outcome::{EventOutcome, Outcome};
use crate::telemetry;
use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tracing::Instrument;

/// Time kept back from the invocation deadline to report a timeout ourselves
/// rather than be killed by Lambda without a word.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(200);

/// Runs events. `Clone + Send + 'static`; clones share clients and config.
#[derive(Clone)]
pub struct Handler {
    inner: Arc<Inner>,
}

/// Each side is its client, or the error a request for it fails with
/// (missing variables, an unusable proxy), decided once at start-up.
struct Inner {
    exh: Result<exh::Client, Error>,
    hexonet: Result<hexonet::Client, Error>,
    allowed_paths: Option<PathAllowList>,
    allowed_commands: Option<CommandAllowList>,
    /// Every configured secret, kept out of every answer and error.
    redactor: Redactor,
    /// The most bytes the answers of one request may take together
    /// ([`Spent::Request`]): the body cap.
    request_bytes: usize,
}

impl Handler {
    /// A handler for `config`, sending through the shared `http` client
    /// under `config`'s [limits](crate::limits): both sides draw on one set
    /// of in-flight permits, so every SQS record, batch item and page of
    /// this handler shares one limit.
    pub fn new(config: Config, http: reqwest::Client) -> Handler {
        let http = Upstream::new(http, config.limits);
        // One redactor of every secret, for the answers and for each
        // client's debug log and errors (which may echo the other side's).
        let redactor = Redactor::new(&config.secrets());
        let exh = config.exh().map(|exh| {
            exh::Client::redacting(http.clone(), exh.clone(), config.debug, redactor.clone())
        });
        let hexonet = config.hexonet().and_then(|hexonet| {
            let http = match &hexonet.proxy {
                None => http.clone(),
                Some(proxy) => {
                    http.with_client(crate::http::client_via(proxy).map_err(|error| {
                        Error::Transport(format!(
                            "HEXONET_PROXY cannot be used: {}",
                            describe(&error)
                        ))
                    })?)
                }
            };
            Ok(hexonet::Client::redacting(
                http,
                hexonet.clone(),
                config.debug,
                redactor.clone(),
            ))
        });
        warn_if_open(&config);
        Handler {
            inner: Arc::new(Inner {
                exh,
                hexonet,
                redactor,
                allowed_paths: config.allowed_paths,
                allowed_commands: config.allowed_commands,
                request_bytes: config.limits.max_body_bytes,
            }),
        }
    }

    /// Every configured secret, as answers and errors are cleared of them.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// The Lambda entry: the event's payload, bounded by its deadline.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Reply, Error> {
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
    /// The answer is serialised once, and fits Lambda's 6 MB limit
    /// ([`envelope::MAX_RESULT_BYTES`]) or is that limit's error.
    ///
    /// Writes the invocation's summary line, and its metrics when they are
    /// on ([`telemetry::observe`]). No configured secret leaves in the
    /// answer, in any form ([`Redactor`]): an upstream may echo one into a
    /// result, and the bytes sent are searched for them once (form by form
    /// for a short answer, one Aho-Corasick pass for a long one); only an
    /// answer that holds one is read again and redacted. The summary line sees the redacted error.
    pub async fn handle(&self, event: Value, deadline: Instant) -> Result<Reply, Error> {
        // Boxed: the work is a deep future (kilobytes), which every layer
        // above would otherwise move whole.
        telemetry::observe(Box::pin(async {
            // The answers read are held until the reply is written; the
            // reply is then read again only if it holds a secret.
            match AnswerMemory::held_in(self.answer(event, deadline)).await {
                Ok(reply) => reply.redacted(&self.inner.redactor),
                Err(error) => Err(self.cleared(error)),
            }
        }))
        .await
    }

    /// [`Handler::handle`]'s work, inside the invocation's record, before
    /// redaction.
    async fn answer(&self, event: Value, deadline: Instant) -> Result<Reply, Error> {
        let (correlation, opened) = envelope::open_correlated(event);
        telemetry::record::correlate(correlation);
        match opened? {
            Opened::Request(event) => {
                let outcome = self
                    .within_budget(self.event(event, Caller::Invoker, deadline))
                    .await?;
                telemetry::record::set_ok(outcome.is_ok());
                envelope::result(&outcome)
            }
            Opened::Http {
                kind,
                request,
                requesting_user,
            } => {
                // Who asked, on every line logged for this request.
                let span = tracing::info_span!("http", ?kind, requesting_user);
                let outcome = match request {
                    Ok(event) => {
                        self.within_budget(self.event(event, Caller::Http, deadline))
                            .instrument(span)
                            .await
                    }
                    Err(error) => Err(error),
                };
                let outcome = outcome.map_err(|error| self.cleared(error));
                match &outcome {
                    Ok(outcome) => telemetry::record::set_ok(outcome.is_ok()),
                    Err(error) => telemetry::record_error(error),
                }
                Ok(kind.response(outcome.as_ref()))
            }
            Opened::Sqs(records) => {
                let mut failed = self.sqs(records, deadline).await;
                // Each once: a standard queue may deliver a message twice
                // in one batch.
                let mut named = std::collections::HashSet::new();
                failed.retain(|id| named.insert(id.clone()));
                telemetry::record::set_ok(failed.is_empty());
                telemetry::record::record_sqs_failures(&failed);
                envelope::batch_item_failures(failed)
            }
        }
    }

    /// Runs one request that `caller` wrote: an upstream answer, ok or not,
    /// or the error that kept any answer from being had or sought.
    pub async fn run(
        &self,
        request: Request,
        caller: Caller,
        deadline: Instant,
    ) -> Result<Outcome, Error> {
        match request {
            Request::Exh(request) => {
                telemetry::record_request("exh");
                self.exh(request, caller, deadline).await
            }
            Request::Hexonet(request) => {
                telemetry::record_request("hexonet");
                self.hexonet(&request, caller, deadline).await
            }
        }
    }

    /// The outcome of one event out of its envelope: its request's, or its
    /// batch items', run concurrently and kept in order. The event's parts
    /// are moved into its requests, not copied.
    async fn event(
        &self,
        event: Value,
        caller: Caller,
        deadline: Instant,
    ) -> Result<EventOutcome, Error> {
        match Event::from_value(event)? {
            Event::Single(request) => self
                .run(request, caller, deadline)
                .await
                .map(EventOutcome::Single),
            Event::Batch { items, concurrency } => {
                let outcomes: Vec<_> = futures::stream::iter(items)
                    .map(|item| async move { self.run(item?, caller, deadline).await })
                    .buffered(concurrency)
                    .collect()
                    .await;
                outcomes
                    .iter()
                    .filter_map(|outcome| outcome.as_ref().err())
                    .for_each(|error| self.record_error(error));
                Ok(EventOutcome::Batch(outcomes))
            }
        }
    }

    /// Logs and counts an error that ended one request of the invocation
    /// (a batch item, an SQS record), [cleared](Self::cleared) first: the
    /// answer is redacted as a whole later, but the line is written now,
    /// and an event may quote a secret (one pasted into the wrong field).
    fn record_error(&self, error: &Error) {
        telemetry::record_error(&self.cleared(error.clone()));
    }

    /// `error` as it may leave the function: redacted, then abridged (a
    /// secret cut in two would no longer be found), so an error quoting
    /// megabytes of its event is still one the Runtime API takes and one
    /// log line.
    fn cleared(&self, error: Error) -> Error {
        self.inner.redactor.error(error).abridged()
    }

    /// `work`, one request's (an event's, an SQS record's), with the bodies
    /// its answers are read from held to [`Spent::Request`]'s budget. Not
    /// an `async fn`, as [`BodyBudget::spend_in`] is not: `work` is held
    /// once.
    fn within_budget<F: std::future::Future>(
        &self,
        work: F,
    ) -> impl std::future::Future<Output = F::Output> {
        BodyBudget::spend_in(Spent::Request, self.inner.request_bytes, 0, work)
    }

    /// Runs each record; the message ids of those that fail or answer not
    /// ok, so SQS retries only them. A FIFO queue's records run one after
    /// the other, and the first that fails ends the run: it and every
    /// record after it are failed back, unrun, so that none overtakes it
    /// (as AWS asks of partial batch responses from FIFO queues).
    async fn sqs(&self, records: Vec<SqsRecord>, deadline: Instant) -> Vec<String> {
        if records.iter().any(|record| record.fifo) {
            let mut records = records.into_iter();
            let mut failed = Vec::new();
            for record in records.by_ref() {
                if let Some(id) = self.sqs_record(record, deadline).await {
                    failed.push(id);
                    break;
                }
            }
            failed.extend(records.map(|record| record.message_id));
            return failed;
        }
        futures::stream::iter(records)
            .map(|record| self.sqs_record(record, deadline))
            .buffered(DEFAULT_CONCURRENCY)
            .filter_map(|failure| async move { failure })
            .collect()
            .await
    }

    /// Runs one SQS record: its message id if it failed or answered not ok.
    /// Its answers are held until it ends, not with the other records'.
    async fn sqs_record(&self, record: SqsRecord, deadline: Instant) -> Option<String> {
        let outcome = match record.request {
            Ok(event) => {
                AnswerMemory::held_in(self.within_budget(self.event(
                    event,
                    Caller::Invoker,
                    deadline,
                )))
                .await
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(outcome) if outcome.is_ok() => None,
            Ok(_) => Some(record.message_id),
            Err(error) => {
                // The record's id on its error line, cut as the
                // summary's (the answer names it exactly).
                let message_id = envelope::logged_id(&record.message_id);
                let span = tracing::info_span!("sqs_record", message_id);
                span.in_scope(|| self.record_error(&error));
                Some(record.message_id)
            }
        }
    }

    async fn exh(
        &self,
        request: exh::Request,
        caller: Caller,
        deadline: Instant,
    ) -> Result<Outcome, Error> {
        let prepared = request.into_prepared()?;
        self.send_exh(&prepared, caller, deadline)
            .await
            .map(Outcome::Exh)
    }

    async fn hexonet(
        &self,
        request: &hexonet::Request,
        caller: Caller,
        deadline: Instant,
    ) -> Result<Outcome, Error> {
        let prepared = request.prepare()?;
        self.send_hexonet(&prepared, caller, deadline)
            .await
            .map(Outcome::Hexonet)
    }

    /// Sends a prepared Extra Horizon request that `caller` asked for:
    /// refused by `EXH_ALLOWED_PATHS` before configuration is looked at (so
    /// a bad request is named as such), then sent by the shared client.
    pub async fn send_exh(
        &self,
        prepared: &exh::request::Prepared,
        caller: Caller,
        deadline: Instant,
    ) -> Result<exh::Answer, Error> {
        allow_list::check(self.inner.allowed_paths.as_ref(), caller, &prepared.path)?;
        self.exh_client()?.send(prepared, deadline).await
    }

    /// Sends a prepared HEXONET request that `caller` asked for: refused by
    /// `HEXONET_ALLOWED_COMMANDS` before configuration is looked at, then
    /// sent by the shared client.
    pub async fn send_hexonet(
        &self,
        prepared: &hexonet::Prepared,
        caller: Caller,
        deadline: Instant,
    ) -> Result<hexonet::Response, Error> {
        allow_list::check(
            self.inner.allowed_commands.as_ref(),
            caller,
            prepared.command.name(),
        )?;
        let sent = self.hexonet_client()?.send(prepared, deadline).await;
        // The request's one-time password is a secret of its own, which an
        // upstream error (a 530 quoting `s_otp`) may carry.
        match &prepared.options.otp {
            Some(otp) => sent.map_err(|error| Redactor::new([otp]).error(error)),
            None => sent,
        }
    }

    /// The shared Extra Horizon client, or the error every request for it
    /// fails with (`MissingConfig` naming the variables not set).
    pub fn exh_client(&self) -> Result<&exh::Client, Error> {
        self.inner.exh.as_ref().map_err(Error::clone)
    }

    /// The shared HEXONET client, or the error every request for it fails
    /// with (`MissingConfig`, or an unusable `HEXONET_PROXY`).
    pub fn hexonet_client(&self) -> Result<&hexonet::Client, Error> {
        self.inner.hexonet.as_ref().map_err(Error::clone)
    }
}

/// Says, once at start-up, which side is open to every request on purpose
/// (`EXH_ALLOWED_PATHS=/`, `HEXONET_ALLOWED_COMMANDS=*`): over HTTP that
/// is anyone who can reach the function.
fn warn_if_open(config: &Config) {
    if config
        .allowed_paths
        .as_ref()
        .is_some_and(PathAllowList::allows_everything)
    {
        tracing::warn!(
            "EXH_ALLOWED_PATHS lets every Extra Horizon path through, also for callers over HTTP"
        );
    }
    if config
        .allowed_commands
        .as_ref()
        .is_some_and(CommandAllowList::allows_everything)
    {
        tracing::warn!(
            "HEXONET_ALLOWED_COMMANDS lets every HEXONET command through, also for callers over HTTP"
        );
    }
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

/// A handler configured by `vars` alone, for unit tests.
#[cfg(test)]
pub(crate) fn handler(vars: &[(&str, &str)]) -> Handler {
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, value)| value.to_string())
    })
    .unwrap();
    Handler::new(config, crate::http::client().unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            .unwrap()
            .to_value();
        assert_eq!(result["ok"], false);
        assert_eq!(result["batch"][0]["error"]["type"], "InvalidEvent");
        assert_eq!(result["batch"][1]["error"]["type"], "MissingConfig");
    }

    #[tokio::test]
    async fn http_envelopes_answer_errors_as_responses() {
        let event = json!({"version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
            "headers": {}, "requestContext": {"http": {"method": "POST", "path": "/"}}, "body": "{\"exh\": {\"path\": \"x\"}}",
            "isBase64Encoded": false});
        let response = handler(&[]).handle(event, soon()).await.unwrap().to_value();
        assert_eq!(response["statusCode"], 400);
    }

    #[tokio::test]
    async fn sqs_names_only_the_records_that_failed() {
        let record =
            |id: &str, body: &str| json!({"messageId": id, "eventSource": "aws:sqs", "body": body});
        let event = json!({"Records": [record("a", "{\"exh\": {\"path\": \"x\"}}"), record("b", "not json")]});
        let response = handler(&[]).handle(event, soon()).await.unwrap().to_value();
        assert_eq!(
            response,
            json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]})
        );
    }

    #[tokio::test]
    async fn a_message_delivered_twice_is_named_once() {
        let record = json!({"messageId": "twice", "eventSource": "aws:sqs", "body": "{}"});
        let event = json!({"Records": [record, {"messageId": "once", "eventSource": "aws:sqs", "body": "{}"}, record]});
        let response = handler(&[]).handle(event, soon()).await.unwrap().to_value();
        assert_eq!(
            response,
            json!({"batchItemFailures": [{"itemIdentifier": "twice"}, {"itemIdentifier": "once"}]})
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
