//! The Extra Horizon client's OAuth1 signatures, checked by two independent
//! verifiers: the sandbox's own (as the server) and Python's `oauthlib`
//! (`SignatureOnlyEndpoint`), on paths, queries and bodies chosen to break
//! naive signers. Also shows the `reqwest-oauth1` defect our signer fixes.

mod support;

use exh_task::config::{Config, OAuth1Credentials};
use exh_task::exh::{self, oauth1};
use exh_task::secret::Secret;
use exh_task_sandbox::record::Verdict;
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::time::Duration;
use support::python::{run_script, run_script_async};
use url::Url;

/// Requests whose signatures go wrong when names are not encoded, pairs are
/// sorted decoded, or `+`, `%`, `~` and unicode are mishandled.
fn tricky_requests() -> Vec<Value> {
    let documents = "/data/v1/blood-pressure/documents";
    vec![
        json!({}),
        json!({"path": "/users/v1/", "rql": "select(id,email)&limit(10,20)"}),
        json!({"path": "/users/v1/", "rql": "select(id,email)", "query": {"limit": 5}}),
        json!({"path": "/users/v1/", "rql": "eq(lastName,Van den Broeck)&limit(2)"}),
        json!({"path": "/users/v1/", "rql": "eq(email,sam.sandbox%40example.com)"}),
        json!({"path": "/users/v1/", "rql": "sort(+email)&limit(3)"}),
        json!({"path": "/users/v1/", "query": {"q": "a b+c&d=e%f/?#", "x": ""}}),
        json!({"path": "/users/v1/", "query": {"naïve": "日本語", "emoji": "☕"}}),
        json!({"path": "/users/v1/", "query": {"tag": ["b", "a", "b"], "n": 1.5, "flag": true}}),
        json!({"path": "/users/v1/", "query": {"z": "1", "oauth": "2", "oauthz": "3", "A": "4", "a": "5", "~t*": "6"}}),
        json!({"path": "/users/v1/", "query": {"x{": "1", "xa": "2", "é": "3", "~": "4"}}),
        json!({"path": "/users/v1/", "rql": "select(id)", "all_pages": true}),
        json!({"method": "POST", "path": documents, "body": {"systolic": 120, "note": "a+b=c&d"}}),
        json!({"method": "POST", "path": documents, "query": {"mode": "strict"}, "body": {"x": "é"}}),
        json!({"method": "PUT", "path": format!("{documents}/5f5e48405ae1b0c0e3000004"), "body": {"note": "ok"}}),
        json!({"method": "DELETE", "path": format!("{documents}/5f5e56505ae1b0c0e3000005")}),
        json!({"path": "/users/v1/a%20b%2Bc"}),
    ]
}

#[tokio::test]
async fn every_request_the_client_signs_validates_under_the_sandbox_and_oauthlib() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let config =
        Config::from_lookup(sandbox.lookup(|_| None)).expect("the sandbox configures both sides");
    let client = exh::Client::new(
        exh_task::http::client().unwrap(),
        config.exh().unwrap().clone(),
        false,
    );
    for request in tricky_requests() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let parsed: exh::Request = serde_json::from_value(request.clone()).unwrap();
        let answer = client.send(&parsed.prepare().unwrap(), deadline).await;
        assert!(
            answer.as_ref().is_ok_and(|answer| answer.status != 401),
            "{request}: {answer:?}"
        );
    }

    let recorded = sandbox.recorded_requests();
    assert!(
        recorded.len() > tricky_requests().len(),
        "all_pages made several calls"
    );
    for request in &recorded {
        assert_eq!(
            request.verdict,
            Verdict::Valid,
            "the sandbox refused {}",
            request.url()
        );
    }
    let input = Value::Array(recorded.iter().map(|r| r.to_conformance_json()).collect());
    let verdicts = run_script_async("oauthlib_verify.py", input, vec![]).await;
    for (request, verdict) in recorded.iter().zip(verdicts.as_array().unwrap()) {
        assert_eq!(
            verdict["valid"],
            true,
            "oauthlib refused {}: {verdict}",
            request.url()
        );
    }
}

fn sandbox_credentials() -> OAuth1Credentials {
    OAuth1Credentials {
        consumer_key: Secret::new("sandbox-consumer-key"),
        consumer_secret: Secret::new("sandbox-consumer-secret"),
        token: Secret::new("sandbox-token"),
        token_secret: Secret::new("sandbox-token-secret"),
    }
}

/// The `Authorization` header `reqwest-oauth1` 0.3 produces for a GET.
fn reqwest_oauth1_header(url: &Url) -> String {
    use reqwest_oauth1::OAuthClientProvider;
    let secrets = reqwest_oauth1::Secrets::new("sandbox-consumer-key", "sandbox-consumer-secret")
        .token("sandbox-token", "sandbox-token-secret");
    let request = reqwest::Client::new()
        .oauth1(secrets)
        .get(url.as_str())
        .generate_signature()
        .unwrap()
        .build()
        .unwrap();
    request.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn reqwest_oauth1_signs_rql_queries_wrongly_and_our_signer_does_not() {
    let plain = Url::parse("http://127.0.0.1:9/users/v1/me").unwrap();
    let rql = Url::parse("http://127.0.0.1:9/users/v1/?select(id,email)&limit(10,20)").unwrap();
    let ask = |url: &Url, header: String| json!({"method": "GET", "url": url.as_str(), "headers": {"Authorization": header}, "body": ""});
    let input = json!([
        ask(&plain, reqwest_oauth1_header(&plain)),
        ask(&rql, reqwest_oauth1_header(&rql)),
        ask(
            &plain,
            oauth1::authorization("GET", &plain, &sandbox_credentials())
        ),
        ask(
            &rql,
            oauth1::authorization("GET", &rql, &sandbox_credentials())
        ),
    ]);
    let valid: Vec<Value> = run_script("oauthlib_verify.py", &input, &[])
        .as_array()
        .unwrap()
        .iter()
        .map(|verdict| verdict["valid"].clone())
        .collect();
    assert_eq!(
        valid,
        [true, false, true, true],
        "reqwest-oauth1 without query, with RQL; ours without, with"
    );
}
