//! The developer CLI: the sandbox, and the handler run on event files.
//!
//! ```text
//! exh-task sandbox [--port N]        serve the loopback emulation; prints `export` lines
//! exh-task invoke FILE...            run the handler on each event file, print the result
//! exh-task schema                    print the JSON Schema of events and results
//! exh-task split REQUEST             one large request as SQS message batches (split.rs)
//! ```

mod split;

use clap::{Parser, Subcommand};
use exh_task::config::Config;
use exh_task::Handler;
use exh_task_sandbox::hexonet::Dialect;
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "exh-task",
    version,
    about = "Run exh-task locally, against the embedded sandbox or your own configuration"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Extra Horizon (and HEXONET) emulation on 127.0.0.1 until
    /// interrupted; first prints `export NAME=value` lines for its configuration.
    Sandbox {
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Which dialect the printed HEXONET_URL points at (both are served).
        #[arg(long, value_enum, default_value_t = BackendArg::Hexonet)]
        backend: BackendArg,
    },
    /// Run the handler on event files and print each result as pretty JSON.
    /// Without API_HOST, HEXONET_LOGIN or HEXONET_URL, an in-process sandbox
    /// is used (its CentralNic dialect with HEXONET_BACKEND=centralnic).
    Invoke {
        /// Event files (JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The invocation deadline, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// For reading, not for machines: show at most this many items of
        /// each list, then how many were left out.
        #[arg(long)]
        brief: Option<usize>,
    },
    /// Print the JSON Schema of events (root) and results (`$defs/Result`),
    /// as shipped in events/schema.json.
    Schema,
    /// Turn one large request (a batch, or a HEXONET command with a long
    /// DOMAIN list) into files for `aws sqs send-message-batch --entries file://…`.
    Split(split::SplitArgs),
}

/// `HEXONET_BACKEND`'s values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum BackendArg {
    /// HEXONET (`/api/call.cgi`).
    Hexonet,
    /// CentralNic Reseller (`/centralnic/api/call.cgi`).
    Centralnic,
}

impl From<BackendArg> for Dialect {
    fn from(backend: BackendArg) -> Dialect {
        match backend {
            BackendArg::Hexonet => Dialect::Hexonet,
            BackendArg::Centralnic => Dialect::CentralNic,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
    match Cli::parse().command {
        Command::Sandbox { port, backend } => sandbox(port, backend.into()).await,
        Command::Invoke {
            files,
            timeout,
            brief,
        } => invoke(&files, Duration::from_secs(timeout), brief).await,
        Command::Split(args) => split::run(args),
        Command::Schema => {
            let schema = exh_task::schema::document();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("JSON values print")
            );
            ExitCode::SUCCESS
        }
    }
}

async fn sandbox(port: u16, dialect: Dialect) -> ExitCode {
    let sandbox = match Sandbox::start(SandboxOptions { port }).await {
        Ok(sandbox) => sandbox,
        Err(error) => {
            eprintln!("exh-task sandbox: cannot listen on 127.0.0.1:{port}: {error}");
            return ExitCode::FAILURE;
        }
    };
    for (name, value) in sandbox.env_for(dialect) {
        println!("export {name}={value}");
    }
    eprintln!("sandbox serving on {} (Ctrl-C to stop)", sandbox.exh_url());
    shutdown_signal().await;
    match sandbox.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("exh-task sandbox: stopping: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn invoke(files: &[PathBuf], timeout: Duration, brief: Option<usize>) -> ExitCode {
    let (config, _sandbox) = match configuration().await {
        Ok(found) => found,
        Err(message) => {
            eprintln!("exh-task invoke: {message}");
            return ExitCode::FAILURE;
        }
    };
    let http = match exh_task::http::client() {
        Ok(http) => http,
        Err(error) => {
            eprintln!("exh-task invoke: cannot build the HTTP client: {error}");
            return ExitCode::FAILURE;
        }
    };
    let handler = Handler::new(config, http);
    let mut failed = false;
    for file in files {
        if files.len() > 1 {
            println!("# {}", file.display());
        }
        let mut printed = match read_event(file) {
            Ok(event) => {
                let deadline = tokio::time::Instant::now() + timeout;
                match handler.handle(event, deadline).await {
                    Ok(result) => result,
                    Err(error) => {
                        failed = true;
                        json!({"errorType": error.error_type(), "errorMessage": error.to_string()})
                    }
                }
            }
            Err(message) => {
                failed = true;
                json!({"errorType": "InvalidEvent", "errorMessage": message})
            }
        };
        if let Some(max_items) = brief {
            abbreviate(&mut printed, max_items);
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&printed).expect("JSON values print")
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The process configuration, or, when nothing is configured, the embedded
/// sandbox's (the sandbox is returned so it lives as long as the handler).
async fn configuration() -> Result<(Config, Option<Sandbox>), String> {
    let configured = ["API_HOST", "HEXONET_LOGIN", "HEXONET_URL"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
    if configured {
        return Config::from_env()
            .map(|config| (config, None))
            .map_err(|error| error.to_string());
    }
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .map_err(|error| format!("cannot start the embedded sandbox: {error}"))?;
    eprintln!(
        "no API_HOST or HEXONET_* configuration: using the embedded sandbox at {}",
        sandbox.exh_url()
    );
    let config = Config::from_lookup(sandbox.lookup(|name| std::env::var(name).ok()))
        .map_err(|error| error.to_string())?;
    Ok((config, Some(sandbox)))
}

/// Cuts every array to `max_items`, noting how many items were left out;
/// HTTP envelope bodies (JSON in a string) are opened to be cut too.
fn abbreviate(value: &mut Value, max_items: usize) {
    match value {
        Value::Array(items) => {
            let left_out = items.len().saturating_sub(max_items);
            items.truncate(max_items);
            items
                .iter_mut()
                .for_each(|item| abbreviate(item, max_items));
            if left_out > 0 {
                items.push(json!(format!("… {left_out} more")));
            }
        }
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if name == "body" {
                    if let Some(mut inner) = field
                        .as_str()
                        .and_then(|text| serde_json::from_str(text).ok())
                    {
                        abbreviate(&mut inner, max_items);
                        *field = inner;
                        continue;
                    }
                }
                abbreviate(field, max_items);
            }
        }
        _ => {}
    }
}

fn read_event(file: &Path) -> Result<Value, String> {
    let text =
        std::fs::read_to_string(file).map_err(|error| format!("{}: {error}", file.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("{}: not JSON: {error}", file.display()))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler installs");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
