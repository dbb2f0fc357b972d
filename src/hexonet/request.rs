//! The `hexonet` request of an event, and the per-call options it sets.
//!
//! # Format
//! ```jsonc
//! {"command": {"COMMAND": "QueryDomainList", "LIMIT": 100},  // required
//!  "all_pages": false,          // fetch every page and merge them
//!  "subuser": "reseller1",      // s_user (CentralNic: SUBUSER); "" = the account's own view; default HEXONET_SUBUSER
//!  "session": false,            // run inside the client's kept session
//!  "otp": "123456",             // s_otp, for accounts with 2FA (HEXONET only)
//!  "remote_addr": "203.0.113.7",// s_remoteaddr, for accounts with an IP filter (HEXONET only)
//!  "system": "ote",             // a guard: must be the configured HEXONET_SYSTEM
//!  "view": "both"}              // "both", "records" or "properties": the halves of the result
//! ```
//! The command is encoded as the SDK encodes it (see [`Command`]).
//!
//! `system` never switches systems: OT&E and LIVE have their own
//! credentials, and an event must not be able to move a task configured for
//! the free test system onto the one with real costs. It states which
//! system the event was written for, and the call is refused
//! ([`Error::InvalidEvent`]) when the function is configured for the other.

use super::{Command, Error as CommandError, Page, Protocol, System, View};
use crate::error::Error;
use crate::secret::Secret;
use serde::Deserialize;
use serde_json::Value;
use std::net::IpAddr;

/// A HEXONET command, as an event asks for it.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "HexonetRequest")]
pub struct Request {
    /// The command: a JSON object with at least `COMMAND`.
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub command: Value,
    /// Fetch the first page, then the others concurrently, merged in order.
    /// As the SDK's `requestAllResponsePages`, this starts at `FIRST=0`.
    #[serde(default)]
    pub all_pages: bool,
    /// The subuser view (`s_user`); `""` for the account's own view.
    /// Default: `HEXONET_SUBUSER`.
    #[serde(default)]
    pub subuser: Option<String>,
    /// Run inside the session the client keeps across warm invocations.
    #[serde(default)]
    pub session: bool,
    /// A one-time password (`s_otp`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub otp: Option<Secret>,
    /// The end user's IP address (`s_remoteaddr`).
    #[serde(default)]
    pub remote_addr: Option<IpAddr>,
    /// The system the event was written for; see the module doc.
    #[serde(default)]
    pub system: Option<System>,
    /// Which halves of the answer the result shows: `both` (the default),
    /// `records` (`columns` and `records`) or `properties`; one half
    /// keeps a large list within Lambda's 6 MB answer.
    #[serde(default)]
    pub view: View,
}

/// How one call is made, beside its command.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// `s_user`: `None` for the client's default (`HEXONET_SUBUSER`), `""`
    /// for the account's own view, else that subuser.
    pub subuser: Option<String>,
    /// Use the client's kept session instead of login and password.
    pub session: bool,
    /// `s_otp`: a one-time password. With a session, it is sent only to
    /// start one.
    pub otp: Option<Secret>,
    /// `s_remoteaddr`: the end user's IP address.
    pub remote_addr: Option<IpAddr>,
    /// One page of an `all_pages` request: its `FIRST` and `LIMIT`, set on
    /// the copy of the command that is encoded for the wire, so the pages
    /// share one command.
    pub page: Option<Page>,
}

impl Options {
    /// The command as this call sends it: the platform's wire form
    /// ([`Protocol::wire_command`]), on this call's page.
    pub fn wire_command(
        &self,
        protocol: &Protocol,
        command: &Command,
        subuser: &str,
    ) -> Result<Command, CommandError> {
        let mut command = protocol.wire_command(command, subuser)?;
        if let Some(page) = self.page {
            page.set_on(&mut command)?;
        }
        Ok(command)
    }
}

/// A request checked and encoded; nothing is sent yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The encoded command.
    pub command: Command,
    /// How to send it.
    pub options: Options,
    /// Whether every page is wanted.
    pub all_pages: bool,
    /// The system the event was written for, if it says.
    pub system: Option<System>,
    /// Which halves of the answer the result shows.
    pub view: View,
}

impl Request {
    /// Encodes the command and checks what can be checked without a call.
    pub fn prepare(&self) -> Result<Prepared, Error> {
        let command = Command::from_json(&self.command)?;
        let options = Options {
            subuser: self.subuser.clone(),
            session: self.session,
            otp: self.otp.clone().filter(|otp| !otp.expose().is_empty()),
            remote_addr: self.remote_addr,
            page: None,
        };
        let mut prepared = Prepared::new(command, options, self.all_pages)?;
        prepared.system = self.system;
        prepared.view = self.view;
        Ok(prepared)
    }
}

impl Prepared {
    /// `command`, sent with `options` (every page of it with `all_pages`),
    /// checked as [`Request::prepare`] checks a request; no system guard.
    pub fn new(command: Command, options: Options, all_pages: bool) -> Result<Prepared, Error> {
        if all_pages && command.get("LAST").is_some() {
            return Err(CommandError::PagingWithLast.into());
        }
        if options.session && is_session_command(command.name()) {
            return Err(Error::invalid_event(format!(
                "hexonet: with \"session\": true the client starts and renews the session itself; \
                 send {} without \"session\" to manage one yourself",
                command.name()
            )));
        }
        Ok(Prepared {
            command,
            options,
            all_pages,
            system: None,
            view: View::default(),
        })
    }
}

/// At the boundary a command that cannot be built is a bad event.
impl From<CommandError> for Error {
    fn from(error: CommandError) -> Self {
        Error::InvalidEvent(error.to_string())
    }
}

/// `StartSession`, which the client sends itself for a kept session.
fn is_session_command(name: &str) -> bool {
    name.eq_ignore_ascii_case("StartSession")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prepare(request: Value) -> Result<Prepared, Error> {
        serde_json::from_value::<Request>(request)
            .map_err(|error| Error::invalid_event(error.to_string()))?
            .prepare()
    }

    #[test]
    fn every_field_is_read() {
        let prepared = prepare(
            json!({"command": {"command": "QueryDomainList", "limit": 5},
            "all_pages": true, "subuser": "r1", "session": true, "otp": "123456",
            "remote_addr": "203.0.113.7", "system": "ote"}),
        )
        .unwrap();
        assert_eq!(prepared.command.name(), "QueryDomainList");
        assert_eq!(prepared.command.get("LIMIT"), Some("5"));
        assert!(prepared.all_pages);
        assert_eq!(
            prepared.options,
            Options {
                subuser: Some("r1".into()),
                session: true,
                otp: Some(Secret::new("123456")),
                remote_addr: Some("203.0.113.7".parse().unwrap()),
                page: None,
            }
        );
        assert_eq!(prepared.system, Some(System::Ote));
    }

    #[test]
    fn the_view_is_both_unless_the_request_names_one() {
        let view = |request: Value| prepare(request).unwrap().view;
        assert_eq!(
            view(json!({"command": {"COMMAND": "StatusAccount"}})),
            View::Both
        );
        assert_eq!(
            view(json!({"command": {"COMMAND": "StatusAccount"}, "view": "records"})),
            View::Records
        );
        assert_eq!(
            view(json!({"command": {"COMMAND": "StatusAccount"}, "view": "properties"})),
            View::Properties
        );
    }

    #[test]
    fn an_empty_otp_counts_as_none() {
        let prepared =
            prepare(json!({"command": {"COMMAND": "StatusAccount"}, "otp": ""})).unwrap();
        assert_eq!(prepared.options.otp, None);
    }

    macro_rules! refused {
        ($($name:ident: $request:tt => $message:literal;)*) => {$(
            #[test]
            fn $name() {
                let error = prepare(json!($request)).unwrap_err();
                assert_eq!(error.error_type(), "InvalidEvent");
                assert!(error.to_string().contains($message), "{error}");
            }
        )*};
    }

    refused! {
        a_command_must_be_an_object: {"command": "StatusAccount"} => "hexonet command must be a JSON object, found a string";
        a_command_needs_its_name: {"command": {"DOMAIN": "a.com"}} => "no COMMAND parameter";
        all_pages_refuses_last_as_the_sdk_does: {"command": {"COMMAND": "QueryDomainList", "LAST": 9}, "all_pages": true} => "holds LAST";
        a_kept_session_is_not_started_by_hand: {"command": {"COMMAND": "startsession"}, "session": true} => "starts and renews the session itself";
        unknown_fields_are_named: {"command": {"COMMAND": "StatusAccount"}, "subusr": "x"} => "unknown field `subusr`";
        an_unknown_system_is_refused: {"command": {"COMMAND": "StatusAccount"}, "system": "prod"} => "unknown variant `prod`";
        a_remote_address_must_be_an_ip: {"command": {"COMMAND": "StatusAccount"}, "remote_addr": "example.com"} => "invalid IP address";
        a_missing_command_is_named: {"all_pages": true} => "missing field `command`";
        an_unknown_view_is_refused: {"command": {"COMMAND": "StatusAccount"}, "view": "rows"} => "unknown variant `rows`";
    }

    #[test]
    fn debug_never_shows_the_otp() {
        let request: Request = serde_json::from_value(
            json!({"command": {"COMMAND": "StatusAccount"}, "otp": "987654"}),
        )
        .unwrap();
        assert!(!format!("{request:?}").contains("987654"));
    }
}
