//! Telemetry: what each invocation did, told so that an operator can read it
//! at 3 a.m. and query it in CloudWatch.
//!
//! - [`record`]: the per-invocation record, collected through a tokio
//!   task-local while the handler runs, and the one call each client makes
//!   when a logical upstream call completes ([`Call`]).
//! - [`summary`]: the one summary line per invocation, and the error lines.
//! - [`metrics`]: the same record as CloudWatch Embedded Metric Format
//!   documents on stdout (opt-in: `EXH_TASK_METRICS_NAMESPACE`).
//! - [`panic`](mod@panic): a panic as one `ERROR` line, its secrets masked.
//! - [`subscriber`]: the `tracing` subscriber of `bootstrap`, with the
//!   Lambda runtime's `AWS_LAMBDA_LOG_FORMAT` / `AWS_LAMBDA_LOG_LEVEL` /
//!   `RUST_LOG` semantics; JSON lines carry the runtime span's `requestId`
//!   and `xrayTraceId` as top-level fields; [`filter`]: its levels, with a
//!   ceiling on the crates that would log raw events or connection internals.
//!
//! Nothing here sees a secret, a query string or a body: a call is recorded
//! by side, method, URL path, HEXONET command name, status or code,
//! attempts and duration.

pub mod filter;
pub mod metrics;
pub mod panic;
pub mod record;
pub mod subscriber;
pub mod summary;

pub use record::{observe, record_error, record_pages, record_request, Call, Side, UpstreamCall};
pub use subscriber::init;
