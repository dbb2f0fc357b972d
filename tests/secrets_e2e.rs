//! End-to-end tests of secrets read from AWS Secrets Manager at start-up:
//! the real `bootstrap` under the Runtime API emulator, `EXH_TASK_SECRET_ID`
//! naming a secret that the sandbox's emulation of the AWS Parameters and
//! Secrets Lambda Extension serves on loopback, the Extra Horizon and
//! HEXONET calls answered by the sandbox.

mod support;

use std::time::Duration;

use exh_task_sandbox::fault::Fault;
use exh_task_sandbox::runtime_api::{FunctionBuilder, RuntimeApi};
use exh_task_sandbox::secrets_extension::{SecretsExtension, Stored};
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use support::bootstrap::{closed_port, in_both_modes, Mode};

/// Bound for every wait; none should come near it.
const BOUND: Duration = Duration::from_secs(10);

/// The secret's ARN, with the characters a query must encode.
const SECRET_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:exh-task/prod";

/// The function's session token, which only the extension may see.
const SESSION_TOKEN: &str = "e2e-session-token-Qm9vdA";

/// The variables the sandbox's secret carries (its OAuth1 values and the
/// HEXONET password), as the secret holds them.
const FROM_SECRET: [&str; 5] = [
    "API_OAUTH_CONSUMER_KEY",
    "API_OAUTH_CONSUMER_SECRET",
    "API_OAUTH_TOKEN",
    "API_OAUTH_TOKEN_SECRET",
    "HEXONET_PASSWORD",
];

/// `function` pointed at `extension`, asked to read [`SECRET_ARN`].
fn reading_the_secret(function: FunctionBuilder, extension: &SecretsExtension) -> FunctionBuilder {
    function
        .env("EXH_TASK_SECRET_ID", SECRET_ARN)
        .env(
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
            extension.port().to_string(),
        )
        .secret_env("AWS_SESSION_TOKEN", SESSION_TOKEN)
}

/// Variables as `(name, value)` pairs.
type Vars = Vec<(&'static str, String)>;

/// The sandbox's environment split in two: what the secret holds (as its
/// JSON text, and as pairs) and what stays in the environment.
fn sandbox_split(sandbox: &Sandbox) -> (String, Vars, Vars) {
    let (secret, plain): (Vars, Vars) = sandbox
        .env()
        .into_iter()
        .partition(|(name, _)| FROM_SECRET.contains(name));
    let text = Value::Object(
        secret
            .iter()
            .map(|(name, value)| (name.to_string(), json!(value)))
            .collect(),
    )
    .to_string();
    (text, secret, plain)
}

in_both_modes!(
    a_secret_fills_what_the_environment_lacks_and_is_read_once_before_the_first_invocation
);

async fn a_secret_fills_what_the_environment_lacks_and_is_read_once_before_the_first_invocation(
    mode: Mode,
) {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let extension = SecretsExtension::start(SESSION_TOKEN).await.unwrap();
    let (mut text, secret, plain) = sandbox_split(&sandbox);
    // The environment wins: a login in the secret that would fail is not used.
    text = text.replacen('{', r#"{"HEXONET_LOGIN": "not-this-login", "#, 1);
    extension.put(SECRET_ARN, Stored::Text(text));
    let runtime = RuntimeApi::start().await;
    let mut function = reading_the_secret(mode.function(&runtime), &extension)
        .envs(plain)
        // Empty, as a template's NoEcho parameter left blank passes it.
        .env("API_OAUTH_CONSUMER_KEY", "")
        .spawn();

    let answers = runtime
        .invoke_all(
            [
                json!({}),
                json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
                json!({}),
            ],
            BOUND,
        )
        .await;
    for answer in answers {
        let result = answer.expect_response();
        assert_eq!(result["ok"], true, "{result}");
    }

    let requests = extension.requests();
    assert_eq!(
        requests.len(),
        1,
        "the secret was not read exactly once: {requests:?}"
    );
    let request = &requests[0];
    assert!(request.token_ok, "the session token was not sent");
    assert!(
        request
            .uri
            .starts_with("/secretsmanager/get?secretId=arn%3Aaws%3Asecretsmanager"),
        "{}",
        request.uri
    );
    for header in &request.header_names {
        assert!(
            ["host", "accept", "x-aws-parameters-secrets-token"].contains(&header.as_str()),
            "the request to the extension carried {header}"
        );
    }
    runtime.assert_no_rejections();
    function.stop();
    function.assert_no_secret_in_output();
    for (name, value) in &secret {
        function.assert_output_excludes(value, name);
    }
}

#[tokio::test]
async fn without_a_secret_id_the_extension_is_never_asked() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let extension = SecretsExtension::start(SESSION_TOKEN).await.unwrap();
    let runtime = RuntimeApi::start().await;
    let mut function = Mode::Sequential
        .function(&runtime)
        .envs(sandbox.env())
        .env(
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
            extension.port().to_string(),
        )
        .secret_env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .spawn();
    let result = runtime.invoke(json!({}), BOUND).await.expect_response();
    assert_eq!(result["ok"], true, "{result}");
    assert!(extension.requests().is_empty());
    function.stop();
    function.assert_no_secret_in_output();
}

#[tokio::test]
async fn an_extension_that_is_still_starting_is_waited_for() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let extension = SecretsExtension::start(SESSION_TOKEN).await.unwrap();
    let (text, _, plain) = sandbox_split(&sandbox);
    extension.put(SECRET_ARN, Stored::Text(text));
    extension.not_ready_for(2);
    let runtime = RuntimeApi::start().await;
    let mut function = reading_the_secret(Mode::Sequential.function(&runtime), &extension)
        .envs(plain)
        .spawn();
    let result = runtime.invoke(json!({}), BOUND).await.expect_response();
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(extension.requests().len(), 3);
    function.stop();
    function.assert_no_secret_in_output();
}

/// A value that must not appear anywhere when start-up fails.
const LEAKABLE: &str = "e2e-leak-canary-5e3f";

/// What the function finds where the extension should be.
enum Found {
    /// The extension, holding this under [`SECRET_ARN`].
    Secret(Stored),
    /// The extension, without the secret.
    NoSecret,
    /// Nothing listening on the extension's port.
    NoExtension,
    /// The extension, holding a valid secret, answering with this fault
    /// (an `exh-task sandbox --fault` spec).
    Faulty(&'static str),
    /// The extension, answering every request as it does while it starts.
    NeverReady,
}

/// Starts the function on `found` and returns the `/init/error` message,
/// after checking it is an `InvalidConfig` naming the variable and the
/// secret, that the function exited, and that no value leaked.
async fn init_error_for(found: Found) -> String {
    let extension = SecretsExtension::start(SESSION_TOKEN).await.unwrap();
    let runtime = RuntimeApi::start().await;
    let mut builder = reading_the_secret(Mode::Sequential.function(&runtime), &extension);
    match found {
        Found::Secret(stored) => extension.put(SECRET_ARN, stored),
        Found::NoSecret => {}
        Found::NeverReady => extension.not_ready_for(usize::MAX),
        Found::NoExtension => {
            builder = builder.env(
                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
                closed_port().to_string(),
            )
        }
        Found::Faulty(spec) => {
            let text = json!({"HEXONET_PASSWORD": LEAKABLE}).to_string();
            extension.put(SECRET_ARN, Stored::Text(text));
            extension.set_fault(Some(spec.parse::<Fault>().unwrap()));
        }
    }
    let mut function = builder.spawn();
    let init = runtime
        .wait_for_init_error(BOUND)
        .await
        .expect("the function reported no init error");
    assert_eq!(init.error_type, "InvalidConfig", "{}", init.body);
    assert_eq!(init.error_type_header.as_deref(), Some("InvalidConfig"));
    let message = init.error_message;
    assert!(message.contains("EXH_TASK_SECRET_ID"), "{message}");
    assert!(
        message.contains(SECRET_ARN),
        "{message} does not name the secret"
    );
    assert!(
        !init.body.contains(LEAKABLE),
        "the init error shows a value"
    );
    assert!(
        !init.body.contains(SESSION_TOKEN),
        "the init error shows the token"
    );
    let status = function
        .wait_exit(BOUND)
        .await
        .expect("the function kept running after its init error");
    assert!(!status.success());
    assert_eq!(runtime.counts().delivered, 0);
    function.assert_no_secret_in_output();
    function.assert_output_excludes(LEAKABLE, "a value of the secret");
    message
}

/// One test per start-up failure: what the extension holds, and what the
/// message must say.
macro_rules! start_up_fails {
    ($($name:ident: $found:expr => $says:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let message = init_error_for($found).await;
            assert!(message.contains($says), "{message:?} does not say {:?}", $says);
        }
    )*};
}

start_up_fails! {
    a_missing_secret_fails_start_up_saying_it_does_not_exist:
        Found::NoSecret => "it does not exist";
    a_secret_the_role_may_not_read_fails_start_up_saying_access_is_denied:
        Found::Secret(Stored::Denied) => "access denied";
    malformed_json_in_the_secret_fails_start_up_without_quoting_it:
        Found::Secret(Stored::Text(format!(r#"{{"HEXONET_PASSWORD": "{LEAKABLE}""#))) => "not JSON";
    a_key_that_is_not_a_known_variable_fails_start_up_naming_the_key:
        Found::Secret(Stored::Text(format!(r#"{{"HEXONET_PASSWD": "{LEAKABLE}"}}"#))) => "key \"HEXONET_PASSWD\"";
    a_value_that_is_not_a_string_fails_start_up_naming_the_key:
        Found::Secret(Stored::Text(format!(r#"{{"API_OAUTH_TOKEN": {{"v": "{LEAKABLE}"}}}}"#))) => "key API_OAUTH_TOKEN holds an object";
    a_binary_secret_fails_start_up_asking_for_a_secret_string:
        Found::Secret(Stored::Binary) => "no SecretString";
    an_absent_extension_fails_start_up_asking_for_its_layer:
        Found::NoExtension => "is its layer added?";
    an_answer_that_is_not_json_fails_start_up_saying_so:
        Found::Faulty("garbage") => "the extension's answer is not JSON";
    an_answer_larger_than_a_secret_fails_start_up_naming_the_limit:
        Found::Faulty("huge=1MB") => "over 262144 bytes";
    an_endless_answer_fails_start_up_naming_the_limit:
        Found::Faulty("endless") => "over 262144 bytes";
    an_answer_that_breaks_off_fails_start_up_without_blaming_the_layer:
        Found::Faulty("truncate") => "its answer broke off";
    an_answer_that_stalls_fails_start_up_saying_it_timed_out:
        Found::Faulty("drip=1s") => "did not answer within 4 s";
    an_extension_that_never_gets_ready_fails_start_up_saying_so:
        Found::NeverReady => "still not ready to serve within 2 s";
    a_redirect_fails_start_up_naming_the_status:
        Found::Faulty("redirect=302:http://127.0.0.1:9/") => "HTTP 302";
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_token_goes_nowhere_else() {
    let elsewhere = SecretsExtension::start(SESSION_TOKEN).await.unwrap();
    elsewhere.put(SECRET_ARN, Stored::Text("{}".to_owned()));
    let extension = SecretsExtension::start(SESSION_TOKEN).await.unwrap();
    let location = format!(
        "http://127.0.0.1:{}/secretsmanager/get?secretId=x",
        elsewhere.port()
    );
    extension.set_fault(Some(format!("redirect=307:{location}").parse().unwrap()));
    let runtime = RuntimeApi::start().await;
    let mut function = reading_the_secret(Mode::Sequential.function(&runtime), &extension).spawn();
    let init = runtime
        .wait_for_init_error(BOUND)
        .await
        .expect("the function reported no init error");
    assert!(
        init.error_message.contains("HTTP 307"),
        "{}",
        init.error_message
    );
    function
        .wait_exit(BOUND)
        .await
        .expect("the function kept running");
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere.requests()
    );
    function.assert_no_secret_in_output();
}

#[tokio::test]
async fn a_session_token_that_cannot_be_a_header_fails_start_up_naming_it() {
    let extension = SecretsExtension::start(SESSION_TOKEN).await.unwrap();
    let runtime = RuntimeApi::start().await;
    let mut function = reading_the_secret(Mode::Sequential.function(&runtime), &extension)
        .secret_env("AWS_SESSION_TOKEN", "two\nlines")
        .spawn();
    let init = runtime
        .wait_for_init_error(BOUND)
        .await
        .expect("the function reported no init error");
    let message = &init.error_message;
    assert!(
        message.contains("AWS_SESSION_TOKEN cannot be sent"),
        "{message}"
    );
    assert!(!message.contains("was reached"), "{message}");
    assert!(extension.requests().is_empty());
    function
        .wait_exit(BOUND)
        .await
        .expect("the function kept running");
    function.assert_no_secret_in_output();
}
