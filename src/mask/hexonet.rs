//! Every mask of the HEXONET side, in one place: what the SDK masks in its
//! debug output, and what the debug log (`EXH_TASK_DEBUG=1`) masks beyond.
//! Masked text is only built for a log (or `Debug`), never for a call.
//!
//! The SDK masks `s_pw` and every `…PASSWORD=` line of the command
//! ([`PostBody::masked`], [`crate::hexonet::Command::masked`]). The debug log goes
//! further: `s_otp`, `s_session` and `s_sessionid` are masked too, so is
//! every `SESSION`/`SESSIONID` column of a response (a live session is as
//! good as the password), and then every occurrence of the password itself,
//! raw or URL-encoded, wherever it hides.

use super::Redactor;
use crate::hexonet::python::{quote, unquote};
use crate::hexonet::PostBody;

/// The fields of a POST body whose value the SDK masks.
const SDK_SECRET_FIELDS: [&str; 1] = ["s_pw"];

/// The fields of a POST body whose value never appears in a log.
const SECRET_FIELDS: [&str; 4] = ["s_pw", "s_otp", "s_session", "s_sessionid"];

/// The response columns whose values never appear in a log.
const SECRET_COLUMNS: [&str; 2] = ["SESSION", "SESSIONID"];

/// The SDK's `re.sub(r"PASSWORD=[^\n]+", "PASSWORD=***", text)`, for a
/// command's plain text.
pub(crate) fn passwords(text: &str) -> String {
    const NEEDLE: &str = "PASSWORD=";
    text.split('\n')
        .map(|line| match line.find(NEEDLE) {
            Some(at) if at + NEEDLE.len() < line.len() => format!("{}{NEEDLE}***", &line[..at]),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A POST body as the SDK's `getPOSTData(cmd, True)` writes it: `s_pw`
/// masked after encoding (`re.sub(r"s_pw=[^&]+", "s_pw=***", data)`), the
/// command's passwords before.
pub(crate) fn sdk_body(body: &str) -> String {
    fields(body, &SDK_SECRET_FIELDS)
}

/// The POST body as the log shows it.
pub(crate) fn request(body: &PostBody, redactor: &Redactor) -> String {
    redactor.redact(&fields(body.expose(), &SECRET_FIELDS))
}

/// `body` with the values of `secret` fields and the command's passwords
/// masked.
fn fields(body: &str, secret: &[&str]) -> String {
    // Field values are URL-encoded, so `&` only ever separates fields.
    body.split('&')
        .map(|field| match field.split_once('=') {
            Some((name, value)) if secret.contains(&name) && !value.is_empty() => {
                format!("{name}=***")
            }
            // The SDK masks the command before encoding it.
            Some(("s_command", command)) => {
                format!("s_command={}", quote(&passwords(&unquote(command))))
            }
            _ => field.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A response's plain text as the log shows it.
pub(crate) fn response(plain: &str, redactor: &Redactor) -> String {
    let masked: Vec<String> = plain
        .split('\n')
        .map(|line| match line.split_once('=') {
            Some((name, value)) if is_secret_column(name) => {
                let end = if value.ends_with('\r') { "\r" } else { "" };
                format!("{name}=***{end}")
            }
            _ => line.to_owned(),
        })
        .collect();
    redactor.redact(&masked.join("\n"))
}

/// `PROPERTY[SESSION][0]`, in any case and spacing, as the parser reads it.
fn is_secret_column(name: &str) -> bool {
    let name: String = name
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    SECRET_COLUMNS
        .iter()
        .any(|column| name.starts_with(&format!("PROPERTY[{column}]")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexonet::Backend;
    use crate::hexonet::{Command, SocketConfig};
    use crate::secret::Secret;
    use serde_json::json;

    fn redactor() -> Redactor {
        let password = Secret::new("pa ss&word");
        let quoted = Secret::new("pa%20ss%26word");
        Redactor::new([&password, &quoted])
    }

    #[test]
    fn password_otp_and_session_are_masked_in_a_request() {
        let command = Command::from_json(&json!({"COMMAND": "StatusAccount"})).unwrap();
        let config = SocketConfig {
            entity: "1234",
            login: "me",
            otp: "123456",
            password: "pa ss&word",
            session: "sess-id",
            user: "r1",
            ..Default::default()
        };
        let logged = request(
            &PostBody::new(Backend::Hexonet, &config, Some(&command)),
            &redactor(),
        );
        assert_eq!(
            logged,
            "s_entity=1234&s_login=me&s_otp=***&s_pw=***&s_session=***&s_user=r1&s_command=COMMAND%3DStatusAccount"
        );
    }

    #[test]
    fn the_sdk_masks_the_password_field_and_command_passwords_only() {
        let command =
            Command::from_json(&json!({"COMMAND": "ModifyContact", "NEWPASSWORD": "n&w"})).unwrap();
        let config = SocketConfig {
            login: "me",
            password: "pa ss&word",
            session: "sess-id",
            ..Default::default()
        };
        let body = PostBody::new(Backend::Hexonet, &config, Some(&command));
        assert_eq!(
            sdk_body(body.expose()),
            "s_login=me&s_pw=***&s_session=sess-id&s_command=COMMAND%3DModifyContact%0ANEWPASSWORD%3D%2A%2A%2A"
        );
    }

    #[test]
    fn the_password_is_masked_anywhere_in_the_command() {
        let command = Command::from_json(
            &json!({"COMMAND": "ModifyContact", "PASSWORD": "x", "NOTE": "pa ss&word"}),
        )
        .unwrap();
        let config = SocketConfig {
            login: "me",
            password: "pa ss&word",
            ..Default::default()
        };
        let logged = request(
            &PostBody::new(Backend::Hexonet, &config, Some(&command)),
            &redactor(),
        );
        assert!(!logged.contains("pa%20ss%26word"), "{logged}");
        assert!(logged.contains("PASSWORD%3D%2A%2A%2A"), "{logged}");
    }

    #[test]
    fn a_centralnic_session_id_is_masked_in_a_request() {
        let command = Command::from_json(&json!({"COMMAND": "StatusAccount"})).unwrap();
        let config = SocketConfig {
            login: "me",
            session: "sess-id",
            ..Default::default()
        };
        let body = PostBody::new(Backend::CentralNic, &config, Some(&command));
        assert_eq!(
            request(&body, &redactor()),
            "s_login=me&s_sessionid=***&s_command=COMMAND%3DStatusAccount"
        );
    }

    #[test]
    fn session_columns_are_masked_in_a_response() {
        let plain = "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok\r\nproperty[ session ][0] = abc\r\nPROPERTY[SESSIONID][0]=def\r\nPROPERTY[DOMAIN][0]=a.com\r\nEOF\r\n";
        let logged = response(plain, &redactor());
        assert!(
            !logged.contains("abc") && !logged.contains("def"),
            "{logged}"
        );
        assert!(logged.contains("PROPERTY[DOMAIN][0]=a.com"));
    }

    #[test]
    fn an_echoed_password_is_masked_in_a_response() {
        let logged = response("CODE=549\r\nDESCRIPTION=bad pa ss&word\r\n", &redactor());
        assert_eq!(logged, "CODE=549\r\nDESCRIPTION=bad ***\r\n");
    }
}
