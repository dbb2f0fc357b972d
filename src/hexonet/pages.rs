//! `all_pages`: the commands that fetch a list page by page, and the merge
//! of those pages into one response.
//!
//! The first page is asked for with `FIRST=0`, as the SDK's
//! `requestAllResponsePages` does; its `LIMIT` and `TOTAL` then give every
//! later page's `FIRST` (through [`Page::after`](super::Page::after)), so the later pages can be
//! fetched at once. The merged response has:
//! - the first page's attributes, with `RUNTIME` and `QUEUETIME` summed over
//!   the pages (rounded to the millisecond);
//! - every other column's values, page after page, in order;
//! - the paging columns recomputed for one page holding everything:
//!   `FIRST` as asked, `COUNT` = `LIMIT` = the number of rows,
//!   `LAST` = `FIRST + COUNT - 1`, and the first page's `TOTAL`.

use super::python::float_str;
use super::request::Options;
use super::response::Writer;
use super::{Client, Command, Error, Page, Response};
use crate::http::PAGE_CONCURRENCY;
use crate::limits::{check_pages, BodyBudget, Spent};
use crate::telemetry::{self, Side};
use futures::StreamExt;
use indexmap::IndexMap;
use tokio::time::Instant;

/// The most pages one `all_pages` request fetches; a list that needs more
/// is refused before the second page, with a hint to raise `LIMIT`.
pub use crate::limits::MAX_PAGES;

/// The columns that describe the page rather than its rows.
const PAGING_COLUMNS: [&str; 5] = ["FIRST", "LAST", "COUNT", "LIMIT", "TOTAL"];

/// The command of the first page: `command` with `FIRST=0`.
pub fn first_page(command: &Command) -> Result<Command, Error> {
    let mut first = command.clone();
    first.set("FIRST", 0)?;
    Ok(first)
}

/// The pages after `first` (the answer to `command`), in order: only their
/// `FIRST` and `LIMIT`, set on the command as each is sent.
pub fn remaining(command: &Command, first: &Response) -> Result<Vec<Page>, Error> {
    let mut pages = Vec::new();
    let mut current = Page::first_of(command)?;
    while let Some(next) = Page::after(current, first) {
        // The first page, those so far and the next one.
        if pages.len() + 2 > MAX_PAGES {
            let paging = first.pagination();
            return Err(Error::TooManyPages {
                total: paging.total,
                limit: paging.limit,
            });
        }
        pages.push(next);
        current = next.first;
    }
    Ok(pages)
}

/// The pages merged into one response, or the first page that is not a
/// success (the merged list would be incomplete).
///
/// The pages are consumed: the merged response's text is written once,
/// column by column, straight from the pages' texts (see
/// `Writer`), so no value is copied but into that text, and its records
/// are built only if asked for.
pub fn merge(first: Response, mut rest: Vec<Response>) -> Response {
    if rest.is_empty() {
        return first;
    }
    if let Some(failed) = rest.iter().position(|page| !page.is_success()) {
        return rest.swap_remove(failed);
    }
    let paging = first.pagination();
    rest.insert(0, first);
    let pages = rest;
    let mut attributes = pages[0].attributes().clone();
    for name in ["RUNTIME", "QUEUETIME"] {
        if pages.iter().any(|page| page.attribute(name).is_some()) {
            let sum: f64 = pages
                .iter()
                .map(|page| match name {
                    "RUNTIME" => page.runtime(),
                    _ => page.queuetime(),
                })
                .sum();
            attributes.insert(name.to_owned(), float_str((sum * 1000.0).round() / 1000.0));
        }
    }
    // The pages' columns in the order they first appear, each with the
    // pages that have it, in order, then the paging columns none of them
    // had: one walk over each page's columns (asking every page for every
    // column would be columns × pages, 1,000 pages of 250 columns of their
    // own took 25 s).
    let mut columns: IndexMap<&str, Vec<&Response>> = IndexMap::new();
    for page in &pages {
        for column in page.columns() {
            columns.entry(column).or_default().push(page);
        }
    }
    for column in PAGING_COLUMNS {
        columns.entry(column).or_default();
    }
    let values = |column: &str, holders: &[&Response]| -> usize {
        holders
            .iter()
            .filter_map(|page| page.values(column))
            .map(|values| values.len())
            .sum()
    };
    let rows = columns
        .iter()
        .filter(|(column, _)| !PAGING_COLUMNS.contains(column))
        .map(|(column, holders)| values(column, holders))
        .max()
        .unwrap_or(0) as i64;
    let first_row = paging.first.unwrap_or(0);
    let figure = |column: &str| match column {
        "FIRST" => first_row,
        // The upstream's FIRST may be anything: no overflow, no wrap, and
        // never a LAST before FIRST.
        "LAST" => first_row.checked_add(rows - 1).unwrap_or(i64::MAX),
        "COUNT" | "LIMIT" => rows,
        _ => paging.total,
    };
    let capacity = pages.iter().map(|page| page.plain().len()).sum();
    let mut merged = Writer::new(attributes, capacity);
    for (column, holders) in &columns {
        merged.column(column);
        if PAGING_COLUMNS.contains(column) {
            merged.value(&figure(column).to_string());
            continue;
        }
        for values in holders.iter().filter_map(|page| page.values(column)) {
            for value in values {
                merged.value(value);
            }
        }
    }
    merged.finish()
}

impl Client {
    /// The page after `response` (the answer to `command`): the command
    /// sent and its answer, or `None` after the last page. As the SDK's
    /// `requestNextResponsePage`, a command holding `LAST` is refused
    /// ([`crate::Error::InvalidEvent`]).
    pub async fn next_page(
        &self,
        command: &Command,
        response: &Response,
        options: &Options,
        deadline: Instant,
    ) -> Result<Option<(Command, Response)>, crate::Error> {
        let Some(next) = super::next_page(command, response)? else {
            return Ok(None);
        };
        let response = self.send_command(&next, options, deadline).await?;
        Ok(Some((next, response)))
    }

    /// Every page of a list command merged into one response: the first
    /// page (`FIRST=0`), then the others, [`PAGE_CONCURRENCY`] at a time,
    /// merged in order (see the module doc). A page that is not a
    /// success is the answer at once (no further page is asked for), as
    /// the merged list would be incomplete. The first page's `TOTAL` is
    /// held to [`crate::limits::MAX_ITEMS`] and its pages to [`MAX_PAGES`]
    /// before any further request, and the pages' bytes together to the
    /// body cap.
    pub async fn all_pages(
        &self,
        command: &Command,
        options: &Options,
        deadline: Instant,
    ) -> Result<Response, crate::Error> {
        if command.get("LAST").is_some() {
            return Err(Error::PagingWithLast.into());
        }
        let command = first_page(command)?;
        let first = self.send_command(&command, options, deadline).await?;
        if !first.is_success() {
            return Ok(first);
        }
        let what = format!("{} {}", self.protocol().name, command.name());
        let paging = first.pagination();
        let total = u64::try_from(paging.total).unwrap_or(0);
        let limit = u64::try_from(paging.limit).unwrap_or(0).max(1);
        check_pages(
            &what,
            &format!("TOTAL {} at LIMIT {}", paging.total, paging.limit),
            total.div_ceil(limit),
            total,
        )?;
        let rest = remaining(&command, &first)?;
        let command = &command;
        let mut pages = futures::stream::iter(rest)
            .map(|page| async move {
                // The page's FIRST and LIMIT go on the copy of the command
                // that is encoded for the wire anyway.
                let options = Options {
                    page: Some(page),
                    ..options.clone()
                };
                self.send_command(command, &options, deadline).await
            })
            .buffered(PAGE_CONCURRENCY);
        telemetry::record_pages(Side::Hexonet, 1);
        // Leaving the loop early drops the pages still in flight.
        let limit = self.inner.http.limits().max_body_bytes;
        BodyBudget::spend_in(Spent::Pages, limit, first.plain().len(), async {
            let mut rest = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page?;
                telemetry::record_pages(Side::Hexonet, 1);
                if !page.is_success() {
                    return Ok(page);
                }
                rest.push(page);
            }
            Ok(merge(first, rest))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexonet::parse;
    use serde_json::json;

    /// One page of a 5-domain list at LIMIT 2, as the API writes it.
    fn page(first: usize, domains: &[&str]) -> Response {
        let mut text = String::from(
            "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=Command completed successfully\r\n",
        );
        for (i, domain) in domains.iter().enumerate() {
            text.push_str(&format!("PROPERTY[DOMAIN][{i}]={domain}\r\n"));
        }
        let last = first + domains.len() - 1;
        text.push_str(&format!(
            "PROPERTY[FIRST][0]={first}\r\nPROPERTY[LAST][0]={last}\r\nPROPERTY[COUNT][0]={}\r\n\
             PROPERTY[LIMIT][0]=2\r\nPROPERTY[TOTAL][0]=5\r\nQUEUETIME=0.1\r\nRUNTIME=0.2\r\nEOF\r\n",
            domains.len()
        ));
        parse(&text).unwrap()
    }

    fn command(value: serde_json::Value) -> Command {
        Command::from_json(&value).unwrap()
    }

    #[test]
    fn the_first_page_starts_at_zero() {
        let first =
            first_page(&command(json!({"COMMAND": "QueryDomainList", "FIRST": 7}))).unwrap();
        assert_eq!(first.get("FIRST"), Some("0"));
    }

    #[test]
    fn the_remaining_pages_follow_limit_and_total() {
        let cmd = command(json!({"COMMAND": "QueryDomainList", "FIRST": 0, "LIMIT": 2}));
        let firsts: Vec<(String, String)> = remaining(&cmd, &page(0, &["a", "b"]))
            .unwrap()
            .iter()
            .map(|page| (page.first.to_string(), page.limit.to_string()))
            .collect();
        assert_eq!(firsts, [("2".into(), "2".into()), ("4".into(), "2".into())]);
    }

    #[test]
    fn a_list_on_one_page_has_no_remaining_pages() {
        let cmd = command(json!({"COMMAND": "StatusAccount"}));
        assert!(remaining(&cmd, &parse("CODE=200\nDESCRIPTION=ok").unwrap())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn too_many_pages_are_refused_with_a_hint() {
        let cmd = command(json!({"COMMAND": "QueryDomainList", "FIRST": 0}));
        let huge = parse("CODE=200\nDESCRIPTION=ok\nPROPERTY[LIMIT][0]=1\nPROPERTY[TOTAL][0]=5000")
            .unwrap();
        let error = remaining(&cmd, &huge).unwrap_err();
        assert_eq!(
            error,
            Error::TooManyPages {
                total: 5000,
                limit: 1
            }
        );
        let error = crate::Error::from(error);
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(error.to_string().contains("raise LIMIT"), "{error}");
    }

    #[test]
    fn a_hostile_first_neither_overflows_nor_wraps_the_merged_last() {
        let merged = merge(
            page(usize::try_from(i64::MAX).unwrap(), &["a"]),
            vec![page(2, &["c", "d"])],
        );
        let paging = merged.pagination();
        assert_eq!(
            (paging.first, paging.last),
            (Some(i64::MAX), Some(i64::MAX))
        );
    }

    #[test]
    fn pages_merge_in_order_with_paging_recomputed() {
        let merged = merge(
            page(0, &["a", "b"]),
            vec![page(2, &["c", "d"]), page(4, &["e"])],
        );
        assert_eq!(merged.code(), 200);
        assert_eq!(
            merged.column("DOMAIN").unwrap(),
            ["a", "b", "c", "d", "e"].map(String::from)
        );
        let paging = merged.pagination();
        assert_eq!(
            (
                paging.first,
                paging.last,
                paging.count,
                paging.limit,
                paging.total,
                paging.pages,
                paging.page
            ),
            (Some(0), Some(4), 5, 5, 5, 1, Some(1))
        );
        assert_eq!(merged.records().len(), 5);
        assert_eq!(merged.records()[4]["DOMAIN"], "e");
        assert_eq!(merged.column("TOTAL").unwrap(), ["5"]);
        // Columns keep the first page's order.
        let columns: Vec<_> = merged.columns().collect();
        assert_eq!(
            columns,
            ["DOMAIN", "FIRST", "LAST", "COUNT", "LIMIT", "TOTAL"]
        );
        assert_eq!((merged.runtime(), merged.queuetime()), (0.6, 0.3));
    }

    #[test]
    fn a_failed_page_is_the_answer() {
        let failed =
            parse("CODE=421\nDESCRIPTION=Command failed due to HTTP communication error").unwrap();
        let merged = merge(
            page(0, &["a", "b"]),
            vec![page(2, &["c", "d"]), failed.clone()],
        );
        assert_eq!(merged, failed);
    }

    #[test]
    fn a_single_page_is_returned_as_it_is() {
        let only = page(0, &["a"]);
        assert_eq!(merge(only.clone(), Vec::new()), only);
    }
}
