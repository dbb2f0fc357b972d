//! Property tests of [`Handler::handle`], in process: arbitrary JSON,
//! arbitrary JSON inside every envelope, arbitrary bytes as bodies, and
//! near-valid requests whose paths and commands come from a dangerous
//! alphabet.
//!
//! Each case gets a fresh loopback [`Upstream`] that answers as both APIs
//! would and records every request; `API_HOST` and `HEXONET_URL` point at
//! it, with and without allow-lists. Whatever the event, the handler:
//!
//! - returns, before a generous bound (the invocation deadline is short),
//!   and never panics;
//! - answers in a shape its envelope allows: a result document or an error
//!   that refuses the event (`InvalidEvent`, `Forbidden`), an HTTP response
//!   (statuses within 200–499 for Extra Horizon API functions), or SQS
//!   `batchItemFailures` naming only records of the event, in order;
//! - sends nothing upstream for a refused event, item or body;
//! - sends only to the configured host: an Extra Horizon request's path is
//!   exactly the path the event gave (only what a URL must encode encoded),
//!   never one with a dot segment, and within `EXH_ALLOWED_PATHS`; a HEXONET
//!   request carries one `COMMAND` line, within `HEXONET_ALLOWED_COMMANDS`;
//! - never puts a secret in its answer.
//!
//! The cases are the same on every run (a fixed seed), so `make test` is
//! repeatable; set `PROPTEST_RNG_SEED` (and `PROPTEST_CASES`) to explore
//! others. Nothing asserts how long a case took, only that it ended.

mod support;

use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine;
use exh_task::config::Config;
use exh_task::envelope::HttpKind;
use exh_task::Handler;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config as ProptestConfig, RngSeed, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};
use support::events::{read_sample, ENVELOPE_SAMPLES};
use support::upstream::{Behaviour, Seen, Upstream, HEXONET_PATH};
use tokio::time::Instant;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 192;

/// The seed unless `PROPTEST_RNG_SEED` says otherwise.
const SEED: u64 = 0x00e8_7a5c;

/// The invocation deadline each case is given.
const DEADLINE: Duration = Duration::from_secs(10);

/// The bound a case must end within: far beyond the deadline, so only a
/// handler that ignores its deadline (or hangs) can miss it.
const BOUND: Duration = Duration::from_secs(60);

/// The fake secrets; none may appear in an answer.
const SECRETS: [(&str, &str); 5] = [
    ("API_OAUTH_CONSUMER_KEY", "fuzz-consumer-key-2b7"),
    ("API_OAUTH_CONSUMER_SECRET", "fuzz-consumer-secret-9f1"),
    ("API_OAUTH_TOKEN", "fuzz-token-4c3"),
    ("API_OAUTH_TOKEN_SECRET", "fuzz-token-secret-8a0"),
    ("HEXONET_PASSWORD", "fuzz-hexonet-password-6d5"),
];

/// `EXH_ALLOWED_PATHS` when allow-lists are on.
const ALLOWED_PATHS: [&str; 2] = ["/users/v1/me", "/data/v1/"];

/// `HEXONET_ALLOWED_COMMANDS` when allow-lists are on.
const ALLOWED_COMMANDS: [&str; 3] = ["StatusAccount", "CheckDomain", "QueryDomainList"];

// ------------------------------------------------------------------------
// Running one case
// ------------------------------------------------------------------------

/// What a case ran and what came of it.
struct Ran {
    answer: Result<Value, exh_task::Error>,
    seen: Vec<Seen>,
    authority: String,
    allow_lists: bool,
}

/// One runtime for every case of every property; the shared HTTP client, as
/// warm invocations share it.
struct World {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

static WORLD: LazyLock<World> = LazyLock::new(|| World {
    runtime: tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime"),
    http: exh_task::http::client().expect("the HTTP client"),
});

/// Runs `event` through a handler configured for a fresh upstream.
fn run(event: &Value, allow_lists: bool) -> Result<Ran, TestCaseError> {
    let world = &*WORLD;
    world.runtime.block_on(async {
        let upstream = Upstream::start(Behaviour::Api).await;
        let handler = Handler::new(config(&upstream, allow_lists), world.http.clone());
        let deadline = Instant::now() + DEADLINE;
        // A task of its own, so a panic is reported as one and a handler
        // that blocks its thread still leaves the bound to fire.
        let task = tokio::spawn({
            let event = event.clone();
            async move {
                let answer = handler.handle(event, deadline).await;
                answer.map(|reply| reply.to_value())
            }
        });
        let answer = match tokio::time::timeout(BOUND, task).await {
            Err(_) => return Err(TestCaseError::fail("the handler did not return")),
            Ok(Err(join)) => {
                return Err(TestCaseError::fail(format!("the handler panicked: {join}")))
            }
            Ok(Ok(answer)) => answer,
        };
        Ok(Ran {
            answer,
            seen: upstream.seen(),
            authority: upstream.authority().to_owned(),
            allow_lists,
        })
    })
}

fn config(upstream: &Upstream, allow_lists: bool) -> Config {
    let mut vars: Vec<(&str, String)> = SECRETS
        .iter()
        .map(|(name, value)| (*name, value.to_string()))
        .collect();
    vars.push(("API_HOST", upstream.url.clone()));
    vars.push(("HEXONET_URL", format!("{}{HEXONET_PATH}", upstream.url)));
    vars.push(("HEXONET_LOGIN", "fuzz-login".to_owned()));
    if allow_lists {
        vars.push(("EXH_ALLOWED_PATHS", ALLOWED_PATHS.join(",")));
        vars.push(("HEXONET_ALLOWED_COMMANDS", ALLOWED_COMMANDS.join(",")));
    }
    Config::from_lookup(|name| {
        vars.iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| value.clone())
    })
    .expect("a valid configuration")
}

/// Runs `property` on `cases` cases of `strategy`, deterministically unless
/// the environment asks otherwise; fails the test with the smallest case.
fn check<S: Strategy>(strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let from_env = ProptestConfig::default();
    let config = ProptestConfig {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            from_env.cases
        } else {
            CASES
        },
        rng_seed: match from_env.rng_seed {
            RngSeed::Random => RngSeed::Fixed(SEED),
            seed => seed,
        },
        failure_persistence: None,
        // Shrinking re-runs the handler: keep a failing run short.
        max_shrink_iters: 512,
        ..from_env
    };
    let mut runner = TestRunner::new(config);
    if let Err(failure) = runner.run(&strategy, property) {
        panic!("{failure}");
    }
}

// ------------------------------------------------------------------------
// What every answer must satisfy
// ------------------------------------------------------------------------

/// The error types that refuse an event before any call.
const REFUSALS: [&str; 2] = ["InvalidEvent", "Forbidden"];

/// How the event was wrapped, when the strategy knows.
#[derive(Clone, Debug)]
enum Wrapped {
    /// Arbitrary JSON: any envelope, or none.
    Unknown,
    /// The request itself, an Extra Horizon task's `data`, or EventBridge's `detail`.
    Plain,
    /// An HTTP envelope; `body_is_json` when its (decoded) body is JSON text.
    Http { kind: HttpKind, body_is_json: bool },
    /// SQS records: `(messageId, whether the body is JSON text)`.
    Sqs(Vec<(String, bool)>),
}

macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(TestCaseError::fail(format!($($message)+)));
        }
    };
}

/// Every property of the module docs that holds for any event.
fn holds_for_any_event(ran: &Ran, wrapped: &Wrapped) -> Result<(), TestCaseError> {
    let seen = &ran.seen;
    for request in seen {
        reached_only_where_allowed(request, ran)?;
    }
    let text = match &ran.answer {
        Ok(answer) => answer.to_string(),
        Err(error) => error.to_string(),
    };
    for (name, secret) in SECRETS {
        ensure!(!text.contains(secret), "the answer carries {name}: {text}");
    }
    let answer = match &ran.answer {
        Err(error) => {
            ensure!(
                REFUSALS.contains(&error.error_type()),
                "the upstream answers every call, yet the invocation failed with {error}"
            );
            ensure!(
                seen.is_empty(),
                "refused ({error}) after {} upstream request(s)",
                seen.len()
            );
            ensure!(
                matches!(wrapped, Wrapped::Unknown | Wrapped::Plain),
                "{wrapped:?} failed instead of answering: {error}"
            );
            return Ok(());
        }
        Ok(answer) => answer,
    };
    if answer.get("statusCode").is_some() {
        http_answer(answer, ran, wrapped)
    } else if answer.get("batchItemFailures").is_some() {
        sqs_answer(answer, ran, wrapped)
    } else {
        ensure!(
            matches!(wrapped, Wrapped::Unknown | Wrapped::Plain),
            "{wrapped:?} answered with a result document: {answer}"
        );
        result_document(answer, seen)
    }
}

/// A result: `{"ok": bool, "exh" | "hexonet" | "batch": ...}`; a batch whose
/// every item was refused sent nothing.
fn result_document(result: &Value, seen: &[Seen]) -> Result<(), TestCaseError> {
    ensure!(result["ok"].is_boolean(), "no ok in {result}");
    let fields: Vec<&str> = result
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    ensure!(
        matches!(fields[..], ["ok", "exh" | "hexonet" | "batch"]),
        "unexpected fields {fields:?} in {result}"
    );
    if let Some(items) = result["batch"].as_array() {
        let mut all_refused = true;
        for item in items {
            match item.get("error") {
                Some(error) => {
                    ensure!(item["ok"] == false, "a failed item is ok: {item}");
                    let error_type = error["type"].as_str().unwrap_or_default();
                    ensure!(
                        REFUSALS.contains(&error_type),
                        "the upstream answers every call, yet an item failed: {item}"
                    );
                    ensure!(error["message"].is_string(), "no message in {item}");
                }
                None => {
                    all_refused = false;
                    result_document(item, &[])?;
                }
            }
        }
        ensure!(
            !all_refused || seen.is_empty(),
            "a batch of refused items sent {} request(s)",
            seen.len()
        );
    }
    Ok(())
}

/// An HTTP response: a JSON body, the error's status for an error, nothing
/// sent for a refusal, 200–499 for Extra Horizon API functions.
fn http_answer(response: &Value, ran: &Ran, wrapped: &Wrapped) -> Result<(), TestCaseError> {
    let status = response["statusCode"].as_u64().unwrap_or_default();
    let body: Value = match response["body"].as_str().map(serde_json::from_str) {
        Some(Ok(body)) => body,
        _ => {
            return Err(TestCaseError::fail(format!(
                "the body is not JSON text: {response}"
            )))
        }
    };
    ensure!(response["isBase64Encoded"] == false, "{response}");
    if status == 200 {
        result_document(&body, &ran.seen)?;
    } else {
        let error_type = body["errorType"].as_str().unwrap_or_default();
        let expected = match error_type {
            "InvalidEvent" => 400,
            "Forbidden" => 403,
            other => {
                return Err(TestCaseError::fail(format!(
                    "the upstream answers every call, yet {other}: {body}"
                )))
            }
        };
        ensure!(status == expected, "{error_type} answered {status}");
        ensure!(
            body["errorMessage"].is_string(),
            "no errorMessage in {body}"
        );
        ensure!(
            ran.seen.is_empty(),
            "refused with {status} after {} request(s)",
            ran.seen.len()
        );
    }
    match wrapped {
        Wrapped::Http { kind, body_is_json } => {
            ensure!(
                *body_is_json || status == 400,
                "a body that is not JSON answered {status}"
            );
            if *kind == HttpKind::ExhApiFunction {
                ensure!(
                    (200..500).contains(&status),
                    "an Extra Horizon API function answered {status}"
                );
            }
            Ok(())
        }
        Wrapped::Unknown => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "{other:?} answered as HTTP: {response}"
        ))),
    }
}

/// `batchItemFailures`: ids of the event's records, in order, each once;
/// every record whose body is not JSON among them.
fn sqs_answer(answer: &Value, ran: &Ran, wrapped: &Wrapped) -> Result<(), TestCaseError> {
    let fields: Vec<&String> = answer.as_object().expect("an object").keys().collect();
    ensure!(fields == ["batchItemFailures"], "{answer}");
    let failures = answer["batchItemFailures"].as_array().expect("an array");
    let mut ids = Vec::new();
    for failure in failures {
        let keys: Vec<&String> = failure
            .as_object()
            .map(|f| f.keys().collect())
            .unwrap_or_default();
        ensure!(keys == ["itemIdentifier"], "{failure}");
        ids.push(
            failure["itemIdentifier"]
                .as_str()
                .expect("a string id")
                .to_owned(),
        );
    }
    match wrapped {
        Wrapped::Sqs(records) => {
            let order: Vec<&String> = records.iter().map(|(id, _)| id).collect();
            let mut last = None;
            for id in &ids {
                let at = order.iter().position(|known| *known == id);
                ensure!(at.is_some(), "{id} is not a record of the event");
                ensure!(at > last, "{ids:?} are not in record order, once each");
                last = at;
            }
            for (id, is_json) in records {
                ensure!(
                    *is_json || ids.contains(id),
                    "{id}: a body that is not JSON did not fail"
                );
            }
            if records.iter().all(|(_, is_json)| !is_json) {
                ensure!(
                    ran.seen.is_empty(),
                    "records that are not JSON sent {} request(s)",
                    ran.seen.len()
                );
            }
            Ok(())
        }
        Wrapped::Unknown => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "{other:?} answered as SQS: {answer}"
        ))),
    }
}

/// A request that reached the upstream went to the configured host, on a
/// path that stays there, within the allow-lists.
fn reached_only_where_allowed(request: &Seen, ran: &Ran) -> Result<(), TestCaseError> {
    ensure!(
        request.host.as_deref() == Some(ran.authority.as_str()),
        "a request for host {:?}, not {}",
        request.host,
        ran.authority
    );
    if is_hexonet(request) {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let command = form
            .iter()
            .find(|(name, _)| name == "s_command")
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        let names: Vec<&str> = command
            .split('\n')
            .filter_map(|line| line.strip_prefix("COMMAND="))
            .collect();
        ensure!(names.len() == 1, "not one COMMAND line in {command:?}");
        ensure!(!command.contains('\r'), "a CR in {command:?}");
        if ran.allow_lists {
            ensure!(
                ALLOWED_COMMANDS
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(names[0])),
                "{} is not an allowed command",
                names[0]
            );
        }
        return Ok(());
    }
    let path = request.target.split('?').next().unwrap_or_default();
    let decoded = decode(path);
    ensure!(
        decoded.starts_with(b"/") && !decoded.starts_with(b"//"),
        "sent to {path:?}"
    );
    ensure!(
        !decoded
            .split(|byte| *byte == b'/')
            .any(|segment| segment == b"." || segment == b".."),
        "a dot segment reached the upstream: {path:?}"
    );
    if ran.allow_lists {
        ensure!(
            ALLOWED_PATHS.iter().any(|prefix| within(&decoded, prefix)),
            "{path:?} is outside EXH_ALLOWED_PATHS"
        );
    }
    Ok(())
}

/// HEXONET's calls are form posts to its path; Extra Horizon's bodies are JSON.
fn is_hexonet(request: &Seen) -> bool {
    request.target == HEXONET_PATH && request.method == "POST" && request.body.starts_with(b"s_")
}

fn decode(text: &str) -> Vec<u8> {
    percent_decode_str(text).collect()
}

/// Whether `path` is `prefix` or below it, on whole segments.
fn within(path: &[u8], prefix: &str) -> bool {
    path.strip_prefix(prefix.as_bytes())
        .is_some_and(|rest| rest.is_empty() || prefix.ends_with('/') || rest.starts_with(b"/"))
}

// ------------------------------------------------------------------------
// Strategies
// ------------------------------------------------------------------------

/// Words the handler and the envelopes give meaning to, so arbitrary JSON
/// often comes close to a real event.
const WORDS: &[&str] = &[
    "exh",
    "hexonet",
    "batch",
    "concurrency",
    "method",
    "path",
    "query",
    "rql",
    "body",
    "all_pages",
    "command",
    "COMMAND",
    "subuser",
    "session",
    "system",
    "otp",
    "remote_addr",
    "Records",
    "eventSource",
    "aws:sqs",
    "messageId",
    "requestContext",
    "httpMethod",
    "version",
    "2.0",
    "headers",
    "isBase64Encoded",
    "detail",
    "detail-type",
    "source",
    "functionName",
    "data",
    "domainName",
    "x-exh-requesting-user-id",
    "GET",
    "POST",
    "StatusAccount",
    "QueryDomainList",
    "DOMAIN",
    "LIMIT",
    "/users/v1/me",
    "ote",
    "live",
    "",
];

/// Pieces of paths that have fooled URL handling somewhere.
const PATH_PIECES: &[&str] = &[
    "/",
    "\\",
    ".",
    "..",
    "%2e",
    "%2E",
    "%2e%2e",
    ".%2e",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "%0d",
    "%0a",
    "%00",
    "%",
    "%25",
    "%252e",
    "\r",
    "\n",
    "\0",
    "\t",
    "@",
    ":",
    "//",
    "?",
    "#",
    ";",
    "~",
    " ",
    "users",
    "v1",
    "me",
    "data",
    "tasks",
    "evil.example",
    "127.0.0.1",
    "é",
    "．",
    "\u{2025}",
    "\u{ff0f}",
    "\u{2216}",
    "http:",
    "https://",
    "a",
];

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(WORDS).prop_map(str::to_owned),
        2 => any::<String>(),
        1 => path(),
    ]
    .boxed()
}

/// A path: mostly plain segments with a dangerous piece or two, sometimes
/// dangerous pieces only.
fn path() -> BoxedStrategy<String> {
    let start = select(&["", "/", "/users/v1/me", "/users/v1/", "/data/v1/", "//"][..]);
    let plain = select(&["/users", "/v1", "/me", "/data", "/documents", "/x"][..]);
    let mostly_plain =
        prop::collection::vec(prop_oneof![3 => plain, 1 => select(PATH_PIECES)], 0..5);
    let pieces = prop::collection::vec(select(PATH_PIECES), 0..8);
    (start, prop_oneof![2 => mostly_plain, 1 => pieces])
        .prop_map(|(start, pieces)| format!("{start}{}", pieces.concat()))
        .boxed()
}

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        text().prop_map(Value::from),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    scalar()
        .prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
        .boxed()
}

/// An object of `fields`, each present with its probability, and now and
/// then one field more.
fn object(fields: Vec<(&'static str, f64, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
        .into_iter()
        .map(|(name, present, value)| {
            prop::option::weighted(present, value.prop_map(move |v| (name.to_owned(), v))).boxed()
        })
        .collect();
    (fields, prop::option::weighted(0.1, (text(), json_value())))
        .prop_map(|(fields, extra)| {
            let mut object: Map<String, Value> = fields.into_iter().flatten().collect();
            if let Some((name, value)) = extra {
                object.insert(name, value);
            }
            Value::Object(object)
        })
        .boxed()
}

fn exh_request() -> BoxedStrategy<Value> {
    let method = prop_oneof![
        6 => select(&["GET", "get", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"][..])
            .prop_map(Value::from),
        1 => select(&["TRACE", "", "G ET", "CONNECT"][..]).prop_map(Value::from),
        1 => scalar(),
    ];
    let query_value = prop_oneof![
        4 => scalar(),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
        1 => json_value(),
    ];
    let query_key = prop_oneof![
        3 => select(&["limit", "language", "tag", "oauth_token", "a b", "&x=", ""][..]).prop_map(str::to_owned),
        1 => text(),
    ];
    let query = prop::collection::vec((query_key, query_value), 0..4)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect()));
    let rql = prop_oneof![
        3 => select(&["select(id,email)", "limit(10)", "limit(10,20)&select(id)", "eq(a,(b&c))", "?limit(1)", "#", "a b"][..])
            .prop_map(Value::from),
        1 => text().prop_map(Value::from),
        1 => scalar(),
    ];
    object(vec![
        ("method", 0.6, method.boxed()),
        (
            "path",
            0.9,
            prop_oneof![6 => path().prop_map(Value::from), 1 => scalar()].boxed(),
        ),
        (
            "query",
            0.3,
            prop_oneof![4 => query, 1 => json_value()].boxed(),
        ),
        ("rql", 0.3, rql.boxed()),
        ("body", 0.2, json_value()),
        (
            "all_pages",
            0.3,
            prop_oneof![6 => any::<bool>().prop_map(Value::from), 1 => scalar()].boxed(),
        ),
    ])
    .prop_map(|request| json!({"exh": request}))
    .boxed()
}

fn hexonet_request() -> BoxedStrategy<Value> {
    let name = select(
        &[
            "StatusAccount",
            "statusaccount",
            "CheckDomain",
            "QueryDomainList",
            "DeleteDomain",
            "AddDomain",
            "StartSession",
            "",
            "Status\nAccount",
        ][..],
    );
    let parameter = select(
        &[
            "DOMAIN",
            "domain",
            "LIMIT",
            "FIRST",
            "NAMESERVER",
            "X",
            "COMMAND",
            "command",
            "a=b",
            "A\nB",
            "",
            "s_pw",
        ][..],
    );
    let value = prop_oneof![
        4 => scalar(),
        1 => Just(json!("a.com\r\nCOMMAND=DeleteDomain")),
        1 => Just(json!("münchen.de")),
        1 => json_value(),
    ];
    let command = (
        prop::option::weighted(0.9, name),
        prop::collection::vec((parameter, value), 0..4),
    )
        .prop_map(|(name, parameters)| {
            let mut command = Map::new();
            if let Some(name) = name {
                command.insert("COMMAND".to_owned(), json!(name));
            }
            for (parameter, value) in parameters {
                command.insert(parameter.to_owned(), value);
            }
            Value::Object(command)
        });
    object(vec![
        (
            "command",
            0.95,
            prop_oneof![8 => command.boxed(), 1 => json_value()].boxed(),
        ),
        (
            "all_pages",
            0.3,
            any::<bool>().prop_map(Value::from).boxed(),
        ),
        (
            "subuser",
            0.2,
            prop_oneof![3 => text().prop_map(Value::from), 1 => scalar()].boxed(),
        ),
        (
            "system",
            0.2,
            select(&["ote", "ote", "live", "OTE"][..])
                .prop_map(Value::from)
                .boxed(),
        ),
        (
            "remote_addr",
            0.1,
            select(&["203.0.113.7", "::1", "not an ip"][..])
                .prop_map(Value::from)
                .boxed(),
        ),
    ])
    .prop_map(|request| json!({"hexonet": request}))
    .boxed()
}

/// A request, valid or nearly: `{}`, `exh`, `hexonet`, or a batch of them.
fn request() -> BoxedStrategy<Value> {
    let single = prop_oneof![
        1 => Just(json!({})),
        4 => exh_request(),
        3 => hexonet_request(),
        1 => json_value(),
    ];
    let batch = (
        prop::collection::vec(single.clone(), 0..6),
        prop::option::of(prop_oneof![4 => (0u64..20).prop_map(Value::from), 1 => scalar()]),
    )
        .prop_map(|(items, concurrency)| {
            let mut batch = json!({"batch": items});
            if let Some(concurrency) = concurrency {
                batch["concurrency"] = concurrency;
            }
            batch
        });
    prop_oneof![4 => single, 1 => batch].boxed()
}

/// The samples the envelopes are built from.
static SAMPLES: LazyLock<Map<String, Value>> = LazyLock::new(|| {
    ENVELOPE_SAMPLES
        .into_iter()
        .map(|name| (name.to_owned(), read_sample(name)))
        .collect()
});

fn sample(name: &str) -> Value {
    SAMPLES[name].clone()
}

const HTTP_KINDS: [HttpKind; 4] = [
    HttpKind::ApiGatewayRest,
    HttpKind::ApiGatewayHttp,
    HttpKind::FunctionUrl,
    HttpKind::ExhApiFunction,
];

fn http_sample(kind: HttpKind) -> Value {
    sample(match kind {
        HttpKind::ApiGatewayRest => "envelope-apigateway-rest.json",
        HttpKind::ApiGatewayHttp => "envelope-apigateway-http.json",
        HttpKind::FunctionUrl => "envelope-function-url.json",
        HttpKind::ExhApiFunction => "envelope-exh-api-function.json",
    })
}

/// What an HTTP body or SQS record carries.
#[derive(Clone, Debug)]
enum Payload {
    /// JSON text of a value.
    Json(Value),
    /// Bytes, as (lossy) text.
    Bytes(Vec<u8>),
}

impl Payload {
    fn text(&self) -> String {
        match self {
            Payload::Json(value) => value.to_string(),
            Payload::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    /// The bytes the handler will read (for base64, the decoded ones).
    fn bytes(&self) -> Vec<u8> {
        match self {
            Payload::Json(value) => value.to_string().into_bytes(),
            Payload::Bytes(bytes) => bytes.clone(),
        }
    }
}

/// Whether a body is JSON text as the handler reads it (blank is `{}`).
fn is_json(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.trim().is_empty() || serde_json::from_str::<Value>(text).is_ok(),
        Err(_) => false,
    }
}

/// How to deliver a payload over HTTP.
#[derive(Clone, Copy, Debug)]
enum Delivery {
    Text,
    Base64,
    /// Claimed to be base64, sent as text.
    FalseBase64,
}

/// `payload` as a direct event, an Extra Horizon task's `data` or an
/// EventBridge event's `detail`.
fn plain(payload: BoxedStrategy<Value>) -> BoxedStrategy<(Value, Wrapped)> {
    (payload, 0..3usize)
        .prop_map(|(request, how)| match how {
            0 => {
                let wrapped = direct(&request);
                (request, wrapped)
            }
            1 => {
                let mut task = sample("envelope-exh-task.json");
                task["data"] = request;
                (task, Wrapped::Plain)
            }
            _ => {
                let mut scheduled = sample("envelope-eventbridge-scheduler.json");
                scheduled["detail"] = request;
                (scheduled, Wrapped::Plain)
            }
        })
        .boxed()
}

/// How a direct event is wrapped: plain, unless it has what the HTTP and
/// SQS envelopes are detected by.
fn direct(event: &Value) -> Wrapped {
    if event.get("Records").is_some() || event.get("requestContext").is_some() {
        Wrapped::Unknown
    } else {
        Wrapped::Plain
    }
}

/// `bodies` as the body of an HTTP envelope (as text, base64, or text
/// claimed to be base64) or of 1–4 SQS records.
fn with_bodies(bodies: BoxedStrategy<Payload>) -> BoxedStrategy<(Value, Wrapped)> {
    let http = (
        select(&HTTP_KINDS[..]),
        bodies.clone(),
        select(&[Delivery::Text, Delivery::Base64, Delivery::FalseBase64][..]),
    )
        .prop_map(|(kind, body, delivery)| {
            let mut event = http_sample(kind);
            let (text, base64, body_is_json) = match delivery {
                Delivery::Text => (body.text(), false, is_json(body.text().as_bytes())),
                Delivery::Base64 => (
                    base64::engine::general_purpose::STANDARD.encode(body.bytes()),
                    true,
                    is_json(&body.bytes()),
                ),
                Delivery::FalseBase64 => {
                    let text = body.text();
                    let decoded = base64::engine::general_purpose::STANDARD.decode(text.trim());
                    let body_is_json = decoded.is_ok_and(|bytes| is_json(&bytes));
                    (text, true, body_is_json)
                }
            };
            event["body"] = json!(text);
            event["isBase64Encoded"] = json!(base64);
            (event, Wrapped::Http { kind, body_is_json })
        });
    let sqs = prop::collection::vec(bodies, 1..5).prop_map(|bodies| {
        let template = sample("envelope-sqs.json")["Records"][0].clone();
        let mut ids = Vec::new();
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(index, body)| {
                let id = format!("fuzz-{index}");
                let text = body.text();
                ids.push((id.clone(), is_json(text.as_bytes())));
                let mut record = template.clone();
                record["messageId"] = json!(id);
                record["body"] = json!(text);
                record
            })
            .collect();
        (json!({"Records": records}), Wrapped::Sqs(ids))
    });
    prop_oneof![http, sqs].boxed()
}

fn json_payload(request: BoxedStrategy<Value>) -> BoxedStrategy<Payload> {
    request.prop_map(Payload::Json).boxed()
}

fn byte_payload() -> BoxedStrategy<Payload> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        // A valid request's text, cut short or with a byte changed.
        (
            request(),
            any::<prop::sample::Index>(),
            any::<u8>(),
            any::<bool>()
        )
            .prop_map(|(request, at, byte, cut)| {
                let mut bytes = request.to_string().into_bytes();
                let at = at.index(bytes.len().max(1)).min(bytes.len());
                if cut {
                    bytes.truncate(at);
                } else if at < bytes.len() {
                    bytes[at] = byte;
                }
                bytes
            }),
    ]
    .prop_map(Payload::Bytes)
    .boxed()
}

// ------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------

#[test]
fn any_json_event_gets_an_answer_and_refusals_never_reach_upstream() {
    check((json_value(), any::<bool>()), |(event, allow_lists)| {
        holds_for_any_event(&run(&event, allow_lists)?, &Wrapped::Unknown)
    });
}

#[test]
fn any_json_inside_every_envelope_gets_the_answer_that_envelope_expects() {
    let payloads = || prop_oneof![json_value(), request()].boxed();
    let envelopes = prop_oneof![plain(payloads()), with_bodies(json_payload(payloads()))];
    check(
        (envelopes, any::<bool>()),
        |((event, wrapped), allow_lists)| holds_for_any_event(&run(&event, allow_lists)?, &wrapped),
    );
}

#[test]
fn any_bytes_as_a_body_get_an_answer_and_bodies_that_are_not_json_are_refused() {
    check(
        (with_bodies(byte_payload()), any::<bool>()),
        |((event, wrapped), allow_lists)| holds_for_any_event(&run(&event, allow_lists)?, &wrapped),
    );
}

#[test]
fn near_valid_requests_are_refused_before_any_call_or_reach_only_the_configured_host() {
    check((request(), any::<bool>()), |(event, allow_lists)| {
        holds_for_any_event(&run(&event, allow_lists)?, &direct(&event))
    });
}

/// What a URL percent-encodes in a path (the WHATWG path percent-encode
/// set, less `^`, which the generated paths never hold): everything else
/// must reach the upstream exactly as the event gave it.
const URL_PATH_ENCODES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Whether `path` must be refused, by rules simpler than the library's:
/// not absolute, another host, a backslash, a control character, or a
/// segment that is a dot segment once decoded.
fn plainly_dangerous(path: &str) -> bool {
    !path.starts_with('/')
        || path.starts_with("//")
        || path.contains('\\')
        || path.chars().any(char::is_control)
        || decode(path)
            .iter()
            .any(|byte| matches!(byte, b'\r' | b'\n' | b'\0' | b'\\'))
        || decode(path)
            .split(|byte| *byte == b'/')
            .any(|segment| segment == b"." || segment == b"..")
}

#[test]
fn an_exh_path_is_refused_when_dangerous_and_otherwise_sent_exactly_as_given_to_the_configured_host(
) {
    let requests = (
        path(),
        select(&["GET", "DELETE", "HEAD"][..]),
        any::<bool>(),
    );
    check(requests, |(path, method, allow_lists)| {
        let event = json!({"exh": {"method": method, "path": path}});
        let ran = run(&event, allow_lists)?;
        holds_for_any_event(&ran, &Wrapped::Plain)?;
        // The path proper: what follows `?` is RQL.
        let given = path.split('?').next().unwrap_or_default();
        if plainly_dangerous(given) {
            let refused = ran.answer.as_ref().err().map(|error| error.error_type());
            ensure!(
                refused == Some("InvalidEvent"),
                "{path:?} was not refused: {:?}",
                ran.answer
            );
        }
        if ran.answer.is_ok() {
            ensure!(
                ran.seen.len() == 1,
                "{path:?}: {} requests for one call",
                ran.seen.len()
            );
            let sent = ran.seen[0].target.split('?').next().unwrap_or_default();
            let expected = utf8_percent_encode(given, URL_PATH_ENCODES).to_string();
            ensure!(sent == expected, "{path:?} was sent as {sent:?}");
            ensure!(
                ran.seen[0].method == method,
                "{method} was sent as {}",
                ran.seen[0].method
            );
        }
        Ok(())
    });
}
