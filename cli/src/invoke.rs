//! `exh-task invoke`: the handler run on events from files, standard input
//! or the command line, each answer printed as its envelope would answer.
//!
//! Every input is read and parsed before anything runs, so a missing file
//! or a typo in `--data` (exit 2) never leaves half of a run behind.

use crate::invoke_bin::Binary;
use crate::output::{self, Mode, Stopped};
use exh_task::config::Config;
use exh_task::error::LambdaError;
use exh_task::Handler;
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The exit status when every answer was had and ok.
pub const EXIT_OK: u8 = 0;
/// An invocation failed (an `errorType`), with `--fail-on-not-ok` an
/// answer was not ok, or the answers could not be written to stdout.
pub const EXIT_FAILED: u8 = 1;
/// Usage, file or set-up errors: nothing ran, nothing was printed on stdout.
pub const EXIT_USAGE: u8 = 2;

/// What `invoke` was asked to do.
pub struct Invoke {
    /// Event files; `-` is standard input.
    pub files: Vec<PathBuf>,
    /// An event given inline (`--data`).
    pub data: Option<String>,
    /// The invocation deadline.
    pub timeout: Duration,
    /// `--output`.
    pub mode: Mode,
    /// `--max-items`.
    pub max_items: Option<usize>,
    /// `--fail-on-not-ok`.
    pub fail_on_not_ok: bool,
    /// `--bin`: a function binary to run under the Runtime API emulator
    /// instead of the handler in this process.
    pub bin: Option<PathBuf>,
}

/// What answers the events: the handler in this process, or a function
/// binary under the Runtime API emulator.
enum Runner {
    Handler {
        handler: Handler,
        /// The embedded sandbox the handler calls, kept serving.
        _sandbox: Option<Sandbox>,
    },
    // Boxed: the emulator and the process are far larger than a handler.
    Binary(Box<Binary>),
}

impl Runner {
    /// The answer to `event`, or the error object of a failed invocation.
    async fn answer(&self, event: Value, timeout: Duration) -> Result<Value, Value> {
        match self {
            Runner::Handler { handler, .. } => {
                let deadline = tokio::time::Instant::now() + timeout;
                handler
                    .handle(event, deadline)
                    .await
                    .map(|reply| reply.to_value())
                    .map_err(|error| {
                        serde_json::to_value(LambdaError::from(&error))
                            .expect("error objects serialise")
                    })
            }
            Runner::Binary(binary) => binary.answer(event).await,
        }
    }
}

/// One event to run, and the name it is reported under.
struct Input {
    name: String,
    event: Value,
}

impl Invoke {
    /// Runs every input in order and prints each answer; the exit status
    /// follows the table in the README ("exh-task invoke").
    pub async fn run(self) -> ExitCode {
        let inputs = match self.inputs() {
            Ok(inputs) => inputs,
            Err(message) => return usage_error(&message),
        };
        let runner = match self.runner().await {
            Ok(runner) => runner,
            Err(message) => return usage_error(&message),
        };
        let mut status = EXIT_OK;
        let several = inputs.len() > 1;
        for input in inputs {
            if several && self.mode != Mode::Jsonl {
                eprintln!("==> {} <==", input.name);
            }
            let (mut answer, failed) = match runner.answer(input.event, self.timeout).await {
                Ok(answer) => {
                    let failed = self.fail_on_not_ok && !is_ok(&answer);
                    (answer, failed)
                }
                Err(error) => (error, true),
            };
            if let Some(max_items) = self.max_items {
                for (path, left_out) in output::cut_lists(&mut answer, max_items) {
                    eprintln!(
                        "{}: {left_out} more item(s) of {path} not shown",
                        input.name
                    );
                }
            }
            // An answer counts once its reader has it: a reader gone away
            // (`| head`) ends the run with the status of what it read.
            match output::result(self.mode, &input.name, &answer) {
                Ok(()) if failed => status = EXIT_FAILED,
                Ok(()) => {}
                Err(Stopped::Closed) => break,
                Err(Stopped::Failed) => {
                    status = EXIT_FAILED;
                    break;
                }
            }
        }
        if let Runner::Binary(binary) = runner {
            binary.finish();
        }
        ExitCode::from(status)
    }

    async fn runner(&self) -> Result<Runner, String> {
        if let Some(bin) = &self.bin {
            return Binary::start(bin, self.timeout)
                .await
                .map(|binary| Runner::Binary(Box::new(binary)));
        }
        let (config, sandbox) = configuration().await?;
        let http = exh_task::http::client()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        Ok(Runner::Handler {
            handler: Handler::new(config, http),
            _sandbox: sandbox,
        })
    }

    fn inputs(&self) -> Result<Vec<Input>, String> {
        let mut inputs = Vec::new();
        if let Some(data) = &self.data {
            inputs.push(Input {
                name: "--data".to_owned(),
                event: parse("--data", data)?,
            });
        }
        if self
            .files
            .iter()
            .filter(|file| file.as_os_str() == "-")
            .count()
            > 1
        {
            return Err("`-` (standard input) given more than once: it holds one event".to_owned());
        }
        for file in &self.files {
            let name = file.display().to_string();
            let text = if name == "-" {
                read_event(std::io::stdin(), "standard input")?
            } else {
                let opened =
                    std::fs::File::open(file).map_err(|error| format!("{name}: {error}"))?;
                read_event(opened, &name)?
            };
            inputs.push(Input {
                event: parse(&name, &text)?,
                name,
            });
        }
        if inputs.is_empty() {
            return Err("give event files, `-` for standard input, or --data '{…}'".to_owned());
        }
        Ok(inputs)
    }
}

/// The text of the event `name`, refused past the largest payload the
/// Runtime API hands out (`/dev/zero` would otherwise fill the memory).
fn read_event(source: impl Read, name: &str) -> Result<String, String> {
    crate::input::text(
        source,
        name,
        exh_task::runtime::payload::MAX_PAYLOAD_BYTES,
        "more than Lambda hands a function as one event",
    )
}

fn parse(name: &str, text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Err(format!("{name}: empty, where an event (JSON) was expected"));
    }
    serde_json::from_str(text).map_err(|error| format!("{name}: not JSON: {error}"))
}

/// Whether an answer says ok: a result's `ok`, an HTTP answer's 2xx status,
/// an SQS answer without failures.
fn is_ok(answer: &Value) -> bool {
    if let Some(status) = answer.get("statusCode").and_then(Value::as_u64) {
        return (200..300).contains(&status);
    }
    if let Some(failures) = answer.get("batchItemFailures").and_then(Value::as_array) {
        return failures.is_empty();
    }
    answer["ok"] == true
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("exh-task invoke: {message}");
    ExitCode::from(EXIT_USAGE)
}

/// Whether this process is configured for an upstream (else the embedded
/// sandbox stands in).
pub fn is_configured() -> bool {
    ["API_HOST", "HEXONET_LOGIN", "HEXONET_URL"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// The sandbox that stands in when nothing is configured, started in-process.
pub async fn embedded_sandbox() -> Result<Sandbox, String> {
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .map_err(|error| format!("cannot start the embedded sandbox: {error}"))?;
    eprintln!(
        "no API_HOST or HEXONET_* configuration: using the embedded sandbox at {}",
        sandbox.exh_url()
    );
    Ok(sandbox)
}

/// The process configuration, or, when nothing is configured, the embedded
/// sandbox's (the sandbox is returned so it lives as long as the handler).
async fn configuration() -> Result<(Config, Option<Sandbox>), String> {
    if is_configured() {
        return Config::from_env()
            .map(|config| (config, None))
            .map_err(|error| error.to_string());
    }
    let sandbox = embedded_sandbox().await?;
    let config = Config::from_lookup(sandbox.lookup(|name| std::env::var(name).ok()))
        .map_err(|error| error.to_string())?;
    Ok((config, Some(sandbox)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_is_ok_as_its_envelope_says() {
        assert!(is_ok(&json!({"ok": true, "exh": {}})));
        assert!(!is_ok(&json!({"ok": false, "exh": {}})));
        assert!(is_ok(&json!({"statusCode": 200, "body": "{}"})));
        assert!(!is_ok(&json!({"statusCode": 404, "body": "{}"})));
        assert!(is_ok(&json!({"batchItemFailures": []})));
        assert!(!is_ok(
            &json!({"batchItemFailures": [{"itemIdentifier": "a"}]})
        ));
    }
}
