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

/// The bytes the pages of one `all_pages` request hold so far, held to the
/// body cap: however many pages there are, together they cannot hold more
/// than one answer may.
pub(crate) struct PageTally {
    bytes: usize,
    limit: usize,
}

impl PageTally {
    /// An empty tally for pages of at most `limit` bytes together.
    pub(crate) fn new(limit: usize) -> PageTally {
        PageTally { bytes: 0, limit }
    }

    /// Adds a page of `bytes`; fails once the pages are over the limit.
    pub(crate) fn add(&mut self, what: &str, bytes: usize) -> Result<(), Error> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.limit {
            return Err(Error::InvalidResponse(format!(
                "{what} all_pages: the pages are over {} bytes together (EXH_TASK_MAX_BODY_BYTES)",
                self.limit
            )));
        }
        Ok(())
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

    #[test]
    fn pages_over_the_byte_limit_together_are_an_invalid_response() {
        let mut tally = PageTally::new(10);
        assert!(tally.add("x", 6).is_ok());
        let error = tally.add("x", 5).unwrap_err();
        assert_eq!(error.error_type(), "InvalidResponse");
        assert!(error.to_string().contains("over 10 bytes"), "{error}");
    }
}
