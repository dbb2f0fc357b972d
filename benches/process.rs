//! The process-level harness: exh-task's release `bootstrap`, a hello-world
//! `lambda_runtime` function (`benches/hello`, the floor) and the seed's
//! Python handler (`requests_oauthlib.OAuth1Session` → `GET /users/v1/me`,
//! run by `tests/conformance/bench_runtime.py`), each as a Lambda function
//! process under the sandbox's Runtime API emulator, in the same run:
//!
//! - cold start: from spawning the process to its answer to the first `{}`
//!   invocation (queued before the spawn), over fresh processes of each
//!   function in turn; and its init phase alone, from the spawn to the
//!   first invocation handed out (Lambda's Init Duration);
//! - warm invocations: sequential `{}` invocations of one process (after a
//!   few unmeasured ones), per-invocation latency and throughput;
//! - the same cold starts against a Rust stand-in upstream, with a hello
//!   world that makes the same GET beside them: the first call's share;
//!   and, in the same turns, exh-task answering `{"batch": []}`, which
//!   calls nothing: its start-up alone, like for like with the hello world;
//! - exh-task's own work per warm invocation: against a Rust stand-in
//!   upstream that answers at once, invoked in turn with the hello-world
//!   function and a hello world that makes the same GET (`benches/hello-get`);
//! - a 20,000-row HEXONET `QueryDomainList` end to end through `bootstrap`,
//!   against the SDK's `request` + `getListHash` on the same bytes from the
//!   same server (`tests/conformance/bench_hexonet.py`), and the result's
//!   size in each `view`;
//! - every page of a 50-page list from the sandbox with 20 ms injected per
//!   call, against the SDK's sequential `requestAllResponsePages`;
//! - footprint: resident memory after the warm invocations, the shipped
//!   arm64 `bootstrap`'s size.
//!
//! Every call must be answered as expected, or the harness fails: a fast
//! error is not a result. It prints its tables and writes
//! `<target>/bench/report.md` (with the codecs' tables, the machine, and the
//! chart `distributions.svg`). It runs only under `cargo bench`
//! (`--bench`); under `cargo test` it says so and returns at once.
//! See `benches/README.md`.

#[path = "support/chart.rs"]
mod chart;
#[path = "support/domain_list.rs"]
mod domain_list;
#[path = "support/ratio.rs"]
mod ratio;
#[path = "../tests/support/mod.rs"]
mod support;
#[path = "support/table.rs"]
mod table;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::http::header::CONTENT_TYPE;
use axum::routing::{any, get};
use domain_list::domain_list;
use exh_task_sandbox::hexonet::{DOMAIN_COUNT, LOGIN, PASSWORD};
use exh_task_sandbox::runtime_api::{Function, Invocation, RuntimeApi, COLD_START_SETTLE};
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use table::Table;

/// Fresh processes per subject for the cold start, one of each subject in
/// turn (env `EXH_TASK_BENCH_COLD_STARTS`).
const COLD_STARTS: usize = 30;
/// Unmeasured warm invocations before the measured ones.
const WARM_UP: usize = 20;
/// Measured warm invocations per subject (env `EXH_TASK_BENCH_INVOCATIONS`).
const INVOCATIONS: usize = 1000;
/// Bound on every wait: a function that stalls fails the harness, never hangs it.
const BOUND: Duration = Duration::from_secs(30);
/// The path `{}` calls, as the seed does.
const ME: &str = "/users/v1/me";
/// What the stand-in upstream answers for [`ME`].
const STAND_IN_USER: &str = r#"{"id":"bench-user","email":"bench@example.com"}"#;
/// Rows of the HEXONET list read end to end.
const LIST_ROWS: usize = 20_000;
/// Measured list invocations (and SDK calls), after two unmeasured ones.
const LIST_RUNS: usize = 10;
/// `LIMIT` of the paged list: the sandbox's domains in 50 pages.
const PAGE_LIMIT: usize = DOMAIN_COUNT / 50;
/// Waited by the sandbox before each HEXONET answer of the paged list.
const PAGE_LATENCY: Duration = Duration::from_millis(20);
/// Measured all-pages invocations, and SDK runs (each 50 calls one after
/// the other, so about a second).
const PAGE_RUNS: usize = 5;
const PAGE_RUNS_SDK: usize = 3;

/// What a subject's `/response` must be.
#[derive(Clone, Copy)]
enum Answer {
    /// exh-task's result for `{}`: `{"ok": true, "exh": {"status": 200}}`.
    ExhOk,
    /// exh-task's result for `{"batch": []}`, which calls nothing:
    /// `{"ok": true, "batch": []}`.
    EmptyBatch,
    /// The hello world's `{"hello": "world"}`.
    Greeting,
    /// The hello world making the same GET: `{"status": 200}`.
    Fetched,
    /// Anything that is not an error (the seed's handler returns `null`,
    /// it prints the answer).
    Any,
}

/// A Lambda function process to measure.
struct Subject {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    answer: Answer,
    /// Whether each `{}` invocation calls `GET /users/v1/me` on the sandbox.
    calls_upstream: bool,
}

impl Subject {
    /// The event of its cold start: `{"batch": []}` for the subject that
    /// answers it, `{}` for every other.
    fn event(&self) -> Value {
        match self.answer {
            Answer::EmptyBatch => json!({"batch": []}),
            _ => json!({}),
        }
    }
}

/// What was measured of one subject.
struct Measured {
    cold: Vec<Duration>,
    init: Vec<Duration>,
    warm: Vec<Duration>,
    warm_total: Duration,
    /// `VmHWM` and `VmRSS` after the warm invocations, KiB.
    peak_rss_kib: Option<u64>,
    rss_kib: Option<u64>,
}

/// The HEXONET figures: exh-task's times and the SDK's, and the result sizes.
struct Hexonet {
    list_ours: Vec<Duration>,
    list_theirs: Vec<Duration>,
    list_baseline: String,
    answer_bytes: usize,
    /// Per view; none where the bootstrap measured does not know `view`.
    result_bytes: Vec<(&'static str, Option<usize>)>,
    pages_ours: Vec<Duration>,
    pages_theirs: Vec<Duration>,
    pages_baseline: String,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benchmarking =
        args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list");
    if !benchmarking {
        println!("process harness: skipped (it runs under `cargo bench` / `make bench`)");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run());
}

async fn run() {
    let cold_starts = count_from_env("EXH_TASK_BENCH_COLD_STARTS", COLD_STARTS);
    let invocations = count_from_env("EXH_TASK_BENCH_INVOCATIONS", INVOCATIONS);
    let machine = machine();
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("the sandbox starts on 127.0.0.1");
    // Only the Extra Horizon side, as the seed: the same variables for all.
    let env = sandbox.exh_env();

    let bootstrap = bootstrap();
    let python = support::python::python();
    let rust = Subject {
        name: "exh-task".into(),
        program: bootstrap.clone(),
        args: Vec::new(),
        answer: Answer::ExhOk,
        calls_upstream: true,
    };
    let hello = hello().map(|program| Subject {
        name: "hello world".into(),
        program,
        args: Vec::new(),
        answer: Answer::Greeting,
        calls_upstream: false,
    });
    let seed = Subject {
        name: "Python seed".into(),
        program: python.clone(),
        args: vec![script("bench_runtime.py").display().to_string()],
        answer: Answer::Any,
        calls_upstream: true,
    };

    println!(
        "process harness: {cold_starts} cold starts and {WARM_UP} + {invocations} warm `{{}}` \
         invocations per function, on the loopback sandbox"
    );
    println!("  exh-task: {}", bootstrap.display());
    match &hello {
        Some(hello) => println!("  floor: {}", hello.program.display()),
        None => println!("  floor: none (build benches/hello: `make bench` does)"),
    }
    println!(
        "  baseline: the seed's handler (requests_oauthlib.OAuth1Session → GET {ME}) \
         under a Python Runtime API loop, Python {} ({})",
        python_version(&python),
        python.display()
    );
    // The two Rust functions in turn; the seed on its own, as its
    // processes (over 100 ms to start, four times exh-task's memory) would
    // weigh on whichever function came after them.
    let rust_functions: Vec<&Subject> = [Some(&rust), hello.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    let mut measured = measure(&rust_functions, &sandbox, &env, cold_starts, invocations)
        .await
        .into_iter();
    let ours = measured.next().expect("exh-task measured");
    let floor = measured.next();
    let theirs = measure(&[&seed], &sandbox, &env, cold_starts, invocations)
        .await
        .pop()
        .expect("the seed measured");

    let stand_in = StandIn::start(domain_list(LIST_ROWS)).await;
    let hello_get = hello_get().map(|program| Subject {
        name: "hello world making the same GET".into(),
        program,
        args: Vec::new(),
        answer: Answer::Fetched,
        calls_upstream: true,
    });
    let (hello, hello_get) = (hello.as_ref(), hello_get.as_ref());
    let own_work = own_work(&rust, hello, hello_get, &stand_in, &env, invocations).await;
    let first_call = first_call(&rust, hello, hello_get, &stand_in, &env, cold_starts).await;
    let hexonet = hexonet(&bootstrap, &stand_in, &sandbox).await;

    let binary = std::fs::metadata(&bootstrap)
        .expect("the bootstrap binary")
        .len();
    let packages = python_package_size(&python);
    let mut table = Table::default();
    report(
        &mut table,
        &Report {
            baseline: &seed.name,
            ours: &ours,
            floor: floor.as_ref(),
            theirs: &theirs,
            own_work: &own_work,
            first_call: first_call.as_ref(),
            hexonet: &hexonet,
            binary,
            arm64: arm64_bootstrap(),
            packages,
        },
    );
    let mut series = vec![chart::Series {
        name: &rust.name,
        cold: &ours.cold,
        warm: &ours.warm,
    }];
    if let (Some(hello), Some(floor)) = (&hello, &floor) {
        series.push(chart::Series {
            name: &hello.name,
            cold: &floor.cold,
            warm: &floor.warm,
        });
    }
    series.push(chart::Series {
        name: &seed.name,
        cold: &theirs.cold,
        warm: &theirs.warm,
    });
    write_report(&machine, &table.markdown, &series);
}

/// Cold starts of every subject ([`cold_starts_in_turn`]), then each
/// subject's warm invocations and the memory of its last process; in
/// `subjects`' order.
async fn measure(
    subjects: &[&Subject],
    sandbox: &Sandbox,
    env: &[(&'static str, String)],
    cold_starts: usize,
    invocations: usize,
) -> Vec<Measured> {
    eprintln!(
        "measuring {} cold starts of each function, in turn…",
        cold_starts
    );
    sandbox.clear_recorded_requests();
    let (cold, last) = cold_starts_in_turn(subjects, env, cold_starts).await;

    let mut measured = Vec::with_capacity(subjects.len());
    for ((subject, ColdStarts { init, answered }), (runtime, mut function)) in
        subjects.iter().zip(cold).zip(last)
    {
        eprintln!("measuring {} warm…", subject.name);
        let (warm, warm_total) = warm(&runtime, &function, json!({}), invocations, |invocation| {
            check(subject, invocation, &function)
        })
        .await;
        let (peak_rss_kib, rss_kib) = (
            memory_kib(function.id(), "VmHWM"),
            memory_kib(function.id(), "VmRSS"),
        );
        function.stop();
        runtime.assert_no_rejections();
        measured.push(Measured {
            cold: answered,
            init,
            warm,
            warm_total,
            peak_rss_kib,
            rss_kib,
        });
    }

    let callers = subjects.iter().filter(|s| s.calls_upstream).count();
    let calls = callers * (cold_starts + WARM_UP + invocations);
    let recorded = sandbox.recorded_requests();
    let answered = recorded
        .iter()
        .filter(|r| r.method == "GET" && r.target == ME && r.status == 200)
        .count();
    assert!(
        answered == calls && recorded.len() == calls,
        "{calls} upstream calls expected ({callers} functions calling), but the sandbox \
         answered {answered} of {} requests with 200 (statuses: {:?})",
        recorded.len(),
        recorded.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    measured
}

/// A subject's cold starts: from each spawn to the first invocation handed
/// out (the init phase: Lambda's Init Duration runs to the first `/next`
/// answered) and to the emulator's receipt of its answer.
#[derive(Clone, Default)]
struct ColdStarts {
    init: Vec<Duration>,
    answered: Vec<Duration>,
}

/// `count` cold starts of each of `subjects` with `env`, one of each in
/// turn, each round starting with the next subject, so that the machine's
/// drift weighs on all alike, and each one [`COLD_START_SETTLE`] after the
/// last; and
/// each subject's last process, still running, with its emulator.
async fn cold_starts_in_turn(
    subjects: &[&Subject],
    env: &[(&'static str, String)],
    count: usize,
) -> (Vec<ColdStarts>, Vec<(RuntimeApi, Function)>) {
    let mut cold = vec![ColdStarts::default(); subjects.len()];
    let mut last: Vec<_> = subjects.iter().map(|_| None).collect();
    for round in 0..count {
        for at in in_turn(round, subjects.len()) {
            // Each process gets its own emulator: a killed process's pending
            // `/next` must not take the next process's first invocation.
            let runtime = RuntimeApi::start().await;
            let (mut function, init, answered) = cold_start(subjects[at], &runtime, env).await;
            cold[at].init.push(init);
            cold[at].answered.push(answered);
            if round + 1 == count {
                last[at] = Some((runtime, function));
            } else {
                function.stop();
                drop(runtime);
                tokio::time::sleep(COLD_START_SETTLE).await;
            }
        }
    }
    let last = last
        .into_iter()
        .map(|process| process.expect("a last process"))
        .collect();
    (cold, last)
}

/// The order of `count` subjects in round `round`: all of them, starting
/// with the next one each round, so that none always comes first.
fn in_turn(round: usize, count: usize) -> impl Iterator<Item = usize> {
    (0..count).map(move |turn| (round + turn) % count)
}

/// [`WARM_UP`] unmeasured invocations of `event`, then `count` measured
/// ones, each checked; their latencies and the total time.
async fn warm(
    runtime: &RuntimeApi,
    function: &Function,
    event: Value,
    count: usize,
    mut check: impl FnMut(Invocation),
) -> (Vec<Duration>, Duration) {
    for _ in 0..WARM_UP {
        check(invoke(runtime, function, event.clone()).await);
    }
    let mut times = Vec::with_capacity(count);
    let started = Instant::now();
    for _ in 0..count {
        let start = Instant::now();
        let invocation = invoke(runtime, function, event.clone()).await;
        times.push(took(start, &invocation));
        check(invocation);
    }
    (times, started.elapsed())
}

/// From `start` to the moment the emulator had the whole answer: the
/// emulator's decoding of it (a 5 MB JSON result takes a while) is not the
/// function's time.
fn took(start: Instant, invocation: &Invocation) -> Duration {
    invocation.answered_at.saturating_duration_since(start)
}

/// One invocation, or the harness fails showing the function's stderr.
async fn invoke(runtime: &RuntimeApi, function: &Function, event: Value) -> Invocation {
    runtime
        .try_invoke(event, BOUND)
        .await
        .unwrap_or_else(|error| panic!("no answer: {error}\n{}", function.stderr()))
}

/// Spawns the subject with its [`Subject::event`] already queued; returns it, the time to
/// the end of its init phase (the invocation handed out) and the time to
/// its first answer.
async fn cold_start(
    subject: &Subject,
    runtime: &RuntimeApi,
    env: &[(&'static str, String)],
) -> (Function, Duration, Duration) {
    let pending = runtime.submit(subject.event());
    let start = Instant::now();
    let function = spawn(subject, runtime, env);
    let invocation = pending.wait(BOUND).await.unwrap_or_else(|error| {
        panic!(
            "{}: no first answer: {error}\n{}",
            subject.name,
            function.stderr()
        )
    });
    let init = invocation.delivered_at.saturating_duration_since(start);
    let answered = took(start, &invocation);
    check(subject, invocation, &function);
    (function, init, answered)
}

/// The subject's process, with its arguments and `env`, under `runtime`.
fn spawn(subject: &Subject, runtime: &RuntimeApi, env: &[(&'static str, String)]) -> Function {
    subject
        .args
        .iter()
        .fold(Function::builder(&subject.program, runtime), |f, arg| {
            f.arg(arg.as_str())
        })
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .spawn()
}

/// Fails the harness unless the invocation succeeded with the subject's
/// [`Answer`].
#[track_caller]
fn check(subject: &Subject, invocation: Invocation, function: &Function) {
    if invocation.is_error() {
        panic!(
            "{}: the invocation failed: {}\n{}",
            subject.name,
            invocation.body,
            function.stderr()
        );
    }
    let expected: fn(&Value) -> bool = match subject.answer {
        Answer::Any => return,
        Answer::ExhOk => |result| result["ok"] == true && result["exh"]["status"] == 200,
        Answer::EmptyBatch => |result| result["ok"] == true && result["batch"] == json!([]),
        Answer::Greeting => |result| result["hello"] == "world",
        Answer::Fetched => |result| result["status"] == 200,
    };
    let result = invocation.expect_response();
    assert!(expected(&result), "{}: {result}", subject.name);
}

/// A Rust upstream that answers at once, so that neither a Python server
/// nor the sandbox's own checks weigh on exh-task's figures: `GET
/// /users/v1/me` gets [`STAND_IN_USER`], `call.cgi` a fixed HEXONET list.
struct StandIn {
    url: String,
    list_bytes: usize,
    server: tokio::task::JoinHandle<()>,
}

impl StandIn {
    async fn start(list: String) -> StandIn {
        let list_bytes = list.len();
        let list = axum::body::Bytes::from(list);
        let app = axum::Router::new()
            .route(
                ME,
                get(|| async { ([(CONTENT_TYPE, "application/json")], STAND_IN_USER) }),
            )
            .route(
                "/api/call.cgi",
                // The request is read to its end first: a connection closed
                // with unread bytes is reset, and the client may lose the
                // answer with it.
                any(move |_request: axum::body::Bytes| {
                    let list = list.clone();
                    async move { ([(CONTENT_TYPE, "text/plain")], list) }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the stand-in serves");
        });
        StandIn {
            url,
            list_bytes,
            server,
        }
    }

    fn hexonet_url(&self) -> String {
        format!("{}/api/call.cgi", self.url)
    }

    /// `env` pointed at this stand-in for both sides.
    fn env(&self, env: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
        let mut env: Vec<_> = env
            .iter()
            .filter(|(name, _)| *name != "API_HOST")
            .cloned()
            .collect();
        env.extend([
            ("API_HOST", self.url.clone()),
            ("HEXONET_URL", self.hexonet_url()),
            ("HEXONET_LOGIN", LOGIN.to_owned()),
            ("HEXONET_PASSWORD", PASSWORD.to_owned()),
            ("HEXONET_SYSTEM", "ote".to_owned()),
        ]);
        env
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Warm `{}` invocations against the stand-in, paired: exh-task, the hello
/// world and the hello world that makes the same GET, invoked in turn.
struct OwnWork {
    ours: Vec<Duration>,
    hello: Option<Vec<Duration>>,
    hello_get: Option<Vec<Duration>>,
}

/// [`OwnWork`]: [`WARM_UP`] unmeasured rounds, then `invocations` measured
/// ones; in each round every function answers one `{}` before the next is
/// invoked (each round starting with the next function, as the cold starts
/// do), so that the machine's drift weighs on all alike.
async fn own_work(
    rust: &Subject,
    hello: Option<&Subject>,
    hello_get: Option<&Subject>,
    stand_in: &StandIn,
    env: &[(&'static str, String)],
    invocations: usize,
) -> OwnWork {
    eprintln!("measuring exh-task and the hello worlds against the Rust stand-in, in turn…");
    let env = stand_in.env(env);
    let subjects: Vec<&Subject> = [Some(rust), hello, hello_get]
        .into_iter()
        .flatten()
        .collect();
    let mut running = Vec::new();
    for subject in &subjects {
        let runtime = RuntimeApi::start().await;
        let function = spawn(subject, &runtime, &env);
        running.push((runtime, function, Vec::with_capacity(invocations)));
    }
    for round in 0..WARM_UP + invocations {
        for at in in_turn(round, subjects.len()) {
            let (runtime, function, times) = &mut running[at];
            let start = Instant::now();
            let invocation = invoke(runtime, function, json!({})).await;
            if round >= WARM_UP {
                times.push(took(start, &invocation));
            }
            check(subjects[at], invocation, function);
        }
    }
    let mut measured = running.into_iter().map(|(_runtime, mut function, times)| {
        function.stop();
        times
    });
    OwnWork {
        ours: measured.next().expect("exh-task measured"),
        hello: hello.and_then(|_| measured.next()),
        hello_get: hello_get.and_then(|_| measured.next()),
    }
}

/// Cold starts against the stand-in, in turn: exh-task, the hello world,
/// the hello world making the same GET, and exh-task answering an event
/// that calls nothing.
struct FirstCall {
    ours: ColdStarts,
    hello: ColdStarts,
    hello_get: ColdStarts,
    /// exh-task answering `{"batch": []}`: its start-up, like for like
    /// with the hello world, which calls nothing either.
    start_up: ColdStarts,
}

/// [`FirstCall`]: `count` cold starts of each against the stand-in, which
/// shows how much of a cold start is the first upstream call (a new
/// connection and a GET) that any function calling an API pays, and what
/// is left without it. None without the two hello worlds.
async fn first_call(
    rust: &Subject,
    hello: Option<&Subject>,
    hello_get: Option<&Subject>,
    stand_in: &StandIn,
    env: &[(&'static str, String)],
    count: usize,
) -> Option<FirstCall> {
    eprintln!(
        "measuring {count} cold starts of exh-task (`{{}}` and an empty batch) and both hello \
         worlds against the stand-in, in turn…"
    );
    let start_up = Subject {
        name: "exh-task answering an empty batch".into(),
        program: rust.program.clone(),
        args: rust.args.clone(),
        answer: Answer::EmptyBatch,
        calls_upstream: false,
    };
    let subjects = [rust, hello?, hello_get?, &start_up];
    let (cold, last) = cold_starts_in_turn(&subjects, &stand_in.env(env), count).await;
    for (_runtime, mut function) in last {
        function.stop();
    }
    let [ours, hello, hello_get, start_up]: [ColdStarts; 4] = cold.try_into().ok()?;
    Some(FirstCall {
        ours,
        hello,
        hello_get,
        start_up,
    })
}

/// The HEXONET list end to end and the paged list, each beside the SDK.
async fn hexonet(bootstrap: &Path, stand_in: &StandIn, sandbox: &Sandbox) -> Hexonet {
    eprintln!("measuring a {LIST_ROWS}-row HEXONET list through exh-task and the SDK…");
    let list = |view: Option<&str>| {
        let mut event =
            json!({"hexonet": {"command": {"COMMAND": "QueryDomainList", "LIMIT": LIST_ROWS}}});
        if let Some(view) = view {
            event["hexonet"]["view"] = view.into();
        }
        event
    };
    let runtime = RuntimeApi::start().await;
    let mut function = Function::builder(bootstrap, &runtime)
        .envs(stand_in.env(&[]))
        .spawn();
    let mut result_bytes = Vec::new();
    for view in ["both", "records", "properties"] {
        let invocation = invoke(&runtime, &function, list(Some(view))).await;
        // An older bootstrap, measured for comparison, may not know `view`.
        if invocation.is_error() && invocation.body.contains("unknown field `view`") {
            result_bytes.push((view, None));
            continue;
        }
        result_bytes.push((view, Some(invocation.body.len())));
        let result = invocation.expect_response();
        assert_eq!(
            result["hexonet"]["pagination"]["count"], LIST_ROWS,
            "{view}"
        );
    }
    let list_ours = timed(&runtime, &function, list(None), LIST_RUNS, LIST_ROWS).await;
    function.stop();
    let sdk = |url: String, command: Value, all_pages: bool, runs: usize, records: usize| {
        let input = json!({"url": url, "login": LOGIN, "password": PASSWORD, "command": command,
                           "all_pages": all_pages, "runs": runs, "records": records});
        support::python::run_script_async("bench_hexonet.py", input, Vec::new())
    };
    let theirs = sdk(
        stand_in.hexonet_url(),
        json!({"COMMAND": "QueryDomainList", "LIMIT": LIST_ROWS}),
        false,
        LIST_RUNS,
        LIST_ROWS,
    )
    .await;

    eprintln!(
        "measuring every page of a {}-page list, {} ms per call, through exh-task and the SDK…",
        DOMAIN_COUNT / PAGE_LIMIT,
        PAGE_LATENCY.as_millis()
    );
    sandbox.set_hexonet_latency(PAGE_LATENCY);
    let pages = json!({"hexonet": {"command": {"COMMAND": "QueryDomainList", "LIMIT": PAGE_LIMIT},
                                   "all_pages": true}});
    let runtime = RuntimeApi::start().await;
    let mut function = Function::builder(bootstrap, &runtime)
        .envs(sandbox.env())
        .spawn();
    let pages_ours = timed(&runtime, &function, pages, PAGE_RUNS, DOMAIN_COUNT).await;
    function.stop();
    let pages_theirs = sdk(
        sandbox.hexonet_url(),
        json!({"COMMAND": "QueryDomainList", "LIMIT": PAGE_LIMIT}),
        true,
        PAGE_RUNS_SDK,
        DOMAIN_COUNT,
    )
    .await;
    sandbox.set_hexonet_latency(Duration::ZERO);
    Hexonet {
        list_ours,
        list_theirs: seconds(&theirs),
        list_baseline: theirs["baseline"].as_str().unwrap_or("the SDK").to_owned(),
        answer_bytes: stand_in.list_bytes,
        result_bytes,
        pages_ours,
        pages_theirs: seconds(&pages_theirs),
        pages_baseline: pages_theirs["baseline"]
            .as_str()
            .unwrap_or("the SDK")
            .to_owned(),
    }
}

/// One unmeasured invocation of a HEXONET list `event` (it also opens the
/// connections), then `runs` measured ones, each checked to hold `records`.
async fn timed(
    runtime: &RuntimeApi,
    function: &Function,
    event: Value,
    runs: usize,
    records: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(runs);
    for run in 0..=runs {
        let start = Instant::now();
        let invocation = invoke(runtime, function, event.clone()).await;
        if run > 0 {
            times.push(took(start, &invocation));
        }
        let result = invocation.expect_response();
        let listed = result["hexonet"]["records"].as_array().map(Vec::len);
        assert_eq!(
            listed,
            Some(records),
            "{event}: the records through exh-task"
        );
    }
    times
}

fn seconds(sdk: &Value) -> Vec<Duration> {
    sdk["seconds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .map(Duration::from_secs_f64)
        .collect()
}

/// `VmHWM` (peak resident set) or `VmRSS` of a running process, in KiB.
fn memory_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The `bootstrap` to measure: `EXH_TASK_BENCH_BOOTSTRAP` (`make bench` sets
/// it to the release build without the sandbox feature, as shipped), else
/// the one cargo built for this bench.
fn bootstrap() -> PathBuf {
    std::env::var_os("EXH_TASK_BENCH_BOOTSTRAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")))
}

/// The hello-world function: `EXH_TASK_BENCH_HELLO` (`make bench` builds
/// it), else a release build of it in the workspace's target, if any.
fn hello() -> Option<PathBuf> {
    floor("EXH_TASK_BENCH_HELLO", "hello")
}

/// The hello world that makes one GET per invocation, found as [`hello`]
/// is (`EXH_TASK_BENCH_HELLO_GET`).
fn hello_get() -> Option<PathBuf> {
    floor("EXH_TASK_BENCH_HELLO_GET", "hello-get")
}

/// The binary the variable `name` gives, else `binary` beside the
/// `bootstrap` measured, if it exists.
fn floor(name: &str, binary: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .or_else(|| Some(bootstrap().parent()?.join(binary)))
        .filter(|path| path.exists())
}

/// The shipped arm64 `bootstrap` (`EXH_TASK_BENCH_ARM64`; `make bench` has
/// cargo-lambda build it as `make build` does) and its size, if it is an
/// arm64 ELF file.
fn arm64_bootstrap() -> Option<(PathBuf, u64)> {
    let path = PathBuf::from(std::env::var_os("EXH_TASK_BENCH_ARM64")?);
    let bytes = std::fs::read(&path).ok()?;
    // ELF, e_machine (offset 18, little-endian) 183: AArch64.
    let arm64 = bytes.starts_with(b"\x7fELF") && bytes.get(18..20) == Some(&[183, 0][..]);
    arm64.then_some((path, bytes.len() as u64))
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(name)
}

fn count_from_env(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or_else(|| panic!("{name}={value}: expected a positive count")),
        Err(_) => default,
    }
}

fn python_version(python: &Path) -> String {
    let output = std::process::Command::new(python)
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .expect("Python runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Bytes of requests-oauthlib and what it requires, as installed.
fn python_package_size(python: &Path) -> Option<u64> {
    let output = std::process::Command::new(python)
        .arg(script("bench_runtime.py"))
        .arg("--package-size")
        .output()
        .ok()?;
    let size: Value = serde_json::from_slice(&output.stdout).ok()?;
    size["bytes"].as_u64()
}

/// Everything [`report`] tabulates.
struct Report<'a> {
    baseline: &'a str,
    ours: &'a Measured,
    floor: Option<&'a Measured>,
    theirs: &'a Measured,
    own_work: &'a OwnWork,
    first_call: Option<&'a FirstCall>,
    hexonet: &'a Hexonet,
    binary: u64,
    arm64: Option<(PathBuf, u64)>,
    packages: Option<u64>,
}

/// Which of a subject's samples a row is about.
type Samples<T> = dyn Fn(&T) -> &[Duration];

fn report(table: &mut Table, r: &Report<'_>) {
    let (ours, theirs, baseline) = (r.ours, r.theirs, r.baseline);
    table.heading(
        "process harness, same run (ratios are the targets; absolute times vary by machine)",
        ["", "exh-task", "hello world", baseline, "ratio"],
    );
    let floor_cell = |f: &dyn Fn(&Measured) -> String| r.floor.map_or("-".into(), f);
    // `rounds`: the samples of a row whose exh-task and hello-world ones
    // were taken in turn, for the ratio per round beside that of the medians.
    let time_row = |table: &mut Table,
                    what: String,
                    of: &dyn Fn(&Measured) -> Duration,
                    rounds: Option<&Samples<Measured>>| {
        let mut ratio = faster(of(ours), of(theirs), baseline);
        if let Some(floor) = r.floor {
            ratio.push_str(&format!(
                "; {:.2}× the hello world's",
                times(of(ours), of(floor))
            ));
            if let Some(rounds) = rounds {
                ratio.push_str(&per_round_note(rounds(ours), rounds(floor)));
            }
        }
        table.row([
            what,
            millis(of(ours)),
            floor_cell(&|m| millis(of(m))),
            millis(of(theirs)),
            ratio,
        ]);
    };
    time_row(
        table,
        format!(
            "cold start, median of {} (exh-task and the hello world in turn, the seed alone)",
            ours.cold.len()
        ),
        &|m| median(&m.cold),
        Some(&|m| &m.cold),
    );
    time_row(
        table,
        "cold start, p90".into(),
        &|m| percentile(&m.cold, 90),
        None,
    );
    time_row(
        table,
        "of which the init phase (to the first invocation handed out: Lambda's Init \
         Duration), median"
            .into(),
        &|m| median(&m.init),
        Some(&|m| &m.init),
    );
    if let Some(first) = r.first_call {
        let mut stand_in_row = |what: String, rounds: &Samples<ColdStarts>, share| {
            let of = |cold: &ColdStarts| median(rounds(cold));
            let (ours, hello, hello_get) =
                (of(&first.ours), of(&first.hello), of(&first.hello_get));
            table.row([
                what,
                millis(ours),
                millis(hello),
                "-".into(),
                format!(
                    "{:.2}× the hello world's{}; {:.2}× a hello world making the same GET ({}), \
                     which is itself {:.2}× the hello world's{share}",
                    times(ours, hello),
                    per_round_note(rounds(&first.ours), rounds(&first.hello)),
                    times(ours, hello_get),
                    millis(hello_get),
                    times(hello_get, hello)
                ),
            ]);
        };
        stand_in_row(
            format!(
                "cold start against the Rust stand-in, median of {} in turn",
                first.ours.answered.len()
            ),
            &|cold| &cold.answered,
            ": the first call's share",
        );
        stand_in_row(
            "of which the init phase, median".into(),
            &|cold| &cold.init,
            "",
        );
        let (start_up, hello) = (&first.start_up.answered, &first.hello.answered);
        table.row([
            "start-up alone: cold start answering `{\"batch\": []}` (no upstream call, as the \
             hello world makes none), median, in the same turns"
                .into(),
            millis(median(start_up)),
            millis(median(hello)),
            "-".into(),
            format!(
                "{:.2}× the hello world's{}",
                times(median(start_up), median(hello)),
                per_round_note(start_up, hello)
            ),
        ]);
    }
    time_row(
        table,
        "warm invocation, median".into(),
        &|m| median(&m.warm),
        None,
    );
    time_row(
        table,
        "warm invocation, p99".into(),
        &|m| percentile(&m.warm, 99),
        None,
    );
    let rate = |m: &Measured| m.warm.len() as f64 / m.warm_total.as_secs_f64();
    table.row([
        format!("throughput, {} sequential", ours.warm.len()),
        format!("{:.0}/s", rate(ours)),
        floor_cell(&|m| format!("{:.0}/s", rate(m))),
        format!("{:.0}/s", rate(theirs)),
        format!(
            "exh-task does {:.1}× the invocations per second",
            rate(ours) / rate(theirs)
        ),
    ]);
    let kib = |value: Option<u64>| value.map_or("-".into(), |kib| mebibytes(kib * 1024));
    if let (Some(ours_rss), Some(theirs_rss)) = (ours.peak_rss_kib, theirs.peak_rss_kib) {
        table.row([
            "peak RSS (VmHWM)".into(),
            kib(Some(ours_rss)),
            floor_cell(&|m| kib(m.peak_rss_kib)),
            kib(Some(theirs_rss)),
            less_memory(ours_rss as f64, theirs_rss as f64, baseline),
        ]);
    }
    table.row([
        format!("RSS after {} warm invocations", ours.warm.len() + WARM_UP),
        kib(ours.rss_kib),
        floor_cell(&|m| kib(m.rss_kib)),
        kib(theirs.rss_kib),
        String::new(),
    ]);
    let own = &r.own_work;
    let (ours_warm, hello_warm) = (median(&own.ours), own.hello.as_deref().map(median));
    let hello_get_warm = own.hello_get.as_deref().map(median);
    let mut above = Vec::new();
    if let Some(hello_get) = hello_get_warm {
        above.push(format!(
            "exh-task's own work: {} per invocation above a hello world making the same \
             plain GET ({})",
            micros(ours_warm.saturating_sub(hello_get)),
            micros(hello_get)
        ));
    }
    if let Some(hello) = hello_warm {
        above.push(format!(
            "{} above the hello world's (one GET over loopback included{})",
            micros(ours_warm.saturating_sub(hello)),
            hello_get_warm.map_or(String::new(), |hello_get| format!(
                ", which costs the hello world {}",
                micros(hello_get.saturating_sub(hello))
            ))
        ));
    }
    table.row([
        format!(
            "warm `{{}}` against a Rust stand-in upstream, median of {} in turn",
            own.ours.len()
        ),
        micros(ours_warm),
        hello_warm.map_or("-".into(), micros),
        "-".into(),
        above.join("; "),
    ]);
    match r.packages {
        Some(packages) => table.row([
            "deployed code, uncompressed (this machine's bootstrap)".into(),
            mebibytes(r.binary),
            "-".into(),
            mebibytes(packages),
            format!(
                "the bootstrap is {:.1}× the size of requests-oauthlib and its \
                 requirements (the interpreter comes with the Python runtime)",
                r.binary as f64 / packages as f64
            ),
        ]),
        None => table.row([
            "bootstrap binary (this machine's)".into(),
            mebibytes(r.binary),
            "-".into(),
            "-".into(),
            String::new(),
        ]),
    }
    table.row([
        "shipped arm64 bootstrap (cargo lambda build --release --arm64)".into(),
        r.arm64
            .as_ref()
            .map_or("not built".into(), |(_, size)| mebibytes(*size)),
        "-".into(),
        "-".into(),
        r.arm64.as_ref().map_or(
            "run `make bench` (it builds it) or set EXH_TASK_BENCH_ARM64".into(),
            |(path, _)| path.display().to_string(),
        ),
    ]);

    let h = r.hexonet;
    table.heading(
        "HEXONET, same run: exh-task's bootstrap under the Runtime API emulator, the SDK in one warm Python process",
        ["", "exh-task", "SDK", "ratio"],
    );
    let (list_ours, list_theirs) = (median(&h.list_ours), median(&h.list_theirs));
    table.row([
        format!(
            "{LIST_ROWS}-row QueryDomainList ({:.1} MB answer) end to end, median of {}",
            h.answer_bytes as f64 / 1e6,
            h.list_ours.len()
        ),
        millis(list_ours),
        millis(list_theirs),
        faster(list_ours, list_theirs, &h.list_baseline),
    ]);
    let (pages_ours, pages_theirs) = (median(&h.pages_ours), median(&h.pages_theirs));
    table.row([
        format!(
            "all {} pages of LIMIT {PAGE_LIMIT}, {} ms per call, median",
            DOMAIN_COUNT / PAGE_LIMIT,
            PAGE_LATENCY.as_millis()
        ),
        millis(pages_ours),
        millis(pages_theirs),
        faster(pages_ours, pages_theirs, &h.pages_baseline),
    ]);
    for (view, bytes) in &h.result_bytes {
        let (size, share) = match bytes {
            Some(bytes) => (
                format!("{:.2} MB", *bytes as f64 / 1e6),
                format!(
                    "{:.0} % of Lambda's 6 MB answer",
                    *bytes as f64 / (6.0 * 1024.0 * 1024.0) * 100.0
                ),
            ),
            None => ("-".into(), "this bootstrap has no \"view\"".into()),
        };
        table.row([
            format!("result of the {LIST_ROWS}-row list, \"view\": \"{view}\""),
            size,
            "-".into(),
            share,
        ]);
    }
}

/// What this run ran on, for the report's reader.
fn machine() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU".into(), |(_, name)| name.trim().to_owned());
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("?".into(), |kib| {
            format!("{:.0} GiB", kib / 1024.0 / 1024.0)
        });
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let run = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    format!(
        "{} UTC, commit {}; {cpu}, {cores} cores, {memory}, Linux {}; load average at the start: {}",
        run("date", &["-u", "+%Y-%m-%d %H:%M"]),
        run("git", &["rev-parse", "--short", "HEAD"]),
        read("/proc/sys/kernel/osrelease").trim(),
        read("/proc/loadavg")
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// `<target>/bench/report.md`: the machine, the codecs' tables (written by
/// `benches/codecs.rs` to `codecs.md`, when it ran first), this harness's
/// tables, and the chart beside it.
fn write_report(machine: &str, tables: &str, series: &[chart::Series<'_>]) {
    let dir = bootstrap()
        .parent()
        .filter(|dir| dir.ends_with("bench"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench"));
    std::fs::create_dir_all(&dir).expect("the report's folder");
    let chart = dir.join("distributions.svg");
    let drawn = chart::distributions(&chart, series);
    if let Err(error) = &drawn {
        eprintln!("the chart could not be drawn: {error}");
    }
    let codecs = std::fs::read_to_string(dir.join("codecs.md")).unwrap_or_else(|_| {
        "\n(no codecs tables: run `make bench`, which runs `benches/codecs.rs` first)\n".into()
    });
    let mut report = format!(
        "# exh-task benchmarks\n\nMachine: {machine}.\n\n\
         Every ratio compares figures measured in the same run, on the same machine; \
         absolute times move with the machine's load, the ratios much less \
         (see benches/README.md).\n\n## Codecs\n{codecs}\n## Functions\n{tables}\n"
    );
    if drawn.is_ok() {
        report.push_str(
            "\n![Cold-start and warm-latency distributions of exh-task, the hello-world \
             function and the Python seed](distributions.svg)\n",
        );
    }
    let path = dir.join("report.md");
    std::fs::write(&path, report).expect("the report is written");
    println!("\nreport: {}", path.display());
}

/// ` (per round: 1.52×)`: the median over the rounds of exh-task's time
/// over the hello world's in the same round. Taken in the same round, a
/// pair shares the machine's state of the moment more than two medians
/// do. Empty unless both have one sample per round.
fn per_round_note(ours: &[Duration], floor: &[Duration]) -> String {
    if ours.is_empty() || ours.len() != floor.len() {
        return String::new();
    }
    let mut ratios: Vec<f64> = ours
        .iter()
        .zip(floor)
        .map(|(&ours, &floor)| times(ours, floor))
        .collect();
    ratios.sort_by(f64::total_cmp);
    format!(" (per round: {:.2}×)", ratios[rank(ratios.len(), 50)])
}

/// `a` as a multiple of `b`.
fn times(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn median(times: &[Duration]) -> Duration {
    percentile(times, 50)
}

/// The nearest-rank percentile.
fn percentile(times: &[Duration], p: usize) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[rank(sorted.len(), p)]
}

/// Where the nearest-rank `p`th percentile of `len` sorted samples is.
fn rank(len: usize, p: usize) -> usize {
    (p * len).div_ceil(100).max(1) - 1
}

fn faster(ours: Duration, theirs: Duration, baseline: &str) -> String {
    let baseline = format!("the {baseline}");
    ratio::compare(
        ours.as_secs_f64(),
        theirs.as_secs_f64(),
        "is",
        ("faster", "slower"),
        &baseline,
    )
}

fn less_memory(ours: f64, theirs: f64, baseline: &str) -> String {
    let baseline = format!("the {baseline}");
    ratio::compare(
        ours,
        theirs,
        "needs",
        ("less memory", "more memory"),
        &baseline,
    )
}

fn millis(time: Duration) -> String {
    format!("{:.2} ms", time.as_secs_f64() * 1e3)
}

fn micros(time: Duration) -> String {
    format!("{:.0} µs", time.as_secs_f64() * 1e6)
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
