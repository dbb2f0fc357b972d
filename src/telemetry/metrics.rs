//! Metrics in CloudWatch's Embedded Metric Format (EMF): each invocation's
//! [`Record`] as JSON documents, one a line on stdout, which CloudWatch
//! Logs turns into metrics. Off unless `EXH_TASK_METRICS_NAMESPACE` names
//! the namespace.
//!
//! # Documents
//! - one per invocation, dimension `FunctionName`: `Invocations`,
//!   `ColdStarts`, `Errors` and `Errors.<errorType>` for each type seen;
//! - one per side called, dimensions `FunctionName` and `Side`:
//!   `UpstreamCalls`, `Retries`, `PagesFetched`, `UpstreamLatency` (every
//!   call's duration, in ms) and, for HEXONET, `HexonetCode.<code>`.
//!
//! A metric has at most 100 values in a document, and a document defines
//! at most 100 metrics, as the specification requires: a side with more
//! calls has its further latencies in further documents (the same
//! dimensions, no counts), which CloudWatch adds to the first.
//!
//! Dimensions are kept to these two, as CloudWatch bills each combination
//! of dimension values as a metric of its own; error types and HEXONET
//! codes are few, so they are metric names. Few is made sure of, since
//! each new name is a metric billed, and a hostile upstream or a task's
//! own error types could make them many: a HEXONET code outside 100–999
//! counts as `HexonetCode.Other`, and an error type counts as
//! `Errors.Other` when it is not a name (1 to 64 ASCII letters, digits,
//! `_`, `.` or `-`); beyond exh-task's own error types, a process names at
//! most [`MAX_NAMES`] types and as many codes, and counts the rest as
//! `Other` too (a task's own type called `Other` among them).
//!
//! # Why not the `metrics` facade
//! `metrics` with `metrics_cloudwatch_embedded` keeps process-wide
//! counters flushed at the end of each invocation by a layer around the
//! service: in the runtime's concurrent mode the counts of invocations in
//! flight together would mix, and it brings `lambda_http` along. The
//! record is already per invocation, so a few `serde_json` values are
//! smaller and exact.

use super::record::{Record, Side};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the metrics go: the namespace and the `FunctionName` dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    /// The CloudWatch namespace (`EXH_TASK_METRICS_NAMESPACE`).
    pub namespace: String,
    /// The `FunctionName` dimension (`AWS_LAMBDA_FUNCTION_NAME`).
    pub function_name: String,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// Turns metrics on for the rest of the process (the first call wins).
pub fn enable(metrics: Metrics) {
    let _ = METRICS.set(metrics);
}

/// Writes the documents of `record` to stdout, when metrics are on.
pub fn emit(record: &Record) {
    let Some(metrics) = METRICS.get() else {
        return;
    };
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let mut stdout = std::io::stdout().lock();
    for document in metrics.documents(record, timestamp) {
        // Whole lines under one lock, so no log line cuts into a document.
        let _ = writeln!(stdout, "{document}");
    }
}

/// The most metric names of each family (`Errors.<errorType>`,
/// `HexonetCode.<code>`) one process defines beyond exh-task's own error
/// types ([`crate::Error::TYPES`], always named); further ones count as
/// `Errors.Other` and `HexonetCode.Other`.
pub const MAX_NAMES: usize = 32;

/// The error types this process has named metrics after.
static ERROR_TYPES: Names = Names::new();

/// The HEXONET codes this process has named metrics after.
static HEXONET_CODES: Names = Names::new();

/// The names of one family given metrics of their own, at most [`MAX_NAMES`].
struct Names(Mutex<BTreeSet<String>>);

impl Names {
    const fn new() -> Names {
        Names(Mutex::new(BTreeSet::new()))
    }

    /// Whether `name` has a metric of its own: it had one already, or
    /// there is room for it.
    fn admits(&self, name: &str) -> bool {
        let mut named = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if named.contains(name) {
            return true;
        }
        let room = named.len() < MAX_NAMES;
        if room {
            named.insert(name.to_owned());
        }
        room
    }

    /// The metric the error type `error_type` counts in.
    fn error_metric(&self, error_type: &str) -> String {
        let is_name = (1..=64).contains(&error_type.len())
            && error_type
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"_.-".contains(&byte));
        let own = crate::Error::TYPES.contains(&error_type);
        if own || (is_name && self.admits(error_type)) {
            format!("Errors.{error_type}")
        } else {
            "Errors.Other".to_owned()
        }
    }

    /// The metric a HEXONET `code` counts in.
    fn code_metric(&self, code: i64) -> String {
        if (100..=999).contains(&code) && self.admits(&code.to_string()) {
            format!("HexonetCode.{code}")
        } else {
            "HexonetCode.Other".to_owned()
        }
    }
}

/// `counted`'s counts, added up by the metric each counts in.
fn by_metric<K>(
    counted: impl IntoIterator<Item = (K, u64)>,
    metric: impl Fn(K) -> String,
) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for (key, count) in counted {
        *counts.entry(metric(key)).or_default() += count;
    }
    counts
}

impl Metrics {
    /// The EMF documents of `record`, stamped `timestamp` (ms since the epoch).
    pub fn documents(&self, record: &Record, timestamp: u64) -> Vec<Value> {
        self.documents_naming(record, timestamp, [&ERROR_TYPES, &HEXONET_CODES])
    }

    /// [`Metrics::documents`], naming error types and HEXONET codes as
    /// `error_types` and `codes` admit them.
    fn documents_naming(
        &self,
        record: &Record,
        timestamp: u64,
        [error_types, codes]: [&Names; 2],
    ) -> Vec<Value> {
        let mut invocation = Document::new(self, timestamp, None);
        invocation.count("Invocations", 1);
        invocation.count("ColdStarts", u64::from(record.cold_start));
        invocation.count("Errors", record.error_count());
        let errors = record
            .errors
            .iter()
            .map(|(error_type, count)| (error_type, *count));
        for (name, count) in by_metric(errors, |error_type| error_types.error_metric(error_type)) {
            invocation.count(&name, count);
        }
        let mut documents = invocation.finish();
        for side in [Side::Exh, Side::Hexonet] {
            let calls: Vec<_> = record.calls_of(Some(side)).collect();
            if calls.is_empty() {
                continue;
            }
            let mut upstream = Document::new(self, timestamp, Some(side));
            upstream.count("UpstreamCalls", calls.len() as u64);
            upstream.count("Retries", record.retries(Some(side)));
            upstream.count(
                "PagesFetched",
                record.pages.get(&side).copied().unwrap_or(0),
            );
            let latencies = calls.iter().map(|call| json!(call.duration_ms)).collect();
            upstream.list("UpstreamLatency", "Milliseconds", latencies);
            let hexonet_codes = calls
                .iter()
                .filter_map(|call| call.code)
                .map(|code| (code, 1));
            for (name, count) in by_metric(hexonet_codes, |code| codes.code_metric(code)) {
                upstream.count(&name, count);
            }
            documents.extend(upstream.finish());
        }
        documents
    }
}

/// The most values one metric may carry in a document, and the most
/// metrics one directive may define, per the EMF specification.
const MAX_PER_DOCUMENT: usize = 100;

/// The documents of one dimension set being written: its members and its
/// metrics, each with every value it has.
struct Document {
    root: Map<String, Value>,
    metrics: Vec<Metric>,
    dimensions: Vec<&'static str>,
    namespace: String,
    timestamp: u64,
}

/// One metric and all of its values: a count is one number, a list
/// (latencies) is written as a list even of one value.
struct Metric {
    name: String,
    unit: &'static str,
    values: Vec<Value>,
    list: bool,
}

impl Document {
    fn new(metrics: &Metrics, timestamp: u64, side: Option<Side>) -> Document {
        let mut root = Map::new();
        root.insert("FunctionName".into(), json!(metrics.function_name));
        let mut dimensions = vec!["FunctionName"];
        if let Some(side) = side {
            root.insert("Side".into(), json!(side.name()));
            dimensions.push("Side");
        }
        Document {
            root,
            metrics: Vec::new(),
            dimensions,
            namespace: metrics.namespace.clone(),
            timestamp,
        }
    }

    fn count(&mut self, name: &str, value: u64) {
        self.metrics.push(Metric {
            name: name.to_owned(),
            unit: "Count",
            values: vec![json!(value)],
            list: false,
        });
    }

    fn list(&mut self, name: &str, unit: &'static str, values: Vec<Value>) {
        self.metrics.push(Metric {
            name: name.to_owned(),
            unit,
            values,
            list: true,
        });
    }

    /// The documents, as few as the specification allows: the first holds
    /// every metric with its first 100 values, the next ones the values
    /// after those (CloudWatch adds them up), and none defines more than
    /// 100 metrics. A metric of one value is a number, of several a list.
    fn finish(self) -> Vec<Value> {
        let mut rounds: Vec<Vec<(&Metric, &[Value])>> = Vec::new();
        for metric in &self.metrics {
            for (round, values) in metric.values.chunks(MAX_PER_DOCUMENT).enumerate() {
                if rounds.len() == round {
                    rounds.push(Vec::new());
                }
                rounds[round].push((metric, values));
            }
        }
        rounds
            .iter()
            .flat_map(|round| round.chunks(MAX_PER_DOCUMENT))
            .map(|metrics| self.document(metrics))
            .collect()
    }

    /// One document of `metrics`: the `_aws` metadata first, then the
    /// dimensions and the metrics' values.
    fn document(&self, metrics: &[(&Metric, &[Value])]) -> Value {
        let definitions: Vec<Value> = metrics
            .iter()
            .map(|(metric, _)| json!({"Name": metric.name, "Unit": metric.unit}))
            .collect();
        let mut document = Map::new();
        document.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [self.dimensions],
                    "Metrics": definitions,
                }],
            }),
        );
        document.extend(self.root.clone());
        for (metric, values) in metrics {
            let value = match values {
                [value] if !metric.list => value.clone(),
                values => Value::Array(values.to_vec()),
            };
            document.insert(metric.name.clone(), value);
        }
        Value::Object(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::UpstreamCall;
    use std::borrow::Cow;

    /// The documents of `record`, with names admitted afresh (the
    /// process's own are shared by every test).
    fn fresh_documents(record: &Record) -> Vec<Value> {
        metrics().documents_naming(record, 7, [&Names::new(), &Names::new()])
    }

    fn metrics() -> Metrics {
        Metrics {
            namespace: "ExhTask".into(),
            function_name: "fn".into(),
        }
    }

    fn call(side: Side, code: Option<i64>, attempts: u32) -> UpstreamCall {
        UpstreamCall {
            side,
            method: "POST".into(),
            path: "/api/call.cgi".into(),
            command: None,
            status: None,
            code,
            error_type: None,
            attempts,
            duration_ms: 1.5,
        }
    }

    #[test]
    fn an_invocation_without_calls_is_one_document_of_invocation_metrics() {
        let record = Record {
            cold_start: true,
            errors: BTreeMap::from([("InvalidEvent".into(), 1)]),
            ..Record::default()
        };
        let documents = metrics().documents(&record, 7);
        assert_eq!(documents.len(), 1);
        let document = &documents[0];
        assert_eq!(document["_aws"]["Timestamp"], 7);
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ExhTask");
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(
            (
                &document["Invocations"],
                &document["ColdStarts"],
                &document["Errors"],
                &document["Errors.InvalidEvent"]
            ),
            (&json!(1), &json!(1), &json!(1), &json!(1))
        );
        assert_eq!(document["FunctionName"], "fn");
    }

    #[test]
    fn each_side_called_gets_its_calls_retries_latencies_and_codes() {
        let record = Record {
            calls: vec![
                call(Side::Hexonet, Some(200), 2),
                call(Side::Hexonet, Some(200), 1),
            ],
            pages: BTreeMap::from([(Side::Hexonet, 2)]),
            ..Record::default()
        };
        let documents = fresh_documents(&record);
        assert_eq!(
            documents.len(),
            2,
            "no Extra Horizon document without calls"
        );
        let hexonet = &documents[1];
        assert_eq!(
            hexonet["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName", "Side"]])
        );
        assert_eq!(hexonet["Side"], "hexonet");
        assert_eq!(hexonet["UpstreamCalls"], 2);
        assert_eq!(hexonet["Retries"], 1);
        assert_eq!(hexonet["PagesFetched"], 2);
        assert_eq!(hexonet["HexonetCode.200"], 2);
        assert_eq!(hexonet["UpstreamLatency"], json!([1.5, 1.5]));
    }

    #[test]
    fn no_document_carries_more_than_a_hundred_values_or_metrics() {
        let record = Record {
            calls: (100..350)
                .map(|code| call(Side::Hexonet, Some(code), 1))
                .collect(),
            ..Record::default()
        };
        let documents = fresh_documents(&record);
        let hexonet: Vec<&Value> = documents
            .iter()
            .filter(|document| document["Side"] == "hexonet")
            .collect();
        let mut latencies = 0;
        let mut codes = 0;
        for document in &hexonet {
            let definitions = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap();
            assert!(definitions.len() <= MAX_PER_DOCUMENT, "{document}");
            for definition in definitions {
                let value = &document[definition["Name"].as_str().unwrap()];
                assert!(value.is_number() || value.is_array(), "{document}");
            }
            let values = document["UpstreamLatency"].as_array().map_or(0, Vec::len);
            assert!(values <= MAX_PER_DOCUMENT, "{document}");
            latencies += values;
            codes += document
                .as_object()
                .unwrap()
                .iter()
                .filter(|(name, _)| name.starts_with("HexonetCode."))
                .map(|(_, count)| count.as_u64().unwrap())
                .sum::<u64>();
            assert_eq!(document["Side"], "hexonet");
        }
        assert_eq!((latencies, codes), (250, 250), "every call counted once");
        assert_eq!(hexonet[0]["HexonetCode.Other"], 250 - MAX_NAMES as u64);
        let counted: u64 = hexonet
            .iter()
            .filter_map(|document| document["UpstreamCalls"].as_u64())
            .sum();
        assert_eq!(counted, 250, "the counts are in one document only");
    }

    #[test]
    fn a_hexonet_code_outside_three_digits_counts_as_other() {
        let record = Record {
            calls: [200, 99, 1000, -1, i64::MAX]
                .into_iter()
                .map(|code| call(Side::Hexonet, Some(code), 1))
                .collect(),
            ..Record::default()
        };
        let documents = fresh_documents(&record);
        let hexonet = &documents[1];
        assert_eq!(
            (&hexonet["HexonetCode.200"], &hexonet["HexonetCode.Other"]),
            (&json!(1), &json!(4))
        );
        let names = hexonet["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(
            names
                .iter()
                .filter(|metric| metric["Name"].as_str().unwrap().starts_with("HexonetCode."))
                .count(),
            2
        );
    }

    #[test]
    fn error_types_are_metric_names_only_while_they_are_names_and_few() {
        let (types, codes) = (Names::new(), Names::new());
        let mut errors: BTreeMap<Cow<'static, str>, u64> = (0..MAX_NAMES + 3)
            .map(|n| (Cow::Owned(format!("Type{n:02}")), 1))
            .collect();
        errors.insert("not a name".into(), 1);
        errors.insert("x".repeat(65).into(), 1);
        // exh-task's own types are named past the bound.
        errors.insert("Timeout".into(), 1);
        let record = Record {
            errors,
            ..Record::default()
        };
        let document = &metrics().documents_naming(&record, 7, [&types, &codes])[0];
        let named = document
            .as_object()
            .unwrap()
            .keys()
            .filter(|key| key.starts_with("Errors.Type"))
            .count();
        assert_eq!(named, MAX_NAMES);
        assert_eq!(document["Errors.Timeout"], 1);
        // Three past the bound, and the two that are no names.
        assert_eq!(document["Errors.Other"], 5);
        // A type already named keeps its metric.
        let again = Record {
            errors: BTreeMap::from([("Type00".into(), 2)]),
            ..Record::default()
        };
        assert_eq!(
            metrics().documents_naming(&again, 7, [&types, &codes])[0]["Errors.Type00"],
            2
        );
    }
}
