//! check-domains against the sandbox, both ways a task of your own is
//! tested: the handler called directly with a [`Context`], and the compiled
//! binary driven through the Lambda Runtime API emulator, as Lambda runs it.
//!
//! The sandbox (Extra Horizon with real OAuth1 checks, HEXONET and
//! CentralNic) runs in-process on loopback; every wait is bounded.

use std::time::Duration;

use check_domains::{check_domains, CheckRequest, DomainCheck, Outcome};
use exh_task::config::Config;
use exh_task::task::{Context, Event, TaskError};
use exh_task::Handler;
use exh_task_sandbox::exh::{DOMAIN_CHECKS_DOCUMENT, DOMAIN_CHECKS_SCHEMA};
use exh_task_sandbox::runtime_api::{Function, FunctionBuilder, Invoke, RuntimeApi};
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};

/// Bound for every wait; none should come near it.
const BOUND: Duration = Duration::from_secs(20);

const BINARY: &str = env!("CARGO_BIN_EXE_check-domains");

/// A blood-pressure document: it lists no domains.
const BLOOD_PRESSURE_DOCUMENT: &str = "5f5e10005ae1b0c0e3000000";

fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn start_sandbox() -> Sandbox {
    Sandbox::start(SandboxOptions::default())
        .await
        .expect("the sandbox starts on 127.0.0.1")
}

/// A context on the sandbox, HEXONET in the dialect `HEXONET_BACKEND` names.
fn context(sandbox: &Sandbox, backend: &str) -> Context {
    let backend = backend.to_owned();
    let lookup = sandbox.lookup(move |name| (name == "HEXONET_BACKEND").then(|| backend.clone()));
    let config = Config::from_lookup(lookup).expect("the sandbox's configuration");
    let handler = Handler::new(config, exh_task::http::client().expect("an HTTP client"));
    Context::with_timeout(handler, BOUND)
}

fn expected_checks() -> Vec<DomainCheck> {
    let check = |domain: &str, available: bool, status: &str| DomainCheck {
        domain: domain.to_owned(),
        available,
        status: status.to_owned(),
    };
    vec![
        check("free-name.com", true, "210 Domain name available"),
        check("blue-river-0.com", false, "211 Domain name not available"),
        check("grün-garten.de", true, "210 Domain name available"),
    ]
}

/// The document as the sandbox holds it now.
async fn document(ctx: &Context) -> Value {
    let path = format!("/data/v1/{DOMAIN_CHECKS_SCHEMA}/documents/{DOMAIN_CHECKS_DOCUMENT}");
    ctx.exh().get(&path).await.expect("the document")
}

// ------------------------------------------------------------------------
// The handler, called directly
// ------------------------------------------------------------------------

#[tokio::test]
async fn the_sample_task_checks_the_documents_domains_and_writes_them_back() {
    let sandbox = start_sandbox().await;
    for backend in ["hexonet", "centralnic"] {
        let ctx = context(&sandbox, backend);
        let event = Event::parse(sample("task.json")).expect("the sample parses");
        let outcome = check_domains(event, ctx.clone()).await.expect("an outcome");
        assert_eq!(
            outcome,
            Outcome {
                document_id: DOMAIN_CHECKS_DOCUMENT.to_owned(),
                domain_checks: expected_checks(),
            },
            "{backend}"
        );
        let written = document(&ctx).await;
        assert_eq!(
            written["data"]["domainChecks"],
            serde_json::to_value(expected_checks()).unwrap(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_direct_invocation_with_the_data_alone_runs_the_same_task() {
    let sandbox = start_sandbox().await;
    let ctx = context(&sandbox, "hexonet");
    let event = Event::parse(sample("direct.json")).unwrap();
    let outcome = check_domains(event, ctx).await.unwrap();
    assert_eq!(outcome.domain_checks, expected_checks());
}

#[tokio::test]
async fn a_document_without_domains_fails_with_the_tasks_own_error_type() {
    let sandbox = start_sandbox().await;
    let event: Event<CheckRequest> =
        Event::parse(json!({"documentId": BLOOD_PRESSURE_DOCUMENT, "schemaId": "blood-pressure"}))
            .unwrap();
    let error = check_domains(event, context(&sandbox, "hexonet"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "NoDomains");
}

#[tokio::test]
async fn a_task_without_a_document_id_is_an_invalid_event() {
    let error = Event::<CheckRequest>::parse(json!({"functionName": "check-domains", "data": {}}))
        .unwrap_err();
    assert_eq!(error.error_type(), "InvalidEvent");
}

// ------------------------------------------------------------------------
// The binary, under the Runtime API emulator
// ------------------------------------------------------------------------

/// Whether the sandbox variable `name` holds a secret.
fn is_secret(name: &str) -> bool {
    name.starts_with("API_OAUTH_") || name == "HEXONET_PASSWORD"
}

/// The binary pointed at `runtime` and `sandbox`, its secrets registered so
/// its output is checked for them.
fn function(runtime: &RuntimeApi, sandbox: &Sandbox) -> FunctionBuilder {
    sandbox.env().into_iter().fold(
        Function::builder(BINARY, runtime),
        |function, (name, value)| {
            if is_secret(name) {
                function.secret_env(name, value)
            } else {
                function.env(name, value)
            }
        },
    )
}

#[tokio::test]
async fn the_binary_answers_the_sample_task_with_its_outcome() {
    let sandbox = start_sandbox().await;
    let runtime = RuntimeApi::start().await;
    let mut function = function(&runtime, &sandbox).spawn();
    let result = runtime
        .invoke(sample("task.json"), BOUND)
        .await
        .expect_response();
    let outcome: Outcome = serde_json::from_value(result).expect("the outcome");
    assert_eq!(outcome.domain_checks, expected_checks());
    // Warm: the same process answers again, from the same clients.
    let again = runtime
        .invoke(sample("direct.json"), BOUND)
        .await
        .expect_response();
    assert_eq!(again["documentId"], DOMAIN_CHECKS_DOCUMENT);
    runtime.assert_no_rejections();
    function.stop();
    function.assert_no_secret_in_output();
}

#[tokio::test]
async fn the_binarys_own_error_becomes_its_error_type_and_its_logs_hold_no_secret() {
    let sandbox = start_sandbox().await;
    let runtime = RuntimeApi::start().await;
    // Every upstream request and answer logged (masked): still no secret.
    let mut function = function(&runtime, &sandbox)
        .env("EXH_TASK_DEBUG", "1")
        .spawn();
    let event = json!({"documentId": BLOOD_PRESSURE_DOCUMENT, "schemaId": "blood-pressure"});
    let (error_type, message) = runtime.invoke(event, BOUND).await.expect_error();
    assert_eq!(error_type, "NoDomains");
    assert_eq!(
        message,
        format!("document {BLOOD_PRESSURE_DOCUMENT} lists no domains")
    );
    let (error_type, _) = runtime
        .invoke(json!({"functionName": "check-domains", "data": {}}), BOUND)
        .await
        .expect_error();
    assert_eq!(error_type, "InvalidEvent");
    runtime.assert_no_rejections();
    function.stop();
    assert!(
        function.output_contains("NoDomains"),
        "the failure is logged with its errorType"
    );
    function.assert_no_secret_in_output();
}

#[tokio::test]
async fn the_binary_runs_on_exh_tasks_runtime_loop_and_writes_the_tasks_summary_line() {
    let sandbox = start_sandbox().await;
    let runtime = RuntimeApi::start().await;
    let mut function = function(&runtime, &sandbox)
        .env("AWS_LAMBDA_LOG_FORMAT", "json")
        .spawn();
    // Two JSON values: refused before the handler, not read as the first.
    let (error_type, message) = runtime
        .invoke(Invoke::raw(&b"{} {}"[..]), BOUND)
        .await
        .expect_error();
    assert_eq!(error_type, "InvalidEvent");
    assert!(message.contains("more after its JSON value"), "{message}");
    let task = runtime.submit(sample("task.json"));
    let request_id = task.request_id().to_owned();
    task.wait(BOUND).await.expect("an answer").expect_response();
    // SIGTERM: no new invocations, the log flushed, exit 0.
    function.terminate();
    let status = function.wait_exit(BOUND).await.expect("it exits");
    assert!(status.success(), "{status:?}");
    let summaries: Vec<Value> = function
        .stdout()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "exh_task::summary")
        .collect();
    // The refused event never reached the handler: its error line says why.
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    let summary = &summaries[0];
    assert_eq!(summary["requestId"], request_id.as_str(), "{summary}");
    let fields = &summary["fields"];
    assert_eq!(fields["ok"], true, "{fields}");
    assert_eq!(fields["envelope"], "exh_task", "{fields}");
    assert_eq!(fields["exh_function_name"], "check-domains", "{fields}");
    // The document read, the domains checked, the outcome written back.
    assert_eq!(fields["upstream_calls"], 3, "{fields}");
    function.assert_no_secret_in_output();
}

#[tokio::test]
async fn the_binary_without_configuration_fails_with_missing_config() {
    let runtime = RuntimeApi::start().await;
    let mut function = Function::builder(BINARY, &runtime).spawn();
    let (error_type, message) = runtime
        .invoke(sample("direct.json"), BOUND)
        .await
        .expect_error();
    assert_eq!(error_type, "MissingConfig");
    assert!(message.contains("API_HOST"), "{message}");
    function.stop();
}
