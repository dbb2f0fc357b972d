//! The process-level harness: exh-task's release `bootstrap` and the seed's
//! Python handler (`requests_oauthlib.OAuth1Session` → `GET /users/v1/me`,
//! run by `tests/conformance/bench_runtime.py`), each as a Lambda function
//! process under the sandbox's Runtime API emulator, both calling
//! the embedded sandbox over loopback, in the same run:
//!
//! - cold start: from spawning the process to its answer to the first `{}`
//!   invocation (queued before the spawn), median of several fresh processes;
//! - warm invocations: sequential `{}` invocations of one process (after a
//!   few unmeasured ones), per-invocation latency and throughput;
//! - peak RSS: `VmHWM` of the process after the warm invocations;
//! - size: the `bootstrap` binary, and the Python packages the handler ships.
//!
//! Every call must reach the sandbox and be answered 200, or the harness
//! fails: a fast error is not a result. It runs only under `cargo bench`
//! (`--bench`); under `cargo test` it says so and returns at once.
//! See `benches/README.md`.

#[path = "support/ratio.rs"]
mod ratio;
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use exh_task_sandbox::runtime_api::{Function, Invocation, RuntimeApi};
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};

/// Fresh processes per subject for the cold start (env `EXH_TASK_BENCH_COLD_STARTS`).
const COLD_STARTS: usize = 10;
/// Unmeasured warm invocations before the measured ones.
const WARM_UP: usize = 20;
/// Measured warm invocations per subject (env `EXH_TASK_BENCH_INVOCATIONS`).
const INVOCATIONS: usize = 1000;
/// Bound on every wait: a function that stalls fails the harness, never hangs it.
const BOUND: Duration = Duration::from_secs(20);
/// The path `{}` calls, as the seed does.
const ME: &str = "/users/v1/me";

/// A Lambda function process to measure.
struct Subject {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    /// Whether its `/response` is exh-task's result, checked to be ok; the
    /// seed's handler returns `null` (it prints the answer).
    checks_result: bool,
}

/// What was measured of one subject.
struct Measured {
    cold: Vec<Duration>,
    warm: Vec<Duration>,
    warm_total: Duration,
    peak_rss_kib: Option<u64>,
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
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("the sandbox starts on 127.0.0.1");
    // Only the Extra Horizon side, as the seed: the same variables for both.
    let env: Vec<(&'static str, String)> = sandbox
        .env()
        .into_iter()
        .filter(|(name, _)| name.starts_with("API_"))
        .collect();

    let bootstrap = bootstrap();
    let python = support::python::python();
    let rust = Subject {
        name: "exh-task".into(),
        program: bootstrap.clone(),
        args: Vec::new(),
        checks_result: true,
    };
    let seed = Subject {
        name: "Python seed".into(),
        program: python.clone(),
        args: vec![script("bench_runtime.py").display().to_string()],
        checks_result: false,
    };

    println!(
        "process harness: {cold_starts} cold starts and {WARM_UP} + {invocations} warm `{{}}` \
         invocations per function, on the loopback sandbox"
    );
    println!("  exh-task: {}", bootstrap.display());
    println!(
        "  baseline: the seed's handler (requests_oauthlib.OAuth1Session → GET {ME}) \
         under a Python Runtime API loop, Python {} ({})",
        python_version(&python),
        python.display()
    );
    let ours = measure(&rust, &sandbox, &env, cold_starts, invocations).await;
    let theirs = measure(&seed, &sandbox, &env, cold_starts, invocations).await;

    let binary = std::fs::metadata(&bootstrap)
        .expect("the bootstrap binary")
        .len();
    let packages = python_package_size(&python);
    report(&seed.name, &ours, &theirs, binary, packages);
}

/// Cold starts, then warm invocations and the peak RSS of the last process.
async fn measure(
    subject: &Subject,
    sandbox: &Sandbox,
    env: &[(&'static str, String)],
    cold_starts: usize,
    invocations: usize,
) -> Measured {
    eprintln!("measuring {}…", subject.name);
    sandbox.clear_recorded_requests();
    let mut cold = Vec::with_capacity(cold_starts);
    // Each process gets its own emulator: a killed process's pending `/next`
    // must not take the next process's first invocation.
    for _ in 1..cold_starts {
        let runtime = RuntimeApi::start().await;
        let (mut function, elapsed) = cold_start(subject, &runtime, env).await;
        cold.push(elapsed);
        function.stop();
    }
    let runtime = RuntimeApi::start().await;
    let (mut function, elapsed) = cold_start(subject, &runtime, env).await;
    cold.push(elapsed);

    for _ in 0..WARM_UP {
        check(subject, runtime.invoke(json!({}), BOUND).await, &function);
    }
    let mut warm = Vec::with_capacity(invocations);
    let started = Instant::now();
    for _ in 0..invocations {
        let start = Instant::now();
        let invocation = runtime.invoke(json!({}), BOUND).await;
        warm.push(start.elapsed());
        check(subject, invocation, &function);
    }
    let warm_total = started.elapsed();
    let peak_rss_kib = peak_rss_kib(function.id());
    function.stop();
    runtime.assert_no_rejections();

    let calls = cold_starts + WARM_UP + invocations;
    let recorded = sandbox.recorded_requests();
    let answered = recorded
        .iter()
        .filter(|r| r.method == "GET" && r.target == ME && r.status == 200)
        .count();
    assert!(
        answered == calls && recorded.len() == calls,
        "{}: {calls} invocations, but the sandbox answered {answered} of {} requests with 200 \
         (statuses: {:?})",
        subject.name,
        recorded.len(),
        recorded.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    Measured {
        cold,
        warm,
        warm_total,
        peak_rss_kib,
    }
}

/// Spawns the subject with `{}` already queued; returns it and the time to
/// its first answer.
async fn cold_start(
    subject: &Subject,
    runtime: &RuntimeApi,
    env: &[(&'static str, String)],
) -> (Function, Duration) {
    let pending = runtime.submit(json!({}));
    let start = Instant::now();
    let function = subject
        .args
        .iter()
        .fold(Function::builder(&subject.program, runtime), |f, arg| {
            f.arg(arg.as_str())
        })
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .spawn();
    let invocation = pending.wait(BOUND).await;
    let elapsed = start.elapsed();
    let invocation = invocation.unwrap_or_else(|error| {
        panic!(
            "{}: no first answer: {error}\n{}",
            subject.name,
            function.stderr()
        )
    });
    check(subject, invocation, &function);
    (function, elapsed)
}

/// Fails the harness unless the invocation succeeded (and, for exh-task,
/// answered `{"ok": true}` with status 200).
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
    if subject.checks_result {
        let result = invocation.expect_response();
        assert!(
            result["ok"] == true && result["exh"]["status"] == 200,
            "{}: {result}",
            subject.name
        );
    }
}

/// `VmHWM` (peak resident set) of a running process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
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

fn report(baseline: &str, ours: &Measured, theirs: &Measured, binary: u64, packages: Option<u64>) {
    let row = |what: &str, ours: String, theirs: String, ratio: String| {
        println!("{what:<30} {ours:>12} {theirs:>12}  {ratio}");
    };
    println!();
    println!("process harness, same run (ratios are the targets; absolute times vary by machine)");
    row("", "exh-task".into(), baseline.into(), "ratio".into());
    let (ours_cold, theirs_cold) = (median(&ours.cold), median(&theirs.cold));
    row(
        &format!("cold start, median of {}", ours.cold.len()),
        millis(ours_cold),
        millis(theirs_cold),
        faster(ours_cold, theirs_cold, baseline),
    );
    let (ours_p50, theirs_p50) = (median(&ours.warm), median(&theirs.warm));
    row(
        "warm invocation, median",
        millis(ours_p50),
        millis(theirs_p50),
        faster(ours_p50, theirs_p50, baseline),
    );
    let (ours_p99, theirs_p99) = (percentile(&ours.warm, 99), percentile(&theirs.warm, 99));
    row(
        "warm invocation, p99",
        millis(ours_p99),
        millis(theirs_p99),
        faster(ours_p99, theirs_p99, baseline),
    );
    let rate = |m: &Measured| m.warm.len() as f64 / m.warm_total.as_secs_f64();
    row(
        &format!("throughput, {} sequential", ours.warm.len()),
        format!("{:.0}/s", rate(ours)),
        format!("{:.0}/s", rate(theirs)),
        format!(
            "exh-task does {:.1}× the invocations per second",
            rate(ours) / rate(theirs)
        ),
    );
    if let (Some(ours_rss), Some(theirs_rss)) = (ours.peak_rss_kib, theirs.peak_rss_kib) {
        row(
            "peak RSS (VmHWM)",
            mebibytes(ours_rss * 1024),
            mebibytes(theirs_rss * 1024),
            less_memory(ours_rss as f64, theirs_rss as f64, baseline),
        );
    }
    match packages {
        Some(packages) => row(
            "deployed code, uncompressed",
            mebibytes(binary),
            mebibytes(packages),
            format!(
                "the bootstrap is {:.1}× the size of requests-oauthlib and its \
                 requirements (the interpreter comes with the Python runtime)",
                binary as f64 / packages as f64
            ),
        ),
        None => row(
            "bootstrap binary",
            mebibytes(binary),
            "-".into(),
            String::new(),
        ),
    }
}

fn median(times: &[Duration]) -> Duration {
    percentile(times, 50)
}

/// The nearest-rank percentile.
fn percentile(times: &[Duration], p: usize) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
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

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
