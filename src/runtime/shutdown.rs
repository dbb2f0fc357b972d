//! SIGTERM and SIGINT: stop taking invocations, give those in flight a
//! short grace, answer the rest, flush the logs and exit 0.
//!
//! Lambda sends SIGTERM to a runtime only when an extension is registered,
//! and then leaves it about 500 ms before SIGKILL. `lambda_runtime`'s
//! `spawn_graceful_shutdown_handler` registers such an extension but panics
//! when the Extensions API refuses it and ends the process with
//! `std::process::exit(0)` from its signal task, so an invocation in flight
//! gets no answer. Here the registration is best effort and the signal only
//! tells the runtime loop, which ends the invocations itself.

use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tokio::time::Instant;

/// How long invocations in flight may go on after the signal before they
/// are answered with a `Timeout`: within Lambda's 500 ms, with room left
/// to post the answers and flush.
pub const GRACE: Duration = Duration::from_millis(300);

/// The name of the no-op internal extension that makes Lambda send SIGTERM.
const EXTENSION_NAME: &str = "exh-task-graceful-shutdown";

/// How long a `/next` answer already on its way may take to arrive after
/// the signal: an invocation the Runtime API handed out must be answered,
/// not dropped with the connection.
pub const IN_TRANSIT: Duration = Duration::from_millis(100);

/// Tells, once, that a shutdown signal came, and when. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<Option<Instant>>);

impl Shutdown {
    /// Listens for SIGTERM and SIGINT from now on.
    pub fn on_signals() -> std::io::Result<Shutdown> {
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let (sender, receiver) = watch::channel(None);
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            tracing::info!(
                signal = name,
                "shutting down: no new invocations, {GRACE:?} for those in flight"
            );
            sender.send_replace(Some(Instant::now()));
        });
        Ok(Shutdown(receiver))
    }

    /// Resolves when the signal has come (at once if it already has), with
    /// when it came.
    pub async fn started(&self) -> Instant {
        let mut receiver = self.0.clone();
        // An error means the signal task ended without the signal (the
        // tokio runtime is going away): it never comes, then.
        match receiver
            .wait_for(Option::is_some)
            .await
            .map(|signalled| *signalled)
        {
            Ok(Some(signalled)) => signalled,
            _ => std::future::pending().await,
        }
    }

    /// Whether the signal has come.
    pub fn is_started(&self) -> bool {
        self.0.borrow().is_some()
    }

    /// Resolves [`GRACE`] after the signal, however late it is asked.
    pub async fn grace_over(&self) {
        let signalled = self.started().await;
        tokio::time::sleep_until(signalled + GRACE).await;
    }
}

/// Registers the no-op internal extension with the Extensions API at `api`
/// and keeps polling its (empty) event stream, as Lambda asks of every
/// extension before the first invocation: with it, Lambda sends SIGTERM
/// before it ends the environment. Best effort: where no Extensions API
/// answers (local tools), shutdown is by SIGKILL, as without it.
pub async fn register_extension(http: &reqwest::Client, api: &str) {
    let base = format!("http://{api}/2020-01-01/extension");
    let registered = http
        .post(format!("{base}/register"))
        .header("Lambda-Extension-Name", EXTENSION_NAME)
        .json(&serde_json::json!({"events": []}))
        .send()
        .await;
    let identifier = match registered {
        Ok(response) if response.status().is_success() => response
            .headers()
            .get("lambda-extension-identifier")
            .cloned(),
        Ok(response) => {
            tracing::debug!(
                status = response.status().as_u16(),
                "no Extensions API: no SIGTERM before shutdown"
            );
            return;
        }
        Err(error) => {
            tracing::debug!(error = %crate::http::describe(&error), "no Extensions API: no SIGTERM before shutdown");
            return;
        }
    };
    let Some(identifier) = identifier else {
        tracing::debug!("the Extensions API gave no identifier: no SIGTERM before shutdown");
        return;
    };
    let http = http.clone();
    tokio::spawn(async move {
        // Subscribed to no events, so this waits until the end; it is
        // polled once because Lambda ends the init phase only after it.
        let _ = http
            .get(format!("{base}/event/next"))
            .header("Lambda-Extension-Identifier", identifier)
            .send()
            .await;
    });
}
