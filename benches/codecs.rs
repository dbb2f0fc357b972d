//! Criterion benchmarks of exh-task's pure codecs, each beside the Python
//! reference doing the same work on the same input, timed in the same run
//! by `tests/conformance/bench_codecs.py`:
//!
//! | bench | exh-task | baseline |
//! | --- | --- | --- |
//! | `oauth1_sign` | `exh::oauth1::authorization` on an RQL `GET` | oauthlib `Client.sign` |
//! | `hexonet_encode` | `hexonet::Command::from_json` + `Protocol::wire_command` + `PostBody::new` | the SDK's flatten + `getPOSTData` (plain and masked) |
//! | `hexonet_parse_{1k,20k,100k}` | `hexonet::parse` of a `QueryDomainList` answer, every record read | the SDK's `Response(text, cmd, cfg)` + `getListHash()` |
//! | `lines_*`, `copy_*` | `memchr` over the same answer's line ends, and a copy of it: the physical limit of a line-oriented parse | none: the machine's own speed |
//! | `event/*` | JSON text → `envelope::open` → `event::Event::parse` | none: the Python example reads no event |
//!
//! Beside the times: each parse's throughput in MB/s next to the `memchr`
//! and copy speed on the same bytes, and its peak heap (a counting global
//! allocator) against the answer's size.
//!
//! Under `cargo test` (no `--bench` argument) criterion runs each bench once
//! as a test and the Python baseline is skipped. See `benches/README.md`.

#[path = "support/domain_list.rs"]
mod domain_list;
#[allow(dead_code)]
#[path = "../tests/support/python.rs"]
mod python;
#[path = "support/ratio.rs"]
mod ratio;
#[path = "support/table.rs"]
mod table;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::Criterion;
use domain_list::domain_list;
use exh_task::config::OAuth1Credentials;
use exh_task::envelope::{self, Opened};
use exh_task::event::Event;
use exh_task::hexonet::{self, Backend, Command, PostBody, Protocol, SocketConfig};
use exh_task::secret::Secret;
use serde_json::{json, Value};
use table::Table;
use url::Url;

/// Criterion's group, also the folder of its results.
const GROUP: &str = "codecs";

/// Time the Python baseline spends on each operation, in seconds.
const PYTHON_BUDGET_S: f64 = 1.0;

/// The `QueryDomainList` answers `hexonet_parse_*` reads: name and rows.
const LISTS: [(&str, usize); 3] = [("1k", 1000), ("20k", 20_000), ("100k", 100_000)];

/// The system allocator, counting the bytes in use and their peak, for the
/// parse's peak memory.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counters only watch.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most heap `f` had in use at once beyond what was in use before it.
fn peak_heap<T>(f: impl FnOnce() -> T) -> usize {
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    drop(black_box(f()));
    PEAK.load(Ordering::Relaxed) - before
}

/// A typical Extra Horizon list call, as the client sends it.
const RQL_URL: &str =
    "https://api.dev.exh-sandbox.extrahorizon.io/users/v1/?select(id,email,firstName)&sort(+email)&limit(50,100)";

const CONSUMER_KEY: &str = "bench-consumer-key";
const CONSUMER_SECRET: &str = "bench-consumer-secret";
const TOKEN: &str = "bench-token";
const TOKEN_SECRET: &str = "bench-token-secret";

const HEXONET_LOGIN: &str = "test.user";
const HEXONET_PASSWORD: &str = "test.passw0rd";
const HEXONET_URL: &str = "https://api-ote.ispapi.net/api/call.cgi";

/// Sample events, read as the runtime hands them over: as text.
const EVENTS: [(&str, &str); 4] = [
    ("direct_rql", include_str!("../events/users-list-rql.json")),
    ("exh_task", include_str!("../events/envelope-exh-task.json")),
    (
        "apigateway_http",
        include_str!("../events/envelope-apigateway-http.json"),
    ),
    ("sqs", include_str!("../events/envelope-sqs.json")),
];

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .output_directory(&criterion_home())
        .configure_from_args();

    // The baseline first, so that the two never share the CPU.
    let baseline = if benchmarking {
        python_baseline()
    } else {
        Value::Null
    };

    let credentials = credentials();
    let url = Url::parse(RQL_URL).expect("a valid URL");
    let command = hexonet_command();
    let socket = socket_config();
    let lists: Vec<(&str, String)> = LISTS
        .iter()
        .map(|(name, rows)| (*name, domain_list(*rows)))
        .collect();

    let mut group = criterion.benchmark_group(GROUP);
    group.bench_function("oauth1_sign", |b| {
        b.iter(|| exh_task::exh::oauth1::authorization("GET", black_box(&url), &credentials))
    });
    group.bench_function("hexonet_encode", |b| {
        b.iter(|| {
            let command = Command::from_json(black_box(&command)).expect("a valid command");
            let command = hexonet_wire(&command);
            PostBody::new(Backend::Hexonet, &socket, Some(&command))
        })
    });
    for (name, text) in &lists {
        group.bench_function(format!("hexonet_parse_{name}"), |b| {
            b.iter(|| read_list(black_box(text)))
        });
        group.bench_function(format!("lines_{name}"), |b| {
            b.iter(|| memchr::memchr_iter(b'\n', black_box(text).as_bytes()).count())
        });
        group.bench_function(format!("copy_{name}"), |b| {
            b.iter(|| black_box(text).as_bytes().to_vec())
        });
    }
    for (name, text) in EVENTS {
        group.bench_function(format!("event_{name}"), |b| {
            b.iter(|| requests_of(black_box(text)))
        });
    }
    group.finish();
    criterion.final_summary();

    if benchmarking {
        report(&criterion_home(), &baseline, &lists);
    }
}

/// What a caller of a list does: the answer parsed, every record read.
/// Returns the records and the bytes of their values, so nothing is skipped.
fn read_list(text: &str) -> (usize, usize) {
    let response = hexonet::parse(text).expect("a valid answer");
    let bytes = (0..response.record_count())
        .flat_map(|i| response.row(i))
        .map(|(_, value)| value.len())
        .sum();
    (response.record_count(), bytes)
}

/// Where criterion keeps its results: `<target>/criterion`, found from this
/// executable (`<target>/release/deps/codecs-…`), so the report reads them
/// whatever `CARGO_TARGET_DIR` is.
fn criterion_home() -> PathBuf {
    std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.parent()?.join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

fn credentials() -> OAuth1Credentials {
    OAuth1Credentials {
        consumer_key: Secret::new(CONSUMER_KEY),
        consumer_secret: Secret::new(CONSUMER_SECRET),
        token: Secret::new(TOKEN),
        token_secret: Secret::new(TOKEN_SECRET),
    }
}

/// A domain registration: scalars, a list, a value to percent-encode.
fn hexonet_command() -> Value {
    json!({
        "COMMAND": "AddDomain",
        "DOMAIN": "example-bench.com",
        "PERIOD": 1,
        "OWNERCONTACT0": "P-ABC123",
        "ADMINCONTACT0": "P-ABC123",
        "TECHCONTACT0": "P-DEF456",
        "BILLINGCONTACT0": "P-DEF456",
        "NAMESERVER": ["ns1.example-dns.net", "ns2.example-dns.net", "ns3.example-dns.org"],
        "AUTH": "a&b c=d/1",
        "X-ACCEPT-WHOIS-TOS": 1
    })
}

fn socket_config() -> SocketConfig<'static> {
    SocketConfig {
        entity: "1234",
        login: HEXONET_LOGIN,
        password: HEXONET_PASSWORD,
        ..Default::default()
    }
}

/// What the handler does to an event before any call: parse the JSON text,
/// open the envelope, read the request(s) inside.
fn requests_of(text: &str) -> usize {
    let event: Value = serde_json::from_str(text).expect("a JSON event");
    let read = |request: Result<Value, exh_task::Error>| {
        request.and_then(|value| Event::parse(&value)).is_ok() as usize
    };
    match envelope::open(event).expect("a known envelope") {
        Opened::Request(value) => read(Ok(value)),
        Opened::Http { request, .. } => read(request),
        Opened::Sqs(records) => records.into_iter().map(|r| read(r.request)).sum(),
    }
}

/// The command as the HEXONET backend sends it (IDN names converted), as the
/// client builds it before the POST body.
fn hexonet_wire(command: &Command) -> Command {
    Protocol::of(Backend::Hexonet)
        .wire_command(command, "")
        .expect("a valid command")
}

/// Runs the Python reference on the same inputs; `{name: {"ns", "baseline"}}`.
fn python_baseline() -> Value {
    let command = hexonet_command();
    let body = PostBody::new(
        Backend::Hexonet,
        &socket_config(),
        Some(&hexonet_wire(
            &Command::from_json(&command).expect("a valid command"),
        )),
    );
    let mut input = json!({
        "budget_s": PYTHON_BUDGET_S,
        "oauth1_sign": {
            "method": "GET", "url": RQL_URL,
            "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET,
            "token": TOKEN, "token_secret": TOKEN_SECRET,
        },
        "hexonet_encode": {
            "command": command, "login": HEXONET_LOGIN, "password": HEXONET_PASSWORD,
            "expected": body.expose(),
        },
    });
    for (name, rows) in LISTS {
        input[format!("hexonet_parse_{name}")] = json!({
            "text": domain_list(rows), "records": rows, "url": HEXONET_URL,
            "command": {"COMMAND": "QueryDomainList", "LIMIT": rows.to_string()},
        });
    }
    eprintln!("Timing the Python reference (about {PYTHON_BUDGET_S} s per operation)…");
    python::run_script("bench_codecs.py", &input, &[])
}

/// The median time per iteration criterion measured for `bench`, in ns.
fn criterion_median(home: &std::path::Path, bench: &str) -> Option<f64> {
    let path = home.join(GROUP).join(bench).join("new/estimates.json");
    let estimates: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

/// The table of this run: exh-task beside its baseline, and the ratio;
/// then each parse's throughput beside the machine's and its peak heap.
/// Printed, and written as Markdown to `<target>/bench/codecs.md` for the
/// report `benches/process.rs` assembles.
fn report(home: &Path, baseline: &Value, lists: &[(&str, String)]) {
    let mut table = Table::default();
    table.heading(
        "codecs: median time per operation, exh-task (criterion) and its baseline (timeit), same run",
        ["operation", "exh-task", "baseline", "ratio"],
    );
    let mut benches: Vec<String> = ["oauth1_sign".to_owned(), "hexonet_encode".to_owned()].into();
    benches.extend(
        LISTS
            .iter()
            .map(|(name, _)| format!("hexonet_parse_{name}")),
    );
    benches.extend(EVENTS.iter().map(|(name, _)| format!("event_{name}")));
    for bench in benches {
        let Some(ours) = criterion_median(home, &bench) else {
            continue; // filtered out on the command line
        };
        let theirs = &baseline[&bench];
        let (reference, ratio) = match theirs["ns"].as_f64() {
            Some(reference) => (
                duration(reference),
                ratio(
                    ours,
                    reference,
                    theirs["baseline"].as_str().unwrap_or("the baseline"),
                ),
            ),
            None if bench.starts_with("event_") => (
                "-".into(),
                "(no baseline: the Python example reads no event)".into(),
            ),
            None => ("-".into(), "(no baseline in this run)".into()),
        };
        table.row([bench, duration(ours), reference, ratio]);
    }

    table.heading(
        "HEXONET parse throughput beside the machine's own speed on the same bytes, and peak heap",
        [
            "answer",
            "parse + records",
            "memchr '\\n'",
            "copy",
            "peak heap / answer",
        ],
    );
    for (name, text) in lists {
        let speed = |bench: &str| {
            criterion_median(home, &format!("{bench}_{name}")).map_or("-".into(), |ns| {
                format!("{:.0} MB/s", text.len() as f64 / ns * 1e3)
            })
        };
        let peak = peak_heap(|| hexonet::parse(text).expect("a valid answer"));
        table.row([
            format!("{name} rows, {:.1} MB", text.len() as f64 / 1e6),
            speed("hexonet_parse"),
            speed("lines"),
            speed("copy"),
            format!(
                "{:.2}× ({:.1} MB)",
                peak as f64 / text.len() as f64,
                peak as f64 / 1e6
            ),
        ]);
    }
    let dir = home.parent().unwrap_or(home).join("bench");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("codecs.md"), table.markdown));
    if let Err(error) = written {
        eprintln!("codecs: could not write {}: {error}", dir.display());
    }
}

/// "exh-task is N× faster than `baseline`" (or slower), from the two times.
fn ratio(ours: f64, reference: f64, baseline: &str) -> String {
    ratio::compare(ours, reference, "is", ("faster", "slower"), baseline)
}

/// `ns` with a readable unit.
fn duration(ns: f64) -> String {
    match ns {
        ns if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{ns:.0} ns"),
    }
}
