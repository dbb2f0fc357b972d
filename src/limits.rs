//! What bounds the memory and the upstream load of one process, whatever
//! the upstreams answer.
//!
//! - Every upstream body is read through a size cap ([`Limits::max_body_bytes`],
//!   `EXH_TASK_MAX_BODY_BYTES`): a longer one fails with
//!   [`Error::InvalidResponse`] before more of it is buffered.
//! - `all_pages` fetches at most [`MAX_PAGES`] pages and [`MAX_ITEMS`] items,
//!   checked from the first page's figures before any further request, and
//!   the pages together are held to the body cap as well.
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

/// The bytes the pages of one `all_pages` request may take together: each
/// page's body is taken from it chunk by chunk as it arrives
/// ([`crate::http::Upstream::exchange`] within [`PageBudget::spend_in`]),
/// so the pages read at once cannot pass it together before any of them
/// is counted. Every body read counts: a page asked again (after a broken
/// connection, a 429 or a 5xx) counts each time, and a page that is not
/// ok counts too, so near the cap such a page may end the request as
/// over it rather than as the answer: the budget errs on the side of
/// memory.
#[derive(Debug)]
pub(crate) struct PageBudget {
    left: AtomicUsize,
    limit: usize,
}

tokio::task_local! {
    /// The budget of the `all_pages` request this task is reading, if any.
    static PAGES: Arc<PageBudget>;
}

impl PageBudget {
    /// Runs `pages` (the requests after the first page, which took
    /// `first` bytes), every body read in it taken from one budget of
    /// `limit` bytes.
    pub(crate) async fn spend_in<T>(
        limit: usize,
        first: usize,
        pages: impl Future<Output = T>,
    ) -> T {
        let budget = PageBudget {
            left: AtomicUsize::new(limit.saturating_sub(first)),
            limit,
        };
        PAGES.scope(Arc::new(budget), pages).await
    }

    /// Takes `bytes` from the budget of the pages being read, if any; the
    /// budget's limit once the pages are over it together.
    pub(crate) fn take(bytes: usize) -> Result<(), usize> {
        PAGES
            .try_with(|budget| {
                budget
                    .left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                        left.checked_sub(bytes)
                    })
                    .map(drop)
                    .map_err(|_| budget.limit)
            })
            .unwrap_or(Ok(()))
    }
}

/// What an `all_pages` request fails with when its pages are over `limit`
/// bytes together.
pub(crate) fn pages_over(limit: usize) -> String {
    format!("all_pages: the pages are over {limit} bytes together (EXH_TASK_MAX_BODY_BYTES)")
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
    async fn pages_take_from_one_budget_and_nothing_else_does() {
        assert_eq!(
            PageBudget::take(usize::MAX),
            Ok(()),
            "no budget outside all_pages"
        );
        let taken = PageBudget::spend_in(10, 4, async {
            [
                PageBudget::take(5),
                PageBudget::take(1),
                PageBudget::take(1),
            ]
        })
        .await;
        assert_eq!(taken, [Ok(()), Ok(()), Err(10)]);
        assert!(pages_over(10).contains("over 10 bytes together"));
    }
}
