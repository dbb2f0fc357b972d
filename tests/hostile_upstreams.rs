//! Upstreams that answer what no well-behaved API would, through the
//! handler: answers shaped to cost time, numbers that overflow, error texts
//! of megabytes, and answers that echo a secret back in a form of its own.
//! Each test failed before the fix it came with. Loopback only, every wait
//! bounded.

mod support;

use exh_task::config::Config;
use exh_task::Handler;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use support::log::Captured;
use support::upstream::{page_of_numbers, Behaviour, Script, Upstream};
use tokio::time::Instant;

const CONSUMER_KEY: &str = "hostile-consumer-key-1a2b";
const CONSUMER_SECRET: &str = "hostile-consumer-secret-3c4d";
const TOKEN: &str = "hostile-token-5e6f";
const TOKEN_SECRET: &str = "hostile-token-secret-7a8b";
const PASSWORD: &str = "hostile-hexonet-password-9c0d";

/// The longest any one handling may take here, whatever the machine's load.
const BOUND: Duration = Duration::from_secs(30);

/// An upstream answering every request with `answer(body of the request)`.
async fn answering(
    answer: impl Fn(&[u8]) -> (&'static str, &'static str, String) + Send + Sync + 'static,
) -> Upstream {
    Upstream::start(Behaviour::Script(Script::new(move |seen, _| {
        answer(&seen.body)
    })))
    .await
}

/// A handler with both sides pointed at `upstream`, and `extra` variables.
fn handler(upstream: &Upstream, extra: &[(&str, &str)]) -> Handler {
    let hexonet_url = format!("{}/api/call.cgi", upstream.url);
    let mut env: HashMap<&str, String> = [
        ("API_HOST", upstream.url.as_str()),
        ("API_OAUTH_CONSUMER_KEY", CONSUMER_KEY),
        ("API_OAUTH_CONSUMER_SECRET", CONSUMER_SECRET),
        ("API_OAUTH_TOKEN", TOKEN),
        ("API_OAUTH_TOKEN_SECRET", TOKEN_SECRET),
        ("HEXONET_LOGIN", "hostile"),
        ("HEXONET_PASSWORD", PASSWORD),
        ("HEXONET_URL", hexonet_url.as_str()),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.to_owned()))
    .collect();
    for (name, value) in extra {
        env.insert(name, (*value).to_owned());
    }
    let config = Config::from_lookup(|name| env.get(name).cloned()).expect("a valid config");
    Handler::new(config, exh_task::http::client().unwrap())
}

/// `handler`'s answer to `event`, on a thread of its own, so that work
/// that never yields still meets [`BOUND`].
async fn handled(handler: Handler, event: Value) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let (done, finished) = std::sync::mpsc::channel();
    let runtime = tokio::runtime::Handle::current();
    std::thread::spawn(move || {
        let answer = runtime.block_on(handler.handle(event, deadline));
        let _ = done.send(answer.map(|reply| reply.to_value()));
    });
    tokio::task::spawn_blocking(move || finished.recv_timeout(BOUND))
        .await
        .unwrap()
        .unwrap_or_else(|_| panic!("no answer within {BOUND:?}"))
        .map_err(|error| format!("{}: {error}", error.error_type()))
}

/// A HEXONET answer of `rows` values in one column, then `columns` columns
/// of one value each.
fn rows_then_columns(rows: usize, columns: usize) -> String {
    let mut text = String::from("[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok\r\n");
    for row in 0..rows {
        text.push_str(&format!("PROPERTY[A][{row}]=\r\n"));
    }
    for column in 0..columns {
        text.push_str(&format!("PROPERTY[C{column}][0]=\r\n"));
    }
    text.push_str("EOF\r\n");
    text
}

/// Written row by row over every column, such an answer cost rows ×
/// columns (3.6 billion lookups here, minutes); over the columns each row
/// has, it costs its values.
#[tokio::test]
async fn a_sparse_hexonet_answer_of_many_rows_and_columns_is_answered_in_its_values_time() {
    let text = rows_then_columns(60_000, 60_000);
    assert!(text.len() < exh_task::limits::DEFAULT_MAX_BODY_BYTES);
    let upstream = answering(move |_| ("200 OK", "text/plain", text.clone())).await;
    let event = json!({"hexonet": {"command": {"COMMAND": "QueryDomainList"}, "view": "records"}});
    let result = handled(handler(&upstream, &[]), event).await.unwrap();
    let records = result["hexonet"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 60_000);
    assert_eq!(records[0].as_object().unwrap().len(), 60_001);
    assert_eq!(records[1].as_object().unwrap().len(), 1);
}

/// Merged by asking every page for every column, 1,000 pages of 250
/// columns of their own took 25 s (a release build); merged over the
/// columns each page has, the time of their values.
#[tokio::test]
async fn pages_of_columns_of_their_own_are_merged_in_their_values_time() {
    let upstream = answering(|body| {
        let body = String::from_utf8_lossy(body);
        // `s_command` is form-encoded: `…%0AFIRST%3D7%0A…`.
        let first: String = body
            .split_once("FIRST%3D")
            .map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        let mut page = String::from(
            "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok\r\nPROPERTY[TOTAL][0]=1000\r\n\
             PROPERTY[LIMIT][0]=1\r\n",
        );
        for column in 0..250 {
            page.push_str(&format!("PROPERTY[P{first}C{column}][0]=v\r\n"));
        }
        page.push_str("EOF\r\n");
        ("200 OK", "text/plain", page)
    })
    .await;
    let event = json!({"hexonet": {"command": {"COMMAND": "QueryDomainList"}, "all_pages": true,
                                   "view": "properties"}});
    let result = handled(handler(&upstream, &[]), event).await.unwrap();
    let properties = result["hexonet"]["properties"].as_object().unwrap();
    assert_eq!(properties.len(), 1000 * 250 + 5, "{}", properties.len());
    assert_eq!(properties["P999C249"], json!(["v"]));
}

/// The merged list's LAST is FIRST + rows - 1, FIRST the upstream's own.
#[tokio::test]
async fn a_first_of_i64_max_neither_panics_nor_wraps_the_merged_pages() {
    let upstream = answering(|_| {
        let page = "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok\r\nPROPERTY[DOMAIN][0]=a.com\r\n\
                    PROPERTY[FIRST][0]=9223372036854775807\r\nPROPERTY[LAST][0]=0\r\n\
                    PROPERTY[COUNT][0]=1\r\nPROPERTY[LIMIT][0]=1\r\nPROPERTY[TOTAL][0]=2\r\nEOF\r\n";
        ("200 OK", "text/plain", page.to_owned())
    })
    .await;
    let event = json!({"hexonet": {"command": {"COMMAND": "QueryDomainList"}, "all_pages": true}});
    let result = handled(handler(&upstream, &[]), event).await.unwrap();
    let pagination = &result["hexonet"]["pagination"];
    assert_eq!(
        (pagination["first"].as_i64(), pagination["last"].as_i64()),
        (Some(i64::MAX), Some(i64::MAX)),
        "{pagination}"
    );
}

/// An API Gateway HTTP (v2) event carrying `request` as its body.
fn over_http(request: &Value) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "POST /run",
        "rawPath": "/run",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": "POST", "path": "/run", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "curl/8.5.0"},
            "requestId": "r", "routeKey": "POST /run", "stage": "$default",
            "time": "25/Nov/2026:06:00:00 +0000", "timeEpoch": 1795586400000u64
        },
        "body": request.to_string(),
        "isBase64Encoded": false
    })
}

/// 2 MB of `"` quoted whole in an error, then escaped twice into the HTTP
/// answer's `body`, was over 6 MB, and the error answer's `expect` panicked.
#[tokio::test]
async fn an_upstream_error_text_of_megabytes_is_an_http_answer_of_a_few_hundred_bytes() {
    let quotes = "\"".repeat(2_000_000);
    let hexonet = format!("[RESPONSE]\r\nCODE=530\r\nDESCRIPTION={quotes}\r\nEOF\r\n");
    let upstream = answering(move |body| {
        if body.is_empty() {
            ("401 Unauthorized", "text/plain", quotes.clone())
        } else {
            ("200 OK", "text/plain", hexonet.clone())
        }
    })
    .await;
    let handler = handler(
        &upstream,
        &[
            ("EXH_ALLOWED_PATHS", "/users/v1"),
            ("HEXONET_ALLOWED_COMMANDS", "StatusAccount"),
        ],
    );
    for request in [
        json!({"exh": {"path": "/users/v1/me"}}),
        json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
    ] {
        let answer = handled(handler.clone(), over_http(&request)).await.unwrap();
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["errorType"], "Unauthorized", "{request}");
        let message = body["errorMessage"].as_str().unwrap();
        assert!(
            message.len() < 1_000 && message.ends_with('…'),
            "{request}: {message:.200}"
        );
    }
}

/// A password of digits, echoed by Extra Horizon as a JSON number.
#[tokio::test]
async fn a_secret_echoed_as_a_number_is_kept_out_of_the_result() {
    const DIGITS: &str = "8675309123";
    let upstream = answering(|_| {
        let user = format!(r#"{{"id":"u1","pin":{DIGITS}}}"#);
        ("200 OK", "application/json", user)
    })
    .await;
    let handler = handler(&upstream, &[("HEXONET_PASSWORD", DIGITS)]);
    let result = handled(handler, json!({"exh": {"path": "/users/v1/me"}}))
        .await
        .unwrap();
    assert!(!result.to_string().contains(DIGITS), "{result}");
    assert_eq!(result["exh"]["body"]["pin"], "***");
}

/// `s_pw` travels as `urllib.parse.quote` writes it (`/` kept), and an
/// answer may echo the field as it came.
#[tokio::test]
async fn the_password_echoed_as_it_was_sent_is_kept_out_of_the_result() {
    const SLASHED: &str = "pa55/w&rd!";
    let upstream = answering(|body| {
        let body = String::from_utf8_lossy(body);
        let sent = body
            .split('&')
            .find_map(|field| field.strip_prefix("s_pw="))
            .unwrap_or("")
            .to_owned();
        let text = format!(
            "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok\r\nPROPERTY[ECHO][0]={sent}\r\nEOF\r\n"
        );
        ("200 OK", "text/plain", text)
    })
    .await;
    let handler = handler(&upstream, &[("HEXONET_PASSWORD", SLASHED)]);
    let event = json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}});
    let result = handled(handler, event).await.unwrap();
    assert_eq!(result["hexonet"]["records"][0]["ECHO"], "***", "{result}");
}

/// A result that holds a secret is read again to be redacted: a HEXONET
/// list of 150,000 empty values (3.3 MB) and the password is a 2 MB
/// result that takes 84 MB once read (its records 488 bytes a row), read
/// whole beside the result. It is read within the memory the answers
/// share now, and refused, the secret kept out.
#[tokio::test]
async fn a_result_holding_a_secret_is_read_again_within_the_memory_answers_share() {
    let upstream = answering(|_| {
        let mut text = String::from("[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok\r\n");
        for row in 0..150_000 {
            text.push_str(&format!("PROPERTY[A][{row}]=\r\n"));
        }
        text.push_str(&format!("PROPERTY[NOTE][0]={PASSWORD}\r\nEOF\r\n"));
        ("200 OK", "text/plain", text)
    })
    .await;
    let event = json!({"hexonet": {"command": {"COMMAND": "QueryDomainList"}}});
    let Err(error) = handled(handler(&upstream, &[]), event).await else {
        panic!("the result was read whole again, and answered");
    };
    assert!(
        error.starts_with("InvalidResponse: invalid response: the result holds a secret and, read to be redacted, would take over")
            && !error.contains(PASSWORD),
        "{error:.300}"
    );
}

/// Extra Horizon echoes the HEXONET password, HEXONET the OAuth1 token
/// secret: each client's debug log masked only its own side's secrets.
#[test]
fn a_secret_of_the_other_side_echoed_in_an_answer_stays_out_of_the_debug_log() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let upstream = answering(|body| {
                if body.is_empty() {
                    let user = format!(r#"{{"id":"u1","note":"{PASSWORD}"}}"#);
                    ("200 OK", "application/json", user)
                } else {
                    let text = format!(
                        "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok\r\nPROPERTY[NOTE][0]={TOKEN_SECRET}\r\nEOF\r\n"
                    );
                    ("200 OK", "text/plain", text)
                }
            })
            .await;
            let handler = handler(&upstream, &[("EXH_TASK_DEBUG", "1")]);
            let deadline = Instant::now() + Duration::from_secs(10);
            for event in [
                json!({"exh": {"path": "/users/v1/me"}}),
                json!({"hexonet": {"command": {"COMMAND": "StatusAccount"}}}),
            ] {
                let reply = handler.handle(event, deadline).await.expect("an answer");
                assert!(!reply.json().contains(PASSWORD) && !reply.json().contains(TOKEN_SECRET));
            }
        })
    });
    let log = captured.text();
    assert!(
        log.contains("Extra Horizon response") && log.contains("HEXONET response"),
        "{log}"
    );
    for secret in [PASSWORD, TOKEN_SECRET] {
        let line = log.lines().find(|line| line.contains(secret));
        assert!(line.is_none(), "the debug log holds a secret: {line:?}");
    }
}

/// Each within half the memory once read, the pages of one `all_pages`
/// request (or a batch's answers) together took more than a 128 MB
/// function has: four pages of 0.6 MB, 20 MB each once read, were read
/// and answered (80 MB). The answers held at once share half the memory
/// now; a request's share is given back when it ends, an answer's when it
/// is dropped (asked again). One test for all, since the share is the
/// process's.
#[tokio::test]
async fn the_answers_held_at_once_share_half_the_memory() {
    let upstream = answering(|_| ("200 OK", "application/json", page_of_numbers(20, 0, 1))).await;
    let pages = Upstream::start(Behaviour::Script(Script::new(|_, number| {
        ("200 OK", "application/json", page_of_numbers(20, number, 4))
    })))
    .await;
    let over = |answer: Result<Value, String>| match answer {
        Err(error) => error,
        Ok(result) => result.to_string(),
    };

    let all_pages = json!({"exh": {"path": "/data/v1/x", "all_pages": true}});
    let error = over(handled(handler(&pages, &[]), all_pages.clone()).await);
    assert!(
        error.starts_with("InvalidResponse: invalid response: Extra Horizon GET /data/v1/x")
            && error.contains(
                "MB once read, half of the function's 128 MB, what is left of it with the \
                 answers held at once taking"
            )
            && error.contains("(60 MB of them this call's)"),
        "{error:.400}"
    );
    assert_eq!(
        pages.requests(),
        4,
        "a page too heavy to read is not asked again"
    );

    let request = json!({"exh": {"path": "/data/v1/x"}});
    let batch = json!({"batch": [request, request, request, request], "concurrency": 1});
    let result = over(handled(handler(&upstream, &[]), batch).await);
    assert!(
        result.contains("MB once read, half of the function's 128 MB, what is left of it"),
        "{result:.400}"
    );

    // An answer asked again gives back what it took: 503s of 20 MB once
    // read, four times, end as the last 503, not as a refusal.
    let unavailable = Upstream::start(Behaviour::Script(Script::new(|_, _| {
        let page = page_of_numbers(20, 0, 1);
        ("503 Service Unavailable", "application/json", page)
    })))
    .await;
    let answer = handled(handler(&unavailable, &[]), request.clone()).await;
    let answer = answer.unwrap_or_else(|error| panic!("{error:.300}"));
    assert_eq!(answer["exh"]["status"], 503);
    assert_eq!(unavailable.requests(), 4, "asked four times");

    // One record after the other (a FIFO queue's), each given back: all
    // four are answered, 80 MB in all.
    let record = |id: usize| {
        json!({"messageId": format!("m{id}"), "body": request.to_string(),
               "eventSource": "aws:sqs",
               "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q.fifo"})
    };
    let sqs = json!({"Records": (0..4).map(record).collect::<Vec<_>>()});
    let answer = handled(handler(&upstream, &[]), sqs).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
}
