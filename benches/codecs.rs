//! Criterion benchmarks of exh-task's pure codecs, each beside the Python
//! reference doing the same work on the same input, timed in the same run
//! by `tests/conformance/bench_codecs.py`:
//!
//! | bench | exh-task | baseline |
//! | --- | --- | --- |
//! | `oauth1_sign` | `exh::oauth1::authorization` on an RQL `GET` | oauthlib `Client.sign` |
//! | `hexonet_encode` | `hexonet::Command::from_json` + `Protocol::wire_command` + `PostBody::new` | the SDK's flatten + `getPOSTData` (plain and masked) |
//! | `hexonet_parse` | `hexonet::parse`, a 1000-row `QueryDomainList` answer | the SDK's `Response(text, cmd, cfg)` |
//! | `event/*` | JSON text → `envelope::open` → `event::Event::parse` | none: the Python example reads no event |
//!
//! Under `cargo test` (no `--bench` argument) criterion runs each bench once
//! as a test and the Python baseline is skipped. See `benches/README.md`.

#[allow(dead_code)]
#[path = "../tests/support/python.rs"]
mod python;
#[path = "support/ratio.rs"]
mod ratio;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::Criterion;
use exh_task::config::OAuth1Credentials;
use exh_task::envelope::{self, Opened};
use exh_task::event::Event;
use exh_task::hexonet::{self, Backend, Command, PostBody, Protocol, SocketConfig};
use exh_task::secret::Secret;
use serde_json::{json, Value};
use url::Url;

/// Criterion's group, also the folder of its results.
const GROUP: &str = "codecs";

/// Time the Python baseline spends on each operation, in seconds.
const PYTHON_BUDGET_S: f64 = 1.0;

/// Rows of the `QueryDomainList` answer that `hexonet_parse` reads.
const ROWS: usize = 1000;

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
    let listing = domain_list(ROWS);

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
    group.bench_function("hexonet_parse", |b| {
        b.iter(|| hexonet::parse(black_box(&listing)).expect("a valid answer"))
    });
    for (name, text) in EVENTS {
        group.bench_function(format!("event_{name}"), |b| {
            b.iter(|| requests_of(black_box(text)))
        });
    }
    group.finish();
    criterion.final_summary();

    if benchmarking {
        report(&criterion_home(), &baseline);
    }
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

/// A column of [`domain_list`]: its name and the value of row `i`.
type Column = (&'static str, fn(usize) -> String);

/// A `QueryDomainList` answer of `rows` records, five columns each, with
/// the paging properties, as the API sends it.
fn domain_list(rows: usize) -> String {
    let mut text = String::from(
        "[RESPONSE]\r\ncode = 200\r\ndescription = Command completed successfully\r\n\
         runtime = 0.412\r\nqueuetime = 0\r\n",
    );
    let columns: [Column; 5] = [
        ("DOMAIN", |i| format!("bench-domain-{i:05}.com")),
        ("CREATEDDATE", |i| {
            format!(
                "20{:02}-{:02}-{:02} 10:11:12",
                10 + i % 15,
                1 + i % 12,
                1 + i % 28
            )
        }),
        ("PAIDUNTILDATE", |i| {
            format!(
                "20{:02}-{:02}-{:02} 10:11:12",
                26 + i % 4,
                1 + i % 12,
                1 + i % 28
            )
        }),
        ("RENEWALMODE", |i| {
            ["DEFAULT", "AUTORENEW", "AUTOEXPIRE"][i % 3].to_owned()
        }),
        ("STATUS", |i| {
            ["ACTIVE", "ACTIVE", "PENDING-TRANSFER"][i % 3].to_owned()
        }),
    ];
    for (column, value) in columns {
        for i in 0..rows {
            text.push_str(&format!("property[{column}][{i}] = {}\r\n", value(i)));
        }
    }
    for (name, value) in [
        ("COUNT", rows),
        ("FIRST", 0),
        ("LAST", rows - 1),
        ("LIMIT", rows),
        ("TOTAL", 2 * rows + 17),
    ] {
        text.push_str(&format!("property[{name}][0] = {value}\r\n"));
    }
    text.push_str("EOF\r\n");
    text
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
    let input = json!({
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
        "hexonet_parse": {
            "text": domain_list(ROWS), "records": ROWS, "url": HEXONET_URL,
            "command": {"COMMAND": "QueryDomainList", "LIMIT": ROWS.to_string()},
        },
    });
    eprintln!("Timing the Python reference (about {PYTHON_BUDGET_S} s per operation)…");
    python::run_script("bench_codecs.py", &input, &[])
}

/// The median time per iteration criterion measured for `bench`, in ns.
fn criterion_median(home: &std::path::Path, bench: &str) -> Option<f64> {
    let path = home.join(GROUP).join(bench).join("new/estimates.json");
    let estimates: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

/// The table of this run: exh-task beside its baseline, and the ratio.
fn report(home: &std::path::Path, baseline: &Value) {
    println!();
    println!("codecs: median time per operation, exh-task (criterion) and its baseline (timeit), same run");
    println!(
        "{:<24} {:>12} {:>12}  ratio",
        "operation", "exh-task", "baseline"
    );
    let mut benches: Vec<String> = ["oauth1_sign", "hexonet_encode", "hexonet_parse"]
        .iter()
        .map(|name| name.to_string())
        .collect();
    benches.extend(EVENTS.iter().map(|(name, _)| format!("event_{name}")));
    for bench in benches {
        let Some(ours) = criterion_median(home, &bench) else {
            continue; // filtered out on the command line
        };
        let theirs = &baseline[&bench];
        match theirs["ns"].as_f64() {
            Some(reference) => println!(
                "{bench:<24} {:>12} {:>12}  {}",
                duration(ours),
                duration(reference),
                ratio(
                    ours,
                    reference,
                    theirs["baseline"].as_str().unwrap_or("the baseline")
                )
            ),
            None => println!(
                "{bench:<24} {:>12} {:>12}  (no baseline{})",
                duration(ours),
                "-",
                if bench.starts_with("event_") {
                    ": the Python example reads no event"
                } else {
                    " in this run"
                }
            ),
        }
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
