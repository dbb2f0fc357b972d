//! `exh-task sandbox`: the loopback emulation, served until interrupted.
//!
//! The `export` lines go to stdout, or with `--env-file` to a file that
//! appears, whole, only once the server listens (and is removed when it
//! stops), so a script can wait for it and source it:
//!
//! ```sh
//! exh-task sandbox --port 9001 --env-file sandbox.env &
//! while [ ! -s sandbox.env ]; do sleep 0.1; done; . ./sandbox.env
//! ```

use crate::output;
use exh_task_sandbox::hexonet::Dialect;
use exh_task_sandbox::{Sandbox, SandboxOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Serves as `options` say until Ctrl-C or SIGTERM.
pub async fn serve(
    options: SandboxOptions,
    dialect: Dialect,
    env_file: Option<PathBuf>,
) -> ExitCode {
    let port = options.port;
    if let Some(path) = &env_file {
        // A file left by an earlier run must not pass for this one's.
        let _ = std::fs::remove_file(path);
    }
    let sandbox = match Sandbox::start(options).await {
        Ok(sandbox) => sandbox,
        Err(error) => {
            eprintln!("exh-task sandbox: cannot listen on 127.0.0.1:{port}: {error}");
            return ExitCode::from(crate::invoke::EXIT_USAGE);
        }
    };
    let exports: String = sandbox
        .env_for(dialect)
        .into_iter()
        .map(|(name, value)| format!("export {name}={value}\n"))
        .collect();
    let announced = match &env_file {
        Some(path) => write_whole(path, &exports).map_err(|error| {
            eprintln!("exh-task sandbox: cannot write {}: {error}", path.display());
        }),
        // A closed stdout only means nobody reads the exports: keep serving.
        None => match output::line(exports.trim_end()) {
            Ok(()) | Err(output::Stopped::Closed) => Ok(()),
            Err(output::Stopped::Failed) => Err(()),
        },
    };
    if announced.is_err() {
        return ExitCode::from(crate::invoke::EXIT_USAGE);
    }
    eprintln!("sandbox serving on {} (Ctrl-C to stop)", sandbox.exh_url());
    shutdown_signal().await;
    if let Some(path) = &env_file {
        let _ = std::fs::remove_file(path);
    }
    match sandbox.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("exh-task sandbox: stopping: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `text` to a sibling file, then renames it into place, so a reader
/// never sees half of it; the sibling does not outlive a failure.
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })
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
