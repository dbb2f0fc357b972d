//! The developer CLI: the sandbox, the handler run on events, the schema.
//!
//! ```text
//! exh-task sandbox [--port N] [--env-file PATH] [--fault SPEC]   serve the loopback emulation
//! exh-task invoke [FILE|-]... [--data JSON]       run the handler, print each answer
//! exh-task invoke --bin PATH [FILE|-]...          run a function binary under the Runtime API emulator
//! exh-task schema                                 print the JSON Schema of events and results
//! exh-task split REQUEST                        one large request as SQS message batches
//! ```
//!
//! Results go to stdout, everything else to stderr; exit status 0 when
//! every answer was had (and ok, with `--fail-on-not-ok`), 1 when an
//! invocation failed or the answers could not be written, 2 for usage and
//! file errors.

mod input;
mod invoke;
mod invoke_bin;
mod output;
mod sandbox;

mod split;

use clap::{Parser, Subcommand};
use exh_task_sandbox::fault::Fault;
use exh_task_sandbox::hexonet::Dialect;
use exh_task_sandbox::SandboxOptions;
use std::path::PathBuf;
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
        /// Write the `export` lines to this file (once listening; removed on
        /// exit) instead of stdout.
        #[arg(long, value_name = "PATH")]
        env_file: Option<PathBuf>,
        /// Answer as a broken upstream would, on every route:
        /// `KIND[=VALUE][@N]` (every Nth request only), KIND one of
        /// latency=250ms, reset, truncate, drip=20ms, endless, huge[=200MB],
        /// status=503, retry-after=2, redirect[=302:URL], garbage.
        #[arg(long, value_name = "SPEC")]
        fault: Option<Fault>,
    },
    /// Run the handler on events and print each answer as JSON.
    /// Without API_HOST, HEXONET_LOGIN or HEXONET_URL, an in-process sandbox
    /// is used (its CentralNic dialect with HEXONET_BACKEND=centralnic).
    Invoke {
        /// Event files (JSON); `-` reads one event from standard input.
        files: Vec<PathBuf>,
        /// An event given inline, run before the files.
        #[arg(long, value_name = "JSON")]
        data: Option<String>,
        /// The invocation deadline, in seconds: 1 to 900, as Lambda's
        /// function timeout.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=900))]
        timeout: u64,
        /// pretty (default on a terminal), compact (one line per answer,
        /// the default otherwise) or jsonl (`{"file", "result"}` per line).
        #[arg(long, value_enum)]
        output: Option<output::Mode>,
        /// For reading: cut every list to N items (the JSON keeps its
        /// shape); stderr says what was left out.
        #[arg(long, value_name = "N")]
        max_items: Option<usize>,
        /// Exit 1 also when an answer is not ok (`ok: false`, an HTTP
        /// status outside 2xx, SQS batch item failures).
        #[arg(long)]
        fail_on_not_ok: bool,
        /// Run this function binary (your own task, e.g.
        /// target/debug/check-domains) under the Lambda Runtime API
        /// emulator, one warm process for every event, instead of the
        /// handler in this process.
        #[arg(long, value_name = "PATH")]
        bin: Option<PathBuf>,
    },
    /// Print the JSON Schema of events (root) and results (`$defs/Result`),
    /// as shipped in schema/event.schema.json.
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
        Command::Sandbox {
            port,
            backend,
            env_file,
            fault,
        } => {
            let options = SandboxOptions { port, fault };
            sandbox::serve(options, backend.into(), env_file).await
        }
        Command::Invoke {
            files,
            data,
            timeout,
            output,
            max_items,
            fail_on_not_ok,
            bin,
        } => {
            invoke::Invoke {
                files,
                data,
                timeout: Duration::from_secs(timeout),
                mode: output::Mode::or_default(output),
                max_items,
                fail_on_not_ok,
                bin,
            }
            .run()
            .await
        }
        Command::Split(args) => split::run(args),
        Command::Schema => {
            let schema = exh_task::schema::document();
            let text = serde_json::to_string_pretty(&schema).expect("JSON values print");
            // A closed pipe (`| head`) is a reader that has seen enough.
            match output::line(&text) {
                Ok(()) | Err(output::Stopped::Closed) => ExitCode::SUCCESS,
                Err(output::Stopped::Failed) => ExitCode::FAILURE,
            }
        }
    }
}
