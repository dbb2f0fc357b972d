//! `exh-task split` as a user runs it: every request of the input lands in
//! exactly one message, every message is an event the function accepts
//! (inside the SQS envelope it arrives in), and every file is one that
//! `aws sqs send-message-batch --entries file://…` sends as it is.

use exh_task::envelope::{self, Opened};
use exh_task::event::Event;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// SQS's limits: the largest message and batch payload, entries per batch.
const MAX_BYTES: usize = 256 * 1024;
const MAX_ENTRIES: usize = 10;

/// A scratch folder of this test's own, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("split")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn split(dir: &Path, request: &Value, args: &[&str]) -> Output {
    let file = dir.join("request.json");
    std::fs::write(&file, request.to_string()).unwrap();
    Command::new(env!("CARGO_BIN_EXE_exh-task"))
        .arg("split")
        .arg(&file)
        .arg("--out")
        .arg(dir.join("out"))
        .args(args)
        .output()
        .unwrap()
}

/// The message bodies of every entry file, in order, after checking each
/// file against SQS's limits.
fn sent_bodies(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let mut bodies = Vec::new();
    for file in files {
        let entries: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let entries = entries.as_array().unwrap();
        assert!(
            (1..=MAX_ENTRIES).contains(&entries.len()),
            "{} has {} entries",
            file.display(),
            entries.len()
        );
        let mut ids: Vec<&str> = entries
            .iter()
            .map(|entry| entry["Id"].as_str().unwrap())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), entries.len(), "{} repeats an Id", file.display());
        let total: usize = entries
            .iter()
            .map(|entry| entry["MessageBody"].as_str().unwrap().len())
            .sum();
        assert!(
            total <= MAX_BYTES,
            "{} carries {total} bytes",
            file.display()
        );
        for entry in entries {
            assert_eq!(entry.as_object().unwrap().len(), 2, "{entry}");
            let text = entry["MessageBody"].as_str().unwrap();
            assert!(text.len() <= MAX_BYTES);
            bodies.push(serde_json::from_str(text).unwrap());
        }
    }
    bodies
}

/// Fails unless every body is a request the function accepts as it
/// arrives: each the body of a record of an SQS event.
fn assert_valid_events(bodies: &[Value]) {
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/envelope-sqs.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(index, body)| {
            let mut record = sample["Records"][0].clone();
            record["messageId"] = json!(format!("m{index}"));
            record["body"] = json!(body.to_string());
            record
        })
        .collect();
    let Opened::Sqs(records) = envelope::open(json!({"Records": records})).unwrap() else {
        panic!("not opened as SQS");
    };
    assert_eq!(records.len(), bodies.len());
    for record in records {
        let request = record.request.expect("a record body is not a request");
        let event = Event::parse(&request).expect("a message is not a valid request");
        if let Event::Batch { items, .. } = event {
            for item in items {
                item.expect("a batch item is not a valid request");
            }
        }
    }
}

#[test]
fn a_hundred_thousand_domains_from_a_file_land_each_in_exactly_one_valid_message() {
    let dir = scratch("domains");
    let domains: Vec<String> = (0..100_000).map(|n| format!("exh-task-{n}.com")).collect();
    std::fs::write(
        dir.join("domains.txt"),
        format!("# to check\n{}\n", domains.join("\n")),
    )
    .unwrap();
    let request = json!({"hexonet": {"command": {"COMMAND": "CheckDomains"}}});
    let domains_file = dir.join("domains.txt");
    let output = split(
        &dir,
        &request,
        &["--domains", domains_file.to_str().unwrap()],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("aws sqs send-message-batch"));

    let bodies = sent_bodies(&dir);
    assert_eq!(bodies.len(), 1000, "100 domains a message by default");
    assert_valid_events(&bodies);
    let sent: Vec<String> = bodies
        .iter()
        .flat_map(|body| {
            assert_eq!(body["hexonet"]["command"]["COMMAND"], "CheckDomains");
            body["hexonet"]["command"]["DOMAIN"]
                .as_array()
                .unwrap()
                .iter()
                .map(|domain| domain.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        sent, domains,
        "not every domain was sent exactly once, in order"
    );
}

#[test]
fn a_batch_is_shared_out_by_count_and_by_size_keeping_its_concurrency() {
    let dir = scratch("batch");
    // 5 KB each: 100 of them would be over 256 KiB, so messages carry fewer.
    let items: Vec<Value> = (0..1000)
        .map(|n| {
            json!({"exh": {"method": "POST", "path": "/data/v1/blood-pressure/documents",
                           "body": {"n": n, "note": "x".repeat(5000)}}})
        })
        .collect();
    let request = json!({"batch": items, "concurrency": 8});
    let output = split(&dir, &request, &["--per-message", "100"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let bodies = sent_bodies(&dir);
    assert!(
        bodies.len() > 10,
        "size did not share the items out further"
    );
    assert_valid_events(&bodies);
    let mut sent = Vec::new();
    for body in &bodies {
        assert_eq!(body["concurrency"], 8);
        sent.extend(body["batch"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(
        sent, items,
        "not every item was sent exactly once, in order"
    );
}

#[test]
fn an_invalid_request_or_one_too_large_is_refused_and_nothing_is_written() {
    let dir = scratch("refused");
    for (request, says) in [
        (
            json!({"batch": [{}, {"exh": {"path": "/users/v1/"}, "hexonet": {}}]}),
            "request 2 is not valid",
        ),
        (
            json!({"batch": [{"exh": {"method": "POST", "path": "/x", "body": "y".repeat(MAX_BYTES)}}]}),
            "request 1 alone is over",
        ),
        (json!({"exh": {"path": "/users/v1/"}}), "nothing to split"),
    ] {
        let output = split(&dir, &request, &[]);
        assert_eq!(output.status.code(), Some(2), "{request}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{stderr:?} does not say {says:?}");
        assert!(
            !dir.join("out").exists(),
            "files were written for {request}"
        );
    }
}

#[test]
fn a_request_the_function_would_refuse_when_it_runs_is_refused_too() {
    let dir = scratch("refused-when-run");
    for request in [
        // Nested objects are not HEXONET parameters.
        json!({"hexonet": {"command": {"COMMAND": "CheckDomains", "X": {"a": 1}, "DOMAIN": ["a.com"]}}}),
        json!({"batch": [{"exh": {"path": "//evil.example/x"}}]}),
    ] {
        let output = split(&dir, &request, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{request} was split");
        assert!(stderr.contains("request 1 is not valid"), "{stderr}");
        assert!(
            !dir.join("out").exists(),
            "files were written for {request}"
        );
    }
}

#[test]
fn the_list_key_is_found_whatever_its_case_as_the_function_reads_it() {
    let dir = scratch("lower-case");
    let request = json!({"hexonet": {"command": {"command": "CheckDomains", "domain": ["a.com", "b.net", "c.org"]}}});
    let output = split(&dir, &request, &["--per-message", "2"]);
    assert!(output.status.success(), "{output:?}");
    let bodies = sent_bodies(&dir);
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[1]["hexonet"]["command"],
        json!({"command": "CheckDomains", "domain": ["c.org"]})
    );
    // With --domains, an inline list under any case is one list too many.
    let dir = scratch("lower-case-and-file");
    std::fs::write(dir.join("domains.txt"), "x.com\n").unwrap();
    let output = split(
        &dir,
        &request,
        &["--domains", dir.join("domains.txt").to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("list already"), "{stderr}");
    assert!(!dir.join("out").exists());
}

#[test]
fn a_batch_or_list_that_is_not_an_array_is_refused_as_such() {
    let dir = scratch("not-an-array");
    for (request, says) in [
        (json!({"batch": {"exh": {}}}), "batch is not an array"),
        (
            json!({"hexonet": {"command": {"COMMAND": "CheckDomains", "DOMAIN": "a.com"}}}),
            "DOMAIN is not a list",
        ),
    ] {
        let output = split(&dir, &request, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{request} was split");
        assert!(stderr.contains(says), "{stderr:?} does not say {says:?}");
    }
}

#[test]
fn files_of_an_earlier_run_are_never_overwritten() {
    let dir = scratch("again");
    let request =
        json!({"hexonet": {"command": {"COMMAND": "CheckDomains", "DOMAIN": ["a.com", "b.com"]}}});
    assert!(split(&dir, &request, &["--per-message", "1"])
        .status
        .success());
    let output = split(&dir, &request, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("send or remove them first"));
    assert_eq!(sent_bodies(&dir).len(), 2);
}

#[test]
fn a_file_left_by_a_stopped_run_is_refused_never_written_through_and_a_run_again_writes_all() {
    let dir = scratch("stopped");
    // A hidden file of a run that was stopped, here a link to a file of the
    // user's: it must be neither written through nor removed.
    let mine = dir.join("mine.txt");
    std::fs::write(&mine, "mine").unwrap();
    let left = dir.join("out").join(".batch-00002.json.partial");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::os::unix::fs::symlink(&mine, &left).unwrap();
    let domains: Vec<String> = (0..30).map(|n| format!("d{n}.com")).collect();
    let request = json!({"hexonet": {"command": {"COMMAND": "CheckDomains", "DOMAIN": domains}}});
    // 30 messages of one domain: three files of ten entries.
    let output = split(&dir, &request, &["--per-message", "1"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(".batch-00002.json.partial, left by a run that was stopped"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "mine");
    let names: Vec<String> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [".batch-00002.json.partial"]);

    std::fs::remove_file(&left).unwrap();
    assert!(split(&dir, &request, &["--per-message", "1"])
        .status
        .success());
    assert_eq!(sent_bodies(&dir).len(), 30);
}

#[test]
fn a_summary_that_cannot_be_written_fails_without_a_panic_and_a_closed_reader_is_enough() {
    let dir = scratch("stdout");
    let file = dir.join("request.json");
    std::fs::write(&file, json!({"batch": [{}, {}]}).to_string()).unwrap();
    let run = |out: &str, stdout: std::process::Stdio| {
        Command::new(env!("CARGO_BIN_EXE_exh-task"))
            .arg("split")
            .arg(&file)
            .arg("--out")
            .arg(dir.join(out))
            .stdout(stdout)
            .output()
            .unwrap()
    };
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = run("full", full.into());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = run("closed", writer.into());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_input_without_end_is_refused_past_a_bound_instead_of_filling_the_memory() {
    let dir = scratch("endless");
    let request = dir.join("request.json");
    std::fs::write(
        &request,
        json!({"hexonet": {"command": {"COMMAND": "CheckDomains"}}}).to_string(),
    )
    .unwrap();
    for args in [
        vec!["/dev/zero".to_owned()],
        vec![
            request.display().to_string(),
            "--domains".to_owned(),
            "/dev/zero".to_owned(),
        ],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_exh-task"))
            .arg("split")
            .args(&args)
            .arg("--out")
            .arg(dir.join("out"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("/dev/zero: over"), "{stderr}");
        assert!(!dir.join("out").exists());
    }
}
