//! The HEXONET client: sends commands to `call.cgi`, retries what is safe,
//! keeps a session, and pages, on HEXONET or CentralNic Reseller (see
//! [`Protocol`] for what differs; everything below holds for both).
//!
//! # Calls
//! Each command is POSTed as the platform's SDK's exact form body
//! ([`PostBody`]) to the [`Endpoint`]. HEXONET: `s_entity` of the system,
//! `s_login` (`login!role`), `s_pw`, and per call `s_otp`, `s_remoteaddr`
//! and `s_user` ([`Options`]). CentralNic Reseller: `s_login`
//! (`login:role`), `s_pw`, and the subuser view as the command's
//! `SUBUSER`; it has no field for a one-time password or a remote address,
//! so a request with one is refused ([`Error::InvalidEvent`]). IDN names
//! are converted as each SDK converts them ([`super::IdnRules`]). Every
//! call goes through the process's one HTTP client, so a warm function
//! reuses its open connection: the SDK's Apache proxy is not needed.
//!
//! # Failures
//! As the SDK's `request()`: when the API cannot be reached or answers with
//! an HTTP status of 400 or more, the answer is the `httperror` template
//! (421 `Command failed due to HTTP communication error`); an answer that
//! is not a HEXONET response is the `invalid` template (423 `Invalid API
//! response. Contact Support`). Unlike the SDK, these are not handed back as
//! answers: once retries are spent, the call fails with [`Error::Transport`]
//! (421) or [`Error::InvalidResponse`] (423), the template's code and
//! description in the message. A `530` answer other than `SESSION NOT FOUND`
//! (`530 Authentication failed`, …) is [`Error::Unauthorized`]. Every other
//! answer, success or not, is the result.
//!
//! # Retries
//! Within the invocation deadline, with jittered back-off:
//! - a *read command* — its name starts with `Check`, `Query`, `Status` or
//!   `Get`, or it is `ConvertIDN` (any case; see [`is_read_command`]) — is
//!   retried on any transport failure, HTTP status, unreadable answer, and
//!   on a HEXONET temporary error (a `4xx` code, the SDK's `isTmpError`);
//! - any other command (`AddDomain`, `DeleteDomain`, `StartSession`, …) is
//!   retried only when no connection could be made, so nothing was sent.
//!
//! # Sessions
//! A request with `"session": true` runs inside the session this client
//! keeps. The first such request opens one: HEXONET by sending
//! `StartSession` (with its `otp`, if any; without `s_user`), which answers
//! `SESSION`; CentralNic Reseller by a login with `persistent=1` and no
//! command, which answers `SESSIONID`. The id is kept across warm
//! invocations and shared by concurrent ones, and sent instead of the
//! password (`s_session`; CentralNic: `s_login` and `s_sessionid`). When the
//! API answers `530 SESSION NOT FOUND`, the session is opened again once
//! and the command sent again (it was refused, so it did not run). The
//! platform's closing command (`{"COMMAND": "EndSession"}`, CentralNic:
//! `StopSession`) with `"session": true` closes the kept session and
//! forgets it. Session ids are never logged nor put in an error. The client
//! opens sessions itself, so `HEXONET_ALLOWED_COMMANDS` need not list
//! `StartSession`.

use super::protocol::{Endpoint, Field, Protocol, SessionStart, SubuserView};
use super::request::{Options, Prepared, Request};
use super::Settings;
use super::{debug_log, pages, python, Command, PostBody, Response, SocketConfig, Template};
use crate::error::Error;
use crate::http::{describe, PAGE_CONCURRENCY};
use crate::redact::Redactor;
use crate::retry::{retrying, Attempt};
use crate::secret::Secret;
use futures::{StreamExt, TryStreamExt};
use reqwest::header;
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
/// let command = hexonet::Command::from_json(&serde_json::json!({"COMMAND": "StatusAccount"}))?;
/// let response = client.call(&command, &hexonet::Options::default(), deadline).await?;
/// println!("{} {}", response.code(), response.description());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: Endpoint,
    password: Secret,
    subuser: Option<String>,
    /// `HEXONET_REFERER`, sent as the `Referer` header.
    referer: Option<String>,
    redactor: Redactor,
    debug: bool,
    /// The kept session; the lock is held while one is started, so
    /// concurrent requests wait for it instead of starting their own.
    session: Mutex<Option<Secret>>,
}

/// How a call proves who it is.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// Login, password and any one-time password.
    Credentials,
    /// Login and password, asking for a session (`persistent=1`).
    OpenSession,
    /// A session id from the platform.
    Session(&'a Secret),
}

impl Client {
    /// A client for `config`'s account, sending through `http`. With
    /// `debug`, every request and response is logged (`tracing::info!`),
    /// password, one-time password and session masked.
    pub fn new(http: reqwest::Client, config: Settings, debug: bool) -> Client {
        let endpoint = Endpoint::of(&config);
        // The password is also masked as it travels: URL-encoded.
        let quoted = Secret::new(python::quote(config.password.expose()));
        let redactor = Redactor::new([&config.password, &quoted]);
        Client {
            inner: Arc::new(Inner {
                http,
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

    /// Checks and runs an event's `hexonet` request.
    pub async fn send(&self, request: &Request, deadline: Instant) -> Result<Response, Error> {
        self.run(&request.prepare()?, deadline).await
    }

    /// Runs a prepared request: every page of it when it asks for them.
    ///
    /// Refused with [`Error::InvalidEvent`] when it names a system other
    /// than the configured one (see [`Request::system`]).
    pub async fn run(&self, prepared: &Prepared, deadline: Instant) -> Result<Response, Error> {
        let configured = self.inner.endpoint.system;
        if let Some(system) = prepared.system.filter(|system| *system != configured) {
            return Err(Error::invalid_event(format!(
                "hexonet.system is {system:?} but this function is configured for HEXONET_SYSTEM \
                 {configured:?}; the field guards against the wrong system and never switches systems"
            )));
        }
        if prepared.all_pages {
            self.all_pages(&prepared.command, &prepared.options, deadline)
                .await
        } else {
            self.call(&prepared.command, &prepared.options, deadline)
                .await
        }
    }

    /// Sends one command and returns the API's answer, whatever its code.
    ///
    /// See the module doc for retries, sessions and the failures that are
    /// errors rather than answers.
    pub async fn call(
        &self,
        command: &Command,
        options: &Options,
        deadline: Instant,
    ) -> Result<Response, Error> {
        self.check_options(options)?;
        if !options.session {
            let response = self
                .exchange(Some(command), options, Auth::Credentials, deadline)
                .await?;
            return self.accepted(response);
        }
        let sessions = self.protocol().sessions;
        if command.name().eq_ignore_ascii_case(sessions.end_command) {
            return self.end_session(command, options, deadline).await;
        }
        let session = self.session(options, deadline).await?;
        let response = self
            .exchange(Some(command), options, Auth::Session(&session), deadline)
            .await?;
        if !is_session_not_found(&response) {
            return self.accepted(response);
        }
        let renewed = self.renew(&session, options, deadline).await?;
        let response = self
            .exchange(Some(command), options, Auth::Session(&renewed), deadline)
            .await?;
        if is_session_not_found(&response) {
            return Err(Error::Unauthorized(format!(
                "{} did not find the session it had just started: 530 SESSION NOT FOUND",
                self.protocol().name
            )));
        }
        self.accepted(response)
    }

    /// The page after `response` (the answer to `command`): the command
    /// sent and its answer, or `None` after the last page. As the SDK's
    /// `requestNextResponsePage`, a command holding `LAST` is refused
    /// ([`Error::InvalidEvent`]).
    pub async fn next_page(
        &self,
        command: &Command,
        response: &Response,
        options: &Options,
        deadline: Instant,
    ) -> Result<Option<(Command, Response)>, Error> {
        let Some(next) = super::next_page(command, response)? else {
            return Ok(None);
        };
        let response = self.call(&next, options, deadline).await?;
        Ok(Some((next, response)))
    }

    /// Every page of a list command merged into one response: the first
    /// page (`FIRST=0`), then the others, [`PAGE_CONCURRENCY`] at a time,
    /// merged in order (see [`super::pages`]). A page that is not a
    /// success is the answer, as the merged list would be incomplete.
    pub async fn all_pages(
        &self,
        command: &Command,
        options: &Options,
        deadline: Instant,
    ) -> Result<Response, Error> {
        if command.get("LAST").is_some() {
            return Err(super::Error::PagingWithLast.into());
        }
        let command = pages::first_page(command)?;
        let first = self.call(&command, options, deadline).await?;
        if !first.is_success() {
            return Ok(first);
        }
        let rest = pages::remaining(&command, &first)?;
        let rest: Vec<Response> = futures::stream::iter(rest)
            .map(|page| async move { self.call(&page, options, deadline).await })
            .buffered(PAGE_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(pages::merge(first, rest))
    }

    /// What the platform at the other end speaks.
    fn protocol(&self) -> &'static Protocol {
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

    /// The kept session, started now if there is none.
    async fn session(&self, options: &Options, deadline: Instant) -> Result<Secret, Error> {
        let mut kept = self.inner.session.lock().await;
        if let Some(session) = kept.as_ref() {
            return Ok(session.clone());
        }
        let session = self.start_session(options, deadline).await?;
        *kept = Some(session.clone());
        Ok(session)
    }

    /// A new session in place of `stale`, unless another request has
    /// already replaced it.
    async fn renew(
        &self,
        stale: &Secret,
        options: &Options,
        deadline: Instant,
    ) -> Result<Secret, Error> {
        let mut kept = self.inner.session.lock().await;
        if let Some(current) = kept.as_ref().filter(|current| *current != stale) {
            return Ok(current.clone());
        }
        *kept = None;
        let session = self.start_session(options, deadline).await?;
        *kept = Some(session.clone());
        Ok(session)
    }

    /// Opens a session as the platform does: HEXONET's `StartSession`
    /// command, CentralNic's `persistent=1` login. Both without subuser.
    async fn start_session(&self, options: &Options, deadline: Instant) -> Result<Secret, Error> {
        let protocol = self.protocol();
        let options = Options {
            subuser: Some(String::new()),
            session: false,
            ..options.clone()
        };
        let response = match protocol.sessions.start {
            SessionStart::Command(name) => {
                let command = Command::from_json(&serde_json::json!({ "COMMAND": name }))?;
                self.exchange(Some(&command), &options, Auth::Credentials, deadline)
                    .await?
            }
            SessionStart::Persistent => {
                self.exchange(None, &options, Auth::OpenSession, deadline)
                    .await?
            }
        };
        let response = self.accepted(response)?;
        if !response.is_success() {
            return Err(Error::Unauthorized(format!(
                "{} did not start a session: {}",
                protocol.name,
                self.summary(&response)
            )));
        }
        let column = protocol.sessions.id_column;
        match response.column(column).and_then(<[String]>::first) {
            Some(id) if !id.is_empty() => Ok(Secret::new(id.as_str())),
            _ => Err(Error::InvalidResponse(format!(
                "{} started a session without a {column} column",
                protocol.name
            ))),
        }
    }

    /// Sends the closing command (`EndSession`, `StopSession`) with the
    /// kept session (with the credentials when none is kept) and forgets
    /// the session.
    async fn end_session(
        &self,
        command: &Command,
        options: &Options,
        deadline: Instant,
    ) -> Result<Response, Error> {
        let kept = self.inner.session.lock().await.take();
        let auth = match &kept {
            Some(session) => Auth::Session(session),
            None => Auth::Credentials,
        };
        let response = self
            .exchange(Some(command), options, auth, deadline)
            .await?;
        self.accepted(response)
    }

    /// The answer, unless it refuses the credentials.
    fn accepted(&self, response: Response) -> Result<Response, Error> {
        if response.code() == 530 && !is_session_not_found(&response) {
            return Err(Error::Unauthorized(format!(
                "{} refused the credentials of {}: {}",
                self.protocol().name,
                self.inner.endpoint.login,
                self.summary(&response)
            )));
        }
        Ok(response)
    }

    /// `CODE DESCRIPTION`, with any secret the API echoed masked.
    fn summary(&self, response: &Response) -> String {
        self.inner
            .redactor
            .redact(&format!("{} {}", response.code(), response.description()))
    }

    /// One command (none: CentralNic's session login), retried when that
    /// is safe (see the module doc).
    async fn exchange(
        &self,
        command: Option<&Command>,
        options: &Options,
        auth: Auth<'_>,
        deadline: Instant,
    ) -> Result<Response, Error> {
        let (body, command) = self.body(command, options, auth)?;
        let name = command.as_ref().map_or("login", Command::name);
        let read = is_read_command(name);
        let what = format!("{} {name}", self.protocol().name);
        let command = command.as_ref();
        retrying(deadline, &what, || {
            self.attempt(command, &body, read, &what)
        })
        .await
    }

    /// The POST body: the platform's SDK's, with the connection fields of
    /// this call; and the command as sent (see [`Protocol::wire_command`]).
    fn body(
        &self,
        command: Option<&Command>,
        options: &Options,
        auth: Auth<'_>,
    ) -> Result<(PostBody, Option<Command>), Error> {
        let inner = &self.inner;
        let protocol = self.protocol();
        let subuser = options
            .subuser
            .as_deref()
            .or(inner.subuser.as_deref())
            .unwrap_or_default();
        let command = command
            .map(|command| protocol.wire_command(command, subuser))
            .transpose()?;
        let remote_addr = options
            .remote_addr
            .map(|address| address.to_string())
            .unwrap_or_default();
        let login = inner.endpoint.login.as_str();
        let mut config = SocketConfig {
            entity: inner.endpoint.entity.unwrap_or_default(),
            remote_addr: &remote_addr,
            ..SocketConfig::default()
        };
        if protocol.subuser == SubuserView::Field {
            config.user = subuser;
        }
        match auth {
            Auth::Credentials | Auth::OpenSession => {
                config.login = login;
                config.password = inner.password.expose();
                config.otp = options.otp.as_ref().map(Secret::expose).unwrap_or_default();
                config.persistent = matches!(auth, Auth::OpenSession);
            }
            Auth::Session(session) => {
                config.session = session.expose();
                if protocol.sessions.keeps_login {
                    config.login = login;
                }
            }
        }
        let body = PostBody::new(inner.endpoint.backend, &config, command.as_ref());
        Ok((body, command))
    }

    async fn attempt(
        &self,
        command: Option<&Command>,
        body: &PostBody,
        read: bool,
        what: &str,
    ) -> Attempt<Response> {
        let inner = &self.inner;
        let url = inner.endpoint.url_for_log();
        if inner.debug {
            let command = command.map(Command::masked).unwrap_or_default();
            tracing::info!(
                url = %url,
                command = %inner.redactor.redact(&command),
                body = %debug_log::request(body, &inner.redactor),
                "{} request",
                inner.endpoint.protocol().name
            );
        }
        // What is retried after a failure: read commands always, others
        // only when nothing was sent.
        let failed = |failure: Error, nothing_sent: bool| {
            if inner.debug {
                tracing::info!(error = %failure, "HTTP communication failed");
            }
            if read || nothing_sent {
                Attempt::Retryable(Err(failure))
            } else {
                Attempt::Done(Err(failure))
            }
        };
        let mut post = inner
            .http
            .post(inner.endpoint.url.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(referer) = &inner.referer {
            post = post.header(header::REFERER, referer);
        }
        let sent = post.body(body.expose().to_owned()).send().await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return failed(http_error(what, &describe(&error)), error.is_connect()),
        };
        let status = response.status();
        // urllib raises `HTTPError` for these, which the SDK answers with `httperror`.
        if status.as_u16() >= 400 {
            return failed(http_error(what, &format!("HTTP {status}")), false);
        }
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => {
                let detail = format!("reading the answer: {}", describe(&error));
                return failed(http_error(what, &detail), false);
            }
        };
        let answer = Response::from_bytes(&bytes, Some(&url));
        if inner.debug {
            tracing::info!(
                code = answer.code(),
                body = %debug_log::response(answer.plain(), &inner.redactor),
                "{} response",
                inner.endpoint.protocol().name
            );
        }
        if answer.plain() == Template::Invalid.plain() {
            let invalid = Template::Invalid;
            let failure = Error::InvalidResponse(format!(
                "{what}: {} {} (the answer is not a {} response)",
                invalid.code(),
                invalid.description(),
                inner.endpoint.protocol().name
            ));
            return if read {
                Attempt::Retryable(Err(failure))
            } else {
                Attempt::Done(Err(failure))
            };
        }
        if read && answer.is_tmp_error() {
            Attempt::Retryable(Ok(answer))
        } else {
            Attempt::Done(Ok(answer))
        }
    }
}

/// Whether `name` is a read command, which is safe to send again: it starts
/// with `Check`, `Query`, `Status` or `Get`, or is `ConvertIDN`, in any case.
///
/// # Example
/// ```
/// use exh_task::hexonet::is_read_command;
/// assert!(is_read_command("QueryDomainList") && is_read_command("checkdomain"));
/// assert!(!is_read_command("AddDomain") && !is_read_command("StartSession"));
/// ```
pub fn is_read_command(name: &str) -> bool {
    const READ_PREFIXES: [&str; 4] = ["check", "query", "status", "get"];
    let name = name.to_ascii_lowercase();
    READ_PREFIXES.iter().any(|prefix| name.starts_with(prefix)) || name == "convertidn"
}

/// `530 SESSION NOT FOUND`: the session expired or was ended elsewhere.
fn is_session_not_found(response: &Response) -> bool {
    response.code() == 530
        && response
            .description()
            .eq_ignore_ascii_case(Template::Expired.description())
}

/// The SDK's `httperror` answer as an error: 421 and its description, then
/// what went wrong.
fn http_error(what: &str, detail: &str) -> Error {
    let template = Template::HttpError;
    Error::Transport(format!(
        "{what}: {} {} ({detail})",
        template.code(),
        template.description()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexonet::parse;
    use crate::hexonet::{Backend, System};
    use serde_json::json;

    macro_rules! read_commands {
        ($($name:ident: $command:literal => $read:literal;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(is_read_command($command), $read);
            }
        )*};
    }

    read_commands! {
        check_domain_is_read: "CheckDomain" => true;
        query_domain_list_is_read: "QueryDomainList" => true;
        status_account_is_read: "StatusAccount" => true;
        get_zone_is_read: "GetZone" => true;
        convert_idn_is_read: "convertidn" => true;
        add_domain_is_not_read: "AddDomain" => false;
        delete_domain_is_not_read: "DeleteDomain" => false;
        modify_domain_is_not_read: "ModifyDomain" => false;
        transfer_domain_is_not_read: "TransferDomain" => false;
        start_session_is_not_read: "StartSession" => false;
        end_session_is_not_read: "EndSession" => false;
    }

    #[test]
    fn only_session_not_found_asks_for_a_new_session() {
        assert!(is_session_not_found(&parse(
            "CODE=530\nDESCRIPTION=SESSION NOT FOUND"
        )));
        assert!(!is_session_not_found(&parse(
            "CODE=530\nDESCRIPTION=Authentication failed"
        )));
        assert!(!is_session_not_found(&parse(
            "CODE=200\nDESCRIPTION=SESSION NOT FOUND"
        )));
    }

    #[test]
    fn http_errors_carry_the_sdk_template() {
        assert_eq!(
            http_error("HEXONET StatusAccount", "HTTP 503 Service Unavailable").to_string(),
            "transport: HEXONET StatusAccount: 421 Command failed due to HTTP communication error (HTTP 503 Service Unavailable)"
        );
    }

    fn client(password: &str) -> Client {
        client_on(Backend::Hexonet, password)
    }

    fn client_on(backend: Backend, password: &str) -> Client {
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

    fn command() -> Command {
        Command::from_json(&json!({"COMMAND": "StatusAccount"})).unwrap()
    }

    #[test]
    fn credentials_go_with_the_default_subuser() {
        let body = client("pw")
            .body(Some(&command()), &Options::default(), Auth::Credentials)
            .unwrap()
            .0;
        assert_eq!(
            body.expose(),
            "s_entity=1234&s_login=me%21ops&s_pw=pw&s_user=default-sub&s_command=COMMAND%3DStatusAccount"
        );
    }

    #[test]
    fn a_session_replaces_login_password_and_otp() {
        let options = Options {
            subuser: Some("other".into()),
            otp: Some(Secret::new("123456")),
            remote_addr: Some("203.0.113.7".parse().unwrap()),
            session: true,
        };
        let session = Secret::new("sess");
        let body = client("pw")
            .body(Some(&command()), &options, Auth::Session(&session))
            .unwrap()
            .0;
        assert_eq!(
            body.expose(),
            "s_entity=1234&s_remoteaddr=203.0.113.7&s_session=sess&s_user=other&s_command=COMMAND%3DStatusAccount"
        );
    }

    #[test]
    fn an_empty_subuser_is_the_accounts_own_view() {
        let options = Options {
            subuser: Some(String::new()),
            ..Options::default()
        };
        let body = client("pw")
            .body(Some(&command()), &options, Auth::Credentials)
            .unwrap()
            .0;
        assert!(!body.expose().contains("s_user"), "{}", body.expose());
    }

    #[test]
    fn centralnic_sends_its_own_fields_and_the_subuser_as_a_parameter() {
        let client = client_on(Backend::CentralNic, "pw");
        let cases = [
            (Auth::Credentials, "s_login=me%3Aops&s_pw=pw&s_command=COMMAND%3DStatusAccount%0ASUBUSER%3Ddefault-sub"),
            (Auth::Session(&Secret::new("sess")), "s_login=me%3Aops&s_sessionid=sess&s_command=COMMAND%3DStatusAccount%0ASUBUSER%3Ddefault-sub"),
        ];
        for (auth, want) in cases {
            let (body, _) = client
                .body(Some(&command()), &Options::default(), auth)
                .unwrap();
            assert_eq!(body.expose(), want);
        }
        let (login, _) = client
            .body(None, &Options::default(), Auth::OpenSession)
            .unwrap();
        assert_eq!(login.expose(), "s_login=me%3Aops&s_pw=pw&persistent=1");
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

    #[test]
    fn refused_credentials_are_unauthorized_without_the_password() {
        let client = client("s3cret!");
        let error = client
            .accepted(parse(
                "CODE=530\nDESCRIPTION=Authentication failed for s3cret!",
            ))
            .unwrap_err();
        assert_eq!(error.error_type(), "Unauthorized");
        assert_eq!(
            error.to_string(),
            "unauthorized: HEXONET refused the credentials of me!ops: 530 Authentication failed for ***"
        );
        assert!(client
            .accepted(parse("CODE=530\nDESCRIPTION=SESSION NOT FOUND"))
            .is_ok());
        assert!(client
            .accepted(parse("CODE=531\nDESCRIPTION=Authorization failed"))
            .is_ok());
    }

    #[tokio::test]
    async fn a_request_for_another_system_is_refused_before_any_call() {
        let request: Request = serde_json::from_value(
            json!({"command": {"COMMAND": "StatusAccount"}, "system": "live"}),
        )
        .unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(1);
        let error = client("pw").send(&request, deadline).await.unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(
            error.to_string().contains("never switches systems"),
            "{error}"
        );
    }
}
