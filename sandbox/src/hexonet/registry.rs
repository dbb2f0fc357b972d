//! [`Registry`]: the sandbox's accounts (a user, its role and its subuser),
//! their balances and their domains, and the rules for reaching them.

use std::collections::BTreeMap;

use super::domain_name::DomainName;
use super::reply::Reply;

/// Names that are taken without belonging to any sandbox account.
const RESERVED: [&str; 4] = ["example.com", "example.net", "example.org", "hexonet.net"];

/// Every account and every registered domain.
#[derive(Clone, Debug)]
pub(crate) struct Registry {
    pub(crate) accounts: Vec<Account>,
}

/// A HEXONET account: a login, its roles, its money and its domains.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    /// The login, also the `USER` of its domains.
    pub(crate) name: String,
    /// The account this one is a subuser of.
    pub(crate) parent: Option<String>,
    pub(crate) password: String,
    pub(crate) roles: Vec<Role>,
    pub(crate) balance: Balance,
    /// Domains by ACE name.
    pub(crate) domains: BTreeMap<String, Domain>,
}

/// A role user, `login!role`, with its own password.
#[derive(Clone, Debug)]
pub(crate) struct Role {
    pub(crate) name: String,
    pub(crate) password: String,
    /// A read-only role may not add or delete domains.
    pub(crate) read_only: bool,
}

/// The finance figures of `StatusAccount`, in cents.
#[derive(Clone, Debug)]
pub(crate) struct Balance {
    pub(crate) currency: &'static str,
    pub(crate) amount: i64,
    pub(crate) credit: i64,
    pub(crate) deposit: i64,
    /// VAT in percent, as the API prints it (`19.00`).
    pub(crate) vat: &'static str,
}

/// A registered domain. Times are Unix seconds.
#[derive(Clone, Debug)]
pub(crate) struct Domain {
    pub(crate) name: DomainName,
    /// The owning account.
    pub(crate) user: String,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) expiration: i64,
    pub(crate) renewal_mode: &'static str,
    pub(crate) transfer_lock: bool,
    pub(crate) status: &'static str,
    pub(crate) nameservers: Vec<String>,
    /// The contact handle used as owner, admin, tech and billing contact.
    pub(crate) contact: String,
    pub(crate) auth: String,
}

const YEAR: i64 = 365 * 86_400;

impl Registry {
    /// The account called `name`.
    pub(crate) fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|account| account.name == name)
    }

    fn account_mut(&mut self, name: &str) -> Option<&mut Account> {
        self.accounts
            .iter_mut()
            .find(|account| account.name == name)
    }

    /// `account` is `ancestor` or one of its subusers, at any depth.
    pub(crate) fn is_within(&self, account: &str, ancestor: &str) -> bool {
        let mut current = Some(account);
        // The depth bound makes a (never seeded) parent cycle harmless.
        for _ in 0..=self.accounts.len() {
            match current {
                Some(name) if name == ancestor => return true,
                Some(name) => current = self.account(name).and_then(|a| a.parent.as_deref()),
                None => return false,
            }
        }
        false
    }

    /// The account holding the domain `ace`.
    pub(crate) fn owner(&self, ace: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|account| account.domains.contains_key(ace))
    }

    /// The domain is registered (here or, for the reserved names, elsewhere).
    pub(crate) fn is_taken(&self, ace: &str) -> bool {
        RESERVED.contains(&ace) || self.owner(ace).is_some()
    }

    /// The domain `ace` as `view` may see it: its own or a subuser's.
    ///
    /// # Errors
    /// 545 when no account holds it, 531 when another account does.
    pub(crate) fn domain(&self, view: &str, ace: &str) -> Result<&Domain, Reply> {
        let owner = self.owner(ace).ok_or_else(Reply::object_not_found)?;
        if !self.is_within(&owner.name, view) {
            return Err(Reply::authorization_failed());
        }
        owner.domains.get(ace).ok_or_else(Reply::object_not_found)
    }

    /// Registers `name` for `years` in the account `view`, charging its
    /// balance, at `now`.
    ///
    /// # Errors
    /// 554 when the name is taken, 546 when the balance and the credit do
    /// not cover the price, 545 for an unknown account.
    pub(crate) fn register(
        &mut self,
        view: &str,
        name: DomainName,
        years: i64,
        nameservers: Vec<String>,
        now: i64,
    ) -> Result<&Domain, Reply> {
        if self.is_taken(&name.ace) {
            return Err(Reply::already_registered());
        }
        let account = self.account_mut(view).ok_or_else(Reply::object_not_found)?;
        let price = name.annual_price() * years;
        if account.balance.amount - price < -account.balance.credit {
            return Err(Reply::credit_limit_exceeded());
        }
        account.balance.amount -= price;
        let ace = name.ace.clone();
        let domain = Domain {
            auth: auth_code(now.unsigned_abs() ^ account.domains.len() as u64),
            name,
            user: account.name.clone(),
            created: now,
            updated: now,
            expiration: now + years * YEAR,
            renewal_mode: "DEFAULT",
            transfer_lock: false,
            status: "ACTIVE",
            nameservers,
            contact: contact_handle(&account.name),
        };
        Ok(account.domains.entry(ace).or_insert(domain))
    }

    /// Deletes the domain `ace` as `view`.
    ///
    /// # Errors
    /// As [`Registry::domain`].
    pub(crate) fn delete(&mut self, view: &str, ace: &str) -> Result<(), Reply> {
        let owner = self.domain(view, ace)?.user.clone();
        if let Some(account) = self.account_mut(&owner) {
            account.domains.remove(ace);
        }
        Ok(())
    }
}

impl Account {
    /// A new account without domains.
    pub(crate) fn new(name: &str, password: &str, parent: Option<&str>, balance: Balance) -> Self {
        Account {
            name: name.to_owned(),
            parent: parent.map(str::to_owned),
            password: password.to_owned(),
            roles: Vec::new(),
            balance,
            domains: BTreeMap::new(),
        }
    }
}

/// The contact handle the sandbox gives an account's domains.
pub(crate) fn contact_handle(account: &str) -> String {
    let sum = account.bytes().fold(0u32, |sum, b| {
        sum.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    format!("P-SBX{:07}", sum % 10_000_000)
}

/// An auth code such as `Sbx-3f2a9c1d7e`, derived from `seed`.
pub(crate) fn auth_code(seed: u64) -> String {
    // SplitMix64: well spread, deterministic.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("Sbx-{:010x}", (z ^ (z >> 31)) & 0xff_ffff_ffff)
}

/// `YYYY-MM-DD hh:mm:ss` (UTC), as the API prints times.
pub(crate) fn datetime(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "0000-00-00 00:00:00".to_owned(),
    }
}

/// Cents as the API prints money: `1234.50`, `-0.10`.
pub(crate) fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_money_print_as_the_api_prints_them() {
        assert_eq!(datetime(1_451_865_600), "2016-01-04 00:00:00");
        assert_eq!(datetime(i64::MAX), "0000-00-00 00:00:00");
        assert_eq!(money(123_450), "1234.50");
        assert_eq!(money(-10), "-0.10");
        assert_eq!(money(0), "0.00");
    }

    #[test]
    fn auth_codes_and_handles_are_stable() {
        assert_eq!(auth_code(1), auth_code(1));
        assert_ne!(auth_code(1), auth_code(2));
        assert_eq!(contact_handle("a"), contact_handle("a"));
        assert!(contact_handle("sandbox-user").starts_with("P-SBX"));
    }
}
