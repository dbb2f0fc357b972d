//! The HEXONET side end to end: events through the handler, against the
//! sandbox's `call.cgi` emulation, configured only by `sandbox.env()`.

#![cfg(feature = "sandbox")]

use exh_task::config::Config;
use exh_task::sandbox::hexonet::{
    DOMAIN_COUNT, LOGIN, PASSWORD, ROLE, ROLE_PASSWORD, SUBUSER, SUBUSER_DOMAIN_COUNT,
};
use exh_task::sandbox::{Sandbox, SandboxOptions};
use exh_task::{Error, Handler};
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
    handler.handle(event, soon()).await
}

/// The `s_command` lines of every HEXONET request the sandbox received.
fn commands(sandbox: &Sandbox) -> Vec<(String, Vec<(String, String)>)> {
    sandbox
        .recorded_requests()
        .iter()
        .filter(|request| request.target.starts_with("/api/call.cgi"))
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
async fn a_role_login_works_and_its_refusals_are_results() {
    let sandbox = sandbox().await;
    let handler = handler(
        &sandbox,
        &[("HEXONET_ROLE", ROLE), ("HEXONET_PASSWORD", ROLE_PASSWORD)],
    );
    let status = run(
        &handler,
        json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
    )
    .await
    .unwrap();
    assert_eq!(status["ok"], true);
    assert_eq!(
        commands(&sandbox)[0].1[1],
        ("s_login".into(), format!("{LOGIN}!{ROLE}"))
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
async fn a_session_is_kept_across_invocations_and_renewed_after_the_sandbox_ends_it() {
    let sandbox = sandbox().await;
    let handler = handler(&sandbox, &[]);
    let event = json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}, "session": true}});
    for _ in 0..2 {
        let result = run(&handler, event.clone()).await.unwrap();
        assert_eq!(result["ok"], true, "{result}");
    }
    let sent = commands(&sandbox);
    let names: Vec<&str> = sent.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["StartSession", "StatusAccount", "StatusAccount"]);
    let field = |fields: &[(String, String)], wanted: &str| {
        fields
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.clone())
    };
    let session = field(&sent[1].1, "s_session").unwrap();
    assert_eq!(field(&sent[1].1, "s_pw"), None);

    // Someone else ends the session; the next invocation renews it once.
    let url = sandbox
        .env()
        .into_iter()
        .find(|(name, _)| *name == "HEXONET_URL")
        .unwrap()
        .1;
    let ended = reqwest::Client::new()
        .post(url)
        .form(&[
            ("s_entity", "1234"),
            ("s_session", session.as_str()),
            ("s_command", "COMMAND=EndSession"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(exh_task::hexonet::parse(&ended).code(), 200, "{ended}");
    let result = run(&handler, event.clone()).await.unwrap();
    assert_eq!(result["ok"], true, "{result}");
    let names: Vec<String> = commands(&sandbox)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        &names[3..],
        [
            "EndSession",
            "StatusAccount",
            "StartSession",
            "StatusAccount"
        ]
    );

    // EndSession with "session": true ends the kept one.
    let end = json!({"hexonet": {"command": {"COMMAND": "EndSession"}, "session": true}});
    assert_eq!(run(&handler, end).await.unwrap()["ok"], true);
    run(&handler, event).await.unwrap();
    let names: Vec<String> = commands(&sandbox)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(&names[7..], ["EndSession", "StartSession", "StatusAccount"]);
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
    assert_eq!(error.error_type(), "Transport");
    assert!(
        error
            .to_string()
            .contains("421 Command failed due to HTTP communication error"),
        "{error}"
    );
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
