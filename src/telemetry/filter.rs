//! The level filter of the log subscriber ([`super::subscriber`]):
//! Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`, then
//! `RUST_LOG`), as `lambda_runtime::tracing::init_default_subscriber` reads
//! them, with a ceiling on the crates that would log what must not be logged.
//!
//! `lambda_runtime` logs every raw event at TRACE (an OTP or a password in
//! a command among them); hyper, h2, reqwest and rustls trace connection
//! internals. Whatever `RUST_LOG` says, these targets log at most at
//! [`CEILING`]: nothing of an event, body or secret reaches the log unless
//! `EXH_TASK_DEBUG=1` asks for bodies, masked.

use lambda_runtime::tracing::subscriber::filter::{Directive, EnvFilter, LevelFilter};
use std::str::FromStr;

/// The most these crates may log.
pub const CEILING: LevelFilter = LevelFilter::DEBUG;

/// The crates capped at [`CEILING`].
pub const CAPPED_TARGETS: [&str; 6] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "hyper",
    "h2",
    "reqwest",
    "rustls",
];

/// `RUST_LOG` (lossy) over `level`, each capped target at most [`CEILING`]
/// (added last, so it wins over what `RUST_LOG` says of the same target).
pub fn filter(level: LevelFilter) -> EnvFilter {
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    CAPPED_TARGETS.iter().fold(filter, |filter, target| {
        let ceiling = level.min(CEILING);
        let directive = Directive::from_str(&format!("{target}={ceiling}"))
            .expect("a target and a level make a directive");
        filter.add_directive(directive)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    /// Runs `check` under a subscriber with [`filter`] over `level`.
    fn under(level: LevelFilter, check: impl FnOnce()) {
        let subscriber = lambda_runtime::tracing::subscriber::fmt()
            .with_env_filter(filter(level))
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, check);
    }

    #[test]
    fn at_trace_level_the_capped_targets_stop_at_debug() {
        under(LevelFilter::TRACE, || {
            assert!(tracing::enabled!(target: "exh_task::handler", Level::TRACE));
            // Targets are static in tracing's macros: one pair each.
            assert!(
                tracing::enabled!(target: "lambda_runtime::layers::api_response", Level::DEBUG)
            );
            assert!(
                !tracing::enabled!(target: "lambda_runtime::layers::api_response", Level::TRACE)
            );
            assert!(tracing::enabled!(target: "hyper::proto::h1", Level::DEBUG));
            assert!(!tracing::enabled!(target: "hyper::proto::h1", Level::TRACE));
            assert!(!tracing::enabled!(target: "reqwest::connect", Level::TRACE));
        });
    }

    #[test]
    fn at_info_level_the_capped_targets_stay_at_info() {
        under(LevelFilter::INFO, || {
            assert!(tracing::enabled!(target: "hyper::proto::h1", Level::INFO));
            assert!(!tracing::enabled!(target: "hyper::proto::h1", Level::DEBUG));
        });
    }
}
