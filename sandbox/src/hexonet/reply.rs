//! [`Reply`]: one answer of the `call.cgi` emulation, with the codes and
//! descriptions the real API uses, and its plain-text rendering.
//!
//! # Format
//!
//! ```text
//! [RESPONSE]\r\n
//! code = 200\r\n
//! description = Command completed successfully\r\n
//! queuetime = 0\r\n
//! runtime = 0.004\r\n
//! property[DOMAIN][0] = a.com\r\n
//! property[DOMAIN][1] = b.net\r\n
//! EOF\r\n
//! ```
//!
//! Properties keep the order they were added in; values never hold CR or LF
//! (they are removed), so a value cannot forge a line.

use std::time::Duration;

use indexmap::IndexMap;

/// An answer: code, description and properties (column → values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    code: u16,
    description: String,
    properties: IndexMap<String, Vec<String>>,
}

impl Reply {
    /// A reply without properties.
    pub(crate) fn new(code: u16, description: impl Into<String>) -> Self {
        Reply {
            code,
            description: description.into(),
            properties: IndexMap::new(),
        }
    }

    /// 200 `Command completed successfully`.
    pub(crate) fn ok() -> Self {
        Self::new(200, "Command completed successfully")
    }

    /// 500 `Invalid command name`: the command is unknown.
    pub(crate) fn invalid_command_name() -> Self {
        Self::new(500, "Invalid command name")
    }

    /// 504 `Missing required attribute; NAME`.
    pub(crate) fn missing(attribute: &str) -> Self {
        Self::new(504, format!("Missing required attribute; {attribute}"))
    }

    /// 505 `Invalid attribute value syntax; NAME`.
    pub(crate) fn invalid_syntax(attribute: &str) -> Self {
        Self::new(505, format!("Invalid attribute value syntax; {attribute}"))
    }

    /// 521 `Too many sessions open. Server closing connection`.
    pub(crate) fn too_many_sessions() -> Self {
        Self::new(521, "Too many sessions open. Server closing connection")
    }

    /// 530 `Authentication failed`: unknown login, wrong password or entity.
    pub(crate) fn authentication_failed() -> Self {
        Self::new(530, "Authentication failed")
    }

    /// 530 `SESSION NOT FOUND`: an unknown or ended session (the SDK's
    /// `expired` template matches it).
    pub(crate) fn session_not_found() -> Self {
        Self::new(530, "SESSION NOT FOUND")
    }

    /// 531 `Authorization failed`: authenticated, but not allowed.
    pub(crate) fn authorization_failed() -> Self {
        Self::new(531, "Authorization failed")
    }

    /// 541 `Invalid attribute value; DETAIL`.
    pub(crate) fn invalid_value(detail: &str) -> Self {
        Self::new(541, format!("Invalid attribute value; {detail}"))
    }

    /// 545 `Object not found`.
    pub(crate) fn object_not_found() -> Self {
        Self::new(545, "Object not found")
    }

    /// 546 `Credit limit exceeded`.
    pub(crate) fn credit_limit_exceeded() -> Self {
        Self::new(546, "Credit limit exceeded")
    }

    /// 554 `Object already registered`.
    pub(crate) fn already_registered() -> Self {
        Self::new(554, "Object already registered")
    }

    /// Appends `value` to the column `name`.
    pub(crate) fn push(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.properties
            .entry(name.to_owned())
            .or_default()
            .push(value.into());
        self
    }

    /// Sets the one value of the column `name`.
    pub(crate) fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.properties.insert(name.to_owned(), vec![value.into()]);
        self
    }

    /// The code, e.g. 200 or 530.
    pub(crate) fn code(&self) -> u16 {
        self.code
    }

    /// `CODE DESCRIPTION`, as `CheckDomains` reports each name.
    pub(crate) fn status_line(&self) -> String {
        format!("{} {}", self.code, self.description)
    }

    /// The description.
    #[cfg(test)]
    pub(crate) fn description(&self) -> &str {
        &self.description
    }

    /// The values of one column.
    #[cfg(test)]
    pub(crate) fn column(&self, name: &str) -> Option<&[String]> {
        self.properties.get(name).map(Vec::as_slice)
    }

    /// The plain text, as the real API writes it, with `runtime` in seconds.
    pub(crate) fn text(&self, runtime: Duration) -> String {
        let mut text = format!(
            "[RESPONSE]\r\ncode = {}\r\ndescription = {}\r\nqueuetime = 0\r\nruntime = {:.3}\r\n",
            self.code,
            one_line(&self.description),
            runtime.as_secs_f64()
        );
        for (name, values) in &self.properties {
            for (index, value) in values.iter().enumerate() {
                text.push_str(&format!(
                    "property[{}][{index}] = {}\r\n",
                    one_line(name),
                    one_line(value)
                ));
            }
        }
        text.push_str("EOF\r\n");
        text
    }
}

/// `value` without CR and LF.
fn one_line(value: &str) -> String {
    value.replace(['\r', '\n'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_renders_as_the_real_api_writes_it() {
        let mut reply = Reply::ok();
        reply.push("DOMAIN", "a.com").push("DOMAIN", "b.net");
        let reply = reply.with("TOTAL", "2");
        assert_eq!(
            reply.text(Duration::from_micros(4200)),
            "[RESPONSE]\r\ncode = 200\r\ndescription = Command completed successfully\r\n\
             queuetime = 0\r\nruntime = 0.004\r\nproperty[DOMAIN][0] = a.com\r\n\
             property[DOMAIN][1] = b.net\r\nproperty[TOTAL][0] = 2\r\nEOF\r\n"
        );
    }

    #[test]
    fn values_cannot_forge_lines() {
        let reply = Reply::new(505, "x\r\ncode = 200").with("A", "1\nEOF");
        let text = reply.text(Duration::ZERO);
        assert_eq!(text.matches("\r\n").count(), 7, "{text}");
        let parsed = exh_task::hexonet::parse(&text).unwrap();
        assert_eq!(parsed.code(), 505);
        assert_eq!(parsed.description(), "xcode = 200");
    }

    #[test]
    fn the_client_parser_reads_every_property() {
        let mut reply = Reply::invalid_syntax("DOMAIN");
        reply.push("X", "").push("X", "ü");
        let parsed = exh_task::hexonet::parse(&reply.text(Duration::ZERO)).unwrap();
        assert_eq!(
            (parsed.code(), parsed.description()),
            (505, "Invalid attribute value syntax; DOMAIN")
        );
        assert_eq!(
            parsed.column("X"),
            Some(&["".to_owned(), "ü".to_owned()][..])
        );
    }
}
