//! HEXONET and CentralNic Reseller end to end: the real `bootstrap` under
//! the Runtime API emulator against the sandbox's `call.cgi`, over warm
//! invocations: every page of a long list, and one session kept across
//! invocations until it is ended.

mod support;

use exh_task_sandbox::hexonet::Dialect;
use exh_task_sandbox::runtime_api::{Function, Invocation, RuntimeApi};
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::time::Duration;
use support::bootstrap::{in_both_modes, Mode};

const BOUND: Duration = Duration::from_secs(20);

/// The sandbox's seeded domains for `sandbox-user`.
const DOMAINS: usize = 2500;

/// `bootstrap` pointed at the sandbox's `dialect` dialect, debug logging on
/// and the password registered as a secret to look for in the output.
fn function(mode: Mode, runtime: &RuntimeApi, sandbox: &Sandbox, dialect: Dialect) -> Function {
    sandbox
        .env_for(dialect)
        .into_iter()
        .fold(
            mode.function(runtime).env("EXH_TASK_DEBUG", "1"),
            |function, (name, value)| {
                if name == "HEXONET_PASSWORD" {
                    function.secret_env(name, value)
                } else {
                    function.env(name, value)
                }
            },
        )
        .spawn()
}

/// How many of the sandbox's recorded HEXONET requests match `is`.
fn recorded(sandbox: &Sandbox, is: impl Fn(&str) -> bool) -> usize {
    sandbox
        .recorded_requests()
        .iter()
        .filter(|request| request.target.ends_with("call.cgi"))
        .filter(|request| is(&String::from_utf8_lossy(&request.body)))
        .count()
}

#[track_caller]
fn hexonet(result: &Value) -> &Value {
    assert_eq!(result["ok"], true, "{result}");
    &result["hexonet"]
}

fn domains(response: &Value) -> Vec<&str> {
    response["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["DOMAIN"].as_str().unwrap())
        .collect()
}

async fn every_page_and_one_kept_session(mode: Mode, dialect: Dialect) {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let runtime = RuntimeApi::start().await;
    let mut function = function(mode, &runtime, &sandbox, dialect);
    let list = |limit: usize, all_pages: bool| {
        json!({"hexonet": {"command": {"COMMAND": "QueryDomainList", "ORDERBY": "DOMAIN", "LIMIT": limit},
                           "all_pages": all_pages}})
    };

    let answers: Vec<Value> = runtime
        .invoke_all(
            [list(300, true), list(DOMAINS, false), list(300, false)],
            BOUND,
        )
        .await
        .into_iter()
        .map(Invocation::expect_response)
        .collect();
    let merged = hexonet(&answers[0]);
    let whole = hexonet(&answers[1]);
    assert_eq!(domains(merged).len(), DOMAINS);
    assert_eq!(domains(merged), domains(whole), "pages merged out of order");
    assert_eq!(merged["pagination"]["total"], DOMAINS);
    assert_eq!(
        hexonet(&answers[2])["pagination"]["pages"],
        DOMAINS.div_ceil(300)
    );

    let status = json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}, "session": true}});
    for _ in 0..12 {
        let answer = runtime
            .invoke(status.clone(), BOUND)
            .await
            .expect_response();
        assert!(
            hexonet(&answer)["properties"]["AMOUNT"].is_array(),
            "{answer}"
        );
    }
    let (opened, end) = match dialect {
        Dialect::Hexonet => (
            recorded(&sandbox, |body| body.contains("COMMAND%3DStartSession")),
            "EndSession",
        ),
        Dialect::CentralNic => (
            recorded(&sandbox, |body| body.contains("persistent=1")),
            "StopSession",
        ),
    };
    assert_eq!(opened, 1, "one session for twelve warm invocations");
    let ended = runtime
        .invoke(
            json!({"hexonet": {"command": {"COMMAND": end}, "session": true}}),
            BOUND,
        )
        .await
        .expect_response();
    hexonet(&ended);

    function.stop();
    function.assert_no_secret_in_output();
    assert!(
        function.output_contains("StatusAccount"),
        "debug logging shows the commands"
    );
}

async fn hexonet_pages_merge_in_order_and_one_session_serves_warm_invocations(mode: Mode) {
    every_page_and_one_kept_session(mode, Dialect::Hexonet).await;
}

async fn centralnic_pages_merge_in_order_and_one_session_serves_warm_invocations(mode: Mode) {
    every_page_and_one_kept_session(mode, Dialect::CentralNic).await;
}

in_both_modes!(
    hexonet_pages_merge_in_order_and_one_session_serves_warm_invocations,
    centralnic_pages_merge_in_order_and_one_session_serves_warm_invocations
);
