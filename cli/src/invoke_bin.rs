//! `exh-task invoke --bin PATH`: a function binary (your own task, or
//! `bootstrap`) run on the events under the Lambda Runtime API emulator,
//! as Lambda runs it: one warm process for every event.
//!
//! The binary gets this process's environment (but the `AWS_LAMBDA_*`
//! variables, which the emulator sets) and, when nothing is configured,
//! the embedded sandbox's, as `exh-task invoke` does for the handler.
//! Its log is printed to stderr when it has answered every event.

use exh_task_sandbox::hexonet::Dialect;
use exh_task_sandbox::runtime_api::{Function, Invoke, Outcome, RuntimeApi};
use exh_task_sandbox::Sandbox;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// Time given beyond the function timeout for its answer to arrive.
const GRACE: Duration = Duration::from_secs(5);

/// A function binary running under the emulator, ready for events.
pub struct Binary {
    // Declared before the emulator so that it is killed first.
    function: Function,
    runtime: RuntimeApi,
    timeout: Duration,
    _sandbox: Option<Sandbox>,
}

impl Binary {
    /// Starts `program` with the deadline `timeout` for each invocation.
    pub async fn start(program: &Path, timeout: Duration) -> Result<Binary, String> {
        if !program.is_file() {
            return Err(format!(
                "{}: no such function binary (build it first: cargo build --bin NAME)",
                program.display()
            ));
        }
        // The file just checked, not a namesake on PATH (`--bin bootstrap`).
        let program = &std::path::absolute(program)
            .map_err(|error| format!("{}: {error}", program.display()))?;
        let runtime = RuntimeApi::builder()
            .function_timeout(timeout)
            .start()
            .await;
        let inherited = std::env::vars().filter(|(name, _)| !name.starts_with("AWS_LAMBDA_"));
        let mut function = Function::builder(program, &runtime).envs(inherited);
        let sandbox = if crate::invoke::is_configured() {
            None
        } else {
            let sandbox = crate::invoke::embedded_sandbox().await?;
            let dialect = match std::env::var("HEXONET_BACKEND").as_deref() {
                Ok("centralnic") => Dialect::CentralNic,
                _ => Dialect::Hexonet,
            };
            function = function.envs(sandbox.env_for(dialect));
            Some(sandbox)
        };
        let function = function.try_spawn().map_err(|error| {
            format!(
                "{}: cannot start it as a function binary: {error}",
                program.display()
            )
        })?;
        Ok(Binary {
            function,
            runtime,
            timeout,
            _sandbox: sandbox,
        })
    }

    /// The function's answer to `event`, or its error object
    /// `{"errorType", "errorMessage"}` (also when it gave no answer).
    pub async fn answer(&self, event: Value) -> Result<Value, Value> {
        let invoke = Invoke::new(event).function_timeout(self.timeout);
        match self.runtime.try_invoke(invoke, self.timeout + GRACE).await {
            Ok(invocation) => match invocation.outcome {
                Outcome::Response(answer) => Ok(answer),
                Outcome::Error {
                    error_type,
                    error_message,
                } => Err(json!({"errorType": error_type, "errorMessage": error_message})),
            },
            Err(error) => Err(match self.runtime.init_error() {
                Some(init) => {
                    json!({"errorType": init.error_type, "errorMessage": init.error_message})
                }
                None => json!({"errorType": "Sandbox.NoAnswer", "errorMessage": error.to_string()}),
            }),
        }
    }

    /// Stops the function and prints its log to stderr.
    pub fn finish(mut self) {
        self.function.stop();
        for log in [self.function.stdout(), self.function.stderr()] {
            if !log.is_empty() {
                eprint!("{log}");
            }
        }
    }
}
