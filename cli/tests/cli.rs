//! The developer CLI as a user runs it: `exh-task invoke` on the sample
//! events (against the embedded sandbox), `exh-task invoke --bin` with the
//! real `check-domains` and `bootstrap` binaries, and `exh-task sandbox`.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn exh_task() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_exh-task"));
    // Only what a fresh shell has: no API_HOST, no HEXONET_*, so the
    // embedded sandbox is used.
    command.env_clear();
    for name in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}

/// The workspace root, where the sample events and the Makefile are.
fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI is a member of the workspace")
}

fn sample_events() -> Vec<PathBuf> {
    let dir = workspace().join("events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

/// Reads `invoke --output jsonl`: one `{"file", "result"}` per line.
fn results(stdout: &str) -> Vec<(String, Value)> {
    stdout
        .lines()
        .map(|line| {
            let mut entry: Value = serde_json::from_str(line).unwrap();
            let file = entry["file"].as_str().unwrap().to_owned();
            (file, entry["result"].take())
        })
        .collect()
}

#[test]
fn every_sample_event_runs_against_the_embedded_sandbox() {
    let files = sample_events();
    assert!(files.len() >= 10, "samples: {files:?}");
    // The HTTP envelope samples call the users service: over HTTP only an
    // allow-list lets a request through. It covers what every sample calls.
    let output = exh_task()
        .env("EXH_ALLOWED_PATHS", "/users/v1,/data/v1")
        .args(["invoke", "--output", "jsonl"])
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("using the embedded sandbox"), "{stderr}");
    let results = results(&stdout);
    assert_eq!(results.len(), files.len());
    for (file, result) in results {
        assert!(result.get("errorType").is_none(), "{file}: {result}");
        let ok = result["ok"] == true
            || result["statusCode"] == 200
            || result.get("batchItemFailures").is_some()
            || file.ends_with("batch.json");
        assert!(ok, "{file}: {result}");
    }
}

#[test]
fn every_hexonet_sample_runs_against_the_centralnic_dialect_too() {
    let files: Vec<PathBuf> = sample_events()
        .into_iter()
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("hexonet-")
        })
        .collect();
    assert!(!files.is_empty());
    let output = exh_task()
        .env("HEXONET_BACKEND", "centralnic")
        .args(["invoke", "--output", "jsonl"])
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (file, result) in results(&stdout) {
        assert!(result.get("errorType").is_none(), "{file}: {result}");
    }
}

#[test]
fn invoke_prints_an_error_as_error_type_and_message_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("exh-task-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let event = dir.join("evil.json");
    std::fs::write(&event, r#"{"exh": {"path": "//evil.example/x"}}"#).unwrap();
    let output = exh_task().arg("invoke").arg(&event).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(output.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["errorType"], "InvalidEvent");
    assert!(result["errorMessage"]
        .as_str()
        .unwrap()
        .contains("names another host"));
}

#[test]
fn invoke_names_a_file_that_is_not_json_on_stderr_and_exits_2() {
    let output = exh_task()
        .args(["invoke", "Cargo.toml"])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "stdout: {:?}", output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Cargo.toml: not JSON"), "{stderr}");
}

#[tokio::test]
async fn sandbox_prints_its_configuration_then_serves_signed_requests_only() {
    let (mut child, host) = sandbox_serving(&[]);
    assert!(host.starts_with("http://127.0.0.1:"), "{host}");
    let answer = reqwest::get(format!("{host}/users/v1/me")).await.unwrap();
    let status = answer.status();
    let body: Value = answer.json().await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 401);
    assert_eq!(body["code"], 109);
    assert_eq!(body["name"], "OAUTH_SIGNATURE_EXCEPTION");
}

/// `exh-task sandbox --port 0` with `args`, serving, and its `API_HOST`
/// (read from the first export lines).
fn sandbox_serving(args: &[&str]) -> (std::process::Child, String) {
    let mut child = exh_task()
        .args(["sandbox", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut vars = Vec::new();
    while vars.len() < 5 {
        let line = lines.next().expect("export lines").unwrap();
        let (name, value) = line
            .strip_prefix("export ")
            .unwrap()
            .split_once('=')
            .unwrap();
        vars.push((name.to_owned(), value.to_owned()));
    }
    let host = vars
        .into_iter()
        .find(|(name, _)| name == "API_HOST")
        .expect("API_HOST")
        .1;
    (child, host)
}

#[tokio::test]
async fn sandbox_answers_with_the_fault_it_is_given() {
    let (mut child, host) = sandbox_serving(&["--fault", "retry-after=7"]);
    let answer = reqwest::get(format!("{host}/users/v1/me")).await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(answer.status(), 429);
    assert_eq!(answer.headers()["retry-after"], "7");
}

#[test]
fn an_unknown_fault_is_a_usage_error_that_lists_the_faults() {
    let output = exh_task()
        .args(["sandbox", "--fault", "explode"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("explode") && stderr.contains("retry-after"),
        "{stderr}"
    );
}

#[test]
fn an_event_file_larger_than_lambda_hands_out_is_refused_unread() {
    let output = exh_task().args(["invoke", "/dev/zero"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/dev/zero: over"), "{stderr}");
}

#[test]
fn a_timeout_lambda_could_not_have_is_a_usage_error() {
    for timeout in ["0", "901", "18446744073709551615"] {
        let output = exh_task()
            .args(["invoke", "--timeout", timeout, "--data", "{}"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "--timeout {timeout}: {stderr}"
        );
        assert!(stderr.contains("--timeout"), "{stderr}");
        assert!(
            output.stdout.is_empty(),
            "--timeout {timeout} ran the event"
        );
    }
}

/// Runs `exh-task` with `args`, `stdin` as its standard input.
fn run_with_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = exh_task()
        .args(args)
        .current_dir(workspace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_missing_file_exits_2_before_anything_runs() {
    let output = exh_task()
        .args(["invoke", "--data", "{}", "no/such/event.json"])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "the --data event ran anyway");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no/such/event.json"), "{stderr}");
}

#[test]
fn invoke_with_a_function_binary_that_is_not_there_exits_2_naming_it() {
    let output = exh_task()
        .args(["invoke", "--bin", "no/such/check-domains", "--data", "{}"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no/such/check-domains"), "{stderr}");
}

#[test]
fn invoke_with_a_function_binary_that_cannot_start_exits_2_and_never_runs_another() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bin-cannot-start");
    std::fs::create_dir_all(&dir).unwrap();
    // Not executable; `true` is also a program on PATH, which must not be
    // what runs in its place.
    for name in ["true", "not-executable"] {
        std::fs::write(dir.join(name), "{}").unwrap();
    }
    for bin in ["true", "./not-executable"] {
        let output = exh_task()
            .args(["invoke", "--timeout", "1", "--bin", bin, "--data", "{}"])
            .current_dir(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "--bin {bin}: {stderr}");
        assert!(output.stdout.is_empty(), "--bin {bin} ran");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains(bin.trim_start_matches("./")) && stderr.contains("cannot start"),
            "{stderr}"
        );
    }
}

#[test]
fn invoke_without_any_event_is_a_usage_error() {
    let output = exh_task().arg("invoke").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}

#[test]
fn an_unknown_option_is_a_usage_error() {
    let output = exh_task()
        .args(["invoke", "--no-such-option"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}

#[test]
fn standard_input_and_inline_data_are_events_too() {
    let output = run_with_stdin(
        &[
            "invoke",
            "--output",
            "jsonl",
            "--data",
            r#"{"exh": {"path": "/users/v1/me"}}"#,
            "-",
        ],
        r#"{"hexonet": {"command": {"COMMAND": "StatusAccount"}}}"#,
    );
    assert!(output.status.success(), "{output:?}");
    let results = results(&String::from_utf8(output.stdout).unwrap());
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0].0, "--data");
    assert_eq!(results[0].1["exh"]["status"], 200);
    assert_eq!(results[1].0, "-");
    assert_eq!(results[1].1["hexonet"]["code"], 200);
}

#[test]
fn standard_input_named_twice_is_a_usage_error_that_says_so() {
    let output = run_with_stdin(&["invoke", "-", "-"], "{}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(stderr.contains("more than once"), "{stderr}");
}

#[test]
fn an_empty_event_file_is_refused_as_empty() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("empty-event");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("empty.json"), " \n").unwrap();
    let output = exh_task()
        .args(["invoke", "empty.json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("empty.json: empty"), "{stderr}");
}

#[test]
fn compact_output_is_one_json_document_per_line_and_headers_go_to_stderr() {
    let output = exh_task()
        .args(["invoke", "--output", "compact", "--data", "{}"])
        .args(["events/users-me.json", "events/hexonet-status-account.json"])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines.iter().all(|result| result["ok"] == true), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("==> events/users-me.json <=="), "{stderr}");
}

#[test]
fn pretty_output_is_indented_json() {
    let output = exh_task()
        .args(["invoke", "--output", "pretty", "--data", "{}"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("{\n  \"ok\": true"), "{stdout}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["exh"]["status"], 200);
}

#[test]
fn an_answer_that_is_not_ok_fails_only_when_asked_to() {
    let not_found = r#"{"exh": {"path": "/users/v1/no-such-user"}}"#;
    let output = exh_task()
        .args(["invoke", "--data", not_found])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["ok"], false);
    let output = exh_task()
        .args(["invoke", "--fail-on-not-ok", "--data", not_found])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}

#[test]
fn max_items_cuts_lists_without_changing_the_shape_and_says_so_on_stderr() {
    let output = exh_task()
        .args([
            "invoke",
            "--max-items",
            "2",
            "events/hexonet-query-domain-list.json",
        ])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    let records = result["hexonet"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(Value::is_object), "{records:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("more item(s) of $.hexonet.records not shown"),
        "{stderr}"
    );
}

/// A reader that stops early (`| head -1`) must end the CLI quietly, with
/// success: its stdout is a pipe whose reading end is already closed, so
/// every write fails with a broken pipe.
fn stops_quietly_when_the_reader_goes_away(args: &[&str]) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = exh_task()
        .args(args)
        .current_dir(workspace())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn invoke_stops_quietly_when_the_reader_goes_away() {
    stops_quietly_when_the_reader_goes_away(&["invoke", "--data", "{}"]);
}

#[test]
fn a_failure_printed_before_the_reader_went_away_still_fails_the_run() {
    let mut child = exh_task()
        .args(["invoke", "--output", "compact", "--data"])
        .arg(r#"{"exh": {"path": "//evil.example/x"}}"#)
        // Its answer (150 KB) is more than a pipe holds: written only once
        // read, so it meets the closed pipe.
        .arg("events/hexonet-query-domain-list-all-pages.json")
        .current_dir(workspace())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(first.contains("InvalidEvent"), "{first}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn schema_stops_quietly_when_the_reader_goes_away() {
    stops_quietly_when_the_reader_goes_away(&["schema"]);
}

/// Output that cannot be written for another reason than a reader gone
/// away (a full disk: `/dev/full`) is lost: the run must fail, saying so.
fn fails_when_stdout_cannot_be_written(args: &[&str]) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = exh_task()
        .args(args)
        .current_dir(workspace())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
}

#[test]
fn invoke_fails_when_its_answers_cannot_be_written() {
    fails_when_stdout_cannot_be_written(&["invoke", "--data", "{}"]);
}

#[test]
fn schema_fails_when_it_cannot_be_written() {
    fails_when_stdout_cannot_be_written(&["schema"]);
}

#[test]
fn sandbox_writes_its_exports_to_an_env_file_once_listening() {
    let dir = std::env::temp_dir().join(format!("exh-task-env-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env_file = dir.join("sandbox.env");
    std::fs::write(&env_file, "export STALE=1\n").unwrap();
    let mut child = exh_task()
        .args(["sandbox", "--port", "0", "--env-file"])
        .arg(&env_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut exports = String::new();
    for _ in 0..200 {
        exports = std::fs::read_to_string(&env_file).unwrap_or_default();
        if exports.contains("HEXONET_SYSTEM") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let host = exports
        .lines()
        .find_map(|line| line.strip_prefix("export API_HOST="))
        .unwrap_or_else(|| panic!("no API_HOST in {exports:?}"))
        .to_owned();
    assert!(!exports.contains("STALE"), "{exports}");
    let listening = std::net::TcpStream::connect(host.trim_start_matches("http://"));
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(listening.is_ok(), "the env file came before the listener");
    assert!(output.stdout.is_empty(), "exports went to stdout too");
}

#[test]
fn an_env_file_that_cannot_be_written_exits_2_and_leaves_nothing_behind() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("env-file-is-a-folder");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sandbox.env")).unwrap();
    let output = exh_task()
        .args(["sandbox", "--env-file"])
        .arg(dir.join("sandbox.env"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(left, ["sandbox.env"], "left behind: {left:?}");
}

// ------------------------------------------------------------------------
// invoke --bin: a real function binary under the Runtime API emulator
// ------------------------------------------------------------------------

/// The variables (by prefix) cargo sets for the tests it runs.
const CARGO_SETS_FOR_TESTS: [&str; 6] = [
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_",
    "CARGO_PRIMARY_PACKAGE",
    "OUT_DIR",
];

/// The workspace's function binaries by name (`check-domains`, `bootstrap`),
/// built once by the cargo running this test. The build names the whole
/// workspace and a test target, as `cargo test --workspace` does: cargo then
/// resolves the same features, so after `make test` the binaries are
/// already fresh (`cargo build -p check-domains` would resolve others and
/// compile the dependencies again). Cargo says where each one is.
fn function_binary(name: &str) -> PathBuf {
    static BINARIES: std::sync::OnceLock<Vec<(String, PathBuf)>> = std::sync::OnceLock::new();
    let binaries = BINARIES.get_or_init(|| {
        let mut cargo = Command::new(env!("CARGO"));
        // What cargo set for this test (CARGO_PKG_NAME, CARGO_MANIFEST_DIR,
        // ...) is in no shell that built the tree: build scripts that watch
        // those names (ring's) would run again, and all above them rebuild.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if CARGO_SETS_FOR_TESTS.iter().any(|set| name.starts_with(set)) {
                cargo.env_remove(&*name);
            }
        }
        let output = cargo
            .args([
                "build",
                "--workspace",
                "--test",
                "cli",
                "--message-format=json",
            ])
            .args(["--bin", "check-domains", "--bin", "bootstrap"])
            .current_dir(workspace())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter_map(|line| {
                let message: Value = serde_json::from_str(line).ok()?;
                let target = &message["target"];
                let is_bin = target["kind"].as_array()?.iter().any(|kind| kind == "bin");
                let executable = message["executable"].as_str().filter(|_| is_bin)?;
                Some((target["name"].as_str()?.to_owned(), executable.into()))
            })
            .collect()
    });
    binaries
        .iter()
        .find(|(built, _)| built == name)
        .unwrap_or_else(|| panic!("cargo built no binary {name}: {binaries:?}"))
        .1
        .clone()
}

/// Fails if a secret of the embedded sandbox (its credentials are fixed)
/// is anywhere in `output`; says where, not what.
fn assert_no_secret_in(output: &std::process::Output) {
    let credentials = exh_task_sandbox::exh::CREDENTIALS;
    let secrets = [
        credentials.consumer_key,
        credentials.consumer_secret,
        credentials.token,
        credentials.token_secret,
        exh_task_sandbox::hexonet::PASSWORD,
    ];
    for (stream, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(text);
        for (index, secret) in secrets.iter().enumerate() {
            assert!(
                !text.contains(secret),
                "{stream} holds the sandbox's secret number {index}"
            );
        }
    }
}

/// `exh-task invoke --bin BINARY` with every upstream request and answer
/// logged (masked), so the binary's log, printed to stderr, has every place
/// a secret could leak.
fn invoke_bin(binary: &str, args: &[&str]) -> std::process::Output {
    exh_task()
        .env("EXH_TASK_DEBUG", "1")
        .arg("invoke")
        .arg("--bin")
        .arg(function_binary(binary))
        .args(["--timeout", "20", "--output", "jsonl"])
        .args(args)
        .current_dir(workspace())
        .output()
        .unwrap()
}

#[test]
fn invoke_bin_runs_the_example_task_warm_and_fails_with_its_own_error_type() {
    // A blood-pressure document lists no domains: the task's own NoDomains.
    let no_domains = json!({
        "documentId": "5f5e10005ae1b0c0e3000000",
        "schemaId": exh_task_sandbox::exh::SCHEMA_NAME,
    })
    .to_string();
    let output = invoke_bin(
        "check-domains",
        &[
            "--data",
            &no_domains,
            "examples/check-domains/events/task.json",
            "examples/check-domains/events/direct.json",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let results = results(&stdout);
    assert_eq!(results.len(), 3, "{stdout}");
    assert_eq!(results[0].1["errorType"], "NoDomains", "{stdout}");
    for (file, result) in &results[1..] {
        assert_eq!(
            result["documentId"],
            exh_task_sandbox::exh::DOMAIN_CHECKS_DOCUMENT,
            "{file}: {result}"
        );
        let checked: Vec<&str> = result["domainChecks"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: {result}"))
            .iter()
            .map(|check| check["domain"].as_str().unwrap())
            .collect();
        assert_eq!(checked, exh_task_sandbox::exh::DOMAIN_CHECKS_DOMAINS);
    }
    // The binary's log came after its answers, with the failure under its
    // errorType and the HEXONET password masked where it is sent.
    assert!(stderr.contains("NoDomains"), "{stderr}");
    assert!(stderr.contains("s_pw=***"), "{stderr}");
    assert_no_secret_in(&output);
}

#[test]
fn invoke_bin_runs_bootstrap_on_the_sample_events_as_the_handler_answers_them() {
    let output = invoke_bin(
        "bootstrap",
        &["events/users-me.json", "events/hexonet-status-account.json"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let results = results(&stdout);
    assert_eq!(results.len(), 2, "{stdout}");
    assert_eq!(
        results[0].1["exh"]["body"]["email"],
        "sam.sandbox@example.com"
    );
    assert_eq!(results[1].1["hexonet"]["code"], 200, "{stdout}");
    assert!(stderr.contains("oauth_signature=\"***\""), "{stderr}");
    assert_no_secret_in(&output);
}
