//! End-to-end tests that no secret leaves `bootstrap` in any form: not in a
//! start-up error (userinfo, query of `API_HOST`), not in the debug log
//! (JSON fields named like secrets), not in an answer that echoes one
//! (percent-encoded, base64, inside an HTTP envelope's body), not in an
//! upstream error that quotes a one-time password or URL credentials.
//!
//! Each runs the real binary against the Runtime API emulator and a
//! loopback upstream that answers one fixed text to every request.

mod support;

use std::time::Duration;

use base64::Engine;
use exh_task_sandbox::runtime_api::{InvokeError, RuntimeApi};
use serde_json::json;
use support::bootstrap::{in_both_modes, with_secrets, Mode, Secrets};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bound for every wait; none should come near it.
const BOUND: Duration = Duration::from_secs(10);

/// OAuth1 secrets with characters that percent-encoding changes.
fn secrets() -> Secrets {
    vec![
        ("API_OAUTH_CONSUMER_KEY", "e2e-echo-key/7c1f+".to_owned()),
        (
            "API_OAUTH_CONSUMER_SECRET",
            "e2e-echo-secret=9d2a".to_owned(),
        ),
        ("API_OAUTH_TOKEN", "e2e-echo-token&3b8e".to_owned()),
        (
            "API_OAUTH_TOKEN_SECRET",
            "e2e-echo-token-secret!5f4c".to_owned(),
        ),
    ]
}

/// Percent-encoding as OAuth1 writes it (RFC 3986: all but the unreserved).
fn percent(text: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, RESERVED).to_string()
}

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Fails the test if `text` holds `secret` as is, percent-encoded or
/// base64-encoded; names the form, not the value.
#[track_caller]
fn assert_no_form_of(secret: &str, text: &str, what: &str) {
    for (form, encoded) in [
        ("as is", secret.to_owned()),
        ("percent-encoded", percent(secret)),
        ("base64", base64(secret)),
    ] {
        assert!(!text.contains(&encoded), "{what} holds a secret, {form}");
    }
}

/// A loopback HTTP server that answers `status` and `body` to every
/// request, closing each connection after; its URL.
async fn answering(status: u16, body: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    let server = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                // Enough of the request to answer it: the head (and, for
                // HEXONET, whatever of the body came with it).
                let mut buffer = vec![0; 64 * 1024];
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer)).await;
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, server)
}

#[tokio::test]
async fn an_api_host_with_credentials_or_a_query_fails_start_up_without_quoting_them() {
    for host in [
        "https://e2e-user:e2e-host-pw-81c@api.x.extrahorizon.io",
        "api.x.extrahorizon.io?token=e2e-host-pw-81c",
    ] {
        let runtime = RuntimeApi::start().await;
        let first = runtime.submit(json!({}));
        let mut function =
            with_secrets(Mode::Sequential.function(&runtime), host, &secrets()).spawn();
        let init = match first.wait(BOUND).await {
            Err(InvokeError::InitFailed { error, .. }) => error,
            other => panic!("expected an init error for {host}, got {other:?}"),
        };
        assert_eq!(init.error_type, "InvalidConfig", "{}", init.body);
        assert!(
            init.error_message.contains("API_HOST"),
            "{}",
            init.error_message
        );
        assert!(
            !init.body.contains("e2e-host-pw-81c"),
            "the init error quotes the credential"
        );
        function.wait_exit(BOUND).await.expect("the function ended");
        function.assert_output_excludes("e2e-host-pw-81c", "the credential of API_HOST");
    }
}

in_both_modes!(
    an_answer_that_echoes_a_secret_in_any_form_is_redacted_also_inside_http_bodies,
    debug_logs_mask_json_fields_named_like_secrets,
    an_upstream_error_quoting_the_one_time_password_or_url_credentials_is_redacted,
);

async fn an_answer_that_echoes_a_secret_in_any_form_is_redacted_also_inside_http_bodies(
    mode: Mode,
) {
    let secrets = secrets();
    let [key, secret, token, token_secret] = [0, 1, 2, 3].map(|i| secrets[i].1.clone());
    let echoed = json!({
        "raw": key,
        "percent": percent(&token),
        "base64": base64(&secret),
        "quoted": format!("said \"{token_secret}\""),
        "kept": "nothing secret here",
    });
    let (url, _server) = answering(200, echoed.to_string()).await;
    let runtime = RuntimeApi::start().await;
    // Over HTTP, only what the allow-list names is called.
    let mut function = with_secrets(mode.function(&runtime), &url, &secrets)
        .env("EXH_ALLOWED_PATHS", "/users/v1/me")
        .spawn();
    let http_event = json!({"version": "2.0", "routeKey": "$default", "rawPath": "/",
        "rawQueryString": "", "headers": {}, "isBase64Encoded": false,
        "requestContext": {"http": {"method": "POST", "path": "/"}}, "body": "{}"});
    let invocations = runtime.invoke_all([json!({}), http_event], BOUND).await;

    for invocation in invocations {
        let body = invocation.body.clone();
        let answer = invocation.expect_response();
        for (_, value) in &secrets {
            assert_no_form_of(value, &body, "the answer");
        }
        assert!(
            body.contains("nothing secret here"),
            "the rest was lost: {body}"
        );
        assert!(body.contains("***"), "{body}");
        // Still the answer it was: a result, or an HTTP response whose body is JSON.
        let result = match answer.get("body").and_then(|body| body.as_str()) {
            Some(text) => serde_json::from_str(text).expect("the HTTP body is JSON"),
            None => answer,
        };
        assert_eq!(result["exh"]["body"]["raw"], "***", "{result}");
        assert_eq!(result["exh"]["body"]["quoted"], "said \"***\"", "{result}");
    }
    function.stop();
    function.assert_no_secret_in_output();
    runtime.assert_no_rejections();
}

async fn debug_logs_mask_json_fields_named_like_secrets(mode: Mode) {
    const PASSWORD: &str = "e2e-body-password-3a9";
    const REFRESH: &str = "e2e-body-refresh-token-77b";
    let answer = json!({"access_token": "e2e-answer-token-c41", "user": "sam"});
    let (url, _server) = answering(200, answer.to_string()).await;
    let runtime = RuntimeApi::start().await;
    let mut function = with_secrets(mode.function(&runtime), &url, &secrets())
        .env("EXH_TASK_DEBUG", "1")
        .spawn();
    let event = json!({"exh": {"method": "POST", "path": "/auth/v2/oauth2/tokens",
        "body": {"username": "sam@example.com", "password": PASSWORD,
                 "nested": {"Refresh-Token": REFRESH}}}});
    let result = runtime.invoke(event, BOUND).await.expect_response();
    assert_eq!(result["ok"], true, "{result}");
    function.stop();

    for expected in [
        "Extra Horizon request",
        "Extra Horizon response",
        "sam@example.com",
    ] {
        assert!(
            function.output_contains(expected),
            "the debug log lacks {expected:?}"
        );
    }
    function.assert_output_excludes(PASSWORD, "the password of the request body");
    function.assert_output_excludes(REFRESH, "the refresh token of the request body");
    function.assert_output_excludes("e2e-answer-token-c41", "the token of the response body");
    function.assert_no_secret_in_output();
    runtime.assert_no_rejections();
}

async fn an_upstream_error_quoting_the_one_time_password_or_url_credentials_is_redacted(
    mode: Mode,
) {
    const OTP: &str = "e2e-otp-551902";
    const URL_PASSWORD: &str = "e2e-url-pw-6d2";
    let pair = format!("reseller:{URL_PASSWORD}");
    let description = format!(
        "Authentication failed; s_otp={OTP}; basic {}; user {}",
        base64(&pair),
        percent(&pair)
    );
    let hexonet = format!("[RESPONSE]\r\ncode = 530\r\ndescription = {description}\r\nEOF\r\n");
    let (url, _server) = answering(200, hexonet).await;
    let hexonet_url =
        url.replace("http://", &format!("http://reseller:{URL_PASSWORD}@")) + "/api/call.cgi";
    let runtime = RuntimeApi::start().await;
    let mut function = mode
        .function(&runtime)
        .env("HEXONET_URL", hexonet_url)
        .env("HEXONET_LOGIN", "e2e-login")
        .secret_env("HEXONET_PASSWORD", "e2e-hexonet-pw-0c7")
        .spawn();
    let event = json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}, "otp": OTP}});
    let invocation = runtime.invoke(event, BOUND).await;
    let body = invocation.body.clone();
    assert!(body.contains("530"), "not the upstream's answer: {body}");
    for secret in [OTP, URL_PASSWORD, pair.as_str()] {
        assert_no_form_of(secret, &body, "the answer");
    }
    function.stop();
    function.assert_output_excludes(OTP, "the one-time password");
    function.assert_output_excludes(URL_PASSWORD, "the password of HEXONET_URL");
    function.assert_no_secret_in_output();
    runtime.assert_no_rejections();
}
