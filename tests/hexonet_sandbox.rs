//! The HEXONET side end to end: events through the handler, against the
//! sandbox's `call.cgi` emulation, configured only by `sandbox.env()`; and
//! the same with `HEXONET_BACKEND=centralnic` against its CentralNic
//! Reseller dialect.

mod support;

use exh_task::config::Config;
use exh_task::{Error, Handler};
use exh_task_sandbox::hexonet::{
    self, DOMAIN_COUNT, LOGIN, PASSWORD, ROLE, ROLE_PASSWORD, SUBUSER, SUBUSER_DOMAIN_COUNT,
};
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxOptions::default()).await.unwrap()
}

/// A handler configured by the sandbox's environment, with `extra` on top.
fn handler(sandbox: &Sandbox, extra: &[(&str, &str)]) -> Handler {
    let mut vars: Vec<(String, String)> = sandbox
        .env()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name.to_string(), value.to_string()));
    }
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.clone())
    })
    .unwrap();
    Handler::new(config, exh_task::http::client().unwrap())
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

async fn run(handler: &Handler, event: Value) -> Result<Value, Error> {
    handler
        .handle(event, soon())
        .await
        .map(|reply| reply.to_value())
}

/// The command name and form fields of every HEXONET request the sandbox received.
fn commands(sandbox: &Sandbox) -> Vec<(String, Vec<(String, String)>)> {
    requests_to(sandbox, hexonet::PATH)
}

/// The command name (`""` for none) and form fields of every request to `path`.
fn requests_to(sandbox: &Sandbox, path: &str) -> Vec<(String, Vec<(String, String)>)> {
    sandbox
        .recorded_requests()
        .iter()
        .filter(|request| request.target.split('?').next() == Some(path))
        .map(|request| {
            let fields: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
            let command = fields
                .iter()
                .find(|(name, _)| name == "s_command")
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            let name = command
                .lines()
                .find_map(|line| line.strip_prefix("COMMAND="))
                .unwrap_or_default()
                .to_owned();
            (name, fields)
        })
        .collect()
}

#[tokio::test]
async fn status_account_answers_with_the_contract_shape() {
    let sandbox = sandbox().await;
    let result = run(
        &handler(&sandbox, &[]),
        json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
    )
    .await
    .unwrap();
    assert_eq!(result["ok"], true, "{result}");
    let hexonet = &result["hexonet"];
    assert_eq!(hexonet["code"], 200);
    assert_eq!(hexonet["properties"]["CURRENCY"], json!(["EUR"]));
    assert_eq!(hexonet["records"][0]["CURRENCY"], "EUR");
    let keys: Vec<&str> = hexonet
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "code",
            "description",
            "runtime",
            "queuetime",
            "properties",
            "columns",
            "records",
            "pagination"
        ]
    );
}

#[tokio::test]
async fn an_answer_that_is_not_ok_is_still_a_result() {
    let sandbox = sandbox().await;
    let result = run(
        &handler(&sandbox, &[]),
        json!({"hexonet": {"command": {"COMMAND": "StatusDomain", "DOMAIN": "free-name.com"}}}),
    )
    .await
    .unwrap();
    assert_eq!(result["ok"], false);
    assert_eq!(result["hexonet"]["code"], 545);
}

#[tokio::test]
async fn idn_names_are_sent_as_punycode_without_an_extra_call() {
    let sandbox = sandbox().await;
    let result = run(
        &handler(&sandbox, &[]),
        json!({"hexonet": {"command": {"COMMAND": "CheckDomains", "DOMAIN": ["exh-task-example.com", "café-exh-task.de"]}}}),
    )
    .await
    .unwrap();
    assert_eq!(result["ok"], true, "{result}");
    let sent = commands(&sandbox);
    assert_eq!(sent.len(), 1);
    let command = &sent[0]
        .1
        .iter()
        .find(|(name, _)| name == "s_command")
        .unwrap()
        .1;
    assert!(command.contains("DOMAIN1=xn--"), "{command}");
}

#[tokio::test]
async fn all_pages_returns_every_domain_in_order_as_one_page_would() {
    let sandbox = sandbox().await;
    let handler = handler(&sandbox, &[]);
    let paged = run(
        &handler,
        json!({"hexonet": {"command": {"COMMAND": "QueryDomainList", "LIMIT": 300}, "all_pages": true}}),
    )
    .await
    .unwrap();
    let whole = run(
        &handler,
        json!({"hexonet": {"command": {"COMMAND": "QueryDomainList", "LIMIT": DOMAIN_COUNT}}}),
    )
    .await
    .unwrap();
    assert_eq!(paged["ok"], true, "{}", paged["hexonet"]["description"]);
    assert_eq!(
        paged["hexonet"]["properties"]["DOMAIN"],
        whole["hexonet"]["properties"]["DOMAIN"]
    );
    assert_eq!(
        paged["hexonet"]["records"].as_array().unwrap().len(),
        DOMAIN_COUNT
    );
    let paging = &paged["hexonet"]["pagination"];
    assert_eq!(
        (
            paging["first"].clone(),
            paging["count"].clone(),
            paging["total"].clone(),
            paging["pages"].clone()
        ),
        (json!(0), json!(DOMAIN_COUNT), json!(DOMAIN_COUNT), json!(1))
    );
    let pages = commands(&sandbox)
        .iter()
        .filter(|(name, _)| name == "QueryDomainList")
        .count();
    assert_eq!(pages, DOMAIN_COUNT.div_ceil(300) + 1);
}

#[tokio::test]
async fn a_subuser_view_sees_the_subusers_domains() {
    let sandbox = sandbox().await;
    let event = json!({"hexonet": {"command": {"COMMAND": "QueryDomainList", "LIMIT": 50},
        "all_pages": true, "subuser": SUBUSER}});
    let result = run(&handler(&sandbox, &[]), event).await.unwrap();
    assert_eq!(
        result["hexonet"]["records"].as_array().unwrap().len(),
        SUBUSER_DOMAIN_COUNT
    );
    // HEXONET_SUBUSER is the default view, and "" the account's own.
    let handler = handler(&sandbox, &[("HEXONET_SUBUSER", SUBUSER)]);
    let list = json!({"COMMAND": "QueryDomainList", "LIMIT": 1});
    let sub = run(&handler, json!({"hexonet": {"command": list}}))
        .await
        .unwrap();
    assert_eq!(sub["hexonet"]["pagination"]["total"], SUBUSER_DOMAIN_COUNT);
    let own = run(
        &handler,
        json!({"hexonet": {"command": list, "subuser": ""}}),
    )
    .await
    .unwrap();
    assert_eq!(own["hexonet"]["pagination"]["total"], DOMAIN_COUNT);
}

#[tokio::test]
async fn the_allow_list_refuses_before_any_call() {
    let sandbox = sandbox().await;
    let handler = handler(
        &sandbox,
        &[("HEXONET_ALLOWED_COMMANDS", "CheckDomain, StatusAccount")],
    );
    let error = run(
        &handler,
        json!({"hexonet": {"command": {"COMMAND": "DeleteDomain", "DOMAIN": "blue-river-0.com"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type(), "Forbidden");
    assert!(commands(&sandbox).is_empty());
    let allowed = run(
        &handler,
        json!({"hexonet": {"command": {"command": "statusaccount"}}}),
    )
    .await
    .unwrap();
    assert_eq!(allowed["ok"], true);
}

#[tokio::test]
async fn a_wrong_password_is_unauthorized_without_the_password() {
    let sandbox = sandbox().await;
    let wrong = "not-the-sandbox-password";
    let handler = handler(&sandbox, &[("HEXONET_PASSWORD", wrong)]);
    let error = run(
        &handler,
        json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type(), "Unauthorized");
    let message = error.to_string();
    assert!(message.contains("530 Authentication failed"), "{message}");
    assert!(
        !message.contains(wrong) && !message.contains(PASSWORD),
        "{message}"
    );
}

#[tokio::test]
async fn the_live_system_is_refused_by_the_ote_sandbox_and_the_guard_refuses_before_it() {
    let sandbox = sandbox().await;
    let live = handler(&sandbox, &[("HEXONET_SYSTEM", "live")]);
    let error = run(
        &live,
        json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type(), "Unauthorized");
    let guarded = run(
        &live,
        json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}, "system": "ote"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(guarded.error_type(), "InvalidEvent");
    assert_eq!(commands(&sandbox).len(), 1);
}

#[tokio::test]
async fn a_closed_port_fails_with_the_421_template() {
    let sandbox = sandbox().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/api/call.cgi", listener.local_addr().unwrap());
    drop(listener);
    let handler = handler(&sandbox, &[("HEXONET_URL", &closed)]);
    let error = run(
        &handler,
        json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
    )
    .await
    .unwrap_err();
    support::hexonet::assert_sdk_421(&error);
}

#[tokio::test]
async fn a_batch_mixes_extra_horizon_and_hexonet_items() {
    let sandbox = sandbox().await;
    let result = run(
        &handler(&sandbox, &[]),
        json!({"batch": [
            {},
            {"hexonet": {"command": {"COMMAND": "StatusAccount"}}},
            {"hexonet": {"command": {"COMMAND": "CheckDomain"}}},
            {"hexonet": {"command": {"DOMAIN": "a.com"}}}
        ], "concurrency": 3}),
    )
    .await
    .unwrap();
    let items = result["batch"].as_array().unwrap();
    assert_eq!(items[0]["ok"], true, "{}", items[0]);
    assert!(items[0]["exh"].is_object());
    assert_eq!(items[1]["hexonet"]["code"], 200);
    assert_eq!(
        (items[2]["ok"].clone(), items[2]["hexonet"]["code"].clone()),
        (json!(false), json!(504))
    );
    assert_eq!(items[3]["error"]["type"], "InvalidEvent");
    assert_eq!(result["ok"], false);
}

/// A handler for CentralNic Reseller, at the sandbox's dialect of it.
fn centralnic(sandbox: &Sandbox, extra: &[(&str, &str)]) -> Handler {
    let url = sandbox.centralnic_url();
    let mut vars = vec![
        ("HEXONET_BACKEND", "centralnic"),
        ("HEXONET_URL", url.as_str()),
    ];
    vars.extend_from_slice(extra);
    handler(sandbox, &vars)
}

/// The value of form field `name`.
fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.clone())
}

#[tokio::test]
async fn every_hexonet_sample_runs_against_the_centralnic_dialect() {
    let sandbox = sandbox().await;
    let handler = centralnic(&sandbox, &[]);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut samples: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("hexonet-") && name.ends_with(".json")
        })
        .collect();
    samples.sort();
    assert!(samples.len() >= 9, "{samples:?}");
    for sample in samples {
        let event: Value = serde_json::from_slice(&std::fs::read(&sample).unwrap()).unwrap();
        let result = run(&handler, event).await;
        let result = result.unwrap_or_else(|error| panic!("{}: {error}", sample.display()));
        let items = result["batch"].as_array().cloned().unwrap_or_default();
        for item in items.iter().chain([&result]) {
            assert_eq!(item["ok"], true, "{}: {item}", sample.display());
        }
    }
    assert!(
        commands(&sandbox).is_empty(),
        "a call went to HEXONET's path"
    );
    let sent = requests_to(&sandbox, hexonet::CENTRALNIC_PATH);
    assert!(sent.len() > 10, "{}", sent.len());
    for (_, fields) in &sent {
        assert_eq!(field(fields, "s_entity"), None);
    }
}

#[tokio::test]
async fn centralnic_converts_only_its_idn_keys_and_the_api_reads_the_rest() {
    let sandbox = sandbox().await;
    let event = json!({"hexonet": {"command": {"COMMAND": "CheckDomains",
        "DOMAIN": ["café-exh-task.de"], "NAMESERVER": ["ns1.bücher.com"]}}});
    let result = run(&centralnic(&sandbox, &[]), event).await.unwrap();
    assert_eq!(result["hexonet"]["code"], 200, "{result}");
    let sent = requests_to(&sandbox, hexonet::CENTRALNIC_PATH);
    let command = field(&sent[0].1, "s_command").unwrap();
    assert!(
        command.contains("DOMAIN0=café-exh-task.de")
            && command.contains("NAMESERVER0=ns1.xn--bcher-kva.com"),
        "{command}"
    );
}

#[tokio::test]
async fn centralnic_refuses_an_otp_before_any_call() {
    let sandbox = sandbox().await;
    let event = json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}, "otp": "123456"}});
    let error = run(&centralnic(&sandbox, &[]), event).await.unwrap_err();
    assert_eq!(error.error_type(), "InvalidEvent");
    assert!(sandbox.recorded_requests().is_empty());
}

/// How one platform's dialect looks on the wire, for the tests both run.
struct Dialect {
    backend: &'static str,
    path: &'static str,
    role_login: String,
    /// The command that opens a session; `""` for CentralNic's login.
    opens_with: &'static str,
    session_field: &'static str,
    /// The login that goes with a session id, if any.
    session_login: Option<&'static str>,
    closes_with: &'static str,
    /// Fields beside the session and command of a call that closes one.
    close_fields: &'static [(&'static str, &'static str)],
}

fn hexonet_dialect() -> Dialect {
    Dialect {
        backend: "hexonet",
        path: hexonet::PATH,
        role_login: format!("{LOGIN}!{ROLE}"),
        opens_with: "StartSession",
        session_field: "s_session",
        session_login: None,
        closes_with: "EndSession",
        close_fields: &[("s_entity", "1234")],
    }
}

fn centralnic_dialect() -> Dialect {
    Dialect {
        backend: "centralnic",
        path: hexonet::CENTRALNIC_PATH,
        role_login: format!("{LOGIN}:{ROLE}"),
        opens_with: "",
        session_field: "s_sessionid",
        session_login: Some(LOGIN),
        closes_with: "StopSession",
        close_fields: &[],
    }
}

impl Dialect {
    fn handler(&self, sandbox: &Sandbox, extra: &[(&str, &str)]) -> Handler {
        let url = format!("{}{}", sandbox.exh_url(), self.path);
        let mut vars = vec![
            ("HEXONET_BACKEND", self.backend),
            ("HEXONET_URL", url.as_str()),
        ];
        vars.extend_from_slice(extra);
        handler(sandbox, &vars)
    }

    fn sent(&self, sandbox: &Sandbox) -> Vec<(String, Vec<(String, String)>)> {
        requests_to(sandbox, self.path)
    }

    fn names(&self, sandbox: &Sandbox) -> Vec<String> {
        self.sent(sandbox)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }
}

async fn a_role_logs_in_and_its_refusals_are_results(dialect: Dialect) {
    let sandbox = sandbox().await;
    let handler = dialect.handler(
        &sandbox,
        &[("HEXONET_ROLE", ROLE), ("HEXONET_PASSWORD", ROLE_PASSWORD)],
    );
    let status = run(
        &handler,
        json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
    )
    .await
    .unwrap();
    assert_eq!(status["ok"], true, "{status}");
    let sent = dialect.sent(&sandbox);
    assert_eq!(
        field(&sent[0].1, "s_login"),
        Some(dialect.role_login.clone())
    );
    let add = run(
        &handler,
        json!({"hexonet": {"command": {"COMMAND": "AddDomain", "DOMAIN": "exh-task-new.com"}}}),
    )
    .await
    .unwrap();
    assert_eq!(
        (add["ok"].clone(), add["hexonet"]["code"].clone()),
        (json!(false), json!(531))
    );
}

#[tokio::test]
async fn a_role_login_works_and_its_refusals_are_results() {
    a_role_logs_in_and_its_refusals_are_results(hexonet_dialect()).await;
}

#[tokio::test]
async fn a_centralnic_role_logs_in_with_a_colon() {
    a_role_logs_in_and_its_refusals_are_results(centralnic_dialect()).await;
}

async fn a_session_is_kept_renewed_and_closed(dialect: Dialect) {
    let sandbox = sandbox().await;
    let handler = dialect.handler(&sandbox, &[]);
    let event = json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}, "session": true}});
    for _ in 0..2 {
        let result = run(&handler, event.clone()).await.unwrap();
        assert_eq!(result["ok"], true, "{result}");
    }
    assert_eq!(
        dialect.names(&sandbox),
        [dialect.opens_with, "StatusAccount", "StatusAccount"]
    );
    let sent = dialect.sent(&sandbox);
    let session = field(&sent[1].1, dialect.session_field).unwrap();
    assert_eq!(field(&sent[1].1, "s_pw"), None);
    assert_eq!(
        field(&sent[1].1, "s_login").as_deref(),
        dialect.session_login
    );

    // Someone else closes the session; the next invocation opens one again, once.
    let close = format!("COMMAND={}", dialect.closes_with);
    let mut form = dialect.close_fields.to_vec();
    form.extend([
        (dialect.session_field, session.as_str()),
        ("s_command", close.as_str()),
    ]);
    let closed = reqwest::Client::new()
        .post(format!("{}{}", sandbox.exh_url(), dialect.path))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        exh_task::hexonet::parse(&closed).unwrap().code(),
        200,
        "{closed}"
    );
    assert_eq!(run(&handler, event.clone()).await.unwrap()["ok"], true);
    assert_eq!(
        &dialect.names(&sandbox)[3..],
        [
            dialect.closes_with,
            "StatusAccount",
            dialect.opens_with,
            "StatusAccount"
        ]
    );
    let renewed = field(&dialect.sent(&sandbox)[6].1, dialect.session_field).unwrap();
    assert_ne!(renewed, session);

    // The closing command with "session": true closes the kept one.
    let end = json!({"hexonet": {"command": {"COMMAND": dialect.closes_with}, "session": true}});
    assert_eq!(run(&handler, end).await.unwrap()["ok"], true);
    run(&handler, event).await.unwrap();
    assert_eq!(
        &dialect.names(&sandbox)[7..],
        [dialect.closes_with, dialect.opens_with, "StatusAccount"]
    );
    assert_eq!(
        field(&dialect.sent(&sandbox)[7].1, dialect.session_field),
        Some(renewed)
    );
}

#[tokio::test]
async fn a_session_is_kept_across_invocations_and_renewed_after_the_sandbox_ends_it() {
    a_session_is_kept_renewed_and_closed(hexonet_dialect()).await;
}

#[tokio::test]
async fn a_centralnic_session_opens_persistent_is_renewed_and_stops() {
    a_session_is_kept_renewed_and_closed(centralnic_dialect()).await;
}

#[tokio::test]
async fn the_centralnic_subuser_view_rides_in_the_command() {
    let sandbox = sandbox().await;
    let list = json!({"hexonet": {"command": {"COMMAND": "QueryDomainList", "LIMIT": 1}, "subuser": SUBUSER}});
    let view = run(&centralnic(&sandbox, &[]), list).await.unwrap();
    assert_eq!(view["hexonet"]["pagination"]["total"], SUBUSER_DOMAIN_COUNT);
    let sent = requests_to(&sandbox, hexonet::CENTRALNIC_PATH);
    let command = field(&sent[0].1, "s_command").unwrap();
    assert!(
        command.ends_with(&format!("\nSUBUSER={SUBUSER}")),
        "{command}"
    );
    assert_eq!(field(&sent[0].1, "s_user"), None);
}
