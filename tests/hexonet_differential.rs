//! Differential tests: the pure HEXONET layer against the real Python SDKs,
//! for both backends.
//!
//! Hundreds of commands and responses are generated from a seeded PRNG
//! (`EXH_TASK_TEST_SEED`, or a random seed printed on failure), sent as one
//! JSON document per backend to `tests/conformance/hexonet_sdk.py` running
//! `hexonet.apiconnector` or `centralnicreseller.apiconnector` from
//! `<repo>/.venv`, and compared field by field: the POST body (after the
//! SDK's flattening, subuser and IDN rules) and its masked twin, the parsed
//! response, and the templates.

mod support;

use std::collections::BTreeSet;

use exh_task::hexonet::{parse, Command, PostBody, Protocol, Response, SocketConfig, Template};
use exh_task::hexonet::{Backend, System};
use serde_json::{json, Map, Value};
use support::python::run_script;

const COMMANDS: usize = 500;
const RESPONSES: usize = 800;

/// A credential set, as the SDK is configured (`login` + `role`) and as
/// exh-task passes it (`login!role`, `login:role`).
struct Credentials {
    ote: bool,
    login: &'static str,
    role: &'static str,
    password: &'static str,
    otp: &'static str,
    session: &'static str,
    remote_addr: &'static str,
    user: &'static str,
    /// CentralNic's session login: `persistent=1` and no command.
    persistent: bool,
}

const NONE: Credentials = Credentials {
    ote: false,
    login: "",
    role: "",
    password: "",
    otp: "",
    session: "",
    remote_addr: "",
    user: "",
    persistent: false,
};

const HEXONET_CREDENTIALS: [Credentials; 6] = [
    NONE,
    Credentials {
        login: "test.user",
        password: "test.passw0rd",
        ..NONE
    },
    Credentials {
        ote: true,
        login: "user",
        role: "role",
        password: "p@ss w&rd=%+/ü~",
        ..NONE
    },
    Credentials {
        ote: true,
        session: "abc/def+ghi=&",
        user: "reseller1",
        ..NONE
    },
    Credentials {
        login: "me",
        password: "x",
        otp: "123456",
        remote_addr: "1.2.3.4",
        ..NONE
    },
    Credentials {
        login: "me",
        password: "s_pw=&x",
        user: "sub user!",
        ..NONE
    },
];

/// CentralNic Reseller has no entity, OTP or remote address; a session
/// keeps the login; the subuser view is a command parameter.
const CENTRALNIC_CREDENTIALS: [Credentials; 6] = [
    NONE,
    Credentials {
        login: "test.user",
        password: "test.passw0rd",
        ..NONE
    },
    Credentials {
        login: "user",
        role: "role",
        password: "p@ss w&rd=%+/ü~",
        ..NONE
    },
    Credentials {
        login: "user:role",
        session: "abc/def+ghi=&",
        user: "reseller1",
        ..NONE
    },
    Credentials {
        login: "me",
        password: "s_pw=&x",
        persistent: true,
        ..NONE
    },
    Credentials {
        login: "me",
        password: "x",
        user: "sub user!",
        ..NONE
    },
];

impl Credentials {
    fn to_json(&self) -> Value {
        json!({"ote": self.ote, "login": self.login, "role": self.role, "password": self.password,
               "otp": self.otp, "session": self.session, "remoteaddr": self.remote_addr,
               "user": self.user, "persistent": self.persistent})
    }
}

#[test]
fn the_hexonet_sdk_and_exh_task_agree_on_commands_responses_and_templates() {
    agree_with_the_sdk(Backend::Hexonet, &HEXONET_CREDENTIALS);
}

#[test]
fn the_centralnic_sdk_and_exh_task_agree_on_commands_responses_and_templates() {
    agree_with_the_sdk(Backend::CentralNic, &CENTRALNIC_CREDENTIALS);
}

fn agree_with_the_sdk(backend: Backend, credentials: &[Credentials]) {
    let seed = std::env::var("EXH_TASK_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut gen = Gen(fastrand::Rng::with_seed(seed));
    let commands: Vec<(Value, usize)> = (0..COMMANDS)
        .map(|i| (gen.command(), i % credentials.len()))
        .collect();
    let responses: Vec<Value> = (0..RESPONSES).map(|_| gen.response()).collect();
    let input = json!({
        "backend": match backend { Backend::Hexonet => "hexonet", Backend::CentralNic => "centralnic" },
        "commands": commands.iter().map(|(c, k)| json!({"command": c, "config": credentials[*k].to_json()})).collect::<Vec<_>>(),
        "responses": responses,
    });
    let output = run_script("hexonet_sdk.py", &input, &[]);

    let mut failures = Vec::new();
    for (i, ((command, k), sdk)) in commands
        .iter()
        .zip(as_array(&output["commands"]))
        .enumerate()
    {
        if let Err(why) = compare_command(backend, command, &credentials[*k], sdk) {
            failures.push(format!("command #{i} {command}: {why}"));
        }
    }
    let mut compared = 0;
    for (i, (case, sdk)) in responses
        .iter()
        .zip(as_array(&output["responses"]))
        .enumerate()
    {
        if sdk.get("error").is_some() {
            continue; // the SDK raised; our answer for those is unit-tested
        }
        compared += 1;
        if let Err(why) = compare_response(case, sdk) {
            failures.push(format!("response #{i} {}: {why}", case["text"]));
        }
    }
    if let Err(why) = compare_templates(backend, &output["templates"]) {
        failures.push(why);
    }
    assert!(
        compared > RESPONSES * 3 / 4,
        "only {compared} responses compared (seed {seed})"
    );
    assert!(
        failures.is_empty(),
        "{} differences with the {backend:?} SDK (EXH_TASK_TEST_SEED={seed}):\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn as_array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn compare_command(
    backend: Backend,
    input: &Value,
    cred: &Credentials,
    sdk: &Value,
) -> Result<(), String> {
    let protocol = Protocol::of(backend);
    let ours = Command::from_json(input).and_then(|c| protocol.wire_command(&c, cred.user));
    if sdk["idn_failed"] == true {
        return match ours {
            Err(exh_task::hexonet::Error::InvalidIdn { .. }) => Ok(()),
            other => Err(format!("SDK could not convert an IDN, we gave {other:?}")),
        };
    }
    let command = ours.map_err(|e| format!("we refused it: {e}"))?;
    let login = protocol.login(cred.login, Some(cred.role).filter(|r| !r.is_empty()));
    let system = if cred.ote { System::Ote } else { System::Live };
    let config = SocketConfig {
        entity: protocol.entity(system).unwrap_or_default(),
        login: &login,
        otp: cred.otp,
        password: cred.password,
        remote_addr: cred.remote_addr,
        session: cred.session,
        user: cred.user,
        persistent: cred.persistent,
    };
    let command = (!cred.persistent).then_some(&command);
    let body = PostBody::new(backend, &config, command);
    same("body", body.expose(), &sdk["body"])?;
    same("masked body", body.masked(), &sdk["masked"])
}

fn compare_response(case: &Value, sdk: &Value) -> Result<(), String> {
    let text = case["text"].as_str().unwrap_or_default();
    let url = case["url"].as_str();
    let r = if case["bytes"] == true {
        Response::from_bytes(text.as_bytes(), url)
    } else if url.is_none() {
        // What the SDK answers for a text that is not a response is its template.
        parse(text).unwrap_or_else(|error| error.template().response(None))
    } else {
        Response::from_text(text, url)
    };
    if sdk["code"].get("error").is_some() || sdk["success"].get("error").is_some() {
        // The SDK raises on this CODE; we answer the `invalid` template.
        return (r.code() == 423)
            .then_some(())
            .ok_or("CODE not refused".into());
    }
    same("plain", r.plain(), &sdk["plain"])?;
    same("success", r.is_success(), &sdk["success"])?;
    {
        same("code", r.code(), &sdk["code"])?;
    }
    same("description", r.description(), &sdk["description"])?;
    for (name, ours) in [("runtime", r.runtime()), ("queuetime", r.queuetime())] {
        if sdk[name].get("error").is_none() {
            same(name, ours, &sdk[name])?;
        }
    }
    let attributes: Vec<_> = r.attributes().iter().collect();
    same("attributes", attributes, &sdk["attributes"])?;
    let properties: Vec<_> = r.properties().iter().collect();
    same("properties", properties, &sdk["properties"])?;
    same("columns", r.columns().collect::<Vec<_>>(), &sdk["columns"])?;
    let records: Vec<Vec<_>> = r.records().iter().map(|rec| rec.iter().collect()).collect();
    same("records", records, &sdk["records"])?;
    if sdk["pagination"].get("error").is_none() {
        same("pagination", r.pagination(), &sdk["pagination"])?;
    }
    Ok(())
}

fn compare_templates(backend: Backend, sdk: &Value) -> Result<(), String> {
    let sdk_ids: BTreeSet<&str> = sdk
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .collect();
    let our_ids: BTreeSet<&str> = Template::ALL.iter().map(|t| t.id()).collect();
    if sdk_ids != our_ids {
        return Err(format!("template ids: ours {our_ids:?}, SDK {sdk_ids:?}"));
    }
    for t in Template::ALL {
        same(t.id(), (t.code_in(backend), t.description()), &sdk[t.id()])?;
    }
    Ok(())
}

fn same(what: &str, ours: impl serde::Serialize, sdk: &Value) -> Result<(), String> {
    let ours = serde_json::to_value(ours).map_err(|e| e.to_string())?;
    if &ours == sdk {
        Ok(())
    } else {
        Err(format!("{what}: ours {ours}, SDK {sdk}"))
    }
}

/// The case generator.
struct Gen(fastrand::Rng);

const PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    "9",
    "-",
    ".",
    "_",
    "~",
    "/",
    " ",
    "=",
    "&",
    "%",
    "+",
    "?",
    "#",
    "!",
    "*",
    "'",
    "\t",
    "\r",
    "\n",
    "\r\n",
    "ü",
    "ß",
    "é",
    "€",
    "✓",
    "中文",
    "😀",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    "PASSWORD=",
    "s_pw=",
    "%20",
    "\u{a0}",
    "\u{1c}",
];

impl Gen {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.0.usize(..items.len())]
    }

    fn text(&mut self, max: usize, pieces: &[&str]) -> String {
        let len = self.0.usize(..=max);
        (0..len).map(|_| *self.pick(pieces)).collect()
    }

    fn word(&mut self) -> String {
        let len = self.0.usize(1..8);
        (0..len)
            .map(|_| *self.pick(&["a", "B", "c", "D", "x", "Y", "_", "1", "ä", "é"]))
            .collect()
    }

    fn number(&mut self) -> Value {
        match self.0.u8(..4) {
            0 => json!(self.0.i64(-1000..1000)),
            1 => json!(self.0.i64(..)),
            2 => {
                json!(*self
                    .pick(&[0.0, 1.0, -0.5, 0.1, 1e16, 1e-5, 1e-4, 123456.789, 1e300, 2.5e-300]))
            }
            _ => {
                let x = f64::from_bits(self.0.u64(..));
                if x.is_finite() {
                    json!(x)
                } else {
                    json!(0.25)
                }
            }
        }
    }

    fn domain(&mut self) -> String {
        let labels: &[&str] = &[
            "example",
            "münchen",
            "bücher",
            "中文",
            "ñandú",
            "ΑΘΉΝΑ",
            "xn--mnchen-3ya",
            "a-b",
            "straße",
            "café",
            "ｆｕｌｌ",
            "-ü",
            "ü-",
        ];
        // No emoji: UTS 46 (Rust's `idna`) accepts them, IDNA 2008 code
        // point rules (Python's `idna`) refuse them.
        let n = self.0.usize(1..4);
        let mut name: Vec<String> = (0..n).map(|_| self.pick(labels).to_string()).collect();
        // `de`, `fr`, `swiss`: names CentralNic's SDK converts unmapped.
        name.push(
            self.pick(&["de", "com", "中国", "DE", "fr", "Swiss", "net"])
                .to_string(),
        );
        let dot = if self.0.u8(..10) == 0 { "." } else { "" };
        format!("{}{dot}", name.join("."))
    }

    fn scalar(&mut self, idn: bool) -> Value {
        match self.0.u8(..10) {
            _ if idn => json!(self.domain()),
            0 => json!(self.0.bool()),
            1 | 2 => self.number(),
            _ => json!(self.text(12, PIECES)),
        }
    }

    fn command(&mut self) -> Value {
        let name = *self.pick(&[
            "CheckDomains",
            "QueryDomainList",
            "StatusAccount",
            "convertIDN",
            "AddDomain",
        ]);
        let mut map = Map::new();
        map.insert(
            self.pick(&["COMMAND", "command", "Command"]).to_string(),
            json!(name),
        );
        let mut taken: BTreeSet<String> = BTreeSet::from(["COMMAND".to_owned()]);
        for _ in 0..self.0.usize(..8) {
            let key = match self.0.u8(..8) {
                0 => self
                    .pick(&[
                        "domain",
                        "NameServer",
                        "DNSZONE",
                        "Domain1",
                        "ns",
                        "Ns2",
                        "ObjectId",
                    ])
                    .to_string(),
                1 => self
                    .pick(&[
                        "password",
                        "NewPassword",
                        "first",
                        "limit",
                        "ObjectClass",
                        "subuser",
                    ])
                    .to_string(),
                _ => self.word(),
            };
            let upper = key.to_uppercase();
            let idn = ["DOMAIN", "NAMESERVER", "DNSZONE", "NS", "OBJECTID"]
                .iter()
                .any(|p| upper.starts_with(p));
            let value = match self.0.u8(..6) {
                _ if upper == "OBJECTCLASS" => {
                    json!(*self.pick(&["DOMAIN", "domainBlocking", "NS", "contact"]))
                }
                0 => Value::Null,
                1 => Value::Array((0..self.0.usize(..4)).map(|_| self.scalar(idn)).collect()),
                _ => self.scalar(idn),
            };
            let names: Vec<String> = match &value {
                Value::Array(items) => (0..items.len()).map(|i| format!("{upper}{i}")).collect(),
                _ => vec![upper.clone()],
            };
            // Names the contract refuses as ambiguous (`x` and `X`, `X: [..]` and `X0`).
            if taken.contains(&upper) || names.iter().any(|n| taken.contains(n)) {
                continue;
            }
            taken.insert(upper);
            taken.extend(names);
            map.insert(key, value);
        }
        Value::Object(map)
    }

    fn line(&mut self, name: &str, value: &str) -> String {
        let blanks = ["", " ", "\t", " \t ", "  "];
        let (a, b, c) = (
            *self.pick(&blanks),
            *self.pick(&blanks),
            *self.pick(&blanks),
        );
        format!("{name}{a}={b}{value}{c}")
    }

    fn response(&mut self) -> Value {
        if self.0.u8(..40) == 0 {
            let text = *self.pick(&["", " ", "\r\n", "garbage", "<html>502</html>", "=", "CODE"]);
            return json!({"text": text, "bytes": self.0.bool(), "url": "http://127.0.0.1/api/call.cgi"});
        }
        let value_pieces: Vec<&str> = PIECES
            .iter()
            .copied()
            .filter(|p| !p.contains('\n'))
            .collect();
        let mut lines = vec![];
        if self.0.u8(..4) > 0 {
            lines.push("[RESPONSE]".to_owned());
        }
        let code_name = *self.pick(&["code", "CODE", "Code", " code"]);
        if self.0.u8(..30) > 0 {
            let code = *self.pick(&["200", "545", "421", "219", "500", "abc", "+200", "", "2_00"]);
            lines.push(self.line(code_name, code));
        }
        if self.0.u8(..30) > 0 {
            let mut d = self.text(10, &value_pieces);
            if self.0.u8(..8) == 0 {
                let tail: &&str = self.pick(&["{CONNECTION_URL}", "{FOO_BAR}", "{lower}", "{}"]);
                d.push_str(tail);
            }
            lines.push(self.line("description", &d));
        }
        for name in ["runtime", "QUEUETIME"] {
            if self.0.bool() {
                let v = *self.pick(&["0.12", "0", "1e3", " .5", "x", "1_0.5", "3"]);
                lines.push(self.line(name, v));
            }
        }
        let mut columns: Vec<(String, usize)> = (0..self.0.usize(..5))
            .map(|_| {
                (
                    self.text(6, &["a", "B", "ä", " ", "\u{a0}", "\t", "_", "1"]),
                    self.0.usize(..5),
                )
            })
            .collect();
        for paging in ["FIRST", "LAST", "LIMIT", "TOTAL", "COUNT", "first"] {
            if self.0.u8(..3) == 0 {
                columns.push((paging.to_owned(), 1));
            }
        }
        let mut props = vec![];
        for (name, len) in &columns {
            for i in 0..*len {
                let value = if name.eq_ignore_ascii_case("first")
                    || name.chars().all(|c| c.is_ascii_uppercase()) && name.len() > 3
                {
                    self.pick(&["0", "10", "100", "7", "-3", "x", "1234"])
                        .to_string()
                } else {
                    self.text(6, &value_pieces)
                };
                let prefix = *self.pick(&["property", "PROPERTY", "Property"]);
                props.push(self.line(&format!("{prefix}[{name}][{i}]"), &value));
            }
        }
        // Column by column, as the API writes lists (the parser's run of
        // lines with one prefix), or in any order.
        if self.0.bool() {
            self.0.shuffle(&mut props);
        }
        lines.extend(props);
        for _ in 0..self.0.usize(..3) {
            let junk = self
                .pick(&[
                    "garbage",
                    "=x",
                    " \t= y",
                    "pending=1",
                    "property[open=1",
                    "property[a][9]",
                    "PROPERTY[B]=z",
                    "EOF",
                    "x{FOO}y=1",
                ])
                .to_string();
            let at = self.0.usize(..=lines.len());
            lines.insert(at, junk);
        }
        if self.0.u8(..4) > 0 {
            lines.push("EOF".to_owned());
        }
        let eol = *self.pick(&["\r\n", "\n", "\r\n", "\r\r\n"]);
        let mut text = lines.join(eol);
        if self.0.bool() {
            text.push_str(eol);
        }
        let url = self
            .0
            .bool()
            .then_some("https://api-ote.ispapi.net/api/call.cgi");
        json!({"text": text, "bytes": self.0.u8(..4) == 0, "url": url})
    }
}
