//! exh-task: run an Extra Horizon task or AWS Lambda function that talks to
//! the Extra Horizon API (OAuth1) and the HEXONET API.
//!
//! - [`config`]: the environment, read and validated once at start-up;
//!   [`secrets_manager`]: the secrets one AWS Secrets Manager secret adds to it.
//! - [`secret`]: values that are never printed; [`redact`] keeps them out of
//!   quoted upstream text.
//! - [`envelope`]: how Lambda and Extra Horizon wrap an event (task, API
//!   Gateway, Function URL, EventBridge, SQS) and how each wants its answer.
//! - [`event`]: the request an event asks for; [`outcome`]: the result;
//!   [`schema`]: their JSON Schema, derived from the types.
//! - [`handler`]: one event in, one result out; built once, cloned per worker.
//! - [`exh`]: the Extra Horizon client (OAuth1, paging).
//! - [`hexonet`]: the HEXONET client (SDK-exact encoding, retries, sessions,
//!   paging), its command encoder and response parser.
//! - [`allow_list`]: refusals before any network call.
//! - `retry` (private) and [`http`]: back-off within the deadline, and the one
//!   HTTP client of the process.
//! - [`error`]: the one error type and its stable `errorType` names;
//!   [`init_error`]: start-up failures reported to the Runtime API.
//!
//! The loopback emulation that tests and demos run against is the
//! `exh-task-sandbox` crate of this workspace, and the developer CLI is
//! `exh-task-cli`: `bootstrap`'s package depends on neither.
#![warn(missing_docs)]

pub mod allow_list;
pub mod config;
pub mod envelope;
pub mod error;
pub mod event;
pub mod exh;
pub mod handler;
pub mod hexonet;
pub mod http;
pub mod init_error;
pub mod outcome;
pub mod redact;
mod retry;
pub mod schema;
pub mod secret;
pub mod secrets_manager;

pub use error::Error;
pub use handler::Handler;
