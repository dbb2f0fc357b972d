//! exh-task: run an Extra Horizon task or AWS Lambda function that talks to
//! the Extra Horizon API (OAuth1) and the HEXONET API.
//!
//! # How an event flows
//! ```text
//! Runtime API /next ─ runtime: the event read from its bytes
//! Handler::handle ─ telemetry::observe: one record per invocation, its summary line and metrics
//! Lambda payload ─ envelope::open ─> Opened (direct/task/EventBridge, HTTP, SQS records)
//!   └ Event::parse ─> Event::Single(Request) | Event::Batch   (event)
//!       └ Handler::run: prepare, allow_list::check, exh::Client::send | hexonet::Client::send
//!           └ Outcome per request ─> EventOutcome          (outcome)
//!   envelope::result | HttpKind::response | batch_item_failures
//!     ─> Reply: the answer serialised once, the 6 MB limit checked on those bytes,
//!        secrets redacted ─> runtime: /response, or /error with a stable errorType
//! ```
//!
//! # Modules
//! - [`config`]: the environment, read and validated once at start-up;
//!   [`secrets_manager`]: the secrets one AWS Secrets Manager secret adds to it.
//! - [`secret`]: values that are never printed; [`mask`]: every mask that
//!   keeps them out of errors, logs and results.
//! - [`envelope`]: how Lambda and Extra Horizon wrap an event (task, API
//!   Gateway, Function URL, EventBridge, SQS), and the [`envelope::Reply`]
//!   each expects.
//! - [`event`]: the request(s) an event asks for; [`outcome`]: what they
//!   got; [`schema`]: their JSON Schema, derived from the types.
//! - [`handler`]: one event in, one answer out; built once, cloned per worker.
//! - [`exh`]: the Extra Horizon client (OAuth1, paging).
//! - [`hexonet`]: the HEXONET / CentralNic client (SDK-exact encoding,
//!   retries, sessions, paging), its command encoder and response parser.
//! - [`allow_list`]: refusals before any network call, and who may call
//!   what over HTTP.
//! - `retry` (private) and [`http`]: back-off within the deadline (and the
//!   server's `Retry-After`), and the one HTTP client of the process through
//!   which every upstream request goes; [`limits`]: what bounds memory and
//!   upstream load (body cap, page and item caps, in-flight requests).
//! - [`telemetry`]: one summary line per invocation, error lines with
//!   their `errorType`, EMF metrics, and the `tracing` subscriber.
//! - [`error`]: the one error type and its stable `errorType` names;
//!   [`init_error`]: start-up failures reported to the Runtime API.
//! - [`task`]: **write your own task**: [`task::run`] runs your async
//!   handler as `bootstrap` runs its own, with the event typed and a
//!   context of ready clients (start there).
//! - [`runtime`]: the Lambda Runtime API loop (the event read from its
//!   bytes, malformed `/next` answers survived, SIGTERM answered);
//!   the log filter ([`telemetry::filter`]) never lets a raw event through.
//!
//! The loopback emulations that tests and demos run against (Extra
//! Horizon, HEXONET, the Lambda Runtime API) are the `exh-task-sandbox`
//! crate of this workspace, and the developer CLI is `exh-task-cli`:
//! `bootstrap`'s package depends on neither.
#![warn(missing_docs)]

pub mod allow_list;
mod answer_memory;
pub mod config;
pub mod dns;
pub mod envelope;
pub mod error;
pub mod event;
pub mod exh;
pub mod handler;
pub mod hexonet;
pub mod http;
pub mod init_error;
pub mod limits;
pub mod mask;
pub mod outcome;
mod retry;
pub mod runtime;
pub mod schema;
pub mod secret;
pub mod secrets_manager;
pub mod task;
pub mod telemetry;

pub use error::Error;
pub use handler::Handler;
