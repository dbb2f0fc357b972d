//! [`Protocol`]: what HEXONET and its successor CentralNic Reseller
//! (formerly RRPproxy) do differently on the same `call.cgi` protocol, as
//! data, and [`Endpoint`]: where one configured account's calls go and as
//! whom it logs in. Parsing, paging, templates, retries and masking are
//! shared; only this description is chosen by `HEXONET_BACKEND`.
//!
//! # Endpoints
//!
//! | backend | system | URL (the SDK's constant) | `s_entity` |
//! | --- | --- | --- | --- |
//! | `hexonet` | `ote` | `https://api-ote.ispapi.net/api/call.cgi` (`ISPAPI_CONNECTION_URL_OTE`) | `1234` |
//! | `hexonet` | `live` | `https://api.ispapi.net/api/call.cgi` (`ISPAPI_CONNECTION_URL_LIVE`) | `54cd` |
//! | `centralnic` | `ote` | `https://api-ote.rrpproxy.net/api/call.cgi` (`CNR_CONNECTION_URL_OTE`) | none |
//! | `centralnic` | `live` | `https://api.rrpproxy.net/api/call.cgi` (`CNR_CONNECTION_URL_LIVE`) | none |
//!
//! `HEXONET_URL` replaces the URL (e.g. the SDK's high-performance proxy
//! [`PROXY_URL`], or the sandbox) but never the entity: the system still
//! says which data the account works on.
//!
//! # Differences
//!
//! | | `hexonet` (`hexonet.apiconnector` 4.0.2) | `centralnic` (`centralnicreseller.apiconnector` 6.0.0) |
//! | --- | --- | --- |
//! | URLs, entity | see [Endpoints](#endpoints) | see [Endpoints](#endpoints): the URL says the system |
//! | POST fields, in order | `s_entity`, `s_login`, `s_otp`, `s_pw`, `s_remoteaddr`, `s_session`, `s_user` | `s_login`, `s_pw`, `s_sessionid`, `persistent` |
//! | role | `login!role` | `login:role` |
//! | subuser view | the `s_user` field | the command's `SUBUSER` parameter |
//! | session opened by | the command `StartSession` (answers `SESSION`) | a login with `persistent=1` and no command (answers `SESSIONID`) |
//! | session used as | `s_session` alone | `s_login` and `s_sessionid` |
//! | session closed by | `EndSession` | `StopSession` |
//! | IDN conversion | see [`IdnRules::Hexonet`] | see [`IdnRules::CentralNic`] |
//! | template `unauthorized` | 530 | 500 |

use super::idn::IdnRules;
use super::{Command, Error, Settings};
use url::Url;

/// Which registrar platform speaks on the other end of `call.cgi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// HEXONET (`hexonet`).
    Hexonet,
    /// CentralNic Reseller (`centralnic`), HEXONET's successor.
    CentralNic,
}

/// Which HEXONET system to use; `"ote"` or `"live"` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// OT&E (`ote`): the free test system.
    Ote,
    /// LIVE (`live`): the real system, with real costs.
    Live,
}

/// The SDKs' high-performance proxy (a local Apache keeping connections
/// open); set `HEXONET_URL` to it to use one. exh-task keeps its own
/// connections open, so it does not need one.
pub const PROXY_URL: &str = "http://127.0.0.1/api/call.cgi";

/// A connection field of the POST body (a value of [`super::SocketConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The system entity.
    Entity,
    /// The login, with the role when one is set.
    Login,
    /// A one-time password.
    Otp,
    /// The password.
    Password,
    /// The end user's IP address.
    RemoteAddr,
    /// A session id.
    Session,
    /// The subuser view.
    User,
    /// `1` to open a session.
    Persistent,
}

/// How a kept session is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    /// By sending this command with the credentials.
    Command(&'static str),
    /// By a login with `persistent=1` and no command.
    Persistent,
}

/// How sessions work on one platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sessions {
    /// How one is opened.
    pub start: SessionStart,
    /// The column of the answer that holds the new session's id.
    pub id_column: &'static str,
    /// The command that closes one.
    pub end_command: &'static str,
    /// Whether calls in a session still send the login (without password).
    pub keeps_login: bool,
}

/// Where the subuser view goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubuserView {
    /// In the connection field [`Field::User`].
    Field,
    /// In this command parameter.
    Parameter(&'static str),
}

/// One platform's way of speaking `call.cgi` (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    /// The platform's name, for messages and logs.
    pub name: &'static str,
    /// The OT&E and LIVE endpoints (see [Endpoints](self#endpoints)).
    pub urls: [&'static str; 2],
    /// The OT&E and LIVE entities, for a platform that sends one.
    pub entities: Option<[&'static str; 2]>,
    /// What joins login and role.
    pub role_separator: char,
    /// The POST fields before `s_command`, in the SDK's order.
    pub fields: &'static [(&'static str, Field)],
    /// Where the subuser view goes.
    pub subuser: SubuserView,
    /// How sessions work.
    pub sessions: Sessions,
    /// Which values are converted to punycode, and how.
    pub idn: IdnRules,
    /// The code of the SDK's `unauthorized` template.
    pub unauthorized_code: i64,
}

/// HEXONET, as `hexonet.apiconnector` 4.0.2 speaks to it.
pub const HEXONET: Protocol = Protocol {
    name: "HEXONET",
    urls: [
        "https://api-ote.ispapi.net/api/call.cgi",
        "https://api.ispapi.net/api/call.cgi",
    ],
    entities: Some(["1234", "54cd"]),
    role_separator: '!',
    fields: &[
        ("s_entity", Field::Entity),
        ("s_login", Field::Login),
        ("s_otp", Field::Otp),
        ("s_pw", Field::Password),
        ("s_remoteaddr", Field::RemoteAddr),
        ("s_session", Field::Session),
        ("s_user", Field::User),
    ],
    subuser: SubuserView::Field,
    sessions: Sessions {
        start: SessionStart::Command("StartSession"),
        id_column: "SESSION",
        end_command: "EndSession",
        keeps_login: false,
    },
    idn: IdnRules::Hexonet,
    unauthorized_code: 530,
};

/// CentralNic Reseller, as `centralnicreseller.apiconnector` 6.0.0 speaks to it.
pub const CENTRALNIC: Protocol = Protocol {
    name: "CentralNic Reseller",
    urls: [
        "https://api-ote.rrpproxy.net/api/call.cgi",
        "https://api.rrpproxy.net/api/call.cgi",
    ],
    entities: None,
    role_separator: ':',
    fields: &[
        ("s_login", Field::Login),
        ("s_pw", Field::Password),
        ("s_sessionid", Field::Session),
        ("persistent", Field::Persistent),
    ],
    subuser: SubuserView::Parameter("SUBUSER"),
    sessions: Sessions {
        start: SessionStart::Persistent,
        id_column: "SESSIONID",
        end_command: "StopSession",
        keeps_login: true,
    },
    idn: IdnRules::CentralNic,
    unauthorized_code: 500,
};

impl Protocol {
    /// The description of `backend`.
    pub fn of(backend: Backend) -> &'static Protocol {
        match backend {
            Backend::Hexonet => &HEXONET,
            Backend::CentralNic => &CENTRALNIC,
        }
    }

    /// The endpoint of `system`.
    pub fn url(&self, system: System) -> &'static str {
        self.urls[system_index(system)]
    }

    /// The entity of `system`, for a platform that sends one.
    pub fn entity(&self, system: System) -> Option<&'static str> {
        self.entities.map(|entities| entities[system_index(system)])
    }

    /// The login as sent: `login`, or `login` and `role` joined by the
    /// platform's separator.
    pub fn login(&self, login: &str, role: Option<&str>) -> String {
        match role {
            Some(role) => format!("{login}{}{role}", self.role_separator),
            None => login.to_owned(),
        }
    }

    /// Whether the POST body has a field for `field`.
    pub fn sends(&self, field: Field) -> bool {
        self.fields.iter().any(|(_, sent)| *sent == field)
    }

    /// The command as it goes on the wire: with the subuser view when the
    /// platform takes it as a parameter (a non-empty `subuser` replaces
    /// any the command holds, as the SDK's `setUserView` does), and with
    /// the platform's IDN conversion.
    ///
    /// # Example
    /// ```
    /// use exh_task::hexonet::{Backend, Command, Protocol};
    /// let cmd = Command::from_json(&serde_json::json!(
    ///     {"COMMAND": "ModifyDomain", "DOMAIN": "münchen.de", "NAMESERVER0": "ns.bücher.com"})).unwrap();
    /// let hexonet = Protocol::of(Backend::Hexonet).wire_command(&cmd, "r1").unwrap();
    /// assert_eq!(hexonet.plain(), "COMMAND=ModifyDomain\nDOMAIN=xn--mnchen-3ya.de\nNAMESERVER0=ns.xn--bcher-kva.com");
    /// let centralnic = Protocol::of(Backend::CentralNic).wire_command(&cmd, "r1").unwrap();
    /// assert_eq!(centralnic.plain(), "COMMAND=ModifyDomain\nDOMAIN=münchen.de\nNAMESERVER0=ns.xn--bcher-kva.com\nSUBUSER=r1");
    /// ```
    pub fn wire_command(&self, command: &Command, subuser: &str) -> Result<Command, Error> {
        let mut command = command.clone();
        if let SubuserView::Parameter(name) = self.subuser {
            if !subuser.is_empty() {
                command.set(name, subuser)?;
            }
        }
        self.idn.convert(&mut command)?;
        Ok(command)
    }
}

fn system_index(system: System) -> usize {
    match system {
        System::Ote => 0,
        System::Live => 1,
    }
}

/// The endpoint and identity of one configured account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The `call.cgi` URL.
    pub url: Url,
    /// `s_entity`: `1234` (OT&E) or `54cd` (LIVE) for HEXONET; none for
    /// CentralNic Reseller, whose URL says the system.
    pub entity: Option<&'static str>,
    /// `s_login`: the login, with the role when one is set.
    pub login: String,
    /// The platform on the other end.
    pub backend: Backend,
    /// The system, as configured.
    pub system: System,
}

impl Endpoint {
    /// The endpoint `config` describes. The login is `login!role` for
    /// HEXONET and `login:role` for CentralNic Reseller, as their SDKs
    /// write it.
    ///
    /// # Example
    /// ```
    /// use exh_task::hexonet::{Backend, Endpoint, Settings, System};
    /// use exh_task::secret::Secret;
    /// let config = Settings {
    ///     login: "me".into(), password: Secret::new("pw"), role: Some("ops".into()),
    ///     backend: Backend::Hexonet, system: System::Ote, url: None, subuser: None,
    ///     proxy: None, referer: None,
    /// };
    /// let endpoint = Endpoint::of(&config);
    /// assert_eq!(endpoint.url.as_str(), "https://api-ote.ispapi.net/api/call.cgi");
    /// assert_eq!((endpoint.entity, endpoint.login.as_str()), (Some("1234"), "me!ops"));
    /// ```
    pub fn of(config: &Settings) -> Endpoint {
        let protocol = Protocol::of(config.backend);
        let url = match &config.url {
            Some(url) => url.clone(),
            None => Url::parse(protocol.url(config.system))
                .unwrap_or_else(|_| unreachable!("the endpoint table holds URLs")),
        };
        Endpoint {
            url,
            entity: protocol.entity(config.system),
            login: protocol.login(&config.login, config.role.as_deref()),
            backend: config.backend,
            system: config.system,
        }
    }

    /// What the platform at the other end speaks.
    pub fn protocol(&self) -> &'static Protocol {
        Protocol::of(self.backend)
    }

    /// The URL without any user or password it may hold, for logs and errors.
    pub fn url_for_log(&self) -> String {
        let mut url = self.url.clone();
        // Only URLs that cannot hold credentials refuse these; those have none.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use serde_json::json;

    #[test]
    fn each_backend_has_its_description() {
        assert_eq!(Protocol::of(Backend::Hexonet).name, "HEXONET");
        assert_eq!(
            Protocol::of(Backend::CentralNic).url(System::Live),
            "https://api.rrpproxy.net/api/call.cgi"
        );
        assert_eq!(HEXONET.entity(System::Live), Some("54cd"));
        assert_eq!(CENTRALNIC.entity(System::Ote), None);
    }

    #[test]
    fn roles_join_with_each_platforms_separator() {
        assert_eq!(HEXONET.login("me", Some("ops")), "me!ops");
        assert_eq!(CENTRALNIC.login("me", Some("ops")), "me:ops");
        assert_eq!(CENTRALNIC.login("me", None), "me");
    }

    #[test]
    fn only_hexonet_has_otp_entity_and_user_fields() {
        for field in [Field::Entity, Field::Otp, Field::RemoteAddr, Field::User] {
            assert!(
                HEXONET.sends(field) && !CENTRALNIC.sends(field),
                "{field:?}"
            );
        }
        assert!(CENTRALNIC.sends(Field::Persistent) && !HEXONET.sends(Field::Persistent));
    }

    #[test]
    fn centralnic_takes_the_subuser_in_the_command_replacing_the_commands_own() {
        let cmd = Command::from_json(&json!({"COMMAND": "StatusAccount", "subuser": "x"})).unwrap();
        let wire = CENTRALNIC.wire_command(&cmd, "r1").unwrap();
        assert_eq!(wire.get("SUBUSER"), Some("r1"));
        let own_view = CENTRALNIC.wire_command(&cmd, "").unwrap();
        assert_eq!(own_view.get("SUBUSER"), Some("x"));
        let hexonet = HEXONET.wire_command(&cmd, "r1").unwrap();
        assert_eq!(hexonet.get("SUBUSER"), Some("x"));
    }

    fn config(backend: Backend, system: System, url: Option<&str>) -> Settings {
        Settings {
            login: "me".into(),
            password: Secret::new("pw"),
            role: None,
            backend,
            system,
            url: url.map(|url| Url::parse(url).unwrap()),
            subuser: None,
            proxy: None,
            referer: None,
        }
    }

    macro_rules! endpoints {
        ($($name:ident: $backend:ident, $system:ident, $url:expr => $want_url:literal, $entity:expr;)*) => {$(
            #[test]
            fn $name() {
                let endpoint = Endpoint::of(&config(Backend::$backend, System::$system, $url));
                assert_eq!(endpoint.url.as_str(), $want_url);
                assert_eq!(endpoint.entity, $entity);
            }
        )*};
    }

    endpoints! {
        hexonet_ote_is_entity_1234: Hexonet, Ote, None => "https://api-ote.ispapi.net/api/call.cgi", Some("1234");
        hexonet_live_is_entity_54cd: Hexonet, Live, None => "https://api.ispapi.net/api/call.cgi", Some("54cd");
        centralnic_ote_has_no_entity: CentralNic, Ote, None => "https://api-ote.rrpproxy.net/api/call.cgi", None;
        centralnic_live_has_no_entity: CentralNic, Live, None => "https://api.rrpproxy.net/api/call.cgi", None;
        the_proxy_url_replaces_the_url_but_keeps_the_entity: Hexonet, Live, Some(PROXY_URL) => "http://127.0.0.1/api/call.cgi", Some("54cd");
        a_sandbox_url_keeps_the_ote_entity: Hexonet, Ote, Some("http://127.0.0.1:4000/api/call.cgi") => "http://127.0.0.1:4000/api/call.cgi", Some("1234");
    }

    #[test]
    fn a_role_joins_the_login_as_each_backend_writes_it() {
        let mut hexonet = config(Backend::Hexonet, System::Ote, None);
        hexonet.role = Some("ops".into());
        assert_eq!(Endpoint::of(&hexonet).login, "me!ops");
        let mut centralnic = config(Backend::CentralNic, System::Ote, None);
        centralnic.role = Some("ops".into());
        assert_eq!(Endpoint::of(&centralnic).login, "me:ops");
        assert_eq!(
            Endpoint::of(&config(Backend::Hexonet, System::Ote, None)).login,
            "me"
        );
    }

    #[test]
    fn credentials_in_the_url_stay_out_of_logs() {
        let endpoint = Endpoint::of(&config(
            Backend::Hexonet,
            System::Ote,
            Some("https://user:s3cret@proxy.example/api/call.cgi"),
        ));
        assert_eq!(endpoint.url_for_log(), "https://proxy.example/api/call.cgi");
    }
}
