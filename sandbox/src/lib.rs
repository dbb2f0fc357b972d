//! The embedded sandbox: loopback emulations of the upstream APIs, so that
//! exh-task runs and is tested without cloud or credentials.
//!
//! - [`oauth1_verifier`]: RFC 5849 HMAC-SHA1 signature verification, as a server does it.
//! - [`exh`]: the Extra Horizon emulation behind that verification.
//! - [`hexonet`]: the HEXONET `call.cgi` emulation (OT&E accounts, domains,
//!   list paging, sessions, error codes).
//! - [`record`]: the log of every request received, for tests.
//! - [`fault`]: injected faults (latency, resets, endless or huge bodies,
//!   5xx, 429, redirects, garbage), for tests and `exh-task sandbox --fault`.
//! - [`runtime_api`]: an emulator of the AWS Lambda Runtime API and the
//!   function process run against it, for end-to-end tests of a function
//!   binary.
//! - [`secrets_extension`]: the AWS Parameters and Secrets Lambda Extension's
//!   Secrets Manager endpoint, on a listener of its own.
//!
//! [`Sandbox::start`] serves them all on one `127.0.0.1` listener;
//! [`Sandbox::env`] says how to point exh-task at it.
//!
//! # For the tests of a task of your own
//! Add this crate as a dev-dependency of your task's package, at the
//! version of `exh-task` it uses (the two are versioned together):
//! ```toml
//! [dev-dependencies]
//! exh-task-sandbox = "0.1"
//! tokio = { version = "1", features = ["full"] }
//! ```
//! then start the sandbox in a `#[tokio::test]` and either call your handler
//! with an `exh_task::task::Context` built from [`Sandbox::lookup`], or run
//! your binary (`env!("CARGO_BIN_EXE_…")`) under [`runtime_api::RuntimeApi`]
//! with [`Sandbox::env`]; `examples/check-domains/tests/` does both.
//!
//! # Example
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use exh_task_sandbox::{Sandbox, SandboxOptions};
//!
//! let sandbox = Sandbox::start(SandboxOptions::default()).await?;
//! for (name, value) in sandbox.env() {
//!     println!("export {name}={value}");
//! }
//! sandbox.shutdown().await
//! # }
//! ```

#![warn(missing_docs)]

pub mod exh;
pub mod fault;
pub mod hexonet;
pub mod oauth1_verifier;
pub mod record;
pub mod runtime_api;
pub mod secrets_extension;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use self::exh::{ExhState, CREDENTIALS};
use self::fault::{Fault, FaultSwitch};
use self::hexonet::{Dialect, HexonetState};
use self::record::{RecordedRequest, Recorder};

/// Locks `mutex`, ignoring poisoning: no handler panics halfway through an
/// update, and if one did the data would still be consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How to start a [`Sandbox`].
#[derive(Clone, Debug, Default)]
pub struct SandboxOptions {
    /// Port on `127.0.0.1`; 0 (the default) lets the system pick a free one.
    pub port: u16,
    /// A fault injected into the answers of every route (see [`fault`]);
    /// `None` (the default) serves as usual. [`Sandbox::set_fault`]
    /// changes it while the sandbox runs.
    pub fault: Option<Fault>,
}

/// The state of every service the sandbox runs; clones share it.
#[derive(Clone, Debug)]
pub struct Services {
    /// The Extra Horizon emulation.
    pub exh: ExhState,
    /// The HEXONET emulation.
    pub hexonet: HexonetState,
}

impl Services {
    /// Freshly seeded services that record every request into `recorder`.
    pub fn new(recorder: Recorder) -> Self {
        Services {
            exh: ExhState::new(recorder.clone()),
            hexonet: HexonetState::new(recorder),
        }
    }
}

/// Every service of the sandbox on one router, each at its own paths:
/// Extra Horizon at `/users/v1/...` and `/data/v1/...`, HEXONET at
/// [`hexonet::PATH`] and [`hexonet::CENTRALNIC_PATH`]. The Extra Horizon emulation keeps the fallback (404,
/// code 16), so its OAuth1 check never sees the HEXONET routes.
pub fn router(services: &Services) -> Router {
    exh::app(services.exh.clone()).merge(hexonet::app(services.hexonet.clone()))
}

/// A running sandbox; dropping it stops the server.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    services: Services,
    recorder: Recorder,
    fault: FaultSwitch,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<io::Result<()>>>,
}

impl Sandbox {
    /// Binds `127.0.0.1:{port}` and serves in a background task of the
    /// current tokio runtime until [`Sandbox::shutdown`] or drop.
    ///
    /// # Errors
    /// Fails when the port cannot be bound.
    pub async fn start(options: SandboxOptions) -> io::Result<Sandbox> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).await?;
        let addr = listener.local_addr()?;
        let recorder = Recorder::default();
        let services = Services::new(recorder.clone());
        let fault = FaultSwitch::new(options.fault);
        let app = fault::layer(router(&services), fault.clone());
        let (shutdown, signal) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender also means stop.
                    let _ = signal.await;
                })
                .await
        });
        Ok(Sandbox {
            addr,
            services,
            recorder,
            fault,
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }

    /// The address the sandbox listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the Extra Horizon emulation: `http://127.0.0.1:PORT`.
    /// `http://localhost:PORT` works as well.
    pub fn exh_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// URL of the HEXONET emulation: `http://127.0.0.1:PORT/api/call.cgi`,
    /// for the SDK's `setURL`.
    pub fn hexonet_url(&self) -> String {
        format!("http://{}{}", self.addr, hexonet::PATH)
    }

    /// URL of the HEXONET emulation in CentralNic Reseller's dialect:
    /// `http://127.0.0.1:PORT/centralnic/api/call.cgi`.
    pub fn centralnic_url(&self) -> String {
        format!("http://{}{}", self.addr, hexonet::CENTRALNIC_PATH)
    }

    /// The environment that points exh-task at this sandbox's HEXONET
    /// dialect, as `(NAME, value)` pairs in the order `exh-task sandbox`
    /// prints them.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.env_for(Dialect::Hexonet)
    }

    /// The Extra Horizon part of [`Sandbox::env`] alone (`API_*`): what the
    /// Python example reads, so benchmarks give every function the same.
    pub fn exh_env(&self) -> Vec<(&'static str, String)> {
        self.env()
            .into_iter()
            .filter(|(name, _)| name.starts_with("API_"))
            .collect()
    }

    /// The environment that points exh-task at this sandbox, its `call.cgi`
    /// in `dialect` (`HEXONET_BACKEND` is set for CentralNic).
    pub fn env_for(&self, dialect: Dialect) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("API_HOST", self.exh_url()),
            (
                "API_OAUTH_CONSUMER_KEY",
                CREDENTIALS.consumer_key.to_owned(),
            ),
            (
                "API_OAUTH_CONSUMER_SECRET",
                CREDENTIALS.consumer_secret.to_owned(),
            ),
            ("API_OAUTH_TOKEN", CREDENTIALS.token.to_owned()),
            (
                "API_OAUTH_TOKEN_SECRET",
                CREDENTIALS.token_secret.to_owned(),
            ),
            (
                "HEXONET_URL",
                match dialect {
                    Dialect::Hexonet => self.hexonet_url(),
                    Dialect::CentralNic => self.centralnic_url(),
                },
            ),
            ("HEXONET_LOGIN", hexonet::LOGIN.to_owned()),
            ("HEXONET_PASSWORD", hexonet::PASSWORD.to_owned()),
            ("HEXONET_SYSTEM", "ote".to_owned()),
        ];
        if dialect == Dialect::CentralNic {
            env.push(("HEXONET_BACKEND", "centralnic".to_owned()));
        }
        env
    }

    /// A variable lookup that points exh-task at this sandbox (for its
    /// `Config::from_lookup`): the sandbox's own variables first, then
    /// `others` for the rest (`EXH_TASK_DEBUG`, allow-lists, ...).
    ///
    /// `HEXONET_BACKEND=centralnic` among `others` points the HEXONET side
    /// at the CentralNic dialect.
    pub fn lookup<F>(&self, others: F) -> impl Fn(&str) -> Option<String>
    where
        F: Fn(&str) -> Option<String>,
    {
        let dialect = match others("HEXONET_BACKEND").as_deref() {
            Some("centralnic") => Dialect::CentralNic,
            _ => Dialect::Hexonet,
        };
        let env = self.env_for(dialect);
        move |name| {
            env.iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.clone())
                .or_else(|| others(name))
        }
    }

    /// The services' state, e.g. for the seeded ids.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Every request received so far (the last [`Recorder::CAPACITY`]), oldest first.
    pub fn recorded_requests(&self) -> Vec<RecordedRequest> {
        self.recorder.requests()
    }

    /// Puts `fault` in force for the requests from now on (`None`: serve
    /// as usual).
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.fault.set(fault);
    }

    /// The requests received since the fault was last set (or since the
    /// start), faulted or not: those a fault kept from the emulation are
    /// not among [`Sandbox::recorded_requests`].
    pub fn requests_since_fault_set(&self) -> u64 {
        self.fault.requests()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_recorded_requests(&self) {
        self.recorder.clear();
    }

    /// Makes every later HEXONET answer wait `latency` (see
    /// [`HexonetState::set_latency`]); zero, the default, answers at once.
    pub fn set_hexonet_latency(&self, latency: std::time::Duration) {
        self.services.hexonet.set_latency(latency);
    }

    /// Stops accepting connections, lets requests in flight finish, and waits
    /// for the server to end.
    ///
    /// # Errors
    /// Returns the server's I/O error, if it failed.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.server.take() {
            Some(server) => server.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn env_points_at_the_listener_with_the_fixed_credentials() {
        let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
        let port = sandbox.local_addr().port();
        assert_ne!(port, 0);
        assert_eq!(sandbox.exh_url(), format!("http://127.0.0.1:{port}"));
        let env = sandbox.env();
        let names: Vec<&str> = env.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "API_HOST",
                "API_OAUTH_CONSUMER_KEY",
                "API_OAUTH_CONSUMER_SECRET",
                "API_OAUTH_TOKEN",
                "API_OAUTH_TOKEN_SECRET",
                "HEXONET_URL",
                "HEXONET_LOGIN",
                "HEXONET_PASSWORD",
                "HEXONET_SYSTEM"
            ]
        );
        assert_eq!(env[0].1, sandbox.exh_url());
        assert_eq!(env[1].1, "sandbox-consumer-key");
        assert_eq!(env[5].1, format!("http://127.0.0.1:{port}/api/call.cgi"));
        assert_eq!(
            (env[6].1.as_str(), env[7].1.as_str(), env[8].1.as_str()),
            ("sandbox-user", "sandbox-password", "ote")
        );
        sandbox.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_closes_the_listener() {
        let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
        let addr = sandbox.local_addr();
        tokio::net::TcpStream::connect(addr).await.unwrap();
        sandbox.shutdown().await.unwrap();
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn hexonet_is_served_beside_extra_horizon_without_oauth1() {
        let app = router(&Services::new(Recorder::default()));
        let get = |path: &str| {
            Request::get(path)
                .header("host", "127.0.0.1")
                .body(Body::empty())
                .unwrap()
        };
        let hexonet = app.clone().oneshot(get(hexonet::PATH)).await.unwrap();
        assert_eq!(hexonet.status(), StatusCode::OK);
        let body = axum::body::to_bytes(hexonet.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            exh_task::hexonet::parse(std::str::from_utf8(&body).unwrap())
                .unwrap()
                .code(),
            530
        );
        let unknown = app.oneshot(get("/nowhere")).await.unwrap();
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    }
}
