//! The function process: a compiled binary started with the environment
//! Lambda gives it, its output captured and checked for secrets.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::time::Instant;

use super::server::RuntimeApi;

/// How long a harness that times cold starts one after the other lets the
/// machine settle once a process and its emulator are gone, before it
/// spawns the next. Spawned at once, a process paid for its predecessor's
/// teardown (its exit, its connections closed in the harness): up to
/// 0.3 ms more after an exh-task than after a hello world, so a figure
/// depended on which function came before (benches/README.md, "Cold
/// starts on a settled machine"). Lambda starts each function in an
/// environment of its own.
pub const COLD_START_SETTLE: Duration = Duration::from_millis(50);

/// Configures a [`Function`] process before it starts.
#[derive(Debug)]
pub struct FunctionBuilder {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, Option<String>)>,
    secrets: Vec<(String, String)>,
}

impl FunctionBuilder {
    /// Adds a command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable (overrides a Lambda default).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), Some(value.into())));
        self
    }

    /// Sets several environment variables.
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        for (name, value) in vars {
            self = self.env(name, value);
        }
        self
    }

    /// Sets an environment variable whose value must never appear in the
    /// function's output; see [`Function::assert_no_secret_in_output`].
    /// Secrets are also masked when the output is shown for a failed test.
    pub fn secret_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        self.secrets.push((name.clone(), value.clone()));
        self.env(name, value)
    }

    /// Leaves out a variable Lambda would set (e.g. to see the function
    /// fail without `AWS_LAMBDA_RUNTIME_API`).
    pub fn env_remove(mut self, name: impl Into<String>) -> Self {
        self.env.push((name.into(), None));
        self
    }

    /// Starts the process, stdout and stderr captured, stdin empty.
    ///
    /// # Panics
    /// If the program cannot be started (the test cannot run at all).
    #[track_caller]
    pub fn spawn(self) -> Function {
        let program = self.program.clone();
        self.try_spawn()
            .unwrap_or_else(|e| panic!("could not start the function {}: {e}", program.display()))
    }

    /// [`FunctionBuilder::spawn`], but a program that cannot be started
    /// (missing, not executable) is an error rather than a panic, for a
    /// caller that reports it (`exh-task invoke --bin`).
    ///
    /// # Errors
    /// The operating system's reason the program did not start.
    pub fn try_spawn(self) -> std::io::Result<Function> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        for (name, value) in &self.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command.spawn()?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            readers.push(capture(pipe, stdout.clone()));
        }
        if let Some(pipe) = child.stderr.take() {
            readers.push(capture(pipe, stderr.clone()));
        }
        Ok(Function {
            program: self.program,
            child,
            status: None,
            stdout,
            stderr,
            readers,
            secrets: self.secrets,
        })
    }
}

/// A function binary running against a [`RuntimeApi`], with the
/// environment Lambda gives it. Killed (SIGKILL) when dropped; if the test
/// is failing then, its output (secrets masked) is printed to help.
#[derive(Debug)]
pub struct Function {
    program: PathBuf,
    child: Child,
    status: Option<ExitStatus>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    secrets: Vec<(String, String)>,
}

impl Function {
    /// A builder for `program` (e.g. `env!("CARGO_BIN_EXE_bootstrap")`)
    /// pointed at `runtime`, with the variables Lambda sets:
    /// `AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_FUNCTION_NAME`,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (128), `AWS_LAMBDA_FUNCTION_VERSION`
    /// (`$LATEST`), `AWS_LAMBDA_LOG_GROUP_NAME`, `AWS_LAMBDA_LOG_STREAM_NAME`,
    /// `AWS_LAMBDA_INITIALIZATION_TYPE` (`on-demand`), `AWS_REGION`,
    /// `AWS_DEFAULT_REGION` and `TZ` (`:UTC`). Nothing else of the test's
    /// environment is passed on but `PATH` and `HOME`.
    pub fn builder(program: impl AsRef<Path>, runtime: &RuntimeApi) -> FunctionBuilder {
        let name = runtime.function_name().to_owned();
        let region = runtime.region().to_owned();
        let defaults = [
            ("AWS_LAMBDA_RUNTIME_API", runtime.runtime_api_env()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("2025/01/01/[$LATEST]{:032x}", runtime.shared.seed),
            ),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_REGION", region.clone()),
            ("AWS_DEFAULT_REGION", region),
            ("TZ", ":UTC".to_owned()),
        ];
        FunctionBuilder {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: defaults
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Some(v)))
                .collect(),
            secrets: Vec::new(),
        }
    }

    /// Starts `program` against `runtime` with the Lambda variables plus
    /// `extra_env` (see [`Function::builder`]).
    #[track_caller]
    pub fn spawn<I, K, V>(program: impl AsRef<Path>, runtime: &RuntimeApi, extra_env: I) -> Function
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self::builder(program, runtime).envs(extra_env).spawn()
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything captured on stdout so far (lossy UTF-8).
    pub fn stdout(&self) -> String {
        text_of(&self.stdout)
    }

    /// Everything captured on stderr so far (lossy UTF-8).
    pub fn stderr(&self) -> String {
        text_of(&self.stderr)
    }

    /// Whether stdout or stderr contains `needle` so far.
    pub fn output_contains(&self, needle: &str) -> bool {
        self.stdout().contains(needle) || self.stderr().contains(needle)
    }

    /// Waits until stdout or stderr contains `needle`, at most `timeout`.
    pub async fn wait_for_output(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.output_contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The exit status if the process has ended, `None` while it runs.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.status = Some(status);
                self.join_readers();
            }
        }
        self.status
    }

    /// Waits for the process to exit by itself, at most `timeout`;
    /// `None` if it is still running then. Its output is complete after.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends SIGTERM, as Lambda does before it ends an execution
    /// environment (with an extension registered), and returns at once;
    /// [`Function::wait_exit`] tells how the process took it.
    ///
    /// # Panics
    /// If `kill` cannot be run (the test cannot go on).
    pub fn terminate(&mut self) {
        self.signal("TERM");
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does, and returns at once.
    ///
    /// # Panics
    /// If `kill` cannot be run (the test cannot go on).
    pub fn interrupt(&mut self) {
        self.signal("INT");
    }

    fn signal(&mut self, name: &str) {
        // `kill(1)` rather than libc: no unsafe code in test equipment.
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("could not run kill -{name}: {e}"));
        assert!(sent.success(), "kill -{name} failed with {sent}");
    }

    /// Kills the process (if it still runs) and collects the rest of its
    /// output: call before asserting on complete logs.
    pub fn stop(&mut self) -> ExitStatus {
        if let Some(status) = self.try_status() {
            return status;
        }
        let _ = self.child.kill();
        // After SIGKILL the wait is immediate.
        let status = match self.child.wait() {
            Ok(status) => status,
            Err(e) => panic!("could not reap {}: {e}", self.program.display()),
        };
        self.status = Some(status);
        self.join_readers();
        status
    }

    /// Describes where a value given with [`FunctionBuilder::secret_env`]
    /// appears in the output so far, as is or percent-encoded, without
    /// repeating it; `None` if nowhere.
    pub fn find_secret_in_output(&self) -> Option<String> {
        let streams = [("stdout", self.stdout()), ("stderr", self.stderr())];
        for (name, secret) in &self.secrets {
            if secret.is_empty() {
                continue;
            }
            let encoded = percent_encode(secret);
            for (stream, text) in &streams {
                for (number, line) in text.lines().enumerate() {
                    if line.contains(secret.as_str()) || line.contains(encoded.as_str()) {
                        return Some(format!(
                            "{stream} line {} contains the value of {name}",
                            number + 1
                        ));
                    }
                }
            }
        }
        None
    }

    /// Fails the test if a secret appears in the output so far (call
    /// [`Function::stop`] first to check all of it). The message says where,
    /// not what.
    #[track_caller]
    pub fn assert_no_secret_in_output(&self) {
        if let Some(place) = self.find_secret_in_output() {
            panic!("a secret leaked: {place}");
        }
    }

    /// Fails the test if `needle` appears in the output so far; `what`
    /// names it in the message instead of the needle itself.
    #[track_caller]
    pub fn assert_output_excludes(&self, needle: &str, what: &str) {
        for (stream, text) in [("stdout", self.stdout()), ("stderr", self.stderr())] {
            if let Some(number) = text.lines().position(|line| line.contains(needle)) {
                panic!("{stream} line {} contains {what}", number + 1);
            }
        }
    }

    /// Output with every secret replaced by `[SECRET]`.
    fn masked(&self, text: String) -> String {
        self.secrets
            .iter()
            .filter(|(_, secret)| !secret.is_empty())
            .fold(text, |text, (_, secret)| {
                text.replace(secret.as_str(), "[SECRET]")
                    .replace(percent_encode(secret).as_str(), "[SECRET]")
            })
    }

    /// Waits for the reader threads, which end when the pipes close; a
    /// grandchild holding a pipe open must not hang the test, so at most
    /// two seconds.
    fn join_readers(&mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while self.readers.iter().any(|r| !r.is_finished()) && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        for reader in std::mem::take(&mut self.readers) {
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            self.join_readers();
            for (stream, text) in [("stdout", self.stdout()), ("stderr", self.stderr())] {
                let text = self.masked(text);
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(60)..];
                eprintln!(
                    "--- {} {stream} (last {} of {} lines, secrets masked) ---\n{}",
                    self.program.display(),
                    tail.len(),
                    lines.len(),
                    tail.join("\n")
                );
            }
        }
    }
}

/// Copies a pipe into `sink` on a thread of its own, until it closes.
fn capture(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend_from_slice(&buffer[..n]),
            }
        }
    })
}

fn text_of(buffer: &Mutex<Vec<u8>>) -> String {
    let bytes = buffer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    String::from_utf8_lossy(&bytes).into_owned()
}

/// RFC 3986 percent-encoding (all but unreserved characters), as in OAuth1
/// signatures and query strings: the other form a leaked secret takes.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
