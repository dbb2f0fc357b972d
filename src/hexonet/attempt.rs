//! One exchange with `call.cgi`: the POST body of a call, the HTTP
//! request, what the answer is, and whether it is sent again.
//!
//! # Calls
//! Each command is POSTed as the platform's SDK's exact form body
//! ([`PostBody`]) to the [`Endpoint`](super::Endpoint). HEXONET: `s_entity`
//! of the system, `s_login` (`login!role`), `s_pw`, and per call `s_otp`,
//! `s_remoteaddr` and `s_user` ([`Options`]). CentralNic Reseller:
//! `s_login` (`login:role`), `s_pw`, and the subuser view as the command's
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

use super::protocol::SubuserView;
use super::request::Options;
use super::response::parse_body;
use super::session::is_session_not_found;
use super::{Client, Command, PostBody, Response, SocketConfig, Template};
use crate::error::Error;
use crate::http::{describe, Failure};
use crate::limits::body_over;
use crate::mask::hexonet as mask;
use crate::retry::{retrying, Attempt};
use crate::secret::Secret;
use crate::telemetry::{self, Side};
use reqwest::header::{self, HeaderMap};
use tokio::time::Instant;

/// How a call proves who it is.
#[derive(Clone, Copy)]
pub(super) enum Auth<'a> {
    /// Login, password and any one-time password.
    Credentials,
    /// Login and password, asking for a session (`persistent=1`).
    OpenSession,
    /// A session id from the platform.
    Session(&'a Secret),
}

impl Client {
    /// One command (none: CentralNic's session login), retried when that
    /// is safe (see [Retries](self#retries)).
    pub(super) async fn attempts(
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
        let call = telemetry::Call::start(Side::Hexonet, "POST", self.inner.endpoint.url.path())
            .command(name);
        let result = retrying(deadline, &what, read, || {
            call.attempt(self.attempt(command, &body, read, &what, deadline))
        })
        .await;
        call.end(result.as_ref().map(Response::code));
        result
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
            .map(|command| options.wire_command(protocol, command, subuser))
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

    /// The answer, unless it refuses the credentials.
    pub(super) fn accepted(&self, response: Response) -> Result<Response, Error> {
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

    /// `CODE DESCRIPTION`, with any secret the API echoed masked, cut at
    /// [`crate::error::QUOTED_CHARS`].
    pub(super) fn summary(&self, response: &Response) -> String {
        let summary =
            self.inner
                .redactor
                .redact(&format!("{} {}", response.code(), response.description()));
        crate::error::shortened(&summary, crate::error::QUOTED_CHARS).into_owned()
    }

    /// One POST and its answer, classified for [`retrying`].
    async fn attempt(
        &self,
        command: Option<&Command>,
        body: &PostBody,
        read: bool,
        what: &str,
        deadline: Instant,
    ) -> Attempt<Response> {
        let inner = &self.inner;
        let url = inner.endpoint.url_for_log();
        if inner.debug {
            let command = command.map(Command::masked).unwrap_or_default();
            tracing::info!(
                url = %url,
                command = %inner.redactor.redact(&command),
                body = %mask::request(body, &inner.redactor),
                "{} request",
                inner.endpoint.protocol().name
            );
        }
        // What is retried after a failure: read commands always (not
        // before the server's `Retry-After`, if any), others only when
        // nothing was sent.
        let failed = |failure: Error, nothing_sent: bool, headers: &HeaderMap| {
            if inner.debug {
                tracing::info!(error = %failure, "HTTP communication failed");
            }
            if read || nothing_sent {
                Attempt::retry(Err(failure), headers)
            } else {
                Attempt::Done(Err(failure))
            }
        };
        let no_headers = HeaderMap::new();
        let mut post = inner
            .http
            .client()
            .post(inner.endpoint.url.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(referer) = &inner.referer {
            post = post.header(header::REFERER, referer);
        }
        let post = post.body(body.expose().to_owned());
        let received = match inner.http.exchange(post, deadline, what, read).await {
            Ok(received) => received,
            Err(Failure::Timeout(error)) => return Attempt::Done(Err(error)),
            Err(Failure::TooLarge(limit)) => {
                return Attempt::Done(Err(invalid(what, &body_over(limit))))
            }
            Err(Failure::OverBudget(why)) => return Attempt::Done(Err(invalid(what, &why))),
            Err(Failure::Sending(error)) => {
                let failure = http_error(what, &describe(&error));
                return failed(failure, error.is_connect(), &no_headers);
            }
            Err(Failure::Reading(error)) => {
                let detail = format!("reading the answer: {}", describe(&error));
                return failed(http_error(what, &detail), false, &no_headers);
            }
        };
        let status = received.status;
        // Redirects are not followed (a 3xx is not a HEXONET answer), and
        // asking again would only be sent the same way.
        if status.is_redirection() {
            let detail = format!("HTTP {status}: redirects are not followed");
            return Attempt::Done(Err(http_error(what, &detail)));
        }
        // urllib raises `HTTPError` for these, which the SDK answers with `httperror`.
        if status.as_u16() >= 400 {
            let failure = http_error(what, &format!("HTTP {status}"));
            return failed(failure, false, &received.headers);
        }
        let bytes = received.body;
        let answer = parse_body(&bytes, Some(&url));
        if inner.debug {
            // What the SDK would have answered: an unreadable answer shows as its template.
            let shown = match &answer {
                Ok(answer) => answer.clone(),
                Err(_) => Template::Invalid.response(Some(&url)),
            };
            tracing::info!(
                code = shown.code(),
                body = %mask::response(shown.plain(), &inner.redactor),
                "{} response",
                inner.endpoint.protocol().name
            );
        }
        let answer = match answer {
            Ok(answer) => answer,
            Err(_) => {
                let failure = invalid_response(what, inner.endpoint.protocol().name);
                return if read {
                    Attempt::Retryable(Err(failure))
                } else {
                    Attempt::Done(Err(failure))
                };
            }
        };
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

/// The SDK's `httperror` answer as an error: 421 and its description, then
/// what went wrong.
fn http_error(what: &str, detail: &str) -> Error {
    Error::Transport(template_message(Template::HttpError, what, detail))
}

/// The SDK's `invalid` answer as an error, whatever [`super::ParseError`]
/// made the answer unreadable: the SDK shows every one of them as 423.
fn invalid_response(what: &str, platform: &str) -> Error {
    invalid(what, &format!("the answer is not a {platform} response"))
}

/// The SDK's `invalid` answer as an error, with what went wrong.
fn invalid(what: &str, detail: &str) -> Error {
    Error::InvalidResponse(template_message(Template::Invalid, what, detail))
}

/// `what`, then the code and description users know from the SDK, then
/// what went wrong.
fn template_message(template: Template, what: &str, detail: &str) -> String {
    format!(
        "{what}: {} {} ({detail})",
        template.code(),
        template.description()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexonet::client::tests::{client, client_on};
    use crate::hexonet::{parse, Backend};
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
    fn unreadable_answers_carry_the_sdk_invalid_template() {
        assert_eq!(
            invalid_response("HEXONET StatusAccount", "HEXONET").to_string(),
            "invalid response: HEXONET StatusAccount: 423 Invalid API response. Contact Support (the answer is not a HEXONET response)"
        );
    }

    #[test]
    fn http_errors_carry_the_sdk_template() {
        assert_eq!(
            http_error("HEXONET StatusAccount", "HTTP 503 Service Unavailable").to_string(),
            "transport: HEXONET StatusAccount: 421 Command failed due to HTTP communication error (HTTP 503 Service Unavailable)"
        );
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
            page: None,
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
    fn refused_credentials_are_unauthorized_without_the_password() {
        let client = client("s3cret!");
        let error = client
            .accepted(parse("CODE=530\nDESCRIPTION=Authentication failed for s3cret!").unwrap())
            .unwrap_err();
        assert_eq!(error.error_type(), "Unauthorized");
        assert_eq!(
            error.to_string(),
            "unauthorized: HEXONET refused the credentials of me!ops: 530 Authentication failed for ***"
        );
        assert!(client
            .accepted(parse("CODE=530\nDESCRIPTION=SESSION NOT FOUND").unwrap())
            .is_ok());
        assert!(client
            .accepted(parse("CODE=531\nDESCRIPTION=Authorization failed").unwrap())
            .is_ok());
    }
}
