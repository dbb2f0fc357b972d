//! The HEXONET emulation: `call.cgi` as the OT&E system serves it, for the
//! HEXONET Python SDK and exh-task's own client, unchanged.
//!
//! `POST` (or `GET`) [`PATH`] with the form fields the SDK sends (see
//! `hexonet/request.rs` for the format) is answered `200 text/plain` with a HEXONET
//! response (see `hexonet/reply.rs`); every outcome, errors included, is such a
//! response, never an HTTP error.
//!
//! # Checks, in order (HEXONET dialect)
//! 1. `s_entity` must be [`ENTITY`] (`1234`, OT&E): the sandbox plays the
//!    OT&E system only, and answers any other entity (LIVE's `54cd`, or
//!    none) as the OT&E system answers logins it does not know:
//!    530 `Authentication failed`.
//! 2. `s_session`, when given, must name an open session (530
//!    `SESSION NOT FOUND` otherwise); else `s_login` (`login` or
//!    `login!role`) and `s_pw` must match (530 `Authentication failed`).
//!    `s_otp` and `s_remoteaddr` are accepted and ignored, as for an
//!    account without 2FA or IP filter.
//! 3. `s_user`, when given, must be a subuser of the login (531
//!    `Authorization failed`); the command then sees the subuser's data.
//! 4. `s_command` must hold `COMMAND` (504 `Missing required attribute;
//!    COMMAND`), a known one (500 `Invalid command name`).
//!
//! # Commands
//! `StartSession` (answers `SESSION`), `EndSession`, and the account and
//! domain commands of `hexonet/commands.rs`.
//!
//! # CentralNic Reseller
//! [`CENTRALNIC_PATH`] serves the same accounts in the dialect of HEXONET's
//! successor (see `hexonet/dialect.rs`): no entity, `login:role`, `s_sessionid`,
//! the subuser as the command's `SUBUSER`, sessions opened by a login with
//! `persistent=1` (answers `SESSIONID`) and closed by `StopSession`.
//!
//! # Accounts
//! | login | password | sees |
//! | --- | --- | --- |
//! | [`LOGIN`] | [`PASSWORD`] | its [`DOMAIN_COUNT`] domains, `EUR` balance |
//! | [`LOGIN`]`!`[`ROLE`] | [`ROLE_PASSWORD`] | the same, read-only (531 for `AddDomain`, `DeleteDomain`) |
//! | [`SUBUSER`] | [`SUBUSER_PASSWORD`] | its own [`SUBUSER_DOMAIN_COUNT`] domains; also reachable as `s_user` of [`LOGIN`] |
//!
//! Every request is recorded with [`Verdict::NotApplicable`], its `s_pw`
//! (and any `PASSWORD` command line) replaced by `***`.

mod auth;
mod commands;
mod dialect;
mod domain_list;
mod domain_name;
mod registry;
mod reply;
mod request;
mod seed;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use self::auth::Sessions;
pub use self::dialect::Dialect;
use self::registry::Registry;
use self::reply::Reply;
use self::request::{mask_secrets, Form, Params};
use super::lock;
use super::record::{RecordedRequest, Recorder, Verdict};

pub use self::domain_list::{DEFAULT_LIMIT, MAX_LIMIT};

/// Where the emulation answers, as on `api-ote.ispapi.net`.
pub const PATH: &str = "/api/call.cgi";
/// Where it answers in CentralNic Reseller's dialect (the path
/// `api-ote.rrpproxy.net` serves as `/api/call.cgi`), on the same accounts.
pub const CENTRALNIC_PATH: &str = "/centralnic/api/call.cgi";
/// The system entity served: OT&E.
pub const ENTITY: &str = "1234";
/// The sandbox user's login. Public, fixed and fake, like every credential here.
pub const LOGIN: &str = "sandbox-user";
/// The sandbox user's password.
pub const PASSWORD: &str = "sandbox-password";
/// The sandbox user's one role, read-only: `sandbox-user!ops`.
pub const ROLE: &str = "ops";
/// The role's password.
pub const ROLE_PASSWORD: &str = "sandbox-ops-password";
/// The sandbox user's one subuser, for `s_user` (the SDK's `setUserView`).
pub const SUBUSER: &str = "reseller1";
/// The subuser's own password.
pub const SUBUSER_PASSWORD: &str = "reseller1-password";
/// How many domains the sandbox user starts with.
pub const DOMAIN_COUNT: usize = 2500;
/// How many domains the subuser starts with.
pub const SUBUSER_DOMAIN_COUNT: usize = 120;

/// Largest request the emulation reads.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// Shared state of the emulation: accounts, sessions, the request log.
/// Clones share it.
#[derive(Clone, Debug)]
pub struct HexonetState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    recorder: Recorder,
    data: Mutex<Data>,
    /// Waited before each answer (see [`HexonetState::set_latency`]).
    latency: Mutex<Duration>,
}

#[derive(Debug)]
struct Data {
    registry: Registry,
    sessions: Sessions,
}

impl HexonetState {
    /// Freshly seeded accounts that record requests into `recorder`.
    pub fn new(recorder: Recorder) -> Self {
        HexonetState(Arc::new(Inner {
            recorder,
            data: Mutex::new(Data {
                registry: Registry::seed(),
                sessions: Sessions::default(),
            }),
            latency: Mutex::new(Duration::ZERO),
        }))
    }

    /// Makes every later `call.cgi` answer wait `latency` before it is
    /// sent (zero, the default, answers at once): the round trip of the
    /// real API, for benchmarks of paging. Calls in flight wait
    /// concurrently, as a remote server's would.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.0.latency) = latency;
    }

    /// Answers one call in `dialect`, given as its form text.
    fn answer(&self, dialect: Dialect, form: &[u8], now: i64) -> Reply {
        self.try_answer(dialect, &Form::parse(form), now)
            .unwrap_or_else(|error| error)
    }

    fn try_answer(&self, dialect: Dialect, form: &Form, now: i64) -> Result<Reply, Reply> {
        let params = Params::parse(form.get("s_command").unwrap_or_default());
        let connection = dialect.connection(form, &params)?;
        let mut data = lock(&self.0.data);
        let Data { registry, sessions } = &mut *data;
        let identity = match connection.session {
            Some(id) => sessions.get(id)?,
            None => auth::login(
                registry,
                connection.login,
                connection.password,
                connection.role_separator,
            )?,
        };
        let view = auth::view(registry, &identity, connection.subuser)?;
        let session_commands = dialect.session_commands();
        if connection.open_session {
            // CentralNic's login: `persistent=1` and no command.
            let id = sessions.start(identity)?;
            return Ok(Reply::ok().with(session_commands.property, id));
        }
        let name = params.require("COMMAND")?.to_lowercase();
        Ok(match name.as_str() {
            name if session_commands.start == Some(name) => {
                Reply::ok().with(session_commands.property, sessions.start(identity)?)
            }
            name if name == session_commands.end => {
                if let Some(id) = connection.session {
                    sessions.end(id);
                }
                Reply::ok()
            }
            name => commands::run(registry, &identity, &view, name, &params, now),
        })
    }
}

/// The `call.cgi` routes: HEXONET's at [`PATH`], CentralNic Reseller's at
/// [`CENTRALNIC_PATH`].
pub fn app(state: HexonetState) -> Router {
    Router::new()
        .route(
            PATH,
            any(|state, request| call_cgi(state, request, Dialect::Hexonet)),
        )
        .route(
            CENTRALNIC_PATH,
            any(|state, request| call_cgi(state, request, Dialect::CentralNic)),
        )
        .with_state(state)
}

async fn call_cgi(
    State(state): State<HexonetState>,
    request: Request,
    dialect: Dialect,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let mut record = RecordedRequest::received(&parts);
    let query = parts.uri.query().unwrap_or_default().as_bytes();
    let reply = match axum::body::to_bytes(body, MAX_BODY).await {
        Err(_) => Reply::new(507, "Invalid command format"),
        Ok(body) => {
            record.body = mask_secrets(&body);
            // A POST's fields are in its body; a GET's (or an empty POST's) in its query.
            let form = if parts.method == Method::POST && !body.is_empty() {
                &body[..]
            } else {
                query
            };
            state.answer(dialect, form, unix_now())
        }
    };
    let latency = *lock(&state.0.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some((path, query)) = record.target.split_once('?') {
        record.target = format!(
            "{path}?{}",
            String::from_utf8_lossy(&mask_secrets(query.as_bytes()))
        );
    }
    let response = (
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        Body::from(reply.text(started.elapsed())),
    )
        .into_response();
    record.verdict = Verdict::NotApplicable;
    record.status = response.status().as_u16();
    state.0.recorder.record(record);
    response
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use tower::ServiceExt as _;

    use super::*;
    use exh_task::hexonet::{parse, Response as Parsed};

    /// The form the SDK sends (`useOTESystem`, `setCredentials`): entity,
    /// login, password, then the command's lines.
    fn form(extra: &[(&str, &str)], command: &str) -> String {
        let mut fields = vec![("s_entity", ENTITY), ("s_login", LOGIN), ("s_pw", PASSWORD)];
        for (name, value) in extra {
            fields.retain(|(field, _)| field != name);
            fields.push((name, value));
        }
        fields.retain(|(_, value)| !value.is_empty());
        fields.push(("s_command", command));
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish()
    }

    async fn post(state: &HexonetState, body: impl Into<Body>) -> (StatusCode, String, Parsed) {
        let request = axum::http::Request::post(PATH)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.into())
            .unwrap();
        let response = app(state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            text.starts_with("[RESPONSE]\r\ncode = ") && text.ends_with("\r\nEOF\r\n"),
            "{text}"
        );
        (status, content_type, parse(&text).unwrap())
    }

    async fn call(state: &HexonetState, extra: &[(&str, &str)], command: &str) -> Parsed {
        post(state, form(extra, command)).await.2
    }

    fn state() -> HexonetState {
        HexonetState::new(Recorder::default())
    }

    fn code(r: &Parsed) -> (i64, &str) {
        (r.code(), r.description())
    }

    /// One named test per case: the fields that differ from the SDK's
    /// defaults, the command, and the code and description expected.
    macro_rules! calls {
        ($($name:ident: $extra:expr, $command:expr => $code:expr, $description:expr;)*) => {$(
            #[tokio::test]
            async fn $name() {
                let reply = call(&state(), $extra, $command).await;
                assert_eq!(code(&reply), ($code, $description));
            }
        )*};
    }

    const ROLE_LOGIN: &str = "sandbox-user!ops";

    calls! {
        the_sandbox_user_is_served: &[], "COMMAND=StatusAccount" => 200, "Command completed successfully";
        the_live_entity_is_refused: &[("s_entity", "54cd")], "COMMAND=StatusAccount" => 530, "Authentication failed";
        a_missing_entity_is_refused: &[("s_entity", "")], "COMMAND=StatusAccount" => 530, "Authentication failed";
        a_wrong_password_is_refused: &[("s_pw", "guess")], "COMMAND=StatusAccount" => 530, "Authentication failed";
        a_missing_password_is_refused: &[("s_pw", "")], "COMMAND=StatusAccount" => 530, "Authentication failed";
        an_unknown_login_is_refused: &[("s_login", "root")], "COMMAND=StatusAccount" => 530, "Authentication failed";
        the_role_logs_in_with_its_password: &[("s_login", ROLE_LOGIN), ("s_pw", ROLE_PASSWORD)], "COMMAND=StatusAccount" => 200, "Command completed successfully";
        the_role_cannot_register: &[("s_login", ROLE_LOGIN), ("s_pw", ROLE_PASSWORD)], "COMMAND=AddDomain\nDOMAIN=new.com" => 531, "Authorization failed";
        the_role_refuses_the_user_password: &[("s_login", ROLE_LOGIN)], "COMMAND=StatusAccount" => 530, "Authentication failed";
        an_unknown_session_is_not_found: &[("s_login", ""), ("s_pw", ""), ("s_session", "nope")], "COMMAND=StatusAccount" => 530, "SESSION NOT FOUND";
        an_unknown_subuser_is_not_authorized: &[("s_user", "ghost")], "COMMAND=StatusAccount" => 531, "Authorization failed";
        an_otp_is_accepted_when_not_configured: &[("s_otp", "123456"), ("s_remoteaddr", "192.0.2.1")], "COMMAND=StatusAccount" => 200, "Command completed successfully";
        a_missing_command_is_504: &[], "DOMAIN=a.com" => 504, "Missing required attribute; COMMAND";
        an_unknown_command_is_500: &[], "COMMAND=Nope" => 500, "Invalid command name";
        authentication_comes_before_the_command: &[("s_pw", "guess")], "COMMAND=Nope" => 530, "Authentication failed";
    }

    /// A CentralNic Reseller call: its fields as its SDK sends them.
    async fn centralnic(state: &HexonetState, fields: &[(&str, &str)], command: &str) -> Parsed {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        serializer.extend_pairs(fields);
        if !command.is_empty() {
            serializer.append_pair("s_command", command);
        }
        let request = axum::http::Request::post(CENTRALNIC_PATH)
            .body(Body::from(serializer.finish()))
            .unwrap();
        let response = app(state.clone()).oneshot(request).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        parse(std::str::from_utf8(&body).unwrap()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn an_injected_latency_delays_every_answer_by_that_much() {
        let state = state();
        state.set_latency(Duration::from_millis(20));
        let started = tokio::time::Instant::now();
        let reply = call(&state, &[], "COMMAND=StatusAccount").await;
        assert_eq!(reply.code(), 200);
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[tokio::test]
    async fn centralnic_serves_the_same_accounts_without_an_entity() {
        let state = state();
        let login = [("s_login", LOGIN), ("s_pw", PASSWORD)];
        let reply = centralnic(&state, &login, "COMMAND=QueryDomainList\nLIMIT=1").await;
        assert_eq!(reply.pagination().total, DOMAIN_COUNT as i64);
        let wrong = centralnic(
            &state,
            &[("s_login", LOGIN), ("s_pw", "x")],
            "COMMAND=StatusAccount",
        )
        .await;
        assert_eq!(code(&wrong), (530, "Authentication failed"));
    }

    #[tokio::test]
    async fn centralnic_roles_use_a_colon_and_subusers_a_parameter() {
        let state = state();
        let role = [("s_login", "sandbox-user:ops"), ("s_pw", ROLE_PASSWORD)];
        assert_eq!(
            centralnic(&state, &role, "COMMAND=StatusAccount")
                .await
                .code(),
            200
        );
        let bang = [("s_login", ROLE_LOGIN), ("s_pw", ROLE_PASSWORD)];
        assert_eq!(
            centralnic(&state, &bang, "COMMAND=StatusAccount")
                .await
                .code(),
            530
        );
        let login = [("s_login", LOGIN), ("s_pw", PASSWORD)];
        let command = format!("COMMAND=QueryDomainList\nLIMIT=1\nSUBUSER={SUBUSER}");
        let view = centralnic(&state, &login, &command).await;
        assert_eq!(view.pagination().total, SUBUSER_DOMAIN_COUNT as i64);
    }

    #[tokio::test]
    async fn centralnic_sessions_open_with_persistent_and_close_with_stopsession() {
        let state = state();
        let login = [("s_login", LOGIN), ("s_pw", PASSWORD), ("persistent", "1")];
        let opened = centralnic(&state, &login, "").await;
        assert_eq!(opened.code(), 200);
        let id = opened.column("SESSIONID").unwrap()[0].clone();
        let by_session = [("s_sessionid", id.as_str())];
        assert_eq!(
            centralnic(&state, &by_session, "COMMAND=StatusAccount")
                .await
                .code(),
            200
        );
        assert_eq!(
            centralnic(&state, &by_session, "COMMAND=StopSession")
                .await
                .code(),
            200
        );
        let after = centralnic(&state, &by_session, "COMMAND=StatusAccount").await;
        assert_eq!(code(&after), (530, "SESSION NOT FOUND"));
        // HEXONET's session commands are not CentralNic's.
        let login = [("s_login", LOGIN), ("s_pw", PASSWORD)];
        assert_eq!(
            centralnic(&state, &login, "COMMAND=StartSession")
                .await
                .code(),
            500
        );
    }

    #[tokio::test]
    async fn the_answer_is_plain_text_with_runtime_and_queuetime() {
        let (status, content_type, reply) =
            post(&state(), form(&[], "COMMAND=StatusAccount")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/plain"));
        assert_eq!(reply.attribute("QUEUETIME"), Some("0"));
        assert!(reply.runtime() < 1.0);
        assert_eq!(reply.column("CURRENCY"), Some(&["EUR".to_owned()][..]));
    }

    #[tokio::test]
    async fn a_subuser_view_sees_the_subusers_data() {
        let state = state();
        let own = call(&state, &[], "COMMAND=QueryDomainList\nLIMIT=1").await;
        let view = call(
            &state,
            &[("s_user", SUBUSER)],
            "COMMAND=QueryDomainList\nLIMIT=1",
        )
        .await;
        assert_eq!(own.pagination().total, DOMAIN_COUNT as i64);
        assert_eq!(view.pagination().total, SUBUSER_DOMAIN_COUNT as i64);
    }

    #[tokio::test]
    async fn a_session_authenticates_until_it_ends() {
        let state = state();
        let started = call(&state, &[], "COMMAND=StartSession").await;
        assert_eq!(started.code(), 200);
        let session = started.column("SESSION").unwrap()[0].clone();
        let by_session = [
            ("s_login", ""),
            ("s_pw", ""),
            ("s_session", session.as_str()),
        ];
        assert_eq!(
            call(&state, &by_session, "COMMAND=StatusAccount")
                .await
                .code(),
            200
        );
        assert_eq!(
            call(&state, &by_session, "COMMAND=EndSession").await.code(),
            200
        );
        let after = call(&state, &by_session, "COMMAND=StatusAccount").await;
        assert_eq!(code(&after), (530, "SESSION NOT FOUND"));
    }

    #[tokio::test]
    async fn a_role_session_stays_read_only() {
        let state = state();
        let login = [("s_login", ROLE_LOGIN), ("s_pw", ROLE_PASSWORD)];
        let started = call(&state, &login, "COMMAND=StartSession").await;
        let session = started.column("SESSION").unwrap()[0].clone();
        let by_session = [
            ("s_login", ""),
            ("s_pw", ""),
            ("s_session", session.as_str()),
        ];
        let reply = call(
            &state,
            &by_session,
            "COMMAND=DeleteDomain\nDOMAIN=blue-river-0.com",
        )
        .await;
        assert_eq!(reply.code(), 531);
    }

    #[tokio::test]
    async fn a_get_with_a_query_is_served_too() {
        let request = axum::http::Request::get(format!(
            "{PATH}?{}",
            form(&[], "COMMAND=CheckDomain\nDOMAIN=free-name.com")
        ))
        .body(Body::empty())
        .unwrap();
        let response = app(state()).oneshot(request).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            parse(std::str::from_utf8(&body).unwrap()).unwrap().code(),
            210
        );
    }

    #[tokio::test]
    async fn malformed_forms_get_hexonet_answers() {
        let state = state();
        for body in [
            &b""[..],
            b"%%%",
            b"\xff\xfe\x00",
            b"s_entity=1234&s_command",
            b"&&&==&",
            b"s_entity=1234&s_login=sandbox-user&s_pw=sandbox-password&s_command=%00%ff",
        ] {
            let (status, _, reply) = post(&state, body.to_vec()).await;
            assert_eq!(status, StatusCode::OK);
            assert!(reply.is_error(), "{:?} → {}", body, reply.plain());
        }
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_with_507() {
        let (status, _, reply) = post(&state(), vec![b'a'; MAX_BODY + 1]).await;
        assert_eq!((status, reply.code()), (StatusCode::OK, 507));
    }

    #[tokio::test]
    async fn requests_are_recorded_without_the_password() {
        let recorder = Recorder::default();
        let state = HexonetState::new(recorder.clone());
        call(&state, &[], "COMMAND=StatusAccount").await;
        let get =
            axum::http::Request::get(format!("{PATH}?{}", form(&[], "COMMAND=StatusAccount")))
                .body(Body::empty())
                .unwrap();
        app(state.clone()).oneshot(get).await.unwrap();
        let [post, get] = <[_; 2]>::try_from(recorder.requests()).unwrap();
        let body = String::from_utf8(post.body.clone()).unwrap();
        assert_eq!(
            body,
            form(&[("s_pw", "***")], "COMMAND=StatusAccount").replace("%2A%2A%2A", "***")
        );
        assert_eq!(
            (
                post.method.as_str(),
                post.target.as_str(),
                &post.verdict,
                post.status
            ),
            ("POST", PATH, &Verdict::NotApplicable, 200)
        );
        assert!(get.target.contains("s_pw=***&"), "{}", get.target);
        for request in [post, get] {
            assert!(!format!("{request:?}").contains(PASSWORD));
        }
    }
}
