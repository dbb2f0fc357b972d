//! The README's local quick start runs as written: the block marked
//! `tested by cli/tests/readme.rs` is run line by line with bash, against
//! the CLI built for this test (its `cargo install` line is the one step
//! replaced: the built binary is put first on `PATH` instead).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most the whole block may take; it takes seconds.
const BOUND: Duration = Duration::from_secs(90);

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI is a member of the workspace")
}

/// The lines of the first fenced block after the marker.
fn quick_start() -> Vec<String> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let (_, after) = readme
        .split_once("<!-- tested by cli/tests/readme.rs")
        .expect("the README marks its tested block");
    let (_, block) = after.split_once("```sh\n").expect("a sh block follows");
    let (block, _) = block.split_once("```").expect("the block ends");
    block.lines().map(str::to_owned).collect()
}

#[test]
fn the_local_quick_start_runs_as_written() {
    let lines = quick_start();
    assert!(
        lines[0].starts_with("cargo install --locked --path cli"),
        "{lines:?}"
    );
    let script = lines[1..].join("\n");
    let dir = std::env::temp_dir().join(format!("exh-task-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(workspace().join("events"), dir.join("events")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_exh-task")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > BOUND {
            child.kill().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let status = status.unwrap_or_else(|| panic!("the quick start hung\n{stdout}\n{stderr}"));
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    // What a reader sees: the current user, a HEXONET check, `true` twice
    // from jq, and the list's paging figures from the separate sandbox.
    assert!(stdout.contains("sam.sandbox@example.com"), "{stdout}");
    assert!(stdout.contains("\"description\":\"Domain name"), "{stdout}");
    assert_eq!(
        stdout.lines().filter(|line| *line == "true").count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("\"total\": 2500"), "{stdout}");
}
