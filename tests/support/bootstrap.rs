//! Running the real `bootstrap` binary under the Runtime API emulator: the
//! two runtime modes, a macro that runs a scenario in both, and the
//! helpers for credentials and leaks that every end-to-end test needs.

use exh_task_sandbox::runtime_api::{Function, FunctionBuilder, RuntimeApi};

/// The binary under test.
pub const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_bootstrap");

/// `AWS_LAMBDA_MAX_CONCURRENCY` in concurrent mode.
pub const CONCURRENCY: usize = 4;

/// How the Lambda runtime hands out invocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `AWS_LAMBDA_MAX_CONCURRENCY` unset: one invocation at a time.
    Sequential,
    /// `AWS_LAMBDA_MAX_CONCURRENCY=4`: up to four at once.
    Concurrent,
}

impl Mode {
    /// A `bootstrap` process pointed at `runtime`, in this mode.
    pub fn function(self, runtime: &RuntimeApi) -> FunctionBuilder {
        let function = Function::builder(BOOTSTRAP, runtime);
        match self {
            // The builder passes nothing of the test's environment on.
            Mode::Sequential => function,
            Mode::Concurrent => function.env("AWS_LAMBDA_MAX_CONCURRENCY", CONCURRENCY.to_string()),
        }
    }

    /// The most invocations this mode may have in flight.
    pub fn concurrency(self) -> usize {
        match self {
            Mode::Sequential => 1,
            Mode::Concurrent => CONCURRENCY,
        }
    }
}

/// Runs each named scenario `async fn name(mode: Mode)` as two tests,
/// `name::sequentially` and `name::concurrently`.
#[allow(unused_macros)] // not every test crate runs scenarios
macro_rules! in_both_modes {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test]
            async fn sequentially() {
                super::$scenario($crate::support::bootstrap::Mode::Sequential).await;
            }

            #[tokio::test]
            async fn concurrently() {
                super::$scenario($crate::support::bootstrap::Mode::Concurrent).await;
            }
        }
    )*};
}
#[allow(unused_imports)] // not every test crate runs scenarios
pub(crate) use in_both_modes;

/// Named secret values: `(variable, value)`.
pub type Secrets = Vec<(&'static str, String)>;

/// `function` with `API_HOST=host` and `secrets`, registered as secrets so
/// the output is checked for them.
pub fn with_secrets(function: FunctionBuilder, host: &str, secrets: &Secrets) -> FunctionBuilder {
    secrets
        .iter()
        .fold(function.env("API_HOST", host), |function, (name, value)| {
            function.secret_env(*name, value)
        })
}

/// Fails the test if `text` carries one of `secrets`; says which, not what.
#[track_caller]
pub fn assert_no_secret_in(text: &str, what: &str, secrets: &Secrets) {
    for (name, value) in secrets {
        assert!(
            !text.contains(value.as_str()),
            "{what} contains the value of {name}"
        );
    }
}

/// A loopback port nothing listens on: bound, then released.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}
