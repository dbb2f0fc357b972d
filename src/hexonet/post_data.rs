//! The POST body of a `call.cgi` call, as the SDKs' `APIClient.getPOSTData`
//! builds it from their `SocketConfig` and the command.
//!
//! # Format
//!
//! An `application/x-www-form-urlencoded` body: the non-empty connection
//! fields first, in the platform's order (see [`Protocol::fields`]), then
//! the command:
//!
//! ```text
//! HEXONET:             s_entity=1234&s_login=user%21role&s_otp=…&s_pw=…&s_remoteaddr=…&s_session=…&s_user=…&s_command=COMMAND%3DStatusAccount%0AX%3D1
//! CentralNic Reseller: s_login=user%3Arole&s_pw=…&s_sessionid=…&persistent=1&s_command=COMMAND%3DStatusAccount
//! ```
//!
//! Every name and value is encoded with Python's `urllib.parse.quote`:
//! UTF-8, upper-case hex, space as `%20`, only letters, digits, `_.-~` and
//! `/` left as they are. `s_command` is the command's `KEY=value` lines
//! joined by LF (see [`Command::plain`]); without a command (CentralNic's
//! session login) there is no `s_command`.

use std::fmt;

use super::protocol::Backend;
use super::protocol::{Field, Protocol};
use super::python::quote;
use super::Command;
use crate::mask::hexonet as mask;

/// The connection fields of one call (the SDKs' `SocketConfig`).
///
/// An empty field is left out of the body, as the SDKs leave out unset and
/// empty ones, and so is a field the platform does not have. The caller owns the secrets and lends them for one call;
/// `Debug` shows `***` for `password`, `otp` and `session`.
///
/// The SDKs keep some fields exclusive (HEXONET's session clears login,
/// password and OTP; CentralNic's clears password and `persistent`). This
/// struct sends what it is given.
#[derive(Clone, Copy, Default)]
pub struct SocketConfig<'a> {
    /// `s_entity`: the system, `54cd` (LIVE) or `1234` (OT&E).
    pub entity: &'a str,
    /// `s_login`: the account, `login` or `login!role`.
    pub login: &'a str,
    /// `s_otp`: a one-time password (2FA).
    pub otp: &'a str,
    /// `s_pw`: the account password.
    pub password: &'a str,
    /// `s_remoteaddr`: the end user's IP address, for accounts with an IP filter.
    pub remote_addr: &'a str,
    /// `s_session`: a session id from `StartSession`, instead of login and password.
    pub session: &'a str,
    /// `s_user`: the subuser whose data view to use (HEXONET).
    pub user: &'a str,
    /// `persistent=1`: open a session with this login (CentralNic Reseller).
    pub persistent: bool,
}

impl SocketConfig<'_> {
    /// The value sent for `field`; empty for none.
    fn value(&self, field: Field) -> &str {
        match field {
            Field::Entity => self.entity,
            Field::Login => self.login,
            Field::Otp => self.otp,
            Field::Password => self.password,
            Field::RemoteAddr => self.remote_addr,
            Field::Session => self.session,
            Field::User => self.user,
            Field::Persistent if self.persistent => "1",
            Field::Persistent => "",
        }
    }
}

impl fmt::Debug for SocketConfig<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &str| if s.is_empty() { "" } else { "***" };
        f.debug_struct("SocketConfig")
            .field("entity", &self.entity)
            .field("login", &self.login)
            .field("otp", &redact(self.otp))
            .field("password", &redact(self.password))
            .field("remote_addr", &self.remote_addr)
            .field("session", &redact(self.session))
            .field("user", &self.user)
            .field("persistent", &self.persistent)
            .finish()
    }
}

/// A POST body.
///
/// `Debug` and `Display` show the [masked](PostBody::masked) body; the
/// real one is only reachable through [`PostBody::expose`].
#[derive(Clone)]
pub struct PostBody {
    body: String,
}

impl PostBody {
    /// Builds the body as `backend`'s SDK's `getPOSTData(cmd)` does. `command` is sent
    /// as it is: see [`Protocol::wire_command`] for what the platform adds.
    ///
    /// # Example
    /// ```
    /// use exh_task::hexonet::{Backend, Command, PostBody, SocketConfig};
    /// let cmd = Command::from_json(&serde_json::json!({"COMMAND": "StatusAccount"})).unwrap();
    /// let config = SocketConfig { entity: "1234", login: "me", password: "s3cret&", ..Default::default() };
    /// let body = PostBody::new(Backend::Hexonet, &config, Some(&cmd));
    /// assert_eq!(body.expose(), "s_entity=1234&s_login=me&s_pw=s3cret%26&s_command=COMMAND%3DStatusAccount");
    /// assert_eq!(body.masked(), "s_entity=1234&s_login=me&s_pw=***&s_command=COMMAND%3DStatusAccount");
    /// let login = SocketConfig { persistent: true, ..config };
    /// assert_eq!(PostBody::new(Backend::CentralNic, &login, None).masked(), "s_login=me&s_pw=***&persistent=1");
    /// ```
    pub fn new(backend: Backend, config: &SocketConfig<'_>, command: Option<&Command>) -> Self {
        let fields = Protocol::of(backend).fields;
        let plain = command.map(Command::plain);
        PostBody {
            body: encode(fields, config, plain.as_deref()),
        }
    }

    /// The body to send. It holds the password: never log it.
    pub fn expose(&self) -> &str {
        &self.body
    }

    /// The body with `s_pw` and command passwords masked, as the SDK's
    /// `getPOSTData(cmd, True)` writes it; built on each call, for logs only.
    ///
    /// As in the SDKs, `s_session`, `s_sessionid` and `s_otp` are not masked.
    pub fn masked(&self) -> String {
        mask::sdk_body(&self.body)
    }
}

impl fmt::Debug for PostBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PostBody").field(&self.masked()).finish()
    }
}

impl fmt::Display for PostBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// `SocketConfig.getPOSTData()` + `quote("s_command") + "=" + quote(command)`,
/// the fields joined by `&`.
fn encode(fields: &[(&str, Field)], config: &SocketConfig<'_>, command: Option<&str>) -> String {
    let mut body: Vec<String> = fields
        .iter()
        .map(|(name, field)| (name, config.value(*field)))
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{}={}", quote(name), quote(value)))
        .collect();
    if let Some(command) = command {
        body.push(format!("{}={}", quote("s_command"), quote(command)));
    }
    body.join("&")
}
