//! The POST body of a HEXONET call, as the SDK's `APIClient.getPOSTData`
//! builds it from its `SocketConfig` and the command.
//!
//! # Format
//!
//! An `application/x-www-form-urlencoded` body: the non-empty connection
//! fields first, always in this order, then the command:
//!
//! ```text
//! s_entity=1234&s_login=user%21role&s_otp=…&s_pw=…&s_remoteaddr=…&s_session=…&s_user=…&s_command=COMMAND%3DStatusAccount%0AX%3D1
//! ```
//!
//! Every name and value is encoded with Python's `urllib.parse.quote`:
//! UTF-8, upper-case hex, space as `%20`, only letters, digits, `_.-~` and
//! `/` left as they are. `s_command` is the command's `KEY=value` lines
//! joined by LF (see [`Command::plain`]).

use std::fmt;

use super::command::mask_passwords;
use super::python::quote;
use super::Command;

/// The connection fields of one call (the SDK's `SocketConfig`).
///
/// An empty field is left out of the body, as the SDK leaves out unset and
/// empty ones. The caller owns the secrets and lends them for one call;
/// `Debug` shows `***` for `password`, `otp` and `session`.
///
/// The SDK keeps these fields exclusive: setting a session clears login,
/// password and OTP; setting any of those clears the session. This struct
/// sends what it is given.
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
    /// `s_user`: the subuser whose data view to use.
    pub user: &'a str,
}

impl SocketConfig<'_> {
    /// `(name, value)` in the SDK's order.
    fn fields(&self) -> [(&'static str, &str); 7] {
        [
            ("s_entity", self.entity),
            ("s_login", self.login),
            ("s_otp", self.otp),
            ("s_pw", self.password),
            ("s_remoteaddr", self.remote_addr),
            ("s_session", self.session),
            ("s_user", self.user),
        ]
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
            .finish()
    }
}

/// A POST body and its masked twin for logs.
///
/// `Debug` and `Display` show the masked body; the real one is only
/// reachable through [`PostBody::expose`].
#[derive(Clone)]
pub struct PostBody {
    body: String,
    masked: String,
}

impl PostBody {
    /// Builds the body as `getPOSTData(cmd)` does, and the masked body as
    /// `getPOSTData(cmd, True)` does.
    ///
    /// # Example
    /// ```
    /// use exh_task::hexonet::{Command, PostBody, SocketConfig};
    /// let cmd = Command::from_json(&serde_json::json!({"COMMAND": "StatusAccount"})).unwrap();
    /// let config = SocketConfig { entity: "1234", login: "me", password: "s3cret&", ..Default::default() };
    /// let body = PostBody::new(&config, &cmd);
    /// assert_eq!(body.expose(), "s_entity=1234&s_login=me&s_pw=s3cret%26&s_command=COMMAND%3DStatusAccount");
    /// assert_eq!(body.masked(), "s_entity=1234&s_login=me&s_pw=***&s_command=COMMAND%3DStatusAccount");
    /// ```
    pub fn new(config: &SocketConfig<'_>, command: &Command) -> Self {
        let plain = command.plain();
        PostBody {
            body: encode(config, false, &plain),
            masked: encode(config, true, &mask_passwords(&plain)),
        }
    }

    /// The body to send. It holds the password: never log it.
    pub fn expose(&self) -> &str {
        &self.body
    }

    /// The body with `s_pw` and command passwords masked, for debug logs.
    ///
    /// As in the SDK, `s_session` and `s_otp` are not masked.
    pub fn masked(&self) -> &str {
        &self.masked
    }
}

impl fmt::Debug for PostBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PostBody").field(&self.masked).finish()
    }
}

impl fmt::Display for PostBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked)
    }
}

/// `SocketConfig.getPOSTData()` + `quote("s_command") + "=" + quote(command)`.
fn encode(config: &SocketConfig<'_>, mask_password: bool, command: &str) -> String {
    let mut body = String::new();
    for (name, value) in config.fields() {
        if value.is_empty() {
            continue;
        }
        // The SDK masks after encoding: `re.sub(r"s_pw=[^&]+", "s_pw=***", data)`.
        let value = if mask_password && name == "s_pw" {
            "***".to_owned()
        } else {
            quote(value)
        };
        body.push_str(&format!("{}={value}&", quote(name)));
    }
    body.push_str(&format!("{}={}", quote("s_command"), quote(command)));
    body
}
