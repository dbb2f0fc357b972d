//! The developer CLI as a user runs it: `exh-task invoke` on the sample
//! events (against the embedded sandbox) and `exh-task sandbox`.

use serde_json::Value;
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
        .filter(|path| !path.ends_with("schema.json"))
        .collect();
    files.sort();
    files
}

/// Splits `invoke`'s output (`# FILE` then pretty JSON, per file).
fn results(stdout: &str) -> Vec<(String, Value)> {
    let mut results = Vec::new();
    for section in stdout.split("\n# ").map(|s| s.trim_start_matches("# ")) {
        let (file, json) = section.split_once('\n').unwrap();
        results.push((file.to_owned(), serde_json::from_str(json).unwrap()));
    }
    results
}

#[test]
fn every_sample_event_runs_against_the_embedded_sandbox() {
    let files = sample_events();
    assert!(files.len() >= 10, "samples: {files:?}");
    let output = exh_task().arg("invoke").args(&files).output().unwrap();
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
        .arg("invoke")
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
fn invoke_names_a_file_that_is_not_json() {
    let output = exh_task()
        .args(["invoke", "Cargo.toml"])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        result["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Cargo.toml: not JSON"),
        "{result}"
    );
}

#[tokio::test]
async fn sandbox_prints_its_configuration_then_serves_signed_requests_only() {
    let mut child = exh_task()
        .args(["sandbox", "--port", "0"])
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
    let host = &vars
        .iter()
        .find(|(name, _)| name == "API_HOST")
        .expect("API_HOST")
        .1;
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
