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
        let mut documents = vec![invocation.finish()];
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
            upstream.metric("UpstreamLatency", "Milliseconds", Value::Array(latencies));
            let mut codes: BTreeMap<i64, u64> = BTreeMap::new();
            for code in calls.iter().filter_map(|call| call.code) {
                *codes.entry(code).or_default() += 1;
            }
            for (code, count) in codes {
                upstream.count(&format!("HexonetCode.{code}"), count);
            }
            documents.push(upstream.finish());
        }
        documents
    }
}

/// One EMF document being written: its members and its metric definitions.
struct Document {
    root: Map<String, Value>,
    definitions: Vec<Value>,
    dimensions: Vec<&'static str>,
    namespace: String,
    timestamp: u64,
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
            definitions: Vec::new(),
            dimensions,
            namespace: metrics.namespace.clone(),
            timestamp,
        }
    }

    fn count(&mut self, name: &str, value: u64) {
        self.metric(name, "Count", json!(value));
    }

    fn metric(&mut self, name: &str, unit: &str, value: Value) {
        self.definitions.push(json!({"Name": name, "Unit": unit}));
        self.root.insert(name.to_owned(), value);
    }

    /// The document: the `_aws` metadata first, then the members it names.
    fn finish(self) -> Value {
        let mut document = Map::new();
        document.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [self.dimensions],
                    "Metrics": self.definitions,
                }],
            }),
        );
        document.extend(self.root);
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
}
