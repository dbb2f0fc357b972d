//! Runs function binaries under the Runtime API emulator for profiling
//! (benches/README.md, "Cold start and own work per invocation"): the same
//! set-up as `make bench`'s process harness, but any command as the
//! function, so a wrapper script can run it under `valgrind`, `strace` or
//! `perf`.
//!
//! ```text
//! cargo run --release -p exh-task-sandbox --example function_profile -- cold 40 A B ...
//! cargo run --release -p exh-task-sandbox --example function_profile -- cold-stand-in 40 A B ...
//! cargo run --release -p exh-task-sandbox --example function_profile -- warm 1000 A B ...
//! ```
//!
//! `cold N`: N cold starts of each program, interleaved (each process with
//! `{}` queued before it starts and an emulator of its own, the sandbox as
//! upstream); the median, p10 and p90 from spawn to the emulator's receipt
//! of the answer, and from spawn to the invocation handed out (the init
//! phase), then the main thread's CPU time up to the answer
//! (`/proc/PID/schedstat`) and its minor page faults; `cold-stand-in N`
//! the same against the stand-in below (no signature checked, so only the
//! functions' own work is timed).
//! `warm N`: every program running at once against a Rust
//! stand-in upstream that answers at once, invoked in turn (20 unmeasured,
//! then N measured `{}` each); per program the median latency and the
//! process's CPU time per invocation (`/proc/PID/schedstat`). In every
//! mode each process then gets SIGTERM and is waited for, so a profiler
//! around it writes its profile.

use exh_task_sandbox::runtime_api::{Function, RuntimeApi, COLD_START_SETTLE};
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::json;
use std::time::{Duration, Instant};

/// Bound for every wait: generous, profilers are slow.
const BOUND: Duration = Duration::from_secs(120);

/// Invocations before the measured ones in `warm`.
const WARM_UP: usize = 20;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: function_profile cold|cold-stand-in|warm N PROGRAM...";
    let (Some(mode), Some(count), programs) = (args.first(), args.get(1), args.get(2..)) else {
        panic!("{usage}");
    };
    let count: usize = count.parse().expect(usage);
    let programs = programs.unwrap_or_default();
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("the sandbox starts on 127.0.0.1");
    // Only the Extra Horizon side, as `make bench`.
    let env = sandbox.exh_env();
    match mode.as_str() {
        "cold" => cold(count, programs, &env).await,
        "cold-stand-in" => cold(count, programs, &stand_in(&env).await).await,
        "warm" => warm(count, programs, &stand_in(&env).await).await,
        _ => panic!("{usage}"),
    }
}

/// `count` cold starts of each of `programs`, interleaved.
async fn cold(count: usize, programs: &[String], env: &[(&'static str, String)]) {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); programs.len()];
    let mut inits: Vec<Vec<Duration>> = vec![Vec::new(); programs.len()];
    let mut cpus: Vec<Vec<Duration>> = vec![Vec::new(); programs.len()];
    let mut faults: Vec<Vec<u64>> = vec![Vec::new(); programs.len()];
    for round in 0..count {
        // Each round starts with the next program: none always comes first.
        for turn in 0..programs.len() {
            let at = (round + turn) % programs.len();
            let (program, times, inits) = (&programs[at], &mut times[at], &mut inits[at]);
            let runtime = RuntimeApi::start().await;
            let pending = runtime.submit(json!({}));
            let start = Instant::now();
            let mut function = Function::builder(program, &runtime)
                .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
                .spawn();
            let invocation = pending.wait(BOUND).await.expect("a first answer");
            times.push(invocation.answered_at.saturating_duration_since(start));
            inits.push(invocation.delivered_at.saturating_duration_since(start));
            cpus[at].push(Duration::from_nanos(cpu_ns(function.id())));
            faults[at].push(minor_faults(function.id()));
            assert!(!invocation.is_error(), "{}", function.stderr());
            function.terminate();
            let _ = function.wait_exit(BOUND).await;
            drop(runtime);
            tokio::time::sleep(COLD_START_SETTLE).await;
        }
    }
    for ((program, times), inits) in programs.iter().zip(&mut times).zip(&mut inits) {
        println!("{program}: cold start {}", spread(times));
        println!("{program}: init phase {}", spread(inits));
    }
    for ((program, cpus), faults) in programs.iter().zip(&mut cpus).zip(&mut faults) {
        faults.sort_unstable();
        let median_faults = faults[faults.len() / 2];
        println!(
            "{program}: CPU up to the answer {}, minor page faults median {median_faults}",
            spread(cpus)
        );
    }
}

/// `env` with `API_HOST` pointed at a stand-in upstream that answers
/// `GET /users/v1/me` at once, without checking the signature.
async fn stand_in(env: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let app = axum::Router::new().route(
        "/users/v1/me",
        axum::routing::get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                r#"{"id":"bench-user","email":"bench@example.com"}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut env: Vec<_> = env
        .iter()
        .filter(|(name, _)| *name != "API_HOST")
        .cloned()
        .collect();
    env.push(("API_HOST", url));
    env
}

/// `count` warm invocations of each of `programs`, in turn (`env` points
/// them at the stand-in upstream).
async fn warm(count: usize, programs: &[String], env: &[(&'static str, String)]) {
    let mut subjects = Vec::new();
    for program in programs {
        let runtime = RuntimeApi::start().await;
        let function = Function::builder(program, &runtime)
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .spawn();
        subjects.push((program, runtime, function, Vec::new(), 0u64));
    }
    for round in 0..WARM_UP + count {
        for turn in 0..subjects.len() {
            let at = (round + turn) % subjects.len();
            let (_, runtime, function, times, cpu) = &mut subjects[at];
            if round == WARM_UP {
                *cpu = cpu_ns(function.id());
            }
            let start = Instant::now();
            let invocation = runtime
                .try_invoke(json!({}), BOUND)
                .await
                .expect("an answer");
            if round >= WARM_UP {
                times.push(invocation.answered_at.saturating_duration_since(start));
            }
            assert!(!invocation.is_error(), "{}", function.stderr());
        }
    }
    for (program, _runtime, mut function, mut times, cpu) in subjects {
        let cpu = cpu_ns(function.id()).saturating_sub(cpu) as f64 / count as f64 / 1000.0;
        println!(
            "{program}: warm {}, CPU {cpu:.1} µs per invocation",
            spread(&mut times)
        );
        function.terminate();
        let _ = function.wait_exit(BOUND).await;
    }
}

/// The process's minor page faults so far (`minflt`, the tenth field of
/// `/proc/PID/stat`; 0 if unreadable). The name field before it may hold
/// spaces, so the fields are counted after its closing parenthesis.
fn minor_faults(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit(')')
                .next()?
                .split_whitespace()
                .nth(7)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The process's CPU time so far, in nanoseconds (0 if unreadable).
fn cpu_ns(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Median, p10 and p90 of `times`.
fn spread(times: &mut [Duration]) -> String {
    times.sort();
    let at = |share: usize| times[(times.len() * share / 100).min(times.len() - 1)];
    format!("median {:?} (p10 {:?}, p90 {:?})", at(50), at(10), at(90))
}
