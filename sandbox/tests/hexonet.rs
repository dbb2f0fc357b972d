//! The sandbox's HEXONET emulation against the real HEXONET Python SDK
//! (`hexonet.apiconnector`), unchanged: `tests/conformance/hexonet_sdk_client.py`
//! drives it over HTTP with `setURL`, `useOTESystem`, credentials, role
//! credentials, a subuser view, paging helpers and sessions, and reports what
//! the SDK saw.
//!
//! The same script and the same checks for CentralNic Reseller's dialect
//! with its SDK (`centralnicreseller.apiconnector`): the two differ only
//! where the dialects do (the LIVE entity, how a session is kept).
//!
//! Python is `<repo>/.venv/bin/python3` (see `tests/support/python.rs`).

/// The reference scripts (Python, Node) live in the workspace root's tests.
#[path = "../../tests/support/python.rs"]
#[allow(dead_code)]
mod python;

use exh_task_sandbox::hexonet::{
    Dialect, DOMAIN_COUNT, LOGIN, PASSWORD, ROLE, ROLE_PASSWORD, SUBUSER, SUBUSER_DOMAIN_COUNT,
};
use exh_task_sandbox::record::Verdict;
use exh_task_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};

use python::run_script_async;

/// `(code, description)` of one scenario.
fn status(out: &Value, scenario: &str) -> (i64, String) {
    let s = &out[scenario];
    (
        s["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("{scenario}: {s}")),
        s["description"].as_str().unwrap_or_default().to_owned(),
    )
}

fn code(out: &Value, scenario: &str) -> i64 {
    status(out, scenario).0
}

fn status_of(code: i64, description: &str) -> (i64, String) {
    (code, description.to_owned())
}

/// Runs the Python SDK of `dialect` against a fresh sandbox and checks what
/// it saw: the same scenarios and answers in both dialects.
async fn the_python_sdk_works_against_the_sandbox_unchanged(dialect: Dialect) {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let (name, url) = match dialect {
        Dialect::Hexonet => ("hexonet", sandbox.hexonet_url()),
        Dialect::CentralNic => ("centralnic", sandbox.centralnic_url()),
    };
    let input = json!({
        "dialect": name,
        "url": url,
        "login": LOGIN,
        "password": PASSWORD,
        "role": ROLE,
        "role_password": ROLE_PASSWORD,
        "subuser": SUBUSER,
    });
    let out = run_script_async("hexonet_sdk_client.py", input, Vec::new()).await;

    // Plain commands and their codes.
    assert_eq!(
        status(&out, "status_account"),
        status_of(200, "Command completed successfully")
    );
    assert_eq!(out["status_account"]["hash"]["CURRENCY"], json!(["EUR"]));
    assert_eq!(
        status(&out, "check_free"),
        status_of(210, "Domain name available")
    );
    assert_eq!(
        status(&out, "check_taken"),
        status_of(211, "Domain name not available")
    );
    assert_eq!(
        code(&out, "check_idn"),
        211,
        "the SDK converted the IDN (HEXONET's with ConvertIDN, CentralNic's locally)"
    );
    assert_eq!(
        out["check_domains"]["hash"]["DOMAINCHECK"],
        json!([
            "210 Domain name available",
            "211 Domain name not available",
            "505 Invalid attribute value syntax; DOMAIN2"
        ])
    );
    assert_eq!(
        status(&out, "check_missing"),
        status_of(504, "Missing required attribute; DOMAIN")
    );
    assert_eq!(
        out["convert_idn"]["hash"],
        json!({"ACE": ["xn--mnchen-3ya.de", "a.com"], "IDN": ["münchen.de", "a.com"]})
    );
    assert_eq!(
        status(&out, "unknown_command"),
        status_of(500, "Invalid command name")
    );

    // List paging as the SDK computes it.
    let total = DOMAIN_COUNT as i64;
    let pagination = |scenario: &str| out[scenario]["pagination"].clone();
    assert_eq!(
        pagination("list_first"),
        json!({"COUNT": 1000, "CURRENTPAGE": 1, "FIRST": 0, "LAST": 999, "LIMIT": 1000,
               "NEXTPAGE": 2, "PAGES": 3, "PREVIOUSPAGE": null, "TOTAL": total})
    );
    assert_eq!(pagination("list_second")["FIRST"], 1000);
    assert_eq!(pagination("list_second")["CURRENTPAGE"], 2);
    assert_eq!(
        pagination("list_third"),
        // The SDK caps NEXTPAGE at the last page.
        json!({"COUNT": 500, "CURRENTPAGE": 3, "FIRST": 2000, "LAST": 2499, "LIMIT": 1000,
               "NEXTPAGE": 3, "PAGES": 3, "PREVIOUSPAGE": 2, "TOTAL": total})
    );
    assert_eq!(
        out["list_all"],
        json!({"pages": 3, "codes": [200, 200, 200], "domains": total, "unique": total,
               "last_has_next": false})
    );
    let wide = &out["list_wide"];
    assert_eq!(wide["records"], 3);
    for column in [
        "DOMAIN",
        "DOMAINCREATEDDATE",
        "DOMAINSTATUS",
        "DOMAINUMLAUT",
        "USER",
    ] {
        assert!(
            wide["columns"].as_array().unwrap().contains(&json!(column)),
            "{column}"
        );
    }
    let created = wide["hash"]["DOMAINCREATEDDATE"].as_array().unwrap();
    assert!(created[0].as_str() >= created[1].as_str(), "{created:?}");
    assert!(wide["hash"]["DOMAIN"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d.as_str().unwrap().contains("river")));
    assert_eq!(
        status(&out, "list_bad_order"),
        status_of(505, "Invalid attribute value syntax; ORDERBY")
    );

    // Changes stick.
    assert_eq!(code(&out, "add"), 200);
    assert_eq!(out["add"]["hash"]["STATUS"], json!(["ACTIVE"]));
    assert_eq!(
        status(&out, "add_again"),
        status_of(554, "Object already registered")
    );
    assert_eq!(code(&out, "status_domain"), 200);
    assert_eq!(
        out["status_domain"]["hash"]["NAMESERVER"],
        json!(["ns1.example.net", "ns2.example.net"])
    );
    assert_eq!(code(&out, "delete"), 200);
    assert_eq!(
        status(&out, "status_deleted"),
        status_of(545, "Object not found")
    );

    // Credentials, roles, subusers.
    assert_eq!(
        status(&out, "wrong_password"),
        status_of(530, "Authentication failed")
    );
    if dialect == Dialect::Hexonet {
        // CentralNic Reseller has no system entity to choose.
        assert_eq!(
            status(&out, "live_entity"),
            status_of(530, "Authentication failed")
        );
    }
    assert_eq!(code(&out, "role_status"), 200);
    assert_eq!(
        status(&out, "role_add"),
        status_of(531, "Authorization failed")
    );
    assert_eq!(
        out["subuser_list"]["pagination"]["TOTAL"],
        SUBUSER_DOMAIN_COUNT as i64
    );
    assert_eq!(out["subuser_all"], SUBUSER_DOMAIN_COUNT.div_ceil(50));
    assert_eq!(
        status(&out, "unknown_subuser"),
        status_of(531, "Authorization failed")
    );
    assert_eq!(out["view_reset"]["pagination"]["TOTAL"], total);

    // Sessions.
    assert_eq!(code(&out, "login"), 200);
    assert_eq!(out["session_length"], 64);
    assert_eq!(code(&out, "session_request"), 200);
    assert_eq!(code(&out, "logout"), 200);
    if dialect == Dialect::Hexonet {
        // CentralNic's SDK keeps the session in what `saveSession` filled.
        assert_eq!(out["session_after_logout"], Value::Null);
    }
    assert_eq!(
        status(&out, "ended_session"),
        status_of(530, "SESSION NOT FOUND")
    );

    // Every call was recorded, none with a password.
    let recorded = sandbox.recorded_requests();
    assert!(recorded.len() > 30, "{}", recorded.len());
    for request in &recorded {
        assert_eq!(request.verdict, Verdict::NotApplicable);
        let body = String::from_utf8_lossy(&request.body);
        assert!(
            !body.contains(PASSWORD) && !body.contains(ROLE_PASSWORD),
            "{body}"
        );
    }
    assert!(recorded
        .iter()
        .any(|r| String::from_utf8_lossy(&r.body).contains("s_pw=***&")));
    sandbox.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hexonet_python_sdk_works_against_the_sandbox_unchanged() {
    the_python_sdk_works_against_the_sandbox_unchanged(Dialect::Hexonet).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_centralnic_reseller_python_sdk_works_against_the_sandbox_unchanged() {
    the_python_sdk_works_against_the_sandbox_unchanged(Dialect::CentralNic).await;
}
