//! The HEXONET client: [`Client::send`] sends one request to `call.cgi`,
//! on HEXONET or CentralNic Reseller (see [`Protocol`] for what differs;
//! everything holds for both), with the retries, the session and the
//! paging it asks for. Each of those has its own module, which states its
//! rules:
//! - [`super::attempt`]: one exchange: what a call POSTs
//!   ([Calls](super::attempt#calls)), which failures are errors rather than
//!   answers ([Failures](super::attempt#failures)), and what is sent again
//!   ([Retries](super::attempt#retries));
//! - [`super::session`]: the kept session ([Sessions](super::session#sessions));
//! - [`super::pages`]: `all_pages`, every page of a list merged into one.

use super::attempt::Auth;
use super::protocol::{Endpoint, Field, Protocol};
use super::request::{Options, Prepared};
use super::{Command, Response, Settings};
use crate::error::Error;
use crate::http::Upstream;
use crate::mask::Redactor;
use crate::secret::Secret;
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A HEXONET client. Cheap to clone: clones share one connection pool and
/// one kept session.
///
/// # Example
/// ```no_run
/// # async fn run() -> Result<(), exh_task::Error> {
/// use exh_task::{config::Config, hexonet};
/// let config = Config::from_env().expect("valid configuration");
/// let http = exh_task::http::client().expect("an HTTP client");
/// let client = hexonet::Client::new(http, config.hexonet()?.clone(), false);
/// let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
/// let request: hexonet::Request =
///     serde_json::from_value(serde_json::json!({"command": {"COMMAND": "StatusAccount"}}))
///         .expect("a hexonet request");
/// let response = client.send(&request.prepare()?, deadline).await?;
/// println!("{} {}", response.code(), response.description());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) http: Upstream,
    pub(super) endpoint: Endpoint,
    pub(super) password: Secret,
    pub(super) subuser: Option<String>,
    /// `HEXONET_REFERER`, sent as the `Referer` header.
    pub(super) referer: Option<String>,
    pub(super) redactor: Redactor,
    pub(super) debug: bool,
    /// The kept session; the lock is held while one is started, so
    /// concurrent requests wait for it instead of starting their own.
    pub(super) session: Mutex<Option<Secret>>,
}

impl Client {
    /// A client for `config`'s account, sending through `http` (a bare
    /// `reqwest::Client` gets the default limits and permits of its own).
    /// With `debug`, every request and response is logged
    /// (`tracing::info!`), the password (and any in the URL or the proxy),
    /// one-time password and session masked.
    pub fn new(http: impl Into<Upstream>, config: Settings, debug: bool) -> Client {
        // Every redactor also masks the password as it travels, encoded as
        // `urllib.parse.quote` does (`crate::mask::forms`).
        let redactor = Redactor::new(&config.secrets());
        Client::redacting(http, config, debug, redactor)
    }

    /// [`Client::new`], masking what `redactor` knows (its own secrets
    /// among them) in its debug log and errors: the handler's, which also
    /// knows the other side's secrets, which an answer may echo.
    pub(crate) fn redacting(
        http: impl Into<Upstream>,
        config: Settings,
        debug: bool,
        redactor: Redactor,
    ) -> Client {
        let endpoint = Endpoint::of(&config);
        Client {
            inner: Arc::new(Inner {
                http: http.into(),
                endpoint,
                password: config.password,
                subuser: config.subuser,
                referer: config.referer,
                redactor,
                debug,
                session: Mutex::new(None),
            }),
        }
    }

    /// Where this client sends its commands.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// Sends a prepared request and returns the API's answer, whatever its
    /// code: every page of it when it asks for them, inside the kept
    /// session when it asks for one, each call retried when that is safe.
    ///
    /// Refused with [`Error::InvalidEvent`] when it names a system other
    /// than the configured one (see [`super::Request::system`]); see
    /// [Failures](super::attempt#failures) for the failures that are errors
    /// rather than answers.
    pub async fn send(&self, prepared: &Prepared, deadline: Instant) -> Result<Response, Error> {
        let configured = self.inner.endpoint.system;
        if let Some(system) = prepared.system.filter(|system| *system != configured) {
            return Err(Error::invalid_event(format!(
                "hexonet.system is {system:?} but this function is configured for HEXONET_SYSTEM \
                 {configured:?}; the field guards against the wrong system and never switches systems"
            )));
        }
        let response = if prepared.all_pages {
            self.all_pages(&prepared.command, &prepared.options, deadline)
                .await
        } else {
            self.send_command(&prepared.command, &prepared.options, deadline)
                .await
        };
        response.map(|response| response.shown_as(prepared.view))
    }

    /// One command, with the account's credentials or in the kept session.
    pub(super) async fn send_command(
        &self,
        command: &Command,
        options: &Options,
        deadline: Instant,
    ) -> Result<Response, Error> {
        self.check_options(options)?;
        if options.session {
            return self.in_session(command, options, deadline).await;
        }
        let response = self
            .attempts(Some(command), options, Auth::Credentials, deadline)
            .await?;
        self.accepted(response)
    }

    /// What the platform at the other end speaks.
    pub(super) fn protocol(&self) -> &'static Protocol {
        self.inner.endpoint.protocol()
    }

    /// Refuses options the platform has no field for.
    fn check_options(&self, options: &Options) -> Result<(), Error> {
        let protocol = self.protocol();
        let unsupported = [
            ("otp", options.otp.is_some(), Field::Otp),
            (
                "remote_addr",
                options.remote_addr.is_some(),
                Field::RemoteAddr,
            ),
        ];
        match unsupported
            .iter()
            .find(|(_, given, field)| *given && !protocol.sends(*field))
        {
            Some((name, _, _)) => Err(Error::invalid_event(format!(
                "hexonet.{name} is not supported by {}: its API has no such field",
                protocol.name
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::hexonet::{Backend, Request, System};
    use serde_json::json;

    pub(crate) fn client(password: &str) -> Client {
        client_on(Backend::Hexonet, password)
    }

    pub(crate) fn client_on(backend: Backend, password: &str) -> Client {
        let config = Settings {
            login: "me".into(),
            password: Secret::new(password),
            role: Some("ops".into()),
            backend,
            system: System::Ote,
            url: None,
            subuser: Some("default-sub".into()),
            proxy: None,
            referer: None,
        };
        Client::new(reqwest::Client::new(), config, false)
    }

    #[test]
    fn centralnic_refuses_an_otp_and_a_remote_address() {
        let client = client_on(Backend::CentralNic, "pw");
        for options in [
            Options {
                otp: Some(Secret::new("1")),
                ..Options::default()
            },
            Options {
                remote_addr: Some("203.0.113.7".parse().unwrap()),
                ..Options::default()
            },
        ] {
            let error = client.check_options(&options).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("not supported by CentralNic Reseller"),
                "{error}"
            );
        }
        assert!(client.check_options(&Options::default()).is_ok());
    }

    #[tokio::test]
    async fn a_request_for_another_system_is_refused_before_any_call() {
        let request: Request = serde_json::from_value(
            json!({"command": {"COMMAND": "StatusAccount"}, "system": "live"}),
        )
        .unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(1);
        let prepared = request.prepare().unwrap();
        let error = client("pw").send(&prepared, deadline).await.unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(
            error.to_string().contains("never switches systems"),
            "{error}"
        );
    }
}
