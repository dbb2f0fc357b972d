//! Running the Python conformance scripts of `tests/conformance/` with
//! `<repo>/.venv/bin/python3`, which `make test` creates with the reference
//! packages of `tests/conformance/requirements.txt`. Tests that use it fail,
//! never skip, when it is missing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// What to do when Python or a reference package is missing.
pub const SETUP_HINT: &str =
    "run `make test` (it creates .venv with the packages of tests/conformance/requirements.txt)";

/// `<repo>/.venv/bin/python3`; panics with [`SETUP_HINT`] when missing.
pub fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python3");
    assert!(
        python.exists(),
        "{} is missing: {SETUP_HINT}",
        python.display()
    );
    python
}

/// Runs `tests/conformance/{script}` with `input` on stdin and `env` added
/// to its environment; its stdout as JSON. Panics when the script fails.
pub async fn run_script(script: &str, input: Value, env: Vec<(&'static str, String)>) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(script);
    let python = python();
    // Blocking on the child must not stall the runtime serving the sandbox.
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(python)
            .arg(&script)
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run Python ({error}): {SETUP_HINT}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("ModuleNotFoundError"),
            "{stderr}\n{SETUP_HINT}"
        );
        assert!(
            output.status.success(),
            "{} failed:\n{stderr}",
            script.display()
        );
        serde_json::from_slice(&output.stdout).unwrap()
    })
    .await
    .unwrap()
}
