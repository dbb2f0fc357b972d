//! The `check-domains` function: its handler, run the way `bootstrap` runs.
//! Deploy it as `bootstrap` (`make exh-bundle BIN=check-domains`).

fn main() -> Result<(), exh_task::task::BoxError> {
    exh_task::task::run(check_domains::check_domains)
}
