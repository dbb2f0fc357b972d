//! The sandbox's HEXONET data, the same on every start: the user
//! [`LOGIN`](super::LOGIN) with [`DOMAIN_COUNT`](super::DOMAIN_COUNT)
//! domains and the role [`ROLE`](super::ROLE), and its subuser
//! [`SUBUSER`](super::SUBUSER) with
//! [`SUBUSER_DOMAIN_COUNT`](super::SUBUSER_DOMAIN_COUNT) domains of its own.

use super::domain_name::{DomainName, TLDS};
use super::registry::{auth_code, contact_handle, Account, Balance, Domain, Registry, Role};
use super::{
    DOMAIN_COUNT, LOGIN, PASSWORD, ROLE, ROLE_PASSWORD, SUBUSER, SUBUSER_DOMAIN_COUNT,
    SUBUSER_PASSWORD,
};

/// 2016-01-04 00:00:00 UTC, when the first seeded domain was created.
const EPOCH: i64 = 1_451_865_600;
const DAY: i64 = 86_400;

const ADJECTIVES: [&str; 16] = [
    "blue", "quick", "silent", "bright", "grün", "happy", "misty", "golden", "schön", "little",
    "brave", "calm", "wild", "north", "café", "über",
];
const NOUNS: [&str; 16] = [
    "river", "falcon", "harbor", "meadow", "pixel", "garden", "summit", "lantern", "orchard",
    "canyon", "beacon", "comet", "forest", "island", "studio", "bakery",
];
const RENEWAL_MODES: [&str; 4] = ["AUTORENEW", "AUTORENEW", "AUTOEXPIRE", "AUTODELETE"];
const NAMESERVERS: [&str; 2] = ["ns1.sandbox-dns.example", "ns2.sandbox-dns.example"];

impl Registry {
    /// The seeded registry.
    pub(crate) fn seed() -> Self {
        let mut user = Account::new(
            LOGIN,
            PASSWORD,
            None,
            Balance {
                currency: "EUR",
                amount: 1_000_000,
                credit: 50_000,
                deposit: 12_890,
                vat: "19.00",
            },
        );
        user.roles.push(Role {
            name: ROLE.to_owned(),
            password: ROLE_PASSWORD.to_owned(),
            read_only: true,
        });
        let mut subuser = Account::new(
            SUBUSER,
            SUBUSER_PASSWORD,
            Some(LOGIN),
            Balance {
                currency: "EUR",
                amount: 15_000,
                credit: 0,
                deposit: 0,
                vat: "19.00",
            },
        );
        let subuser_range = DOMAIN_COUNT..DOMAIN_COUNT + SUBUSER_DOMAIN_COUNT;
        for (account, range) in [(&mut user, 0..DOMAIN_COUNT), (&mut subuser, subuser_range)] {
            let contact = contact_handle(&account.name);
            for i in range {
                if let Some(domain) = seeded_domain(i, &account.name, &contact) {
                    account.domains.insert(domain.name.ace.clone(), domain);
                }
            }
        }
        Registry {
            accounts: vec![user, subuser],
        }
    }
}

/// The `i`-th seeded domain: `{adjective}-{noun}-{i}.{tld}`, some of them IDNs.
fn seeded_domain(i: usize, user: &str, contact: &str) -> Option<Domain> {
    let n = i as i64;
    let label = format!(
        "{}-{}-{i}",
        ADJECTIVES[i % ADJECTIVES.len()],
        NOUNS[(i / ADJECTIVES.len()) % NOUNS.len()]
    );
    let name = DomainName::parse(&format!("{label}.{}", TLDS[i % TLDS.len()].0)).ok()?;
    let created = EPOCH + n * 8 * 3600 + (n * 7919) % 3600;
    Some(Domain {
        name,
        user: user.to_owned(),
        created,
        updated: created + (n % 200) * DAY,
        expiration: created + (1 + n % 10) * 365 * DAY,
        renewal_mode: RENEWAL_MODES[i % RENEWAL_MODES.len()],
        transfer_lock: !i.is_multiple_of(3),
        status: "ACTIVE",
        nameservers: NAMESERVERS.map(str::to_owned).to_vec(),
        contact: contact.to_owned(),
        auth: auth_code(i as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_name_is_valid_and_unique() {
        let registry = Registry::seed();
        let counts: Vec<usize> = registry.accounts.iter().map(|a| a.domains.len()).collect();
        assert_eq!(counts, [DOMAIN_COUNT, SUBUSER_DOMAIN_COUNT]);
    }

    #[test]
    fn the_seed_holds_idns_and_every_tld() {
        let registry = Registry::seed();
        let domains = &registry.accounts[0].domains;
        assert_eq!(
            domains["xn--grn-river-4-uhb.de"].name.idn,
            "grün-river-4.de"
        );
        for (tld, _) in TLDS {
            assert!(domains.values().any(|d| d.name.tld() == tld), "{tld}");
        }
    }

    #[test]
    fn the_subuser_belongs_to_the_user() {
        let registry = Registry::seed();
        assert!(registry.is_within(SUBUSER, LOGIN));
        assert!(!registry.is_within(LOGIN, SUBUSER));
        assert!(!registry.is_within("nobody", LOGIN));
    }
}
