//! What keeping secrets out of results costs: `Reply::redacted` (one
//! Aho-Corasick scan for every form of five secrets) beside the work it
//! follows, serialising the same result (`envelope::result`), on a 1 MB
//! Extra Horizon list answer that holds no secret, the usual case; and the
//! slow path, the same answer with one secret echoed in it.
//!
//! `cargo bench --bench redaction` prints criterion's figures and the
//! ratio of scan to serialisation; under `cargo test` each runs once.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use exh_task::envelope;
use exh_task::exh::Answer;
use exh_task::mask::Redactor;
use exh_task::outcome::{EventOutcome, Outcome};
use exh_task::secret::Secret;
use serde_json::{json, Value};

/// Users in the list answer: about 1 MB of JSON.
const USERS: usize = 8000;

fn secrets() -> Vec<Secret> {
    [
        "bench-consumer-key/7c1f",
        "bench-consumer-secret+9d2a=",
        "bench-token-3b8e",
        "bench-token&secret!5f4c",
        "bench.hexonet.passw0rd",
    ]
    .into_iter()
    .map(Secret::new)
    .collect()
}

fn list(echo: Option<&str>) -> EventOutcome {
    let data: Vec<Value> = (0..USERS)
        .map(|n| {
            json!({"id": format!("5f5e{n:020x}"), "email": format!("user{n}@example.com"),
                   "firstName": "Sam", "lastName": "Sandbox", "language": "NL",
                   "roles": [{"name": "user", "permissions": ["VIEW_DOCUMENTS"]}]})
        })
        .collect();
    let mut body = json!({"page": {"total": USERS, "offset": 0, "limit": USERS}, "data": data});
    if let Some(echo) = echo {
        body["echo"] = json!(echo);
    }
    EventOutcome::Single(Outcome::Exh(Answer { status: 200, body }))
}

/// Mean time of `work` over `rounds` runs.
fn mean(rounds: u32, mut work: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..rounds {
        work();
    }
    started.elapsed() / rounds
}

fn main() {
    let redactor = Redactor::new(&secrets());
    let clean = list(None);
    let echoing = list(Some("bench-token-3b8e"));
    let clean_reply = envelope::result(&clean).expect("fits");
    let echoing_reply = envelope::result(&echoing).expect("fits");
    assert!(!redactor.finds(clean_reply.json()));
    assert!(redactor.finds(echoing_reply.json()));
    let redacted = echoing_reply.clone().redacted(&redactor).expect("fits");
    assert!(!redactor.finds(redacted.json()));

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("redaction");
    group.bench_function("serialise_1mb_result", |b| {
        b.iter(|| envelope::result(black_box(&clean)).expect("fits"))
    });
    group.bench_function("scan_1mb_result_without_secret", |b| {
        b.iter(|| {
            black_box(clean_reply.clone())
                .redacted(&redactor)
                .expect("fits")
        })
    });
    group.bench_function("redact_1mb_result_with_a_secret", |b| {
        b.iter(|| {
            black_box(echoing_reply.clone())
                .redacted(&redactor)
                .expect("fits")
        })
    });
    group.finish();
    criterion.final_summary();

    if std::env::args().any(|arg| arg == "--bench") {
        let rounds = 20;
        let serialise = mean(rounds, || drop(envelope::result(&clean)));
        let scan = mean(rounds, || {
            black_box(redactor.finds(clean_reply.json()));
        });
        let slow = mean(rounds, || drop(echoing_reply.clone().redacted(&redactor)));
        println!(
            "{} bytes: serialise {serialise:?}, scan {scan:?} ({:.1}% of serialising), \
             redact when a secret is found {slow:?}",
            clean_reply.json().len(),
            100.0 * scan.as_secs_f64() / serialise.as_secs_f64()
        );
    }
}
