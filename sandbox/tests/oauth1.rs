//! The sandbox's OAuth1 verifier against independent real implementations:
//! Python's `requests_oauthlib` as a client and `oauthlib` as a second verifier.
//!
//! Python is `<repo>/.venv/bin/python3` with `oauthlib` and `requests-oauthlib`
//! (see `tests/support/python.rs`).

/// The reference scripts (Python, Node) live in the workspace root's tests.
#[path = "../../tests/support/python.rs"]
#[allow(dead_code)]
mod python;

use exh_task_sandbox::record::{RecordedRequest, Verdict};
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use python::run_script_async;

/// The requests a real client makes, tricky ones included: every one is
/// answered 2xx unless `expect` says otherwise.
fn client_cases(sandbox: &Sandbox) -> Value {
    let localhost = format!("http://localhost:{}", sandbox.local_addr().port());
    let documents = "/data/v1/blood-pressure/documents";
    json!([
        {"name": "me", "path": "/users/v1/me"},
        {"name": "me via localhost", "base": localhost, "path": "/users/v1/me"},
        {"name": "rql select and limit", "path": "/users/v1/?select(id,email)&limit(10,20)"},
        {"name": "rql eq with escaped at", "path": "/users/v1/?eq(email,sam.sandbox%40example.com)"},
        {"name": "rql sort with plus", "path": format!("{documents}?sort(+data.systolic)&limit(5)")},
        {"name": "tricky query values", "path": "/users/v1/", "params": [
            ["space", "a b"], ["plus", "1+1"], ["amp", "x&y"], ["equals", "k=v"], ["percent", "100%"],
            ["unicode", "héllo ☃ 日本"], ["repeated", "2"], ["repeated", "10"], ["repeated", "1"],
            ["empty", ""], ["tilde-._", "~-._"], ["brackets[]", "[1]"], ["slash", "a/b?c#d"]]},
        {"name": "rql and plain keys", "path": "/users/v1/?limit(5)", "params": [["language", "NL"]]},
        {"name": "json post", "method": "POST", "path": documents,
         "json": {"systolic": 121, "diastolic": 79, "note": "after coffee & a walk ☕"}},
        {"name": "json put", "method": "PUT", "path": format!("{documents}/{{last_id}}"), "json": {"systolic": 118}},
        {"name": "delete", "method": "DELETE", "path": format!("{documents}/{{last_id}}")},
        {"name": "signed form body", "method": "POST", "path": format!("{documents}?source=form"),
         "data": [["a", "1 2"], ["b", "x+y&z"], ["a", "0"]], "expect": [400, 22]},
        {"name": "wrong consumer secret", "path": "/users/v1/me",
         "session": {"client_secret": "not-the-secret"}, "expect": [401, 109]},
        {"name": "wrong token secret", "path": "/users/v1/me",
         "session": {"resource_owner_secret": "not-the-secret"}, "expect": [401, 109]},
        {"name": "unknown consumer key", "path": "/users/v1/me",
         "session": {"client_key": "someone-else"}, "expect": [401, 107]},
        {"name": "unknown token", "path": "/users/v1/me",
         "session": {"resource_owner_key": "someone-elses-token"}, "expect": [401, 108]},
        {"name": "replayed nonce", "path": "/users/v1/me", "send_twice": true, "expect": [401, 110]},
    ])
}

async fn run_client(sandbox: &Sandbox) -> (Value, Value) {
    let cases = client_cases(sandbox);
    let results =
        run_script_async("requests_oauthlib_client.py", cases.clone(), sandbox.env()).await;
    (cases, results)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_oauthlib_is_answered_as_extra_horizon_answers_it() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let (cases, results) = run_client(&sandbox).await;
    for (case, result) in cases
        .as_array()
        .unwrap()
        .iter()
        .zip(results.as_array().unwrap())
    {
        let name = &case["name"];
        let status = result["status"].as_u64().unwrap();
        match case["expect"].as_array() {
            None => assert!((200..300).contains(&status), "{name}: {result}"),
            Some(expected) => {
                assert_eq!(status, expected[0], "{name}: {result}");
                assert_eq!(result["body"]["code"], expected[1], "{name}: {result}");
                assert!(
                    result["body"]["name"].is_string() && result["body"]["message"].is_string(),
                    "{name}"
                );
            }
        }
    }
    let by_name = |name: &str| {
        results
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("replayed nonce")["first_status"], 200);
    let rql = by_name("rql select and limit")["body"].clone();
    assert_eq!(
        rql["page"],
        json!({"total": 137, "offset": 20, "limit": 10})
    );
    assert!(rql["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|user| user.as_object().unwrap().len() == 2));
    assert_eq!(
        by_name("rql eq with escaped at")["body"]["page"]["total"],
        1
    );
    assert_eq!(
        by_name("json post")["body"]["data"]["note"],
        "after coffee & a walk ☕"
    );
}

/// A recorded request sent again byte for byte, except for `tamper`.
struct Replay {
    method: String,
    target: String,
    host: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl From<&RecordedRequest> for Replay {
    fn from(r: &RecordedRequest) -> Self {
        Replay {
            method: r.method.clone(),
            target: r.target.clone(),
            host: r.host.clone().unwrap_or_default(),
            authorization: r.authorization.clone(),
            content_type: r.content_type.clone(),
            body: r.body.clone(),
        }
    }
}

impl Replay {
    /// Sends the request over a fresh connection, so that the target and
    /// headers arrive exactly as given; returns the status code.
    async fn send(&self, sandbox: &Sandbox) -> u16 {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.method, self.target, self.host
        );
        for (name, value) in [
            ("Authorization", &self.authorization),
            ("Content-Type", &self.content_type),
        ] {
            if let Some(value) = value {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        let mut stream = TcpStream::connect(sandbox.local_addr()).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&self.body).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let status_line = String::from_utf8_lossy(&response[..response.len().min(12)]).into_owned();
        status_line[9..12].parse().unwrap()
    }
}

/// Ways to break a validly signed request.
fn tamperings(valid: &RecordedRequest, port: u16) -> Vec<Replay> {
    let original = || Replay::from(valid);
    let separator = if valid.target.contains('?') { '&' } else { '?' };
    let mut variants = vec![
        // The same request again: a valid signature with a replayed nonce.
        original(),
        Replay {
            target: format!("{}{separator}extra=1", valid.target),
            ..original()
        },
        Replay {
            target: valid.target.replacen("/v1", "/V1", 1),
            ..original()
        },
        Replay {
            host: format!("localhost:{port}"),
            ..original()
        },
        Replay {
            method: if valid.method == "GET" {
                "DELETE"
            } else {
                "GET"
            }
            .to_owned(),
            ..original()
        },
        Replay {
            authorization: None,
            ..original()
        },
        Replay {
            authorization: valid
                .authorization
                .as_ref()
                .map(|a| a.replacen("oauth_nonce=\"", "oauth_nonce=\"x", 1)),
            ..original()
        },
        Replay {
            authorization: valid
                .authorization
                .as_ref()
                .map(|a| a.replacen("\", ", "\",, ", 1)),
            ..original()
        },
    ];
    if valid.content_type.as_deref() == Some("application/x-www-form-urlencoded") {
        variants.push(Replay {
            body: [&valid.body[..], b"&c=3"].concat(),
            ..original()
        });
    }
    variants
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_and_oauthlib_agree_on_every_recorded_request() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    run_client(&sandbox).await;
    let port = sandbox.local_addr().port();
    for valid in sandbox
        .recorded_requests()
        .iter()
        .filter(|r| r.verdict == Verdict::Valid && r.status < 300)
    {
        for replay in tamperings(valid, port) {
            replay.send(&sandbox).await;
        }
    }

    let recorded = sandbox.recorded_requests();
    let input: Vec<Value> = recorded
        .iter()
        .map(RecordedRequest::to_conformance_json)
        .collect();
    let opinions = run_script_async("oauthlib_verify.py", Value::from(input), sandbox.env()).await;
    let opinions = opinions.as_array().unwrap();
    assert_eq!(opinions.len(), recorded.len());
    let mut valid_count = 0;
    for (request, opinion) in recorded.iter().zip(opinions) {
        let sandbox_says_valid = request.verdict == Verdict::Valid;
        valid_count += usize::from(sandbox_says_valid);
        assert_eq!(
            sandbox_says_valid,
            opinion["valid"] == true,
            "disagreement on {request:?}\noauthlib: {opinion}"
        );
    }
    assert!(
        valid_count > 20 && recorded.len() - valid_count > 60,
        "{valid_count} of {} valid",
        recorded.len()
    );
}
