//! What bounds the memory and the upstream load of one process, whatever
//! the upstreams answer.
//!
//! - Every upstream body is read through a size cap ([`Limits::max_body_bytes`],
//!   `EXH_TASK_MAX_BODY_BYTES`): a longer one fails with
//!   [`Error::InvalidResponse`] before more of it is buffered. What the
//!   Extra Horizon answers held at once take once read as JSON is held to
//!   half the function's memory (the crate's `answer_memory`).
//! - `all_pages` fetches at most [`MAX_PAGES`] pages and [`MAX_ITEMS`] items,
//!   checked from the first page's figures before any further request.
//! - The answers of one request (its pages, a batch's items, an SQS
//!   record's) are held to the body cap together, chunk by chunk as they
//!   arrive (`BodyBudget`).
//! - At most [`Limits::max_in_flight`] upstream requests
//!   (`EXH_TASK_MAX_IN_FLIGHT`) are in flight at once, however many SQS
//!   records, batch items and pages ask for them ([`crate::http::Upstream`]).

use crate::envelope::MAX_RESULT_BYTES;
use crate::error::Error;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The most pages one `all_pages` request fetches, on either side; a list
/// that needs more is refused before the second page.
pub const MAX_PAGES: usize = 1000;

/// The most items (Extra Horizon `data` entries, HEXONET rows) one
/// `all_pages` request fetches; a list that announces more is refused
/// before the second page.
pub const MAX_ITEMS: u64 = 100_000;

/// Default of [`Limits::max_body_bytes`]: Lambda's result limit
/// ([`MAX_RESULT_BYTES`]), since an answer longer than that could not be
/// returned anyway.
pub const DEFAULT_MAX_BODY_BYTES: usize = MAX_RESULT_BYTES;

/// Default of [`Limits::max_in_flight`]: enough for the default batch and
/// page concurrency (4 × 4), few enough that one SQS batch of batches
/// cannot open hundreds of connections.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;

/// The highest `EXH_TASK_MAX_IN_FLIGHT` accepted: Lambda's limit of open
/// files (1,024), each request in flight holding a connection.
pub const MAX_IN_FLIGHT: usize = 1024;

/// The configurable limits (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `EXH_TASK_MAX_BODY_BYTES`: the longest upstream body read, and the
    /// most bytes the pages of one `all_pages` request hold together.
    /// Default: [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// `EXH_TASK_MAX_IN_FLIGHT`: the most upstream requests in flight at
    /// once in the process. Default: [`DEFAULT_MAX_IN_FLIGHT`].
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// What is wrong with a body over `limit` bytes.
pub(crate) fn body_over(limit: usize) -> String {
    format!("the answer is over {limit} bytes (EXH_TASK_MAX_BODY_BYTES)")
}

/// Refuses an `all_pages` request whose first page announces more than the
/// caps allow: `pages` requests in all for `items` items.
pub(crate) fn check_pages(what: &str, figures: &str, pages: u64, items: u64) -> Result<(), Error> {
    if pages > MAX_PAGES as u64 || items > MAX_ITEMS {
        return Err(Error::invalid_event(format!(
            "{what} all_pages: the first page announces {figures}, that is {items} items in \
             {pages} pages; the caps are {MAX_ITEMS} items and {MAX_PAGES} pages: narrow the \
             list or raise its page size"
        )));
    }
    Ok(())
}

/// Bytes that the bodies read within one scope may take together: the
/// pages of one `all_pages` request ([`Spent::Pages`], the body cap), and
/// all the answers of one request, a batch's included ([`Spent::Request`],
/// the body cap as well: a result holds every answer, so more could not be
/// returned). Each body's chunks are taken
/// from the budgets of every scope it is read in (a page from its pages'
/// and from its request's) as they arrive, through
/// [`crate::http::Upstream::exchange`], so bodies read at once cannot pass
/// a budget together before any of them is counted.
///
/// Every body read counts: one asked again (after a broken connection, a
/// 429 or a 5xx) counts each time, and one that is not ok counts too, so
/// near a limit such a page may end the request as over it rather than
/// as the answer: the budget errs on the side of memory.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    left: AtomicUsize,
    limit: usize,
    of: Spent,
    /// The budget of the scope this one is in, if any.
    within: Option<Arc<BodyBudget>>,
}

/// What a [`BodyBudget`] bounds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Spent {
    /// The pages of one `all_pages` request.
    Pages,
    /// One request's answers (a batch's items, one SQS record's).
    Request,
}

tokio::task_local! {
    /// The innermost budget of the bodies this task is reading, if any.
    static BUDGET: Arc<BodyBudget>;
}

impl BodyBudget {
    /// Runs `work`, every body read in it taken from a budget of `limit`
    /// bytes for `of`, less `spent` already (a first page's), and from the
    /// budgets `work` is already within (those of the task calling this).
    ///
    /// Not an `async fn`: one would hold `work` twice (as its argument and
    /// as the future awaited), and every future above it would grow by
    /// both copies.
    pub(crate) fn spend_in<F: Future>(
        of: Spent,
        limit: usize,
        spent: usize,
        work: F,
    ) -> impl Future<Output = F::Output> {
        let budget = BodyBudget {
            left: AtomicUsize::new(limit.saturating_sub(spent)),
            limit,
            of,
            within: BUDGET.try_with(Arc::clone).ok(),
        };
        BUDGET.scope(Arc::new(budget), work)
    }

    /// Takes `bytes` from every budget of the bodies being read; the error
    /// of the first one they would pass.
    pub(crate) fn take(bytes: usize) -> Result<(), String> {
        BUDGET
            .try_with(|budget| budget.take_here(bytes))
            .unwrap_or(Ok(()))
    }

    fn take_here(&self, bytes: usize) -> Result<(), String> {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .map_err(|_| self.over())?;
        match &self.within {
            Some(within) => within.take_here(bytes),
            None => Ok(()),
        }
    }

    /// What the work fails with once its bodies are over this budget.
    fn over(&self) -> String {
        let limit = self.limit;
        match self.of {
            Spent::Pages => format!(
                "all_pages: the pages are over {limit} bytes together (EXH_TASK_MAX_BODY_BYTES)"
            ),
            Spent::Request => format!(
                "the answers of this request are over {limit} bytes together \
                 (EXH_TASK_MAX_BODY_BYTES), more than its result could hold: ask for less \
                 (select(), limit(), fewer batch items)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_within_the_caps_may_be_paged() {
        assert!(check_pages("x", "", MAX_PAGES as u64, MAX_ITEMS).is_ok());
    }

    #[test]
    fn a_list_over_a_cap_is_refused_naming_the_figures_and_the_caps() {
        let error = check_pages(
            "Extra Horizon GET /users/v1/",
            "page.total 1000000000",
            20_000_000,
            1_000_000_000,
        )
        .unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
        let message = error.to_string();
        for figure in ["1000000000", "20000000 pages", "100000 items", "1000 pages"] {
            assert!(message.contains(figure), "{message} lacks {figure}");
        }
    }

    #[tokio::test]
    async fn bodies_take_from_every_budget_they_are_read_within() {
        assert_eq!(
            BodyBudget::take(usize::MAX),
            Ok(()),
            "no budget outside one"
        );
        let taken = BodyBudget::spend_in(Spent::Request, 10, 0, async {
            let pages = BodyBudget::spend_in(Spent::Pages, 8, 4, async {
                [
                    BodyBudget::take(3),
                    BodyBudget::take(1),
                    BodyBudget::take(1),
                ]
            })
            .await;
            (pages, BodyBudget::take(5), BodyBudget::take(2))
        })
        .await;
        let (pages, after_pages, over) = taken;
        assert_eq!(pages[..2], [Ok(()), Ok(())]);
        assert!(pages[2]
            .as_ref()
            .unwrap_err()
            .contains("pages are over 8 bytes together"));
        assert_eq!(after_pages, Ok(()));
        assert!(over
            .unwrap_err()
            .contains("answers of this request are over 10 bytes"));
    }

    #[test]
    fn a_budget_holds_its_work_once() {
        // Every future the work is awaited in would carry a second copy.
        let work = std::future::ready([0u8; 4096]);
        let work_size = std::mem::size_of_val(&work);
        let budgeted = BodyBudget::spend_in(Spent::Request, 10, 0, work);
        let budgeted_size = std::mem::size_of_val(&budgeted);
        assert!(
            budgeted_size < work_size + 64,
            "{budgeted_size} bytes around a work of {work_size}"
        );
    }
}
