//! Waiting for something another task or process does, without a fixed sleep.

use std::time::Duration;

/// Whether `what` holds within `bound`, asked every 10 ms (and once more at
/// the end).
pub async fn until(what: impl Fn() -> bool, bound: Duration) -> bool {
    let end = tokio::time::Instant::now() + bound;
    while tokio::time::Instant::now() < end {
        if what() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    what()
}
