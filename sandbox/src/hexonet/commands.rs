//! The account and domain commands, run for an authenticated identity on
//! the account it views. Session commands are the caller's.
//!
//! | command | answer |
//! | --- | --- |
//! | `StatusAccount` | `AMOUNT`, `CREDIT`, `CURRENCY`, `DEPOSIT`, `VAT` |
//! | `CheckDomain` | 210 `Domain name available` or 211 `Domain name not available` for `DOMAIN` |
//! | `CheckDomains` | 200, per `DOMAIN0..n`: `DOMAINCHECK` (`210 …`/`211 …`/error), `DOMAINCHECKTIME`, `REASON` |
//! | `QueryDomainList` | see [`domain_list`](super::domain_list) |
//! | `StatusDomain` | the domain's properties; 545 unknown, 531 another account's |
//! | `AddDomain` | registers `DOMAIN` for `PERIOD` (`1Y`..`10Y`, `12M`..`120M`), charging the account |
//! | `DeleteDomain` | removes `DOMAIN` |
//! | `ConvertIDN` | per `DOMAIN0..n` (or `DOMAIN`): `ACE` and `IDN` |
//!
//! Command names are case-insensitive; parameters the sandbox does not
//! know are ignored. A read-only role gets 531 for `AddDomain` and
//! `DeleteDomain`.

use super::auth::Identity;
use super::domain_list;
use super::domain_name::{convert, to_ace, to_idn, DomainName, NameError};
use super::registry::{datetime, money, Domain, Registry};
use super::reply::Reply;
use super::request::Params;

/// Runs the command `name` (lower case) as `identity`, viewing the account
/// `view`, at `now` (Unix seconds).
pub(crate) fn run(
    registry: &mut Registry,
    identity: &Identity,
    view: &str,
    name: &str,
    params: &Params,
    now: i64,
) -> Reply {
    let writes = matches!(name, "adddomain" | "deletedomain");
    if writes && identity.read_only {
        return Reply::authorization_failed();
    }
    let answer = match name {
        "statusaccount" => status_account(registry, view),
        "checkdomain" => check_domain(registry, params),
        "checkdomains" => check_domains(registry, params),
        "querydomainlist" => domain_list::query(registry, view, params),
        "statusdomain" => status_domain(registry, view, params),
        "adddomain" => add_domain(registry, view, params, now),
        "deletedomain" => delete_domain(registry, view, params),
        "convertidn" => convert_idn(params),
        _ => Err(Reply::invalid_command_name()),
    };
    answer.unwrap_or_else(|error| error)
}

type Answer = Result<Reply, Reply>;

fn status_account(registry: &Registry, view: &str) -> Answer {
    let balance = &registry
        .account(view)
        .ok_or_else(Reply::object_not_found)?
        .balance;
    Ok(Reply::ok()
        .with("AMOUNT", money(balance.amount))
        .with("CREDIT", money(balance.credit))
        .with("CURRENCY", balance.currency)
        .with("DEPOSIT", money(balance.deposit))
        .with("VAT", balance.vat))
}

/// The parameter `name` as a name the sandbox sells: 504, 505 or 541 otherwise.
fn sellable(params: &Params, name: &str) -> Result<DomainName, Reply> {
    DomainName::parse(params.require(name)?).map_err(|error| refusal(error, name))
}

fn refusal(error: NameError, name: &str) -> Reply {
    match error {
        NameError::Syntax => Reply::invalid_syntax(name),
        NameError::UnsupportedTld => Reply::invalid_value("TLD not supported"),
    }
}

/// The ACE form of the parameter `name`, whatever its TLD: 504 or 505 otherwise.
fn any_name(params: &Params, name: &str) -> Result<String, Reply> {
    convert(params.require(name)?).map_err(|error| refusal(error, name))
}

fn availability(registry: &Registry, name: &DomainName) -> Reply {
    if registry.is_taken(&name.ace) {
        Reply::new(211, "Domain name not available")
    } else {
        Reply::new(210, "Domain name available")
    }
}

fn check_domain(registry: &Registry, params: &Params) -> Answer {
    Ok(availability(registry, &sellable(params, "DOMAIN")?))
}

fn check_domains(registry: &Registry, params: &Params) -> Answer {
    let domains = params.indexed("DOMAIN");
    if domains.is_empty() {
        return Err(Reply::missing("DOMAIN0"));
    }
    let mut reply = Reply::ok();
    for (key, value) in domains {
        let (check, reason) = match DomainName::parse(value) {
            Ok(name) => {
                let check = availability(registry, &name);
                let reason = if check.code() == 211 {
                    "Domain exists"
                } else {
                    ""
                };
                (check, reason)
            }
            Err(error) => (refusal(error, key), ""),
        };
        reply
            .push("DOMAINCHECK", check.status_line())
            .push("DOMAINCHECKTIME", "0.001")
            .push("REASON", reason);
    }
    Ok(reply)
}

fn status_domain(registry: &Registry, view: &str, params: &Params) -> Answer {
    let ace = any_name(params, "DOMAIN")?;
    let domain = registry.domain(view, &ace)?;
    Ok(domain_status(domain))
}

/// `StatusDomain`'s properties, in the API's (alphabetical) order.
fn domain_status(d: &Domain) -> Reply {
    let mut reply = Reply::ok()
        .with("ADMINCONTACT", d.contact.as_str())
        .with("AUTH", d.auth.as_str())
        .with("BILLINGCONTACT", d.contact.as_str())
        .with("CLASS", "DOMAIN")
        .with("CREATEDBY", domain_list::REGISTRAR)
        .with("CREATEDDATE", datetime(d.created))
        .with("DOMAINUMLAUT", d.name.idn.as_str())
        .with("EXPIRATIONDATE", datetime(d.expiration))
        .with("ID", d.name.ace.as_str());
    for nameserver in &d.nameservers {
        reply.push("NAMESERVER", nameserver.as_str());
    }
    reply
        .with("OWNERCONTACT", d.contact.as_str())
        .with("PAIDUNTILDATE", datetime(d.expiration))
        .with("REGISTRAR", domain_list::REGISTRAR)
        .with("REGISTRATIONEXPIRATIONDATE", datetime(d.expiration))
        .with("RENEWALMODE", d.renewal_mode)
        .with(
            "REPOSITORY",
            format!("{}-OTE-SANDBOX", d.name.tld().to_uppercase()),
        )
        .with("STATUS", d.status)
        .with("SUBCLASS", d.name.tld().to_uppercase())
        .with("TECHCONTACT", d.contact.as_str())
        .with("TRANSFERLOCK", u8::from(d.transfer_lock).to_string())
        .with("UPDATEDBY", domain_list::REGISTRAR)
        .with("UPDATEDDATE", datetime(d.updated))
        .with("USER", d.user.as_str())
}

/// `PERIOD` in years: `NY` (1 to 10) or `NM` (a multiple of 12 up to 120).
fn period(params: &Params) -> Result<i64, Reply> {
    let Some(period) = params.get("PERIOD") else {
        return Ok(1);
    };
    let syntax = || Reply::invalid_syntax("PERIOD");
    let unit = period.chars().last().ok_or_else(syntax)?;
    let number: i64 = period[..period.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| syntax())?;
    let years = match unit {
        'Y' => number,
        'M' if number % 12 == 0 => number / 12,
        'M' => return Err(Reply::invalid_value("PERIOD")),
        _ => return Err(syntax()),
    };
    if (1..=10).contains(&years) {
        Ok(years)
    } else {
        Err(Reply::invalid_value("PERIOD"))
    }
}

fn add_domain(registry: &mut Registry, view: &str, params: &Params, now: i64) -> Answer {
    let name = sellable(params, "DOMAIN")?;
    let years = period(params)?;
    let mut nameservers = Vec::new();
    for (key, value) in params.indexed("NAMESERVER") {
        nameservers.push(convert(value).map_err(|_| Reply::invalid_syntax(key))?);
    }
    let domain = registry.register(view, name, years, nameservers, now)?;
    Ok(Reply::ok()
        .with("ACCOUNTINGDATE", datetime(domain.created))
        .with("PAIDUNTILDATE", datetime(domain.expiration))
        .with("REGISTRATIONEXPIRATIONDATE", datetime(domain.expiration))
        .with("STATUS", domain.status))
}

fn delete_domain(registry: &mut Registry, view: &str, params: &Params) -> Answer {
    let ace = any_name(params, "DOMAIN")?;
    registry.delete(view, &ace)?;
    Ok(Reply::ok())
}

fn convert_idn(params: &Params) -> Answer {
    let mut domains = params.indexed("DOMAIN");
    if domains.is_empty() {
        domains.push(("DOMAIN", params.require("DOMAIN")?));
    }
    let mut reply = Reply::ok();
    for (key, value) in domains {
        let ace = to_ace(value).map_err(|_| Reply::invalid_syntax(key))?;
        let idn = to_idn(&ace).map_err(|_| Reply::invalid_syntax(key))?;
        reply.push("ACE", ace).push("IDN", idn);
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexonet::{LOGIN, SUBUSER};

    const NOW: i64 = 1_700_000_000;

    fn user() -> Identity {
        Identity {
            account: LOGIN.to_owned(),
            role: None,
            read_only: false,
        }
    }

    fn call(registry: &mut Registry, view: &str, command: &str) -> Reply {
        let params = Params::parse(command);
        let name = params.get("COMMAND").unwrap_or_default().to_lowercase();
        run(registry, &user(), view, &name, &params, NOW)
    }

    fn first(reply: &Reply, column: &str) -> String {
        reply
            .column(column)
            .map(|v| v[0].clone())
            .unwrap_or_default()
    }

    /// One named test per case: a command for the user on a fresh registry,
    /// and what `f(reply)` must give.
    macro_rules! commands {
        ($($name:ident: $command:expr, |$r:ident| $got:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let $r = call(&mut Registry::seed(), LOGIN, $command);
                assert_eq!($got, $want);
            }
        )*};
    }

    fn status(reply: &Reply) -> (u16, &str) {
        (reply.code(), reply.description())
    }

    commands! {
        status_account_gives_the_finance_figures: "COMMAND=StatusAccount", |r| ["AMOUNT", "CREDIT", "CURRENCY", "DEPOSIT", "VAT"].map(|c| first(&r, c)) => ["10000.00", "500.00", "EUR", "128.90", "19.00"].map(str::to_owned);
        command_names_are_case_insensitive: "COMMAND=statusACCOUNT", |r| r.code() => 200;
        an_unknown_command_is_500: "COMMAND=TransferEverything", |r| status(&r) => (500, "Invalid command name");
        a_free_name_is_210: "COMMAND=CheckDomain\nDOMAIN=free-name.com", |r| status(&r) => (210, "Domain name available");
        a_seeded_name_is_211: "COMMAND=CheckDomain\nDOMAIN=blue-river-0.com", |r| status(&r) => (211, "Domain name not available");
        a_reserved_name_is_211: "COMMAND=CheckDomain\nDOMAIN=EXAMPLE.com", |r| r.code() => 211;
        an_idn_is_checked_by_its_ace_form: "COMMAND=CheckDomain\nDOMAIN=grün-river-4.de", |r| r.code() => 211;
        check_domain_needs_a_domain: "COMMAND=CheckDomain", |r| status(&r) => (504, "Missing required attribute; DOMAIN");
        check_domain_refuses_bad_syntax: "COMMAND=CheckDomain\nDOMAIN=a_b.com", |r| status(&r) => (505, "Invalid attribute value syntax; DOMAIN");
        check_domain_refuses_unsold_tlds: "COMMAND=CheckDomain\nDOMAIN=a.xyz", |r| status(&r) => (541, "Invalid attribute value; TLD not supported");
        check_domains_answers_per_index: "COMMAND=CheckDomains\nDOMAIN0=free-name.com\nDOMAIN1=blue-river-0.com\nDOMAIN2=a_b.com", |r| (r.code(), r.column("DOMAINCHECK").map(<[String]>::to_vec)) => (200, Some(vec![
            "210 Domain name available".to_owned(), "211 Domain name not available".to_owned(), "505 Invalid attribute value syntax; DOMAIN2".to_owned()]));
        check_domains_gives_every_column_per_index: "COMMAND=CheckDomains\nDOMAIN0=a.com\nDOMAIN1=b.com", |r| (r.column("REASON").map(<[String]>::len), r.column("DOMAINCHECKTIME").map(<[String]>::len)) => (Some(2), Some(2));
        check_domains_needs_domain0: "COMMAND=CheckDomains\nDOMAIN=a.com", |r| status(&r) => (504, "Missing required attribute; DOMAIN0");
        status_domain_gives_the_properties: "COMMAND=StatusDomain\nDOMAIN=Blue-River-0.com", |r| (first(&r, "ID"), first(&r, "USER"), first(&r, "CREATEDDATE"), r.column("NAMESERVER").map(<[String]>::len)) => ("blue-river-0.com".to_owned(), LOGIN.to_owned(), "2016-01-04 00:00:00".to_owned(), Some(2));
        status_domain_of_an_unknown_name_is_545: "COMMAND=StatusDomain\nDOMAIN=free-name.com", |r| status(&r) => (545, "Object not found");
        status_domain_of_a_subusers_name_is_allowed: &format!("COMMAND=StatusDomain\nDOMAIN={}", subuser_domain()), |r| first(&r, "USER") => SUBUSER.to_owned();
        add_domain_needs_a_domain: "COMMAND=AddDomain", |r| r.code() => 504;
        add_domain_refuses_a_taken_name: "COMMAND=AddDomain\nDOMAIN=blue-river-0.com", |r| status(&r) => (554, "Object already registered");
        add_domain_refuses_a_bad_period: "COMMAND=AddDomain\nDOMAIN=new.com\nPERIOD=2W", |r| r => Reply::invalid_syntax("PERIOD");
        add_domain_refuses_a_long_period: "COMMAND=AddDomain\nDOMAIN=new.com\nPERIOD=11Y", |r| r => Reply::invalid_value("PERIOD");
        add_domain_refuses_a_bad_nameserver: "COMMAND=AddDomain\nDOMAIN=new.com\nNAMESERVER0=ns_1.x.com", |r| r => Reply::invalid_syntax("NAMESERVER0");
        add_domain_answers_the_dates: "COMMAND=AddDomain\nDOMAIN=new.com\nPERIOD=24M", |r| (r.code(), first(&r, "REGISTRATIONEXPIRATIONDATE"), first(&r, "STATUS")) => (200, "2025-11-13 22:13:20".to_owned(), "ACTIVE".to_owned());
        delete_domain_of_an_unknown_name_is_545: "COMMAND=DeleteDomain\nDOMAIN=free-name.com", |r| r.code() => 545;
        convert_idn_gives_both_forms: "COMMAND=ConvertIDN\nDOMAIN0=München.de\nDOMAIN1=xn--mnchen-3ya.de\nDOMAIN2=a.com", |r| (r.column("ACE").map(<[String]>::to_vec), r.column("IDN").map(<[String]>::to_vec)) => (
            Some(["xn--mnchen-3ya.de", "xn--mnchen-3ya.de", "a.com"].map(str::to_owned).to_vec()),
            Some(["münchen.de", "münchen.de", "a.com"].map(str::to_owned).to_vec()));
        convert_idn_takes_a_plain_domain_too: "COMMAND=ConvertIDN\nDOMAIN=bücher", |r| first(&r, "ACE") => "xn--bcher-kva".to_owned();
        convert_idn_refuses_bad_syntax: "COMMAND=ConvertIDN\nDOMAIN0=a.com\nDOMAIN1=a b", |r| r => Reply::invalid_syntax("DOMAIN1");
    }

    fn subuser_domain() -> String {
        let registry = Registry::seed();
        registry
            .account(SUBUSER)
            .unwrap()
            .domains
            .keys()
            .next()
            .unwrap()
            .clone()
    }

    #[test]
    fn an_added_domain_is_listed_charged_and_deletable() {
        let mut registry = Registry::seed();
        let added = call(
            &mut registry,
            LOGIN,
            "COMMAND=AddDomain\nDOMAIN=brand-new.io\nPERIOD=2Y",
        );
        assert_eq!(added.code(), 200, "{added:?}");
        let account = call(&mut registry, LOGIN, "COMMAND=StatusAccount");
        assert_eq!(first(&account, "AMOUNT"), "9922.00");
        assert_eq!(
            call(
                &mut registry,
                LOGIN,
                "COMMAND=CheckDomain\nDOMAIN=brand-new.io"
            )
            .code(),
            211
        );
        let status = call(
            &mut registry,
            LOGIN,
            "COMMAND=StatusDomain\nDOMAIN=brand-new.io",
        );
        assert_eq!(first(&status, "CREATEDDATE"), datetime(NOW));
        assert_eq!(
            call(
                &mut registry,
                LOGIN,
                "COMMAND=DeleteDomain\nDOMAIN=brand-new.io"
            )
            .code(),
            200
        );
        assert_eq!(
            call(
                &mut registry,
                LOGIN,
                "COMMAND=StatusDomain\nDOMAIN=brand-new.io"
            )
            .code(),
            545
        );
        assert_eq!(
            call(
                &mut registry,
                LOGIN,
                "COMMAND=CheckDomain\nDOMAIN=brand-new.io"
            )
            .code(),
            210
        );
    }

    #[test]
    fn the_subuser_cannot_touch_its_parents_domains() {
        let mut registry = Registry::seed();
        let reply = call(
            &mut registry,
            SUBUSER,
            "COMMAND=DeleteDomain\nDOMAIN=blue-river-0.com",
        );
        assert_eq!(reply, Reply::authorization_failed());
    }

    #[test]
    fn the_subusers_balance_limits_its_registrations() {
        let mut registry = Registry::seed();
        let reply = call(
            &mut registry,
            SUBUSER,
            "COMMAND=AddDomain\nDOMAIN=pricey.io\nPERIOD=10Y",
        );
        assert_eq!(reply, Reply::credit_limit_exceeded());
        let added = call(&mut registry, SUBUSER, "COMMAND=AddDomain\nDOMAIN=cheap.de");
        assert_eq!(added.code(), 200);
        assert!(registry
            .account(SUBUSER)
            .unwrap()
            .domains
            .contains_key("cheap.de"));
    }

    #[test]
    fn a_read_only_role_cannot_write() {
        let mut registry = Registry::seed();
        let role = Identity {
            read_only: true,
            role: Some("ops".to_owned()),
            ..user()
        };
        for command in ["adddomain", "deletedomain"] {
            let params = Params::parse("DOMAIN=blue-river-0.com");
            assert_eq!(
                run(&mut registry, &role, LOGIN, command, &params, NOW),
                Reply::authorization_failed()
            );
        }
        let params = Params::parse("");
        assert_eq!(
            run(&mut registry, &role, LOGIN, "statusaccount", &params, NOW).code(),
            200
        );
    }
}
