//! The result of an invocation, as the contract shapes it.
//!
//! # Format
//! ```jsonc
//! {"ok": true, "exh": {"status": 200, "body": {...}}}
//! {"ok": true, "hexonet": {"code": 200, "description", "runtime", "queuetime",
//!                          "properties", "columns", "records", "pagination"}}
//! {"ok": false, "batch": [{"ok": true, "exh": {...}}, {"ok": false, "error": {"type", "message"}}]}
//! ```
//! [`Outcome`] is what one request got, [`EventOutcome`] what an event got
//! (shaped as [`crate::event::Event`]); [`ResultDocument`] borrows from them
//! to be serialised once, by the envelope (`crate::envelope`).
//!
//! `ok` is true for a 2xx answer (HTTP status or HEXONET code); a batch is ok when every item is.

use crate::error::{Error, ErrorDocument};
use crate::exh;
use crate::hexonet;
use serde::Serialize;

/// What one request got: an upstream answer, ok or not.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Extra Horizon's answer.
    Exh(exh::Answer),
    /// HEXONET's answer (all pages merged, when asked for).
    Hexonet(hexonet::Response),
}

/// What an event got, shaped as [`crate::event::Event`]: one request's
/// outcome, or each batch item's.
#[derive(Debug, Clone, PartialEq)]
// One per event, moved from the handler to the envelope: boxing the single
// outcome would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum EventOutcome {
    /// The outcome of the event's one request.
    Single(Outcome),
    /// Each batch item's outcome or error, in input order.
    Batch(Vec<Result<Outcome, Error>>),
}

impl Outcome {
    /// Whether the upstream answered 2xx.
    pub fn is_ok(&self) -> bool {
        match self {
            Outcome::Exh(answer) => answer.is_ok(),
            Outcome::Hexonet(response) => response.is_success(),
        }
    }

    /// The result document, borrowing from this outcome.
    pub fn document(&self) -> ResultDocument<'_> {
        let mut document = ResultDocument {
            ok: self.is_ok(),
            exh: None,
            hexonet: None,
            batch: None,
        };
        match self {
            Outcome::Exh(answer) => document.exh = Some(answer),
            Outcome::Hexonet(response) => document.hexonet = Some(response.view()),
        }
        document
    }
}

impl EventOutcome {
    /// Whether the upstream answered 2xx (every item did, for a batch).
    pub fn is_ok(&self) -> bool {
        match self {
            EventOutcome::Single(outcome) => outcome.is_ok(),
            EventOutcome::Batch(items) => items
                .iter()
                .all(|item| item.as_ref().is_ok_and(Outcome::is_ok)),
        }
    }

    /// The result document, borrowing from this outcome: what the envelope
    /// serialises, once, into its answer.
    pub fn document(&self) -> ResultDocument<'_> {
        match self {
            EventOutcome::Single(outcome) => outcome.document(),
            EventOutcome::Batch(items) => ResultDocument {
                ok: self.is_ok(),
                exh: None,
                hexonet: None,
                batch: Some(
                    items
                        .iter()
                        .map(|item| match item {
                            Ok(outcome) => BatchItem::Answered(outcome.document()),
                            Err(error) => BatchItem::Failed {
                                ok: false,
                                error: error.document(),
                            },
                        })
                        .collect(),
                ),
            },
        }
    }
}

/// The result of a request: exactly one of `exh`, `hexonet` or `batch`.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "Result")]
pub struct ResultDocument<'a> {
    /// True for a 2xx answer (HTTP status or HEXONET code); for a batch,
    /// when every item is.
    pub ok: bool,
    /// Extra Horizon's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exh: Option<&'a exh::Answer>,
    /// HEXONET's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hexonet: Option<hexonet::ResponseView<'a>>,
    /// Each batch item's result or error, in input order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<Vec<BatchItem<'a>>>,
}

/// One item of a batch: its result, or the error that kept it from one.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum BatchItem<'a> {
    /// The item was answered (`ok` says how).
    Answered(ResultDocument<'a>),
    /// No answer could be had or sought for the item.
    Failed {
        /// Always false.
        ok: bool,
        /// Why.
        error: ErrorDocument,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The result document as JSON, to compare with what the contract shows.
    fn json(outcome: &EventOutcome) -> Value {
        serde_json::to_value(outcome.document()).unwrap()
    }

    fn single(outcome: Outcome) -> EventOutcome {
        EventOutcome::Single(outcome)
    }

    fn answer(status: u16) -> Outcome {
        Outcome::Exh(exh::Answer {
            status,
            body: json!({"id": "1"}),
        })
    }

    #[test]
    fn a_2xx_answer_is_ok() {
        assert_eq!(
            json(&single(answer(200))),
            json!({"ok": true, "exh": {"status": 200, "body": {"id": "1"}}})
        );
    }

    #[test]
    fn a_404_answer_is_a_result_that_is_not_ok() {
        assert_eq!(json(&single(answer(404)))["ok"], false);
    }

    #[test]
    fn a_hexonet_answer_is_ok_for_a_2xx_code() {
        let response = hexonet::parse(
            "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=Command completed successfully\r\nRUNTIME=0.12\r\nPROPERTY[DOMAIN][0]=a.com\r\nEOF\r\n",
        ).unwrap();
        assert_eq!(
            json(&single(Outcome::Hexonet(response))),
            json!({"ok": true, "hexonet": {"code": 200, "description": "Command completed successfully",
                "runtime": 0.12, "queuetime": 0.0, "properties": {"DOMAIN": ["a.com"]},
                "columns": ["DOMAIN"], "records": [{"DOMAIN": "a.com"}],
                "pagination": {"first": 0, "last": 0, "count": 1, "limit": 1, "total": 1, "pages": 1, "page": 1}}})
        );
        let refused = hexonet::parse("CODE=545\nDESCRIPTION=Entity reference not found").unwrap();
        assert_eq!(json(&single(Outcome::Hexonet(refused)))["ok"], false);
    }

    #[test]
    fn a_batch_is_ok_only_when_every_item_is() {
        let batch = EventOutcome::Batch(vec![Ok(answer(200)), Err(Error::Forbidden("no".into()))]);
        let json = json(&batch);
        assert_eq!(json["ok"], false);
        assert_eq!(json["batch"][0]["ok"], true);
        assert_eq!(
            json["batch"][1],
            json!({"ok": false, "error": {"type": "Forbidden", "message": "forbidden: no"}})
        );
    }
}
