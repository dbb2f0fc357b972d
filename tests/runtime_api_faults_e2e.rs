//! `bootstrap`, and tasks of one's own, against a scripted, hostile Runtime
//! API on loopback: raw TCP, so it can send what the emulator never would
//! (replies that never end, payloads that stop arriving). What holds: every
//! invocation handed out is answered, memory stays bounded, a task's panic
//! or hang neither leaks nor holds anything. Each test failed before the
//! fix it came with; every wait is bounded.

mod support;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use exh_task_sandbox::runtime_api::{Function, RuntimeApi};
use support::bootstrap::BOOTSTRAP;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the fake does with one `/next`.
#[derive(Clone)]
enum NextAnswer {
    /// These bytes, then the connection stays open and silent.
    BytesThenStall(Vec<u8>),
    /// These bytes, then the connection is kept for more requests.
    Bytes(Vec<u8>),
}

/// What the fake does with a `/response` or `/error` post.
#[derive(Clone, Copy)]
enum PostAnswer {
    /// `202` with a small body, as Lambda answers.
    Accepted,
    /// `202` with a chunked body of `megabytes` MB, then silence.
    EndlessChunked { megabytes: usize },
    /// This status, a small body, connection kept.
    Status(u16),
}

/// One request the function made.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    body: Vec<u8>,
}

#[derive(Clone)]
struct Fake {
    address: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// How many `BytesThenStall` answers were written out in full.
    stalled: Arc<AtomicUsize>,
}

impl Fake {
    async fn start(script: Vec<NextAnswer>, posts: PostAnswer) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let stalled = Arc::new(AtomicUsize::new(0));
        let (seen2, script2, stalled2) = (seen.clone(), script.clone(), stalled.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // As Lambda's: a reply written in two parts is not held
                // back for the peer's delayed acknowledgement (40 ms).
                let _ = stream.set_nodelay(true);
                let served = serve(
                    stream,
                    seen2.clone(),
                    script2.clone(),
                    stalled2.clone(),
                    posts,
                );
                tokio::spawn(served);
            }
        });
        Fake {
            address,
            seen,
            stalled,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn posts_for(&self, request_id: &str) -> Vec<Seen> {
        let prefix = format!("/2018-06-01/runtime/invocation/{request_id}/");
        self.seen()
            .into_iter()
            .filter(|seen| seen.method == "POST" && seen.path.starts_with(&prefix))
            .collect()
    }

    fn polls(&self) -> usize {
        self.seen()
            .iter()
            .filter(|seen| seen.path.ends_with("/invocation/next"))
            .count()
    }

    async fn wait_for(&self, what: impl Fn(&Fake) -> bool, bound: Duration) -> bool {
        support::wait::until(|| what(self), bound).await
    }

    /// Whether `request_id` is answered within `bound`.
    async fn wait_for_answer(&self, request_id: &str, bound: Duration) -> bool {
        self.wait_for(|fake| !fake.posts_for(request_id).is_empty(), bound)
            .await
    }
}

async fn serve(
    mut stream: TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<NextAnswer>>>,
    stalled: Arc<AtomicUsize>,
    posts: PostAnswer,
) {
    let mut buffer = Vec::new();
    loop {
        // One request: head, then a Content-Length body.
        let (method, path, length, head_len) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&buffer) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let length = request
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                        .unwrap_or(0usize);
                    break (
                        request.method.unwrap_or("").to_owned(),
                        request.path.unwrap_or("").to_owned(),
                        length,
                        head_len,
                    );
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return,
            }
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            }
        };
        while buffer.len() < head_len + length {
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            }
        }
        let body = buffer[head_len..head_len + length].to_vec();
        buffer.drain(..head_len + length);
        seen.lock().unwrap().push(Seen {
            method: method.clone(),
            path: path.clone(),
            body,
        });
        if path.ends_with("/extension/register") {
            // No Extensions API here: the function goes on without one.
            let _ = stream
                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .await;
        } else if path.ends_with("/invocation/next") {
            let answer = script.lock().unwrap().pop_front();
            match answer {
                Some(NextAnswer::Bytes(bytes)) => {
                    if stream.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                Some(NextAnswer::BytesThenStall(bytes)) => {
                    if stream.write_all(&bytes).await.is_ok() {
                        stalled.fetch_add(1, Ordering::SeqCst);
                    }
                    std::future::pending::<()>().await;
                }
                // Nothing more to hand out: a long poll that never ends.
                None => std::future::pending::<()>().await,
            }
        } else {
            match posts {
                PostAnswer::Accepted => {
                    let body = br#"{"status":"OK"}"#;
                    let head = format!(
                        "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream.write_all(head.as_bytes()).await.is_err()
                        || stream.write_all(body).await.is_err()
                    {
                        return;
                    }
                }
                PostAnswer::Status(status) => {
                    let head = format!("HTTP/1.1 {status} Nope\r\nContent-Length: 4\r\n\r\nnope");
                    if stream.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                }
                PostAnswer::EndlessChunked { megabytes } => {
                    let _ = stream
                        .write_all(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n")
                        .await;
                    let mut chunk = format!("{:x}\r\n", 1 << 20).into_bytes();
                    chunk.extend(std::iter::repeat_n(b' ', 1 << 20));
                    chunk.extend_from_slice(b"\r\n");
                    for _ in 0..megabytes {
                        if stream.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// Epoch milliseconds `ahead` from now.
fn deadline_in(ahead: Duration) -> u64 {
    (SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + ahead).as_millis() as u64
}

/// A `/next` answer's head for `request_id`, with `extra` header lines.
fn next_head(request_id: &str, deadline_ms: u64, extra: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
         Lambda-Runtime-Aws-Request-Id: {request_id}\r\n\
         Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
         Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:123456789012:function:f\r\n\
         Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n\
         {extra}"
    )
}

/// A whole, ordinary `/next` answer carrying `payload`.
fn next_answer(request_id: &str, deadline_ms: u64, payload: &str) -> Vec<u8> {
    format!(
        "{}Content-Length: {}\r\n\r\n{payload}",
        next_head(request_id, deadline_ms, ""),
        payload.len()
    )
    .into_bytes()
}

/// `bootstrap` pointed at `fake`, with `env` on top.
async fn bootstrap_at(fake: &Fake, env: &[(&str, &str)]) -> Function {
    // The emulator only lends the builder its Lambda variables.
    let lender = RuntimeApi::start().await;
    let mut builder =
        Function::builder(BOOTSTRAP, &lender).env("AWS_LAMBDA_RUNTIME_API", &fake.address);
    for (name, value) in env {
        builder = builder.env(*name, *value);
    }
    builder.spawn()
}

/// The resident set of process `pid`, in kB (`VmRSS`).
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The Runtime API's reply to `/error` (and `/response`) is read to a cap
/// and within a time: read to its end, an endless one filled the memory
/// and the worker never polled `/next` again.
#[tokio::test]
async fn an_endless_reply_to_an_answer_neither_fills_the_memory_nor_stops_the_polling() {
    let deadline = deadline_in(Duration::from_secs(30));
    let fake = Fake::start(
        vec![
            NextAnswer::Bytes(next_answer("inv-1", deadline, "{}")),
            NextAnswer::Bytes(next_answer("inv-2", deadline, "{}")),
        ],
        PostAnswer::EndlessChunked { megabytes: 400 },
    )
    .await;
    let mut function = bootstrap_at(&fake, &[]).await;
    assert!(
        fake.wait_for_answer("inv-1", Duration::from_secs(10)).await,
        "inv-1 was never answered"
    );
    // The reply streams in; a bounded reader drops it and polls again.
    let polled_again = fake
        .wait_for(|fake| fake.polls() >= 2, Duration::from_secs(6))
        .await;
    let rss_mb = rss_kb(function.id()) / 1024;
    function.stop();
    assert!(
        rss_mb < 100 && polled_again,
        "bootstrap holds {rss_mb} MB of the Runtime API's reply to /error; /next polled again: {polled_again}"
    );
}

/// A fake that hands out `request_id`, due at `deadline`, announcing a
/// payload of 100 bytes and sending 2, then nothing.
async fn stalling(request_id: &str, deadline: u64) -> Fake {
    let mut stalled = next_head(request_id, deadline, "Content-Length: 100\r\n\r\n").into_bytes();
    stalled.extend_from_slice(b"{\"");
    Fake::start(
        vec![NextAnswer::BytesThenStall(stalled)],
        PostAnswer::Accepted,
    )
    .await
}

/// A `/next` answer whose payload stops arriving (Content-Length 100, 2
/// bytes sent) is answered by its deadline: it was waited for forever, and
/// no other invocation was polled for.
#[tokio::test]
async fn a_payload_that_stops_arriving_is_answered_by_its_deadline() {
    let fake = stalling("stall-1", deadline_in(Duration::from_secs(1))).await;
    let mut function = bootstrap_at(&fake, &[]).await;
    let answered = fake
        .wait_for_answer("stall-1", Duration::from_secs(6))
        .await;
    let polls = fake.polls();
    function.stop();
    assert!(
        answered,
        "stall-1 (deadline 1 s) is still unanswered after 6 s; /next polled {polls} time(s)"
    );
}

/// At SIGTERM, an invocation whose head has come (request id known) but
/// whose payload is still on its way is answered once IN_TRANSIT is over:
/// it was dropped with its connection.
#[tokio::test]
async fn sigterm_while_a_payload_is_on_its_way_still_answers_the_invocation() {
    let fake = stalling("term-1", deadline_in(Duration::from_secs(30))).await;
    let mut function = bootstrap_at(&fake, &[]).await;
    // The head written out; then a moment for bootstrap to read it.
    assert!(
        fake.wait_for(
            |fake| fake.stalled.load(Ordering::SeqCst) >= 1,
            Duration::from_secs(10)
        )
        .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    function.terminate();
    let status = function.wait_exit(Duration::from_secs(10)).await;
    let posts = fake.posts_for("term-1");
    function.stop();
    assert!(status.is_some(), "bootstrap kept running after SIGTERM");
    assert!(
        !posts.is_empty(),
        "term-1 was handed out (its head read) but bootstrap exited ({status:?}) without answering it"
    );
}

/// `AWS_LAMBDA_MAX_CONCURRENCY` is held to `MAX_WORKERS`: one worker, each
/// with its own long poll, was spawned per unit of any value, and an absurd
/// one ate the memory (and the file descriptors).
#[tokio::test]
async fn an_absurd_max_concurrency_does_not_eat_the_memory() {
    // Connections to it wait in the backlog: nothing is accepted.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let fake = Fake {
        address: listener.local_addr().unwrap().to_string(),
        seen: Arc::default(),
        stalled: Arc::default(),
    };
    let mut function = bootstrap_at(
        &fake,
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "18446744073709551615")],
    )
    .await;
    let mut peak_mb = 0;
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < end && peak_mb < 1024 {
        peak_mb = peak_mb.max(rss_kb(function.id()) / 1024);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = function.try_status();
    function.stop();
    drop(listener);
    assert!(
        peak_mb < 200,
        "AWS_LAMBDA_MAX_CONCURRENCY=usize::MAX: {peak_mb} MB resident within 5 s (stopped at 1 GB), status {status:?}"
    );
}

/// The highest `VmRSS` of process `pid` over `span`, in MB.
async fn peak_rss_mb(pid: u32, span: Duration) -> u64 {
    let mut peak_kb = 0;
    let end = tokio::time::Instant::now() + span;
    while tokio::time::Instant::now() < end {
        peak_kb = peak_kb.max(rss_kb(pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    peak_kb / 1024
}

/// With `AWS_LAMBDA_MAX_CONCURRENCY` workers, the payloads arriving at once
/// share an eighth of the function's memory: each worker read its own
/// payload whatever the others held, so 32 payloads of 6 MB that stop just
/// short of their end took 32 × 6 MB of a 128 MB function.
#[tokio::test]
async fn payloads_arriving_at_once_share_the_memory() {
    const WORKERS: usize = 32;
    const LENGTH: usize = 6_000_000;
    let deadline = deadline_in(Duration::from_secs(60));
    let script = (0..WORKERS)
        .map(|at| {
            let head = next_head(
                &format!("big-{at}"),
                deadline,
                &format!("Content-Length: {LENGTH}\r\n\r\n"),
            );
            let mut bytes = head.into_bytes();
            bytes.push(b'[');
            bytes.resize(bytes.len() + LENGTH - 1_000, b' ');
            NextAnswer::BytesThenStall(bytes)
        })
        .collect();
    let fake = Fake::start(script, PostAnswer::Accepted).await;
    let mut function = bootstrap_at(
        &fake,
        &[("AWS_LAMBDA_MAX_CONCURRENCY", &WORKERS.to_string())],
    )
    .await;
    let polled = fake
        .wait_for(|fake| fake.polls() >= WORKERS, Duration::from_secs(20))
        .await;
    let peak_mb = peak_rss_mb(function.id(), Duration::from_secs(3)).await;
    function.stop();
    assert!(polled, "{} of {WORKERS} workers polled", fake.polls());
    // An eighth of 128 MB is room for 2 such payloads; each worker's
    // connection buffers a little more (hyper reads ahead up to ~400 KB).
    assert!(
        peak_mb < 64,
        "{WORKERS} payloads of 6 MB arriving at once: {peak_mb} MB resident"
    );
}

/// A whole `/next` answer of `{"batch": []}` (answered without any call)
/// carrying the trace id `trace_id`.
fn traced_answer(request_id: &str, trace_id: &str) -> Vec<u8> {
    let payload = r#"{"batch": []}"#;
    format!(
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {request_id}\r\n\
         Lambda-Runtime-Deadline-Ms: {}\r\nLambda-Runtime-Trace-Id: {trace_id}\r\n\
         Content-Length: {}\r\n\r\n{payload}",
        deadline_in(Duration::from_secs(600)),
        payload.len()
    )
    .into_bytes()
}

/// `bootstrap` does not set `_X_AMZN_TRACE_ID`, which nothing in it reads:
/// glibc's `setenv` keeps every value, so each sequential invocation's
/// trace id stayed in memory (2,000 ids of 1,000 bytes: 2 MB more).
#[tokio::test]
async fn bootstrap_keeps_no_trace_id_of_past_invocations() {
    const WARM: usize = 200;
    const MORE: usize = 2_000;
    let script = (0..WARM + MORE)
        .map(|at| {
            let trace_id = format!("Root=1-674c0000-{at:024x};Parent={}", "a".repeat(950));
            NextAnswer::Bytes(traced_answer(&format!("t-{at}"), &trace_id))
        })
        .collect();
    let fake = Fake::start(script, PostAnswer::Accepted).await;
    let mut function = bootstrap_at(&fake, &[]).await;
    let answered = |count: usize| {
        move |fake: &Fake| {
            fake.seen()
                .iter()
                .filter(|seen| seen.method == "POST" && seen.path.ends_with("/response"))
                .count()
                >= count
        }
    };
    let warmed = fake.wait_for(answered(WARM), Duration::from_secs(30)).await;
    let before_kb = rss_kb(function.id());
    let done = fake
        .wait_for(answered(WARM + MORE), Duration::from_secs(60))
        .await;
    let after_kb = rss_kb(function.id());
    function.stop();
    let posts = fake
        .seen()
        .iter()
        .filter(|seen| seen.method == "POST")
        .count();
    assert!(
        warmed && done,
        "{posts} of {} invocations answered",
        WARM + MORE
    );
    assert!(
        after_kb < before_kb + 1024,
        "{MORE} invocations with 1,000-byte trace ids: {before_kb} kB resident, then {after_kb} kB"
    );
}

/// `bootstrap`, with `env`, handed `payload` as invocation `request_id`:
/// its answer (empty if none), whether it was answered within 20 s, and
/// the highest resident memory in MB over the first 4 s.
async fn bootstrap_answering(
    request_id: &str,
    payload: &str,
    env: &[(&str, &str)],
) -> (String, bool, u64) {
    let deadline = deadline_in(Duration::from_secs(30));
    let fake = Fake::start(
        vec![NextAnswer::Bytes(next_answer(
            request_id, deadline, payload,
        ))],
        PostAnswer::Accepted,
    )
    .await;
    let mut function = bootstrap_at(&fake, env).await;
    let (answered, peak_mb) = tokio::join!(
        fake.wait_for_answer(request_id, Duration::from_secs(20)),
        peak_rss_mb(function.id(), Duration::from_secs(4))
    );
    function.stop();
    let answer = fake
        .posts_for(request_id)
        .first()
        .map(|post| String::from_utf8_lossy(&post.body).into_owned())
        .unwrap_or_default();
    (answer, answered, peak_mb)
}

/// An HTTP body is weighed as the event is, before it is read: only the
/// event was, so a Function URL request of 4 MB of numbers (2 million
/// values, over 140 MB once read) took more than a 128 MB function has.
#[tokio::test]
async fn a_body_that_would_take_the_memory_is_refused_before_it_is_read() {
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/envelope-function-url.json"
    ))
    .expect("the Function URL sample");
    let mut event: Value = serde_json::from_str(&sample).expect("JSON");
    let mut numbers = String::from("[0");
    numbers.push_str(&",0".repeat(1_999_999));
    numbers.push(']');
    event["body"] = Value::String(numbers);
    event["isBase64Encoded"] = Value::Bool(false);
    let (answer, answered, peak_mb) = bootstrap_answering("wide-1", &event.to_string(), &[]).await;
    assert!(
        answered && answer.contains("would take over 64 MB once read") && peak_mb < 64,
        "a 4 MB body of numbers: {peak_mb} MB resident; the answer: {:.300}",
        answer
    );
}

/// An event's request takes its body from the event, not a copy: the
/// body was copied into the request and again into the prepared request,
/// so an event held to half the memory once read took 1.5 times it (a
/// 1.7 MB POST of numbers, 62 MB once read: 199 MB resident).
#[tokio::test]
async fn a_requests_body_is_not_copied_out_of_the_event() {
    let mut event = String::from(r#"{"exh": {"method": "POST", "path": "/data/v1/x", "body": [0"#);
    event.push_str(&",0".repeat(859_999));
    event.push_str("]}}");
    let (_, answered, peak_mb) = bootstrap_answering("posted-1", &event, &[]).await;
    assert!(
        answered && peak_mb < 110,
        "a 1.7 MB event of 62 MB once read: {peak_mb} MB resident; answered: {answered}"
    );
}

/// An upstream answering eight pages of 0.6 MB of numbers (4.7 MB, within
/// the body cap), 20 MB each once read.
async fn heavy_pages() -> support::upstream::Upstream {
    use support::upstream::{page_of_numbers, Behaviour, Script, Upstream};
    Upstream::start(Behaviour::Script(Script::new(|_, number| {
        ("200 OK", "application/json", page_of_numbers(20, number, 8))
    })))
    .await
}

/// The answers held at once share half the memory: eight pages of 20 MB
/// once read were each within half the memory alone, and were all read:
/// 184 MB resident, now 82-84 MB, the fourth refused.
#[tokio::test]
async fn the_pages_of_a_request_share_half_the_memory_once_read() {
    let pages = heavy_pages().await;
    let env = [
        ("API_HOST", pages.url.as_str()),
        ("API_OAUTH_CONSUMER_KEY", "pages-consumer-key"),
        ("API_OAUTH_CONSUMER_SECRET", "sandbox-consumer-secret"),
        ("API_OAUTH_TOKEN", "pages-token"),
        ("API_OAUTH_TOKEN_SECRET", "sandbox-token-secret"),
    ];
    let event = r#"{"exh": {"path": "/data/v1/x", "all_pages": true}}"#;
    let (answer, answered, peak_mb) = bootstrap_answering("pages-1", event, &env).await;
    assert!(
        answered && answer.contains("would take over 3.9 MB once read") && peak_mb < 112,
        "eight pages of 20 MB once read: {peak_mb} MB resident; the answer: {answer:.300}"
    );
}

// ---------------------------------------------------------------------------
// Tasks of one's own (`exh_task::task::run`): this test binary re-runs
// itself as the task, its role chosen by `TASK_ROLE`.

use exh_task::task::{Context, Failure};
use serde_json::Value;

/// The sandbox's token secret, set as the task's `API_OAUTH_TOKEN_SECRET`.
const TOKEN_SECRET: &str = "sandbox-token-secret";

async fn panicking(event: Value, _: Context) -> Result<Value, Failure> {
    // A task that quotes its input (or an upstream's answer) in a panic.
    let id = event["documentId"].as_str().unwrap_or_default().to_owned();
    panic!("document {id} has no domains")
}

async fn trace_id_variable(_: Value, _: Context) -> Result<Value, Failure> {
    Ok(serde_json::json!({"traceId": std::env::var("_X_AMZN_TRACE_ID").ok()}))
}

async fn all_pages(_: Value, ctx: Context) -> Result<Value, Failure> {
    let answer = ctx
        .exh()
        .call("GET", "/data/v1/x")
        .all_pages()
        .send()
        .await?;
    Ok(serde_json::json!({"status": answer.status}))
}

async fn never_finishing(_: Value, _: Context) -> Result<Value, Failure> {
    std::future::pending().await
}

/// Not a test: the task process the task tests start (ignored, so that it
/// runs only when they ask for it by name).
#[test]
#[ignore = "the task process of the tests below"]
fn task_process() {
    let role = std::env::var("TASK_ROLE").expect("TASK_ROLE names the task");
    let ran = match role.as_str() {
        "panic" => exh_task::task::run(panicking),
        "hang" => exh_task::task::run(never_finishing),
        "trace" => exh_task::task::run(trace_id_variable),
        "pages" => exh_task::task::run(all_pages),
        other => panic!("no role {other}"),
    };
    ran.expect("the task ran");
}

/// This test binary as a task with `role`, pointed at `fake`.
async fn task_at(fake: &Fake, role: &str, env: &[(&str, &str)]) -> Function {
    let lender = RuntimeApi::start().await;
    let program = std::env::current_exe().expect("this test binary");
    let mut builder = Function::builder(program, &lender)
        .args_for_role()
        .env("AWS_LAMBDA_RUNTIME_API", &fake.address)
        .env("TASK_ROLE", role)
        .env("API_HOST", "http://127.0.0.1:9")
        .env("API_OAUTH_CONSUMER_KEY", "sandbox-consumer-key")
        .secret_env("API_OAUTH_CONSUMER_SECRET", "sandbox-consumer-secret")
        .env("API_OAUTH_TOKEN", "sandbox-token")
        .secret_env("API_OAUTH_TOKEN_SECRET", TOKEN_SECRET)
        .env("AWS_LAMBDA_LOG_FORMAT", "json");
    for (name, value) in env {
        builder = builder.env(*name, *value);
    }
    builder.spawn()
}

trait ForRole {
    fn args_for_role(self) -> Self;
}

impl ForRole for exh_task_sandbox::runtime_api::FunctionBuilder {
    fn args_for_role(self) -> Self {
        self.arg("--exact")
            .arg("task_process")
            .arg("--ignored")
            .arg("--nocapture")
            .arg("--test-threads=1")
    }
}

/// A task's panic is one log line, secrets masked and line ends escaped:
/// Rust's own hook wrote it raw to stderr, so event text in a panic message
/// forged log lines and leaked secrets.
#[tokio::test]
async fn a_tasks_panic_neither_leaks_a_secret_nor_forges_a_log_line() {
    let forged = r#"{"timestamp":"2026-01-01T00:00:00Z","level":"INFO","fields":{"message":"forged"},"target":"exh_task::telemetry::summary"}"#;
    let document_id = format!("d1 ({TOKEN_SECRET})\n{forged}\n");
    let payload = serde_json::json!({"documentId": document_id}).to_string();
    let deadline = deadline_in(Duration::from_secs(30));
    let fake = Fake::start(
        vec![NextAnswer::Bytes(next_answer(
            "panic-1", deadline, &payload,
        ))],
        PostAnswer::Accepted,
    )
    .await;
    let mut function = task_at(&fake, "panic", &[]).await;
    assert!(
        fake.wait_for_answer("panic-1", Duration::from_secs(10))
            .await,
        "panic-1 was never answered"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    function.stop();
    let answer = String::from_utf8_lossy(&fake.posts_for("panic-1")[0].body).into_owned();
    assert!(answer.contains("InvalidResponse"), "{answer}");
    let output = format!("{}\n{}", function.stdout(), function.stderr());
    let forged_lines = output.lines().filter(|line| *line == forged).count();
    let leaks = output.matches(TOKEN_SECRET).count();
    assert!(
        forged_lines == 0 && leaks == 0,
        "{forged_lines} forged log line(s) and {leaks} copy(ies) of API_OAUTH_TOKEN_SECRET in the task's output"
    );
}

/// A task of one's own, sequential, finds its invocation's trace id in
/// `_X_AMZN_TRACE_ID`, as in Lambda's runtimes (the AWS SDK reads it).
#[tokio::test]
async fn a_task_finds_the_trace_id_in_its_environment() {
    let trace_id = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1";
    let fake = Fake::start(
        vec![NextAnswer::Bytes(traced_answer("traced-1", trace_id))],
        PostAnswer::Accepted,
    )
    .await;
    let mut function = task_at(&fake, "trace", &[]).await;
    let answered = fake
        .wait_for_answer("traced-1", Duration::from_secs(10))
        .await;
    function.stop();
    let posts = fake.posts_for("traced-1");
    let body = posts
        .first()
        .map(|post| String::from_utf8_lossy(&post.body).into_owned());
    assert!(
        answered && body.as_deref().is_some_and(|body| body.contains(trace_id)),
        "the task's answer: {body:?}"
    );
}

/// A task handler that never finishes is answered `Timeout` by its
/// deadline, and its worker polls again: it held the worker for good, so
/// with `AWS_LAMBDA_MAX_CONCURRENCY=2` two such invocations stopped the
/// function (Lambda ends a sequential function at its timeout; Managed
/// Instances may not).
#[tokio::test]
async fn a_task_that_never_finishes_is_answered_at_its_deadline_and_frees_its_worker() {
    let deadline = deadline_in(Duration::from_secs(1));
    let fake = Fake::start(
        vec![
            NextAnswer::Bytes(next_answer("hang-1", deadline, "{}")),
            NextAnswer::Bytes(next_answer("hang-2", deadline, "{}")),
        ],
        PostAnswer::Accepted,
    )
    .await;
    let mut function = task_at(&fake, "hang", &[("AWS_LAMBDA_MAX_CONCURRENCY", "2")]).await;
    assert!(
        fake.wait_for(|fake| fake.polls() >= 2, Duration::from_secs(10))
            .await
    );
    // The worker polls again only once its answer's post is taken, which the
    // fake records before it replies: wait for the poll too.
    let answered = fake
        .wait_for(
            |fake| {
                !fake.posts_for("hang-1").is_empty()
                    && !fake.posts_for("hang-2").is_empty()
                    && fake.polls() >= 3
            },
            Duration::from_secs(5),
        )
        .await;
    let polls = fake.polls();
    function.stop();
    assert!(
        answered,
        "4 s past their 1 s deadline, hang-1: {} answer(s), hang-2: {} answer(s); /next polled {polls} time(s)",
        fake.posts_for("hang-1").len(),
        fake.posts_for("hang-2").len()
    );
}

/// With `AWS_LAMBDA_MAX_CONCURRENCY` workers, the events read at once take
/// half the function's memory together: each event alone was held to
/// half, so four events of ~40 MB each, held by a task that never finishes,
/// took 160 MB of a 128 MB function. Those that find no room wait for it
/// (a second at most, holding their payload's room), and are answered.
#[tokio::test]
async fn events_read_at_once_share_the_memory() {
    const EVENTS: usize = 4;
    // 550,000 numbers: 1.1 MB of text, about 40 MB once read.
    let mut payload = String::from("[0");
    payload.push_str(&",0".repeat(549_999));
    payload.push(']');
    let deadline = deadline_in(Duration::from_secs(4));
    let script = (0..EVENTS)
        .map(|at| NextAnswer::Bytes(next_answer(&format!("heavy-{at}"), deadline, &payload)))
        .collect();
    let fake = Fake::start(script, PostAnswer::Accepted).await;
    let mut function = task_at(
        &fake,
        "hang",
        &[("AWS_LAMBDA_MAX_CONCURRENCY", &EVENTS.to_string())],
    )
    .await;
    assert!(
        fake.wait_for(|fake| fake.polls() >= EVENTS, Duration::from_secs(10))
            .await,
        "{} of {EVENTS} workers polled",
        fake.polls()
    );
    let peak_mb = peak_rss_mb(function.id(), Duration::from_secs(2)).await;
    let answered = fake
        .wait_for(
            |fake| (0..EVENTS).all(|at| !fake.posts_for(&format!("heavy-{at}")).is_empty()),
            Duration::from_secs(10),
        )
        .await;
    function.stop();
    let waited = (0..EVENTS)
        .flat_map(|at| fake.posts_for(&format!("heavy-{at}")))
        .filter(|post| String::from_utf8_lossy(&post.body).contains("waited for memory"))
        .count();
    assert!(
        peak_mb < 110 && answered && waited >= 2,
        "{EVENTS} events of ~40 MB read at once: {peak_mb} MB resident; all answered: {answered}; \
         {waited} answered as having waited for memory"
    );
}

/// Sound (control): odd but well-formed `/next` answers are each answered
/// and the function lives.
#[tokio::test]
async fn odd_next_answers_are_each_answered() {
    let soon = deadline_in(Duration::from_secs(20));
    let chunked = format!(
        "{}Transfer-Encoding: chunked\r\n\r\n1\r\n{{\r\n1\r\n}}\r\n0\r\nX-Trailer: y\r\n\r\n",
        next_head("chunked-1", soon, "")
    );
    let http10 = format!(
        "HTTP/1.0 200 OK\r\nLambda-Runtime-Aws-Request-Id: http10-1\r\nLambda-Runtime-Deadline-Ms: {soon}\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    let long_id = "a".repeat(60_000);
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("chunked-1".into(), chunked.into_bytes()),
        ("past-1".into(), next_answer("past-1", 1_000_000_000_000, "{}")),
        ("far-1".into(), next_answer("far-1", u64::MAX, "{}")),
        ("zero-1".into(), next_answer("zero-1", 0, "{}")),
        ("nonascii-1".into(), {
            let mut bytes = format!(
                "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: nonascii-1\r\nLambda-Runtime-Deadline-Ms: {soon}\r\nLambda-Runtime-Trace-Id: Root="
            )
            .into_bytes();
            bytes.extend_from_slice(b"\xff\xfe\r\nLambda-Runtime-Client-Context: {\"a\":\xff}\r\nContent-Length: 2\r\n\r\n{}");
            bytes
        }),
        ("dup-1".into(), format!(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: dup-1\r\nLambda-Runtime-Aws-Request-Id: dup-2\r\nLambda-Runtime-Deadline-Ms: {soon}\r\nLambda-Runtime-Deadline-Ms: x\r\nContent-Length: 2\r\n\r\n{{}}"
        ).into_bytes()),
        (long_id.clone(), next_answer(&long_id, soon, "{}")),
        ("http10-1".into(), http10.into_bytes()),
    ];
    let script = cases
        .iter()
        .map(|(_, bytes)| NextAnswer::Bytes(bytes.clone()))
        .collect();
    let fake = Fake::start(script, PostAnswer::Accepted).await;
    let closed = support::bootstrap::closed_port();
    let host = format!("http://127.0.0.1:{closed}");
    let mut function = bootstrap_at(
        &fake,
        &[
            ("API_HOST", host.as_str()),
            ("API_OAUTH_CONSUMER_KEY", "k"),
            ("API_OAUTH_CONSUMER_SECRET", "sandbox-consumer-secret"),
            ("API_OAUTH_TOKEN", "t"),
            ("API_OAUTH_TOKEN_SECRET", "sandbox-token-secret"),
        ],
    )
    .await;
    let all = fake
        .wait_for(
            |fake| cases.iter().all(|(id, _)| !fake.posts_for(id).is_empty()),
            Duration::from_secs(20),
        )
        .await;
    let alive = function.try_status().is_none();
    function.stop();
    for (id, _) in &cases {
        let posts = fake.posts_for(id);
        let shown: String = id.chars().take(12).collect();
        eprintln!(
            "{shown}: {:?}",
            posts
                .iter()
                .map(|p| (
                    p.path.rsplit('/').next().unwrap().to_owned(),
                    String::from_utf8_lossy(&p.body)
                        .chars()
                        .take(160)
                        .collect::<String>()
                ))
                .collect::<Vec<_>>()
        );
    }
    eprintln!(
        "{}",
        function
            .stdout()
            .lines()
            .filter(
                |l| l.contains("WARN") || l.contains("ERROR") && !l.contains("invocation failed")
            )
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        all && alive,
        "not every odd answer was answered (alive: {alive})"
    );
}

/// Sound (control): a 4xx/5xx on `/error` is logged and the next
/// invocation is still polled for and answered.
#[tokio::test]
async fn a_refused_answer_is_logged_and_polling_goes_on() {
    for status in [400u16, 413, 500, 503] {
        let soon = deadline_in(Duration::from_secs(20));
        let fake = Fake::start(
            vec![
                NextAnswer::Bytes(next_answer("r-1", soon, "{}")),
                NextAnswer::Bytes(next_answer("r-2", soon, "{}")),
            ],
            PostAnswer::Status(status),
        )
        .await;
        let mut function = bootstrap_at(&fake, &[]).await;
        let both = fake.wait_for_answer("r-2", Duration::from_secs(10)).await;
        function.stop();
        assert!(both, "{status}: r-2 was not answered");
        assert!(function.output_contains("refused"), "{status}: not logged");
    }
}

/// SIGTERM while start-up waits on the Secrets Manager extension (the
/// registration already sent, so Lambda may send it): a clean exit that
/// says why, not the default action's death by signal 15 with an empty log.
#[tokio::test]
async fn sigterm_during_start_up_ends_the_process_cleanly() {
    let secrets = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = secrets.local_addr().unwrap().port().to_string();
    let asked = Arc::new(AtomicUsize::new(0));
    let counted = asked.clone();
    tokio::spawn(async move {
        // Taken and held, never answered.
        let mut held = Vec::new();
        while let Ok((stream, _)) = secrets.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let fake = Fake::start(vec![], PostAnswer::Accepted).await;
    let mut function = bootstrap_at(
        &fake,
        &[
            ("EXH_TASK_SECRET_ID", "s"),
            ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.as_str()),
            ("AWS_SESSION_TOKEN", "t"),
        ],
    )
    .await;
    let waiting = support::wait::until(
        || asked.load(Ordering::SeqCst) >= 1,
        Duration::from_secs(10),
    )
    .await;
    assert!(waiting, "start-up never asked for the secret");
    function.terminate();
    let status = function.wait_exit(Duration::from_secs(10)).await;
    let log = function.stdout();
    function.stop();
    let status = status.expect("exited within 10 s of SIGTERM");
    assert!(status.success(), "{status}; log: {log}");
    assert!(log.contains("shut down during start-up"), "{log}");
    assert_eq!(fake.polls(), 0, "/next polled after the signal");
}

/// A task's own calls share the memory too: its pages were read taking
/// nothing from it, all eight (160 MB once read): 180 MB resident in a
/// 128 MB function, now 85 MB, the fourth refused.
#[tokio::test]
async fn a_tasks_pages_share_half_the_memory_once_read() {
    let pages = heavy_pages().await;
    let deadline = deadline_in(Duration::from_secs(30));
    let fake = Fake::start(
        vec![NextAnswer::Bytes(next_answer(
            "task-pages-1",
            deadline,
            "{}",
        ))],
        PostAnswer::Accepted,
    )
    .await;
    let mut function = task_at(&fake, "pages", &[("API_HOST", pages.url.as_str())]).await;
    let (answered, peak_mb) = tokio::join!(
        fake.wait_for_answer("task-pages-1", Duration::from_secs(20)),
        peak_rss_mb(function.id(), Duration::from_secs(4))
    );
    function.stop();
    let answer = fake
        .posts_for("task-pages-1")
        .first()
        .map(|post| String::from_utf8_lossy(&post.body).into_owned())
        .unwrap_or_default();
    assert!(
        answered && answer.contains("would take over 3.9 MB once read") && peak_mb < 112,
        "a task's eight pages of 20 MB once read: {peak_mb} MB resident; the answer: {answer:.300}"
    );
}
