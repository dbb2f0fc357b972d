//! The sandbox's Extra Horizon data: users and two data-service schemas
//! with their documents, the same on every start: `blood-pressure` with
//! [`DOCUMENT_COUNT`] measurements, and `domain-checks` with the one
//! document the example task `examples/check-domains` reads.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// How many users `GET /users/v1/` lists, the authenticated one included.
pub const USER_COUNT: u32 = 137;
/// How many documents the seeded schema starts with.
pub const DOCUMENT_COUNT: u32 = 60;
/// Name of the seeded schema; its id works in paths too.
pub const SCHEMA_NAME: &str = "blood-pressure";

/// Name of the schema whose one document lists domains to check.
pub const DOMAIN_CHECKS_SCHEMA: &str = "domain-checks";
/// The id of that document, as the example's `events/` name it.
pub const DOMAIN_CHECKS_DOCUMENT: &str = "5f5e1a10000000000000d001";
/// The domains it lists: free, registered (a seeded one), and an IDN.
pub const DOMAIN_CHECKS_DOMAINS: [&str; 3] =
    ["free-name.com", "blue-river-0.com", "grün-garten.de"];

/// 2020-09-13T12:26:40Z, the seeded data's epoch, in milliseconds.
const EPOCH_MS: u64 = 1_600_000_000_000;
const HOUR_MS: u64 = 3_600_000;

const FIRST_NAMES: [&str; 16] = [
    "Emma", "Lucas", "Olivia", "Noah", "Louise", "Arthur", "Mila", "Jules", "Elena", "Victor",
    "Nora", "Finn", "Lina", "Adam", "Julia", "Mats",
];
const LAST_NAMES: [&str; 13] = [
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters",
    "De Smet", "Dubois", "Lambert", "Dupont",
];
const LANGUAGES: [&str; 4] = ["EN", "NL", "FR", "DE"];
const TIME_ZONES: [&str; 4] = [
    "Europe/Brussels",
    "Europe/Amsterdam",
    "Europe/Paris",
    "Europe/Berlin",
];

/// What kind of object an id names; part of the id, so ids never collide.
#[derive(Clone, Copy)]
enum Kind {
    User = 1,
    Group = 2,
    Role = 3,
    Schema = 4,
    Document = 5,
}

/// A 24-hex id shaped like a MongoDB ObjectId (time, machine, counter), as
/// Extra Horizon's ids are.
fn object_id(kind: Kind, n: u64) -> String {
    let seconds = EPOCH_MS / 1000 + n * 3600;
    format!(
        "{seconds:08x}{:010x}{n:06x}",
        0x5a_e1b0_c0de_u64.wrapping_add(kind as u64)
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(EPOCH_MS, |d| d.as_millis() as u64)
}

/// The users and documents the sandbox serves and changes.
#[derive(Debug)]
pub(crate) struct Data {
    /// Every user; the first one is the token's user.
    pub(crate) users: Vec<Value>,
    /// The seeded schema's id.
    pub(crate) schema_id: String,
    /// The seeded schema's documents, oldest first.
    pub(crate) documents: Vec<Value>,
    /// The id of [`DOMAIN_CHECKS_SCHEMA`].
    pub(crate) domain_checks_schema_id: String,
    /// Its documents: the one listing [`DOMAIN_CHECKS_DOMAINS`].
    pub(crate) domain_checks: Vec<Value>,
    next_document: u64,
}

impl Data {
    /// The seeded data.
    pub(crate) fn seed() -> Self {
        let users: Vec<Value> = (0..u64::from(USER_COUNT)).map(user).collect();
        let documents = (0..u64::from(DOCUMENT_COUNT))
            .map(|n| {
                let owner = &users[(n % 5) as usize]["id"];
                document(n, owner, blood_pressure(n), EPOCH_MS + n * HOUR_MS)
            })
            .collect();
        let mut domain_checks = document(
            0,
            &users[0]["id"],
            json!({"domains": DOMAIN_CHECKS_DOMAINS}),
            EPOCH_MS,
        );
        domain_checks["id"] = json!(DOMAIN_CHECKS_DOCUMENT);
        Data {
            users,
            schema_id: object_id(Kind::Schema, 0),
            documents,
            domain_checks_schema_id: object_id(Kind::Schema, 1),
            domain_checks: vec![domain_checks],
            next_document: u64::from(DOCUMENT_COUNT),
        }
    }

    /// The user the sandbox token belongs to.
    pub(crate) fn me(&self) -> &Value {
        &self.users[0]
    }

    /// The documents of the schema `id_or_name` names (Extra Horizon
    /// accepts either in data-service paths), if it is a seeded one.
    pub(crate) fn documents_of(&mut self, id_or_name: &str) -> Option<&mut Vec<Value>> {
        if id_or_name == self.schema_id || id_or_name == SCHEMA_NAME {
            Some(&mut self.documents)
        } else if id_or_name == self.domain_checks_schema_id || id_or_name == DOMAIN_CHECKS_SCHEMA {
            Some(&mut self.domain_checks)
        } else {
            None
        }
    }

    /// A new document for the token's user, holding `data`; the caller
    /// stores it in its schema.
    pub(crate) fn new_document(&mut self, data: Map<String, Value>) -> Value {
        let n = self.next_document;
        self.next_document += 1;
        let creator = self.me()["id"].clone();
        document(n, &creator, Value::Object(data), now_ms())
    }
}

fn user(n: u64) -> Value {
    let (first, last) = if n == 0 {
        ("Sam", "Sandbox")
    } else {
        (
            FIRST_NAMES[(n % 16) as usize],
            LAST_NAMES[(n * 7 % 13) as usize],
        )
    };
    let email = if n == 0 {
        "sam.sandbox@example.com".to_owned()
    } else {
        format!(
            "{}.{}{n}@example.com",
            first.to_lowercase(),
            last.to_lowercase().replace(' ', "")
        )
    };
    let created = EPOCH_MS + n * 7 * HOUR_MS;
    let group = object_id(Kind::Group, n % 3);
    let roles = if n == 0 {
        json!([{
            "id": object_id(Kind::Role, 0),
            "name": "Sandbox administrator",
            "description": "Every permission, for local development",
            "permissions": ["VIEW_USER", "UPDATE_USER", "VIEW_DOCUMENTS", "CREATE_DOCUMENTS", "UPDATE_DOCUMENTS", "DELETE_DOCUMENTS"],
            "creationTimestamp": EPOCH_MS,
            "updateTimestamp": EPOCH_MS,
        }])
    } else {
        json!([])
    };
    let (staff, patient) = if n.is_multiple_of(4) {
        (
            json!([{"groupId": group, "roles": [], "creationTimestamp": created, "updateTimestamp": created}]),
            json!([]),
        )
    } else {
        (
            json!([]),
            json!([{"groupId": group, "expiryTimestamp": 0, "expired": false, "creationTimestamp": created, "updateTimestamp": created}]),
        )
    };
    json!({
        "id": object_id(Kind::User, n),
        "firstName": first,
        "lastName": last,
        "language": LANGUAGES[(n % 4) as usize],
        "email": email,
        "phoneNumber": format!("+32470{:06}", n * 7919 % 1_000_000),
        "activation": n % 10 != 9,
        "timeZone": TIME_ZONES[(n % 4) as usize],
        "roles": roles,
        "staffEnlistments": staff,
        "patientEnlistments": patient,
        "lastFailedTimestamp": 0,
        "failedCount": 0,
        "creationTimestamp": created,
        "updateTimestamp": created + HOUR_MS,
    })
}

fn blood_pressure(n: u64) -> Value {
    json!({
        "systolic": 105 + n * 7 % 40,
        "diastolic": 65 + n * 5 % 25,
        "heartRate": 55 + n * 3 % 40,
        "measuredTimestamp": EPOCH_MS + n * HOUR_MS,
    })
}

fn document(n: u64, owner: &Value, data: Value, at_ms: u64) -> Value {
    json!({
        "id": object_id(Kind::Document, n),
        "groupIds": [],
        "userIds": [owner],
        "creatorId": owner,
        "status": "active",
        "data": data,
        "commentCount": 0,
        "statusChangedTimestamp": at_ms,
        "creationTimestamp": at_ms,
        "updateTimestamp": at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_24_hex_and_unique() {
        let data = Data::seed();
        let mut ids: Vec<&str> = data
            .users
            .iter()
            .chain(&data.documents)
            .chain(&data.domain_checks)
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        ids.push(&data.schema_id);
        ids.push(&data.domain_checks_schema_id);
        assert!(ids
            .iter()
            .all(|id| id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())));
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }

    #[test]
    fn seed_is_the_same_every_time() {
        let (a, b) = (Data::seed(), Data::seed());
        assert_eq!((a.users, a.documents), (b.users, b.documents));
    }

    #[test]
    fn emails_are_unique() {
        let data = Data::seed();
        let mut emails: Vec<&str> = data
            .users
            .iter()
            .map(|u| u["email"].as_str().unwrap())
            .collect();
        emails.sort_unstable();
        emails.dedup();
        assert_eq!(emails.len(), USER_COUNT as usize);
    }
}
