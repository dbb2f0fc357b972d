//! `exh-task split`: one large request as SQS messages, so that bulk work
//! (say, checking 100,000 domains) spreads over Lambda's concurrency through
//! the template's queue, and only the failed messages are retried.
//!
//! The input is a `batch` (its items are shared out over messages, each a
//! smaller batch with the same `concurrency`) or a `hexonet` request with a
//! list (`DOMAIN` by default, inline or read with `--domains` from a file,
//! one name a line), shared out over messages that each carry the same
//! command with part of the list. Every request of the input lands in
//! exactly one message, in order.
//!
//! # Format
//!
//! The output folder gets `batch-00001.json`, `batch-00002.json`, …: each a
//! `SendMessageBatch` entry list, as `aws sqs send-message-batch --queue-url
//! URL --entries file://batch-00001.json` takes it:
//!
//! ```json
//! [{"Id": "m000001", "MessageBody": "{\"hexonet\": {...}}"}, ...]
//! ```
//!
//! At most [`MAX_ENTRIES`] entries a file; each body, and the bodies of a
//! file together, at most [`MAX_BYTES`]. Every body is checked to be a
//! request the function accepts before anything is written.

use exh_task::event::{Event, Request, MAX_BATCH_ITEMS};
use serde_json::{json, Map, Value};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The most requests a message may hold: a batch's most.
const MAX_PER_MESSAGE: i64 = MAX_BATCH_ITEMS as i64;

/// The largest SQS message, and the largest `SendMessageBatch` payload.
pub const MAX_BYTES: usize = 256 * 1024;

/// The most bytes read from the request or the `--domains` file (some
/// three million names), so an input without end cannot fill the memory.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// The most entries of one `SendMessageBatch`.
pub const MAX_ENTRIES: usize = 10;

/// `exh-task split`'s arguments.
#[derive(clap::Args)]
pub struct SplitArgs {
    /// The request (JSON): a `batch`, or a `hexonet` request with a list.
    request: PathBuf,
    /// A file of names, one a line (blank lines and `#` comments skipped),
    /// that becomes the command's list.
    #[arg(long)]
    domains: Option<PathBuf>,
    /// The command key whose list is split (in any case: `domain` is `DOMAIN`).
    #[arg(long, default_value = "DOMAIN")]
    list_key: String,
    /// Requests (batch items, or list entries) per message, at most (1 to
    /// 1,000, a batch's most); fewer when a message would exceed 256 KiB.
    /// Lower it when a message takes too long for the function's timeout.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=MAX_PER_MESSAGE))]
    per_message: u32,
    /// The folder the entry files are written to (created; must hold none yet).
    #[arg(long, short, default_value = "sqs-messages")]
    out: PathBuf,
}

/// Runs `exh-task split`: exit status 0 when the files are written, 2 when
/// the request, the list or the folder keeps them from being written (said
/// on stderr), 1 when the summary could not be written to stdout.
pub fn run(args: SplitArgs) -> ExitCode {
    match split(&args) {
        // The files are written: a closed pipe only means nobody reads the summary.
        Ok(summary) => match crate::output::line(&summary) {
            Ok(()) | Err(crate::output::Stopped::Closed) => ExitCode::SUCCESS,
            Err(crate::output::Stopped::Failed) => ExitCode::FAILURE,
        },
        // As `invoke`'s usage, file and set-up errors: said on stderr.
        Err(message) => {
            eprintln!("exh-task split: {message}");
            ExitCode::from(crate::invoke::EXIT_USAGE)
        }
    }
}

fn split(args: &SplitArgs) -> Result<String, String> {
    let request: Value = serde_json::from_str(&read(&args.request)?)
        .map_err(|error| format!("{}: not JSON: {error}", args.request.display()))?;
    let list = args
        .domains
        .as_deref()
        .map(|file| read(file).map(|text| names(&text)))
        .transpose()?;
    let messages = messages(request, list, &args.list_key, args.per_message as usize)?;
    let files = entry_files(&messages);
    write(&args.out, &files)?;
    Ok(format!(
        "{} messages in {} files in {}; send them with\n  for f in {}/batch-*.json; do aws sqs send-message-batch --queue-url \"$QUEUE_URL\" --entries \"file://$f\"; done",
        messages.len(),
        files.len(),
        args.out.display(),
        args.out.display()
    ))
}

fn read(file: &Path) -> Result<String, String> {
    let name = file.display().to_string();
    let opened = std::fs::File::open(file).map_err(|error| format!("{name}: {error}"))?;
    crate::input::text(
        opened,
        &name,
        MAX_INPUT_BYTES,
        "more than split reads at once: cut it into several files",
    )
}

/// The names of a list file: one a line, trimmed; blank lines and `#`
/// comments skipped.
pub fn names(text: &str) -> Vec<Value> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| json!(line))
        .collect()
}

/// The message bodies for `request`: its batch items, or the entries of its
/// command's `list_key` list (`list` replaces that list when given), shared
/// out `per_message` at a time, fewer where a body would exceed [`MAX_BYTES`].
///
/// # Errors
/// The request is not one the function accepts, there is nothing to split,
/// one request alone exceeds [`MAX_BYTES`], or a message would not be valid.
pub fn messages(
    request: Value,
    list: Option<Vec<Value>>,
    list_key: &str,
    per_message: usize,
) -> Result<Vec<Value>, String> {
    let (splittable, items) = Splittable::of(request, list, list_key)?;
    if items.is_empty() {
        return Err("nothing to split: the list is empty".into());
    }
    let mut messages = Vec::new();
    let mut first = 0;
    while first < items.len() {
        let mut count = per_message.min(items.len() - first);
        let message = loop {
            let message = splittable.with(items[first..first + count].to_vec());
            if body(&message).len() <= MAX_BYTES {
                break message;
            }
            if count == 1 {
                return Err(format!(
                    "request {} alone is over {MAX_BYTES} bytes, the most an SQS message holds",
                    first + 1
                ));
            }
            count /= 2;
        };
        check(&message, first)?;
        messages.push(message);
        first += count;
    }
    Ok(messages)
}

/// What is shared out over messages, and how a share becomes a message.
enum Splittable {
    /// A batch's items: each share a batch with the same `concurrency`.
    Batch { concurrency: Option<Value> },
    /// A HEXONET command's list: each share the same request with part of it.
    List { request: Value, key: String },
}

impl Splittable {
    /// Reads `request` (with `list` in place of its command's `key` list, if
    /// given): what it is, and the items to share out.
    fn of(
        request: Value,
        list: Option<Vec<Value>>,
        key: &str,
    ) -> Result<(Splittable, Vec<Value>), String> {
        if let Some(batch) = request.get("batch") {
            if list.is_some() {
                return Err("--domains goes with a hexonet request, not a batch".into());
            }
            let Value::Array(items) = batch.clone() else {
                return Err("nothing to split: batch is not an array of requests".into());
            };
            let concurrency = request.get("concurrency").cloned();
            return Ok((Splittable::Batch { concurrency }, items));
        }
        if request.get("hexonet").is_none() {
            return Err(
                "nothing to split: give a {\"batch\": [...]} or a {\"hexonet\": ...} request with a list"
                    .into(),
            );
        }
        // The command's own spelling of the key: HEXONET names are
        // case-insensitive (`domain` is `DOMAIN`), as the function reads them.
        let key = request["hexonet"]["command"]
            .as_object()
            .and_then(|command| command.keys().find(|name| name.eq_ignore_ascii_case(key)))
            .map_or(key, String::as_str)
            .to_owned();
        let items = match (list, request["hexonet"]["command"].get(&key)) {
            (Some(_), Some(_)) => {
                return Err(format!(
                "the command has a {key} list already: give it inline or with --domains, not both"
            ))
            }
            (Some(list), None) => list,
            (None, Some(Value::Array(inline))) => inline.clone(),
            (None, Some(_)) => {
                return Err(format!(
                    "nothing to split: the command's {key} is not a list (give an array, or --domains FILE)"
                ))
            }
            (None, None) => {
                return Err(format!(
                    "nothing to split: the command has no {key} list (give --domains FILE)"
                ))
            }
        };
        Ok((Splittable::List { request, key }, items))
    }

    /// The message that carries `share`.
    fn with(&self, share: Vec<Value>) -> Value {
        match self {
            Splittable::Batch { concurrency } => {
                let mut message = Map::new();
                message.insert("batch".into(), Value::Array(share));
                if let Some(concurrency) = concurrency {
                    message.insert("concurrency".into(), concurrency.clone());
                }
                Value::Object(message)
            }
            Splittable::List { request, key } => {
                let mut message = request.clone();
                message["hexonet"]["command"][key.as_str()] = Value::Array(share);
                message
            }
        }
    }
}

/// Fails unless the function accepts `message` and each request in it as
/// far as it checks before any call: the event read, and each request
/// prepared (a HEXONET command encoded, an Extra Horizon path checked).
/// `first` numbers them from 1 for the error.
fn check(message: &Value, first: usize) -> Result<(), String> {
    let invalid = |index: usize, error: exh_task::Error| {
        format!("request {} is not valid: {error}", first + index + 1)
    };
    let requests = match Event::parse(message).map_err(|error| invalid(0, error))? {
        Event::Batch { items, .. } => items,
        Event::Single(request) => vec![Ok(request)],
    };
    requests
        .into_iter()
        .enumerate()
        .try_for_each(|(index, item)| {
            item.and_then(|request| prepare(&request))
                .map_err(|error| invalid(index, error))
        })
}

/// Prepares `request` as the handler does before it sends anything.
fn prepare(request: &Request) -> Result<(), exh_task::Error> {
    match request {
        Request::Exh(request) => request.prepare().map(drop),
        Request::Hexonet(request) => request.prepare().map(drop),
    }
}

/// A message's body: its compact JSON.
fn body(message: &Value) -> String {
    message.to_string()
}

/// The `SendMessageBatch` entry lists for `messages`: at most [`MAX_ENTRIES`]
/// entries and [`MAX_BYTES`] of bodies each; ids `m000001`, … over all files.
pub fn entry_files(messages: &[Value]) -> Vec<Value> {
    let mut files = Vec::new();
    let mut entries = Vec::new();
    let mut bytes = 0;
    for (index, message) in messages.iter().enumerate() {
        let text = body(message);
        if entries.len() == MAX_ENTRIES || bytes + text.len() > MAX_BYTES {
            files.push(Value::Array(std::mem::take(&mut entries)));
            bytes = 0;
        }
        bytes += text.len();
        entries.push(json!({"Id": format!("m{:06}", index + 1), "MessageBody": text}));
    }
    if !entries.is_empty() {
        files.push(Value::Array(entries));
    }
    files
}

/// Writes `files` as `batch-00001.json`, … into `out`, which must hold no
/// such file yet (files left from an earlier run would be sent again) and
/// no hidden one of a run that was stopped.
fn write(out: &Path, files: &[Value]) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|error| format!("{}: {error}", out.display()))?;
    refuse_leftovers(out)?;
    write_all_or_none(out, files)
}

/// The name of the `index`th entry file (from 0).
fn batch_name(index: usize) -> String {
    format!("batch-{:05}.json", index + 1)
}

/// The hidden name the `index`th entry file is written under first.
fn staged_name(index: usize) -> String {
    format!(".{}.partial", batch_name(index))
}

/// Refuses `out` when it holds `batch-*` files of an earlier run or a
/// hidden file of a stopped one, naming which.
fn refuse_leftovers(out: &Path) -> Result<(), String> {
    let unreadable = |error: std::io::Error| format!("{}: {error}", out.display());
    for entry in std::fs::read_dir(out).map_err(unreadable)? {
        let name = entry
            .map_err(unreadable)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.starts_with("batch-") {
            return Err(format!(
                "{} holds batch-*.json files already: send or remove them first",
                out.display()
            ));
        }
        if name.starts_with(".batch-") && name.ends_with(".partial") {
            return Err(format!(
                "{} holds {name}, left by a run that was stopped: remove it first",
                out.display()
            ));
        }
    }
    Ok(())
}

/// Writes each of `files` under its hidden name, then gives each its entry
/// file's name. A failure it reports removes every file it made (and names
/// any it could not remove), so a full disk cannot leave part of the
/// messages looking like all of them.
fn write_all_or_none(out: &Path, files: &[Value]) -> Result<(), String> {
    let mut made = Vec::with_capacity(files.len());
    stage(out, files, &mut made)
        .and_then(|()| place(out, &mut made))
        .map_err(|error| {
            let kept: Vec<String> = made
                .iter()
                .filter(|path| {
                    std::fs::remove_file(path)
                        .is_err_and(|error| error.kind() != std::io::ErrorKind::NotFound)
                })
                .map(|path| path.display().to_string())
                .collect();
            if kept.is_empty() {
                format!("{error} (no file was written)")
            } else {
                format!("{error}; could not remove {}", kept.join(", "))
            }
        })
}

/// Writes `files` under their hidden names, each a new file (never one that
/// exists, nor through a link), adding each path to `made` once created.
fn stage(out: &Path, files: &[Value], made: &mut Vec<PathBuf>) -> Result<(), String> {
    for (index, file) in files.iter().enumerate() {
        let path = out.join(staged_name(index));
        let failed = |error: std::io::Error| format!("{}: {error}", path.display());
        let mut created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(failed)?;
        made.push(path.clone());
        let text = serde_json::to_string_pretty(file).expect("JSON values print");
        // Synced, so that a disk that fills only as the file is closed (a
        // network file system, a quota) fails here, not silently.
        created
            .write_all(text.as_bytes())
            .and_then(|()| created.sync_all())
            .map_err(failed)?;
    }
    Ok(())
}

/// Gives every staged file in `made` its entry file's name, adding each
/// name to `made` once it is given.
fn place(out: &Path, made: &mut Vec<PathBuf>) -> Result<(), String> {
    for index in 0..made.len() {
        let placed = out.join(batch_name(index));
        let staged = made[index].clone();
        let failed = |path: &Path, error: std::io::Error| format!("{}: {error}", path.display());
        link_new(&staged, &placed).map_err(|error| failed(&placed, error))?;
        made.push(placed);
        match std::fs::remove_file(&staged) {
            // Renamed, where the file system has no hard links.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            removed => removed.map_err(|error| failed(&staged, error))?,
        }
    }
    Ok(())
}

/// Gives `staged` the name `placed`, never over a file that has that name
/// (one a second run made since [`refuse_leftovers`] looked): a hard link,
/// or, where the file system has none, a rename once `placed` is not there.
fn link_new(staged: &Path, placed: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(staged, placed) {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => {
            if std::fs::symlink_metadata(placed).is_ok() {
                return Err(std::io::ErrorKind::AlreadyExists.into());
            }
            std::fs::rename(staged, placed)
        }
        linked => linked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_grouped_ten_at_a_time_with_ids_over_all_files() {
        let messages: Vec<Value> = (0..25).map(|n| json!({"n": n})).collect();
        let files = entry_files(&messages);
        let sizes: Vec<usize> = files
            .iter()
            .map(|file| file.as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [10, 10, 5]);
        assert_eq!(files[2][4]["Id"], "m000025");
        assert_eq!(files[0][0]["MessageBody"], r#"{"n":0}"#);
    }

    /// An empty folder of `name` for one test.
    fn scratch(name: &str) -> PathBuf {
        let out =
            std::env::temp_dir().join(format!("exh-task-split-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        out
    }

    /// The names in `out`, sorted.
    fn names_in(out: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(out)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// `count` one-entry files.
    fn entry_files_of(count: usize) -> Vec<Value> {
        (0..count).map(|n| json!([{"Id": n}])).collect()
    }

    #[test]
    fn a_write_that_fails_partway_removes_every_file_it_made() {
        let out = scratch("partway");
        // The third file's hidden name is a folder's: its write fails after two.
        std::fs::create_dir(out.join(staged_name(2))).unwrap();
        let error = write_all_or_none(&out, &entry_files_of(4)).unwrap_err();
        assert!(error.contains(&staged_name(2)), "{error}");
        assert!(error.ends_with("(no file was written)"), "{error}");
        assert_eq!(
            names_in(&out),
            [staged_name(2)],
            "only the folder that was there stays"
        );
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn a_staged_name_taken_by_a_link_is_never_written_through() {
        let out = scratch("link");
        let mine = out.join("mine.txt");
        std::fs::write(&mine, "mine").unwrap();
        std::os::unix::fs::symlink(&mine, out.join(staged_name(1))).unwrap();
        let error = write_all_or_none(&out, &entry_files_of(3)).unwrap_err();
        assert!(error.contains(&staged_name(1)), "{error}");
        assert_eq!(std::fs::read_to_string(&mine).unwrap(), "mine");
        assert_eq!(names_in(&out), [staged_name(1), "mine.txt".to_owned()]);
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn an_entry_file_that_appears_before_it_is_placed_is_kept_and_the_rest_removed() {
        let out = scratch("race");
        // As a second run on the same folder would have placed it.
        std::fs::write(out.join(batch_name(1)), "theirs").unwrap();
        let error = write_all_or_none(&out, &entry_files_of(3)).unwrap_err();
        assert!(error.contains(&batch_name(1)), "{error}");
        assert!(error.ends_with("(no file was written)"), "{error}");
        assert_eq!(names_in(&out), [batch_name(1)]);
        assert_eq!(
            std::fs::read_to_string(out.join(batch_name(1))).unwrap(),
            "theirs"
        );
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn entries_of_one_file_stay_under_the_payload_limit_together() {
        let large = "x".repeat(MAX_BYTES / 3);
        let messages: Vec<Value> = (0..4).map(|_| json!(large)).collect();
        let sizes: Vec<usize> = entry_files(&messages)
            .iter()
            .map(|file| file.as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [2, 2]);
    }

    #[test]
    fn list_files_skip_blank_lines_and_comments() {
        assert_eq!(
            names("# domains\na.com\n\n  b.net  \n"),
            [json!("a.com"), json!("b.net")]
        );
    }
}
