//! The HEXONET client against a scripted `call.cgi`: retries, failures,
//! sessions, paging and the debug log, each case forced exactly.
//!
//! The sandbox's emulation (tests/hexonet_sandbox.rs) shows the client
//! against a realistic API; this script shows what the sandbox cannot be
//! made to do on demand (a 503, then an answer; an answer that is not one).

mod support;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use exh_task::hexonet::{Backend, Client, Command, Options, Prepared, Response, Settings, System};
use exh_task::secret::Secret;
use exh_task::Error;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::log::Captured;
use tokio::time::Instant;

const PASSWORD: &str = "pa55 w&rd";
const OTP: &str = "otp-424242";

/// One POST received: its form fields, `s_command` split into parameters.
#[derive(Debug, Clone)]
struct Call {
    fields: BTreeMap<String, String>,
    command: BTreeMap<String, String>,
}

impl Call {
    fn name(&self) -> &str {
        self.command.get("COMMAND").map_or("", String::as_str)
    }
}

/// What the script answers: an HTTP status and a body.
type Script = dyn Fn(&Call, usize) -> (StatusCode, String) + Send + Sync;

/// How long the server takes to answer a call.
type Delay = dyn Fn(&Call) -> Duration + Send + Sync;

#[derive(Clone)]
struct Mock {
    calls: Arc<Mutex<Vec<Call>>>,
    script: Arc<Script>,
    delay: Arc<Delay>,
}

async fn call_cgi(State(mock): State<Mock>, body: String) -> impl IntoResponse {
    let fields: BTreeMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let command = fields
        .get("s_command")
        .map(|text| {
            text.lines()
                .filter_map(|line| line.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let call = Call { fields, command };
    tokio::time::sleep((mock.delay)(&call)).await;
    let index = {
        let mut calls = mock.calls.lock().unwrap();
        calls.push(call.clone());
        calls.len() - 1
    };
    (mock.script)(&call, index)
}

/// A scripted server on 127.0.0.1:0 and a client pointed at it.
struct Fixture {
    client: Client,
    calls: Arc<Mutex<Vec<Call>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Fixture {
    /// Sends `command` with default options, bounded by [`soon`].
    async fn send(&self, command_json: serde_json::Value) -> Result<Response, Error> {
        self.client
            .send(
                &prepared(&command(command_json), &Options::default()),
                soon(),
            )
            .await
    }

    async fn new(
        script: impl Fn(&Call, usize) -> (StatusCode, String) + Send + Sync + 'static,
    ) -> Fixture {
        Self::start(script, |_| Duration::ZERO, false).await
    }

    async fn start(
        script: impl Fn(&Call, usize) -> (StatusCode, String) + Send + Sync + 'static,
        delay: impl Fn(&Call) -> Duration + Send + Sync + 'static,
        debug: bool,
    ) -> Fixture {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mock = Mock {
            calls: calls.clone(),
            script: Arc::new(script),
            delay: Arc::new(delay),
        };
        let app = Router::new()
            .route("/api/call.cgi", post(call_cgi))
            .with_state(mock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/call.cgi", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fixture {
            client: Client::new(exh_task::http::client().unwrap(), config(&url), debug),
            calls,
            _server: server,
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

/// One page of `command`, sent with `options`.
fn prepared(command: &Command, options: &Options) -> Prepared {
    Prepared {
        command: command.clone(),
        options: options.clone(),
        all_pages: false,
        system: None,
        view: Default::default(),
    }
}

fn config(url: &str) -> Settings {
    Settings {
        login: "tester".into(),
        password: Secret::new(PASSWORD),
        role: None,
        backend: Backend::Hexonet,
        system: System::Ote,
        url: Some(url.parse().unwrap()),
        subuser: None,
        proxy: None,
        referer: None,
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

fn command(json: serde_json::Value) -> Command {
    Command::from_json(&json).unwrap()
}

fn ok(lines: &str) -> (StatusCode, String) {
    (
        StatusCode::OK,
        format!("[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=Command completed successfully\r\n{lines}EOF\r\n"),
    )
}

fn answer(code: u16, description: &str) -> (StatusCode, String) {
    (
        StatusCode::OK,
        format!("[RESPONSE]\r\nCODE={code}\r\nDESCRIPTION={description}\r\nEOF\r\n"),
    )
}

#[tokio::test]
async fn the_sdk_body_reaches_call_cgi_with_the_ote_entity() {
    let fixture = Fixture::new(|_, _| ok("PROPERTY[AMOUNT][0]=10.00\r\n")).await;
    let options = Options {
        subuser: Some("reseller1".into()),
        remote_addr: Some("203.0.113.7".parse().unwrap()),
        ..Options::default()
    };
    let response = fixture
        .client
        .send(
            &prepared(&command(json!({"COMMAND": "StatusAccount"})), &options),
            soon(),
        )
        .await
        .unwrap();
    assert_eq!(response.code(), 200);
    assert_eq!(response.column("AMOUNT").unwrap(), ["10.00"]);
    let calls = fixture.calls();
    let fields = &calls[0].fields;
    assert_eq!(fields["s_entity"], "1234");
    assert_eq!(fields["s_login"], "tester");
    assert_eq!(fields["s_pw"], PASSWORD);
    assert_eq!(fields["s_user"], "reseller1");
    assert_eq!(fields["s_remoteaddr"], "203.0.113.7");
    assert_eq!(fields["s_command"], "COMMAND=StatusAccount");
}

#[tokio::test]
async fn a_read_command_is_retried_after_a_503() {
    let fixture = Fixture::new(|_, index| match index {
        0 => (StatusCode::SERVICE_UNAVAILABLE, "busy".into()),
        _ => ok("PROPERTY[DOMAIN][0]=a.com\r\nPROPERTY[AVAILABLE][0]=1\r\n"),
    })
    .await;
    let response = fixture
        .send(json!({"COMMAND": "CheckDomain", "DOMAIN": "a.com"}))
        .await
        .unwrap();
    assert_eq!(response.code(), 200);
    assert_eq!(fixture.calls().len(), 2);
}

#[tokio::test]
async fn a_read_command_is_retried_after_a_temporary_error() {
    let fixture = Fixture::new(|_, index| match index {
        0 => answer(
            421,
            "Command failed due to server error. Client should try again",
        ),
        _ => ok(""),
    })
    .await;
    let response = fixture
        .send(json!({"COMMAND": "QueryDomainList"}))
        .await
        .unwrap();
    assert_eq!((response.code(), fixture.calls().len()), (200, 2));
}

#[tokio::test]
async fn a_write_command_is_never_sent_twice() {
    let fixture = Fixture::new(|_, _| (StatusCode::BAD_GATEWAY, "bad gateway".into())).await;
    let error = fixture
        .send(json!({"COMMAND": "AddDomain", "DOMAIN": "a.com"}))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Transport");
    assert_eq!(
        error.to_string(),
        "transport: HEXONET AddDomain: 421 Command failed due to HTTP communication error (HTTP 502 Bad Gateway)"
    );
    assert_eq!(fixture.calls().len(), 1);
}

#[tokio::test]
async fn a_temporary_error_for_a_write_command_is_the_answer() {
    let fixture = Fixture::new(|_, _| {
        answer(
            421,
            "Command failed due to server error. Client should try again",
        )
    })
    .await;
    let response = fixture
        .send(json!({"COMMAND": "DeleteDomain", "DOMAIN": "a.com"}))
        .await
        .unwrap();
    assert_eq!((response.code(), fixture.calls().len()), (421, 1));
}

#[tokio::test]
async fn a_read_command_gives_up_with_the_421_template_when_retries_are_spent() {
    let fixture = Fixture::new(|_, _| (StatusCode::INTERNAL_SERVER_ERROR, String::new())).await;
    let error = fixture
        .send(json!({"COMMAND": "StatusAccount"}))
        .await
        .unwrap_err();
    support::hexonet::assert_sdk_421(&error);
    assert!(fixture.calls().len() > 1);
}

#[tokio::test]
async fn an_answer_that_is_not_hexonet_is_an_invalid_response_with_the_423_template() {
    let fixture = Fixture::new(|_, _| (StatusCode::OK, "<html>maintenance</html>".into())).await;
    let error = fixture
        .send(json!({"COMMAND": "AddDomain", "DOMAIN": "a.com"}))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid response: HEXONET AddDomain: 423 Invalid API response. Contact Support (the answer is not a HEXONET response)"
    );
    assert_eq!(fixture.calls().len(), 1);
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error_carrying_the_421_template() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/call.cgi", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(exh_task::http::client().unwrap(), config(&url), false);
    let error = client
        .send(
            &prepared(
                &command(json!({"COMMAND": "AddDomain", "DOMAIN": "a.com"})),
                &Options::default(),
            ),
            soon(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Transport");
    let message = error.to_string();
    assert!(
        message.starts_with("transport: HEXONET AddDomain: 421 Command failed due to HTTP communication error (could not connect"),
        "{message}"
    );
    assert!(!message.contains(PASSWORD));
}

#[tokio::test]
async fn the_deadline_bounds_a_call_that_never_answers() {
    let fixture = Fixture::start(|_, _| ok(""), |_| Duration::from_secs(5), false).await;
    let deadline = Instant::now() + Duration::from_millis(200);
    let error = fixture
        .client
        .send(
            &prepared(
                &command(json!({"COMMAND": "StatusAccount"})),
                &Options::default(),
            ),
            deadline,
        )
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Timeout");
}

#[tokio::test]
async fn refused_credentials_are_unauthorized_and_never_retried() {
    let fixture = Fixture::new(|_, _| answer(530, "Authentication failed")).await;
    let error = fixture
        .send(json!({"COMMAND": "StatusAccount"}))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "unauthorized: HEXONET refused the credentials of tester: 530 Authentication failed"
    );
    assert_eq!(fixture.calls().len(), 1);
}

/// A server with sessions: StartSession hands out `s1`, `s2`, …; a session
/// named in `forgotten` is answered `530 SESSION NOT FOUND`.
fn session_script(
    forgotten: Arc<Mutex<Vec<String>>>,
) -> impl Fn(&Call, usize) -> (StatusCode, String) {
    let started = Arc::new(Mutex::new(0));
    move |call, _| match (call.name(), call.fields.get("s_session")) {
        ("StartSession", None) if call.fields.get("s_pw").map(String::as_str) == Some(PASSWORD) => {
            let mut started = started.lock().unwrap();
            *started += 1;
            ok(&format!("PROPERTY[SESSION][0]=sess-{started:04}\r\n"))
        }
        (_, Some(session)) if forgotten.lock().unwrap().contains(session) => {
            answer(530, "SESSION NOT FOUND")
        }
        ("EndSession", Some(session)) => {
            forgotten.lock().unwrap().push(session.clone());
            ok("")
        }
        (_, Some(_)) => ok("PROPERTY[AMOUNT][0]=1.00\r\n"),
        _ => answer(530, "Authentication failed"),
    }
}

#[tokio::test]
async fn a_session_is_started_once_kept_and_renewed_when_the_server_forgets_it() {
    let forgotten = Arc::new(Mutex::new(Vec::new()));
    let fixture = Fixture::new(session_script(forgotten.clone())).await;
    let options = Options {
        session: true,
        otp: Some(Secret::new(OTP)),
        ..Options::default()
    };
    let status = command(json!({"COMMAND": "StatusAccount"}));
    for _ in 0..2 {
        let response = fixture
            .client
            .send(&prepared(&status, &options), soon())
            .await
            .unwrap();
        assert_eq!(response.code(), 200);
    }
    forgotten.lock().unwrap().push("sess-0001".into());
    let response = fixture
        .client
        .clone()
        .send(&prepared(&status, &options), soon())
        .await
        .unwrap();
    assert_eq!(response.code(), 200);
    let calls: Vec<(String, Option<String>)> = fixture
        .calls()
        .iter()
        .map(|call| {
            (
                call.name().to_owned(),
                call.fields.get("s_session").cloned(),
            )
        })
        .collect();
    let expected = [
        ("StartSession", None),
        ("StatusAccount", Some("sess-0001")),
        ("StatusAccount", Some("sess-0001")),
        ("StatusAccount", Some("sess-0001")),
        ("StartSession", None),
        ("StatusAccount", Some("sess-0002")),
    ]
    .map(|(name, session)| (name.to_owned(), session.map(str::to_owned)));
    assert_eq!(calls, expected);
    let calls = fixture.calls();
    // The one-time password goes with StartSession only; a session call
    // carries neither login nor password.
    assert_eq!(calls[0].fields.get("s_otp").map(String::as_str), Some(OTP));
    assert!(calls[1]
        .fields
        .keys()
        .all(|name| !["s_login", "s_pw", "s_otp"].contains(&name.as_str())));
}

#[tokio::test]
async fn a_session_the_api_cannot_start_for_now_is_a_transport_error_not_unauthorized() {
    for (code, error_type) in [(421, "Transport"), (531, "Unauthorized")] {
        let fixture = Fixture::new(move |_: &Call, _| {
            answer(
                code,
                "Command failed due to server error. Client should try again",
            )
        })
        .await;
        let options = Options {
            session: true,
            ..Options::default()
        };
        let status = command(json!({"COMMAND": "StatusAccount"}));
        let error = fixture
            .client
            .send(&prepared(&status, &options), soon())
            .await
            .unwrap_err();
        assert_eq!(error.error_type(), error_type, "{code}: {error}");
        assert!(error.to_string().contains(&code.to_string()), "{error}");
    }
}

#[tokio::test]
async fn end_session_ends_and_forgets_the_kept_session() {
    let forgotten = Arc::new(Mutex::new(Vec::new()));
    let fixture = Fixture::new(session_script(forgotten.clone())).await;
    let options = Options {
        session: true,
        ..Options::default()
    };
    let status = command(json!({"COMMAND": "StatusAccount"}));
    fixture
        .client
        .send(&prepared(&status, &options), soon())
        .await
        .unwrap();
    let ended = fixture
        .client
        .send(
            &prepared(&command(json!({"COMMAND": "EndSession"})), &options),
            soon(),
        )
        .await
        .unwrap();
    assert_eq!(ended.code(), 200);
    fixture
        .client
        .send(&prepared(&status, &options), soon())
        .await
        .unwrap();
    let names: Vec<String> = fixture
        .calls()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "StartSession",
            "StatusAccount",
            "EndSession",
            "StartSession",
            "StatusAccount"
        ]
    );
}

#[tokio::test]
async fn concurrent_requests_share_one_new_session() {
    let fixture = Fixture::new(session_script(Arc::default())).await;
    let options = Options {
        session: true,
        ..Options::default()
    };
    let status = command(json!({"COMMAND": "StatusAccount"}));
    let status = prepared(&status, &options);
    let calls = (0..8).map(|_| fixture.client.send(&status, soon()));
    for response in futures::future::join_all(calls).await {
        assert_eq!(response.unwrap().code(), 200);
    }
    let starts = fixture
        .calls()
        .iter()
        .filter(|c| c.name() == "StartSession")
        .count();
    assert_eq!(starts, 1);
}

/// `QueryDomainList` over `d00.com` … `d24.com`, paged by FIRST and LIMIT.
fn list_script(call: &Call, _: usize) -> (StatusCode, String) {
    const TOTAL: usize = 25;
    let figure = |name: &str, default: usize| {
        call.command
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (first, limit) = (figure("FIRST", 0), figure("LIMIT", 10));
    let last = (first + limit).min(TOTAL);
    let mut lines = String::new();
    for (row, index) in (first..last).enumerate() {
        lines.push_str(&format!("PROPERTY[DOMAIN][{row}]=d{index:02}.com\r\n"));
        lines.push_str(&format!("PROPERTY[STATUS][{row}]=ACTIVE\r\n"));
    }
    lines.push_str(&format!(
        "PROPERTY[FIRST][0]={first}\r\nPROPERTY[LAST][0]={}\r\nPROPERTY[COUNT][0]={}\r\nPROPERTY[LIMIT][0]={limit}\r\nPROPERTY[TOTAL][0]={TOTAL}\r\n",
        last.saturating_sub(1),
        last - first
    ));
    ok(&lines)
}

/// Later pages answer faster, so a merge by arrival would be out of order.
fn later_pages_first(call: &Call) -> Duration {
    let first: u64 = call
        .command
        .get("FIRST")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_millis(50u64.saturating_sub(first * 2))
}

#[tokio::test]
async fn all_pages_merges_every_page_in_order() {
    let fixture = Fixture::start(list_script, later_pages_first, false).await;
    let response = fixture
        .client
        .all_pages(
            &command(json!({"COMMAND": "QueryDomainList", "LIMIT": 4, "FIRST": 8})),
            &Options::default(),
            soon(),
        )
        .await
        .unwrap();
    let domains: Vec<String> = (0..25).map(|i| format!("d{i:02}.com")).collect();
    assert_eq!(response.column("DOMAIN").unwrap(), domains);
    assert_eq!(response.records().len(), 25);
    assert_eq!(response.records()[24]["STATUS"], "ACTIVE");
    let paging = response.pagination();
    assert_eq!(
        (
            paging.first,
            paging.last,
            paging.count,
            paging.total,
            paging.pages
        ),
        (Some(0), Some(24), 25, 25, 1)
    );
    let mut firsts: Vec<usize> = fixture
        .calls()
        .iter()
        .map(|c| c.command["FIRST"].parse().unwrap())
        .collect();
    firsts.sort();
    assert_eq!(firsts, [0, 4, 8, 12, 16, 20, 24]);
}

#[tokio::test]
async fn next_page_follows_the_sdk() {
    let fixture = Fixture::new(list_script).await;
    let first_command = command(json!({"COMMAND": "QueryDomainList", "LIMIT": 10}));
    let first = fixture
        .client
        .send(&prepared(&first_command, &Options::default()), soon())
        .await
        .unwrap();
    let (second_command, second) = fixture
        .client
        .next_page(&first_command, &first, &Options::default(), soon())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second_command.get("FIRST"), Some("10"));
    assert_eq!(second.column("DOMAIN").unwrap()[0], "d10.com");
    let (_, third) = fixture
        .client
        .next_page(&second_command, &second, &Options::default(), soon())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.records().len(), 5);
    let with_last = command(json!({"COMMAND": "QueryDomainList", "LAST": 9}));
    let error = fixture
        .client
        .next_page(&with_last, &first, &Options::default(), soon())
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "InvalidEvent");
    assert!(error.to_string().contains("LAST"), "{error}");
}

#[tokio::test]
async fn the_debug_log_shows_every_call_with_password_otp_and_session_masked() {
    use lambda_runtime::tracing::subscriber;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fixture = Fixture::start(session_script(Arc::default()), |_| Duration::ZERO, true).await;
    let options = Options {
        session: true,
        otp: Some(Secret::new(OTP)),
        ..Options::default()
    };
    fixture
        .client
        .send(
            &prepared(
                &command(json!({"COMMAND": "StatusAccount", "NOTE": PASSWORD})),
                &options,
            ),
            soon(),
        )
        .await
        .unwrap();
    let _ = fixture
        .send(json!({"COMMAND": "ModifyContact", "PASSWORD": "contact-secret"}))
        .await;

    let log = captured.text();
    assert!(
        log.contains("HEXONET request") && log.contains("HEXONET response"),
        "{log}"
    );
    assert!(
        log.contains("s_pw=***") && log.contains("s_otp=***") && log.contains("s_session=***"),
        "{log}"
    );
    for secret in [
        PASSWORD,
        "pa55%20w%26rd",
        OTP,
        "sess-0001",
        "contact-secret",
    ] {
        assert!(!log.contains(secret), "{secret} leaked:\n{log}");
    }
}
