//! `QueryDomainList`: the domains of the viewed account, filtered, ordered
//! and paged as the real API does it.
//!
//! | parameter | meaning |
//! | --- | --- |
//! | `FIRST` | index of the first domain returned, default 0 |
//! | `LIMIT` | how many at most, 1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`] |
//! | `WIDE` | `1`: the `DOMAIN*` detail columns and `USER` too |
//! | `ORDERBY` | `DOMAIN`, `DOMAINSUBCLASS`, `USER`, `CREATEDDATE`, `UPDATEDDATE`, `EXPIRATIONDATE`, `REGISTRATIONEXPIRATIONDATE`, `PAIDUNTILDATE`, `STATUS`, `REGISTRAR`, each also with `DESC`; default `DOMAIN` |
//! | `DOMAIN` | a pattern, `*` for any run of characters, matched against both the ACE and the IDN form |
//! | `USERDEPTH` | `SELF` (default), `SUBUSER` (the direct subusers') or `ALL` (self and every subuser's) |
//!
//! The answer starts with the paging properties `FIRST`, `LAST` (`FIRST +
//! COUNT - 1`), `COUNT`, `TOTAL` and `LIMIT`, then the columns.

use std::cmp::Ordering;

use super::domain_name::matches;
use super::registry::{datetime, Domain, Registry};
use super::reply::Reply;
use super::request::Params;

/// The `LIMIT` when none is given.
pub const DEFAULT_LIMIT: usize = 1000;
/// The largest `LIMIT` accepted.
pub const MAX_LIMIT: usize = 10_000;

/// A sort key of `ORDERBY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Domain,
    Subclass,
    User,
    Created,
    Updated,
    Expiration,
    Status,
    Registrar,
}

const KEYS: [(&str, Key); 10] = [
    ("DOMAIN", Key::Domain),
    ("DOMAINSUBCLASS", Key::Subclass),
    ("USER", Key::User),
    ("CREATEDDATE", Key::Created),
    ("UPDATEDDATE", Key::Updated),
    ("EXPIRATIONDATE", Key::Expiration),
    ("REGISTRATIONEXPIRATIONDATE", Key::Expiration),
    ("PAIDUNTILDATE", Key::Expiration),
    ("STATUS", Key::Status),
    ("REGISTRAR", Key::Registrar),
];

/// The registrar every sandbox domain shows.
pub(crate) const REGISTRAR: &str = "SYSTEM";

/// Answers `QueryDomainList` for the account `view`.
pub(crate) fn query(registry: &Registry, view: &str, params: &Params) -> Result<Reply, Reply> {
    let first = params.integer("FIRST", 0, 0..=usize::MAX)?;
    let limit = params.integer("LIMIT", DEFAULT_LIMIT, 1..=MAX_LIMIT)?;
    let wide = params.flag("WIDE")?;
    let (key, descending) = order(params.get("ORDERBY"))?;
    let pattern = params.get("DOMAIN");
    let depth = params.get("USERDEPTH").map(str::to_uppercase);
    let in_depth = |user: &str, parent: Option<&str>| match depth.as_deref() {
        None | Some("SELF") => Ok(user == view),
        Some("SUBUSER") => Ok(parent == Some(view)),
        Some("ALL") => Ok(registry.is_within(user, view)),
        Some(_) => Err(Reply::invalid_syntax("USERDEPTH")),
    };
    let mut domains: Vec<&Domain> = Vec::new();
    for account in &registry.accounts {
        if in_depth(&account.name, account.parent.as_deref())? {
            domains.extend(account.domains.values().filter(|d| {
                pattern.is_none_or(|p| matches(p, &d.name.ace) || matches(p, &d.name.idn))
            }));
        }
    }
    domains.sort_by(|a, b| {
        let by_key = compare(key, a, b);
        let by_key = if descending { by_key.reverse() } else { by_key };
        by_key.then_with(|| a.name.ace.cmp(&b.name.ace))
    });
    let total = domains.len();
    let page: Vec<&Domain> = domains.into_iter().skip(first).take(limit).collect();
    let count = page.len();
    let last = first as i128 + count as i128 - 1;
    let mut reply = Reply::ok()
        .with("FIRST", first.to_string())
        .with("LAST", last.to_string())
        .with("COUNT", count.to_string())
        .with("TOTAL", total.to_string())
        .with("LIMIT", limit.to_string());
    for domain in page {
        reply.push("DOMAIN", domain.name.ace.as_str());
        if wide {
            for (column, value) in wide_columns(domain) {
                reply.push(column, value);
            }
        }
    }
    Ok(reply)
}

/// `ORDERBY` → key and direction.
fn order(orderby: Option<&str>) -> Result<(Key, bool), Reply> {
    let Some(orderby) = orderby else {
        return Ok((Key::Domain, false));
    };
    let orderby = orderby.to_uppercase();
    let (name, descending) = match orderby.strip_suffix("DESC") {
        Some(name) => (name, true),
        None => (orderby.as_str(), false),
    };
    KEYS.iter()
        .find(|(key, _)| *key == name)
        .map(|(_, key)| (*key, descending))
        .ok_or_else(|| Reply::invalid_syntax("ORDERBY"))
}

fn compare(key: Key, a: &Domain, b: &Domain) -> Ordering {
    match key {
        Key::Domain => a.name.ace.cmp(&b.name.ace),
        Key::Subclass => a.name.tld().cmp(b.name.tld()),
        Key::User => a.user.cmp(&b.user),
        Key::Created => a.created.cmp(&b.created),
        Key::Updated => a.updated.cmp(&b.updated),
        Key::Expiration => a.expiration.cmp(&b.expiration),
        Key::Status => a.status.cmp(b.status),
        Key::Registrar => Ordering::Equal,
    }
}

/// The columns `WIDE=1` adds, in the API's (alphabetical) order.
fn wide_columns(domain: &Domain) -> [(&'static str, String); 14] {
    [
        ("DOMAINADMINCONTACT", domain.contact.clone()),
        ("DOMAINCREATEDDATE", datetime(domain.created)),
        ("DOMAINEXPIRATIONDATE", datetime(domain.expiration)),
        ("DOMAINOWNERCONTACT", domain.contact.clone()),
        ("DOMAINPAIDUNTILDATE", datetime(domain.expiration)),
        ("DOMAINREGISTRAR", REGISTRAR.to_owned()),
        (
            "DOMAINREGISTRATIONEXPIRATIONDATE",
            datetime(domain.expiration),
        ),
        ("DOMAINRENEWALMODE", domain.renewal_mode.to_owned()),
        ("DOMAINSTATUS", domain.status.to_owned()),
        ("DOMAINSUBCLASS", domain.name.tld().to_uppercase()),
        (
            "DOMAINTRANSFERLOCK",
            u8::from(domain.transfer_lock).to_string(),
        ),
        ("DOMAINUMLAUT", domain.name.idn.clone()),
        ("DOMAINUPDATEDDATE", datetime(domain.updated)),
        ("USER", domain.user.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexonet::{DOMAIN_COUNT, LOGIN, SUBUSER, SUBUSER_DOMAIN_COUNT};

    fn list(view: &str, command: &str) -> Result<Reply, Reply> {
        query(&Registry::seed(), view, &Params::parse(command))
    }

    fn figure(reply: &Reply, name: &str) -> String {
        reply.column(name).unwrap()[0].clone()
    }

    fn paging(reply: &Reply) -> [String; 5] {
        ["FIRST", "LAST", "COUNT", "TOTAL", "LIMIT"].map(|name| figure(reply, name))
    }

    fn last_by_domain() -> String {
        let all = list(
            LOGIN,
            &format!("ORDERBY=DOMAIN\nFIRST={}", DOMAIN_COUNT - 1),
        )
        .unwrap();
        figure(&all, "DOMAIN")
    }

    macro_rules! lists {
        ($($name:ident: $view:expr, $command:expr, |$r:ident| $got:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let $r = list($view, $command).unwrap_or_else(|e| e);
                assert_eq!($got, $want);
            }
        )*};
    }

    fn strings<const N: usize>(values: [&str; N]) -> [String; N] {
        values.map(str::to_owned)
    }

    lists! {
        the_first_page_holds_the_default_limit: LOGIN, "", |r| paging(&r) => strings(["0", "999", "1000", &DOMAIN_COUNT.to_string(), "1000"]);
        a_later_page_starts_at_first: LOGIN, "FIRST=2400\nLIMIT=250", |r| paging(&r) => strings(["2400", "2499", "100", &DOMAIN_COUNT.to_string(), "250"]);
        a_page_past_the_end_is_empty: LOGIN, "FIRST=9000\nLIMIT=10", |r| (paging(&r), r.column("DOMAIN").is_none()) => (strings(["9000", "8999", "0", &DOMAIN_COUNT.to_string(), "10"]), true);
        the_subuser_sees_its_own_domains: SUBUSER, "", |r| figure(&r, "TOTAL") => SUBUSER_DOMAIN_COUNT.to_string();
        userdepth_all_adds_the_subusers_domains: LOGIN, "USERDEPTH=all\nLIMIT=1", |r| figure(&r, "TOTAL") => (DOMAIN_COUNT + SUBUSER_DOMAIN_COUNT).to_string();
        userdepth_subuser_lists_only_theirs: LOGIN, "USERDEPTH=SUBUSER\nLIMIT=1", |r| figure(&r, "TOTAL") => SUBUSER_DOMAIN_COUNT.to_string();
        a_pattern_filters_on_both_forms: LOGIN, "DOMAIN=grün-river-*", |r| r.column("DOMAIN").unwrap().iter().all(|d| d.starts_with("xn--grn-river-")) => true;
        a_pattern_without_star_is_exact: LOGIN, "DOMAIN=blue-river-0.COM", |r| r.column("DOMAIN").map(<[String]>::to_vec) => Some(vec!["blue-river-0.com".to_owned()]);
        narrow_lists_have_only_the_domain_column: LOGIN, "LIMIT=2", |r| r.column("DOMAINSTATUS").is_none() => true;
        wide_lists_add_detail_columns: LOGIN, "LIMIT=2\nWIDE=1", |r| (r.column("DOMAINSTATUS").map(<[String]>::len), r.column("USER").map(<[String]>::len)) => (Some(2), Some(2));
        order_by_domain_desc_reverses: LOGIN, "ORDERBY=domaindesc\nLIMIT=1", |r| figure(&r, "DOMAIN") => last_by_domain();
        order_by_created_date_starts_with_the_oldest: LOGIN, "ORDERBY=CREATEDDATE\nLIMIT=1", |r| figure(&r, "DOMAIN") => "blue-river-0.com".to_owned();
        an_unknown_orderby_is_invalid_syntax: LOGIN, "ORDERBY=PRICE", |r| r => Reply::invalid_syntax("ORDERBY");
        a_zero_limit_is_invalid_syntax: LOGIN, "LIMIT=0", |r| r => Reply::invalid_syntax("LIMIT");
        a_negative_first_is_invalid_syntax: LOGIN, "FIRST=-1", |r| r => Reply::invalid_syntax("FIRST");
        an_unknown_userdepth_is_invalid_syntax: LOGIN, "USERDEPTH=DEEP", |r| r => Reply::invalid_syntax("USERDEPTH");
    }
}
