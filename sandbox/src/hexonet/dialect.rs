//! [`Dialect`]: how a call names its connection fields. HEXONET and its
//! successor CentralNic Reseller (RRPproxy) speak the same `call.cgi`
//! protocol with different fields.
//!
//! | | HEXONET (`hexonet.apiconnector` 4) | CentralNic Reseller (`centralnicreseller.apiconnector` 6) |
//! | --- | --- | --- |
//! | system | `s_entity`: `1234` OT&E, `54cd` LIVE | none (the endpoint decides) |
//! | login | `s_login`, `s_pw` | `s_login`, `s_pw` |
//! | role | `login!role` | `login:role` |
//! | session | `s_session`; opened by `COMMAND=StartSession` (answers `SESSION`), closed by `EndSession` | `s_sessionid`; opened by a login with `persistent=1` (answers `SESSIONID`), closed by `StopSession` |
//! | subuser | `s_user` | the command's `SUBUSER` parameter |
//! | 2FA, IP filter | `s_otp`, `s_remoteaddr` (ignored) | — |

use super::reply::Reply;
use super::request::{Form, Params};
use super::ENTITY;

/// The protocol variant of one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// HEXONET's, as its Python SDK speaks it.
    Hexonet,
    /// CentralNic Reseller's, as its Python SDK speaks it.
    CentralNic,
}

/// The connection fields of one call, whatever the dialect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Connection<'a> {
    pub(crate) login: Option<&'a str>,
    pub(crate) password: Option<&'a str>,
    pub(crate) session: Option<&'a str>,
    pub(crate) subuser: Option<&'a str>,
    /// Open a session with these credentials (CentralNic's `persistent=1`).
    pub(crate) open_session: bool,
    pub(crate) role_separator: char,
}

/// What the session commands of a dialect are called, lower case.
pub(crate) struct SessionCommands {
    pub(crate) start: Option<&'static str>,
    pub(crate) end: &'static str,
    /// The property that carries a new session's id.
    pub(crate) property: &'static str,
}

impl Dialect {
    /// Reads the connection fields of `form` (and `params`, for CentralNic's
    /// `SUBUSER`).
    ///
    /// # Errors
    /// HEXONET: 530 `Authentication failed` for any entity but [`ENTITY`].
    pub(crate) fn connection<'a>(
        self,
        form: &'a Form,
        params: &'a Params,
    ) -> Result<Connection<'a>, Reply> {
        let login = form.get("s_login");
        let password = form.get("s_pw");
        match self {
            Dialect::Hexonet => {
                if form.get("s_entity") != Some(ENTITY) {
                    return Err(Reply::authentication_failed());
                }
                Ok(Connection {
                    login,
                    password,
                    session: form.get("s_session"),
                    subuser: form.get("s_user"),
                    open_session: false,
                    role_separator: '!',
                })
            }
            Dialect::CentralNic => Ok(Connection {
                login,
                password,
                session: form.get("s_sessionid"),
                subuser: params.get("SUBUSER"),
                open_session: form.get("persistent") == Some("1"),
                role_separator: ':',
            }),
        }
    }

    /// The dialect's session commands.
    pub(crate) fn session_commands(self) -> SessionCommands {
        match self {
            Dialect::Hexonet => SessionCommands {
                start: Some("startsession"),
                end: "endsession",
                property: "SESSION",
            },
            Dialect::CentralNic => SessionCommands {
                start: None,
                end: "stopsession",
                property: "SESSIONID",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hexonet_reads_the_s_fields() {
        let form =
            Form::parse(b"s_entity=1234&s_login=a%21r&s_pw=p&s_session=s&s_user=u&persistent=1");
        let params = Params::parse("SUBUSER=x");
        let expected = Connection {
            login: Some("a!r"),
            password: Some("p"),
            session: Some("s"),
            subuser: Some("u"),
            open_session: false,
            role_separator: '!',
        };
        assert_eq!(Dialect::Hexonet.connection(&form, &params), Ok(expected));
    }

    #[test]
    fn hexonet_needs_the_ote_entity() {
        for entity in ["s_entity=54cd&", "s_entity=&", ""] {
            let form = Form::parse(format!("{entity}s_login=a&s_pw=p").as_bytes());
            let params = Params::default();
            let answer = Dialect::Hexonet.connection(&form, &params);
            assert_eq!(answer, Err(Reply::authentication_failed()), "{entity}");
        }
    }

    #[test]
    fn centralnic_reads_its_own_fields_and_the_subuser_parameter() {
        let form = Form::parse(b"s_login=a%3Ar&s_pw=p&s_sessionid=s&s_user=ignored&persistent=1");
        let params = Params::parse("SUBUSER=x");
        let expected = Connection {
            login: Some("a:r"),
            password: Some("p"),
            session: Some("s"),
            subuser: Some("x"),
            open_session: true,
            role_separator: ':',
        };
        assert_eq!(Dialect::CentralNic.connection(&form, &params), Ok(expected));
    }
}
