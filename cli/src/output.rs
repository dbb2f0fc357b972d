//! How results reach standard output: the `--output` modes, the
//! `--max-items` reading aid, and a closed pipe taken as "enough".
//!
//! Only results go to stdout; headers, notes and diagnostics go to stderr,
//! so `exh-task invoke … | jq` always reads JSON.

use serde_json::{json, Value};
use std::io::{self, IsTerminal, Write};

/// How results are printed (`--output`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Indented JSON, one document per input (the default on a terminal).
    Pretty,
    /// One line of JSON per input (the default when stdout is not a terminal).
    Compact,
    /// One line per input, `{"file": NAME, "result": RESULT}`, so a stream
    /// of several results says which came from where.
    Jsonl,
}

impl Mode {
    /// `requested`, or the default for where stdout goes.
    pub fn or_default(requested: Option<Mode>) -> Mode {
        requested.unwrap_or(if io::stdout().is_terminal() {
            Mode::Pretty
        } else {
            Mode::Compact
        })
    }
}

/// Why standard output takes no more: either way the run stops writing.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Closed by its reader (`| head`): a reader that has seen enough, so
    /// that is no failure of its own (what it read may have been).
    Closed,
    /// Writing failed otherwise (a full disk): what was to be printed is
    /// lost, so the run fails; the error is reported on stderr.
    Failed,
}

/// Writes `text` and a newline to stdout; a reader that went away is
/// [`Stopped::Closed`], any other failure is reported on stderr and is
/// [`Stopped::Failed`].
pub fn line(text: &str) -> Result<(), Stopped> {
    let mut stdout = io::stdout().lock();
    let written = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
    match written {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Err(Stopped::Closed),
        Err(error) => {
            eprintln!("exh-task: cannot write to standard output: {error}");
            Err(Stopped::Failed)
        }
    }
}

/// Prints one input's result in `mode`; `name` is the input's name (a file,
/// `-` for standard input, `--data`).
pub fn result(mode: Mode, name: &str, result: &Value) -> Result<(), Stopped> {
    let text = match mode {
        Mode::Pretty => serde_json::to_string_pretty(result),
        Mode::Compact => serde_json::to_string(result),
        Mode::Jsonl => serde_json::to_string(&json!({"file": name, "result": result})),
    }
    .expect("JSON values print");
    line(&text)
}

/// Cuts every array in `value` to `max_items`, without adding anything to
/// it, so the JSON keeps its shape; returns, for each cut array, its JSON
/// path and how many items were left out. An HTTP envelope's `body` string
/// that holds JSON is cut inside and stays a string.
pub fn cut_lists(value: &mut Value, max_items: usize) -> Vec<(String, usize)> {
    let mut cuts = Vec::new();
    cut(value, max_items, "$", &mut cuts);
    cuts
}

fn cut(value: &mut Value, max_items: usize, path: &str, cuts: &mut Vec<(String, usize)>) {
    match value {
        Value::Array(items) => {
            if items.len() > max_items {
                cuts.push((path.to_owned(), items.len() - max_items));
                items.truncate(max_items);
            }
            for (index, item) in items.iter_mut().enumerate() {
                cut(item, max_items, &format!("{path}[{index}]"), cuts);
            }
        }
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                let path = format!("{path}.{name}");
                if let Some(mut inner) = field
                    .as_str()
                    .filter(|_| name == "body")
                    .and_then(|text| serde_json::from_str::<Value>(text).ok())
                {
                    cut(&mut inner, max_items, &path, cuts);
                    *field = Value::String(inner.to_string());
                    continue;
                }
                cut(field, max_items, &path, cuts);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_lists_keeps_the_shape_and_says_what_was_left_out() {
        let mut value = json!({"hexonet": {"records": [1, 2, 3, 4], "columns": ["A"]}});
        let cuts = cut_lists(&mut value, 2);
        assert_eq!(
            value,
            json!({"hexonet": {"records": [1, 2], "columns": ["A"]}})
        );
        assert_eq!(cuts, [("$.hexonet.records".to_owned(), 2)]);
    }

    #[test]
    fn an_http_body_is_cut_inside_and_stays_a_string() {
        let mut value = json!({"statusCode": 200, "body": "{\"ok\":true,\"batch\":[1,2,3]}"});
        let cuts = cut_lists(&mut value, 1);
        assert_eq!(
            value,
            json!({"statusCode": 200, "body": "{\"ok\":true,\"batch\":[1]}"})
        );
        assert_eq!(cuts, [("$.body.batch".to_owned(), 2)]);
    }

    #[test]
    fn nested_lists_name_their_index() {
        let mut value = json!({"batch": [{"data": [1, 2]}, {"data": [3]}]});
        let cuts = cut_lists(&mut value, 1);
        assert_eq!(value, json!({"batch": [{"data": [1]}]}));
        assert_eq!(
            cuts,
            [("$.batch".to_owned(), 1), ("$.batch[0].data".to_owned(), 1)]
        );
    }
}
