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
//! codes are few, fixed sets, so they are metric names.
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
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::OnceLock;
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

impl Metrics {
    /// The EMF documents of `record`, stamped `timestamp` (ms since the epoch).
    pub fn documents(&self, record: &Record, timestamp: u64) -> Vec<Value> {
        let mut invocation = Document::new(self, timestamp, None);
        invocation.count("Invocations", 1);
        invocation.count("ColdStarts", u64::from(record.cold_start));
        invocation.count("Errors", record.error_count());
        for (error_type, count) in &record.errors {
            invocation.count(&format!("Errors.{error_type}"), *count);
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
            let mut codes: BTreeMap<i64, u64> = BTreeMap::new();
            for code in calls.iter().filter_map(|call| call.code) {
                *codes.entry(code).or_default() += 1;
            }
            for (code, count) in codes {
                upstream.count(&format!("HexonetCode.{code}"), count);
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
        let documents = metrics().documents(&record, 7);
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
            calls: (0..250)
                .map(|code| call(Side::Hexonet, Some(code), 1))
                .collect(),
            ..Record::default()
        };
        let documents = metrics().documents(&record, 7);
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
            codes += (0..250)
                .filter(|code| document[format!("HexonetCode.{code}")] == 1)
                .count();
            assert_eq!(document["Side"], "hexonet");
        }
        assert_eq!((latencies, codes), (250, 250));
        let counted: u64 = hexonet
            .iter()
            .filter_map(|document| document["UpstreamCalls"].as_u64())
            .sum();
        assert_eq!(counted, 250, "the counts are in one document only");
    }
}
