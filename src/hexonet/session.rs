//! The session a [`Client`] keeps for requests with `"session": true`.
//!
//! # Sessions
//! The first such request opens one: HEXONET by sending `StartSession`
//! (with its `otp`, if any; without `s_user`), which answers `SESSION`;
//! CentralNic Reseller by a login with `persistent=1` and no command, which
//! answers `SESSIONID`. The id is kept across warm invocations and shared
//! by concurrent ones, and sent instead of the password (`s_session`;
//! CentralNic: `s_login` and `s_sessionid`). When the API answers
//! `530 SESSION NOT FOUND`, the session is opened again once and the
//! command sent again (it was refused, so it did not run). The platform's
//! closing command (`{"COMMAND": "EndSession"}`, CentralNic: `StopSession`)
//! with `"session": true` closes the kept session and forgets it. Session
//! ids are never logged nor put in an error. The client opens sessions
//! itself, so `HEXONET_ALLOWED_COMMANDS` need not list `StartSession`.

use super::attempt::Auth;
use super::protocol::SessionStart;
use super::request::Options;
use super::{Client, Command, Response, Template};
use crate::error::Error;
use crate::secret::Secret;
use tokio::time::Instant;

impl Client {
    /// Sends `command` inside the kept session, opening it first when there
    /// is none and again when the API no longer knows it.
    pub(super) async fn in_session(
        &self,
        command: &Command,
        options: &Options,
        deadline: Instant,
    ) -> Result<Response, Error> {
        let sessions = self.protocol().sessions;
        if command.name().eq_ignore_ascii_case(sessions.end_command) {
            return self.end_session(command, options, deadline).await;
        }
        let session = self.session(options, deadline).await?;
        let response = self
            .attempts(Some(command), options, Auth::Session(&session), deadline)
            .await?;
        if !is_session_not_found(&response) {
            return self.accepted(response);
        }
        let renewed = self.renew(&session, options, deadline).await?;
        let response = self
            .attempts(Some(command), options, Auth::Session(&renewed), deadline)
            .await?;
        if is_session_not_found(&response) {
            return Err(Error::Unauthorized(format!(
                "{} did not find the session it had just started: 530 SESSION NOT FOUND",
                self.protocol().name
            )));
        }
        self.accepted(response)
    }

    /// The kept session, started now if there is none.
    async fn session(&self, options: &Options, deadline: Instant) -> Result<Secret, Error> {
        let mut kept = self.inner.session.lock().await;
        if let Some(session) = kept.as_ref() {
            return Ok(session.clone());
        }
        let session = self.start_session(options, deadline).await?;
        *kept = Some(session.clone());
        Ok(session)
    }

    /// A new session in place of `stale`, unless another request has
    /// already replaced it.
    async fn renew(
        &self,
        stale: &Secret,
        options: &Options,
        deadline: Instant,
    ) -> Result<Secret, Error> {
        let mut kept = self.inner.session.lock().await;
        if let Some(current) = kept.as_ref().filter(|current| *current != stale) {
            return Ok(current.clone());
        }
        *kept = None;
        let session = self.start_session(options, deadline).await?;
        *kept = Some(session.clone());
        Ok(session)
    }

    /// Opens a session as the platform does: HEXONET's `StartSession`
    /// command, CentralNic's `persistent=1` login. Both without subuser.
    async fn start_session(&self, options: &Options, deadline: Instant) -> Result<Secret, Error> {
        let protocol = self.protocol();
        let options = Options {
            subuser: Some(String::new()),
            session: false,
            page: None,
            ..options.clone()
        };
        let response = match protocol.sessions.start {
            SessionStart::Command(name) => {
                let command = Command::from_json(&serde_json::json!({ "COMMAND": name }))?;
                self.attempts(Some(&command), &options, Auth::Credentials, deadline)
                    .await?
            }
            SessionStart::Persistent => {
                self.attempts(None, &options, Auth::OpenSession, deadline)
                    .await?
            }
        };
        let response = self.accepted(response)?;
        if !response.is_success() {
            let reason = format!(
                "{} did not start a session: {}",
                protocol.name,
                self.summary(&response)
            );
            // 4xx is HEXONET's "temporary error, try again": not a refusal
            // of the credentials, which a retry policy must not take it for.
            return Err(if (400..500).contains(&response.code()) {
                Error::Transport(reason)
            } else {
                Error::Unauthorized(reason)
            });
        }
        let column = protocol.sessions.id_column;
        match response.column(column).and_then(<[String]>::first) {
            Some(id) if !id.is_empty() => Ok(Secret::new(id.as_str())),
            _ => Err(Error::InvalidResponse(format!(
                "{} started a session without a {column} column",
                protocol.name
            ))),
        }
    }

    /// Sends the closing command (`EndSession`, `StopSession`) with the
    /// kept session (with the credentials when none is kept) and forgets
    /// the session.
    async fn end_session(
        &self,
        command: &Command,
        options: &Options,
        deadline: Instant,
    ) -> Result<Response, Error> {
        let kept = self.inner.session.lock().await.take();
        let auth = match &kept {
            Some(session) => Auth::Session(session),
            None => Auth::Credentials,
        };
        let response = self
            .attempts(Some(command), options, auth, deadline)
            .await?;
        self.accepted(response)
    }
}

/// `530 SESSION NOT FOUND`: the session expired or was ended elsewhere.
pub(super) fn is_session_not_found(response: &Response) -> bool {
    response.code() == 530
        && response
            .description()
            .eq_ignore_ascii_case(Template::Expired.description())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexonet::parse;

    #[test]
    fn only_session_not_found_asks_for_a_new_session() {
        assert!(is_session_not_found(
            &parse("CODE=530\nDESCRIPTION=SESSION NOT FOUND").unwrap()
        ));
        assert!(!is_session_not_found(
            &parse("CODE=530\nDESCRIPTION=Authentication failed").unwrap()
        ));
        assert!(!is_session_not_found(
            &parse("CODE=200\nDESCRIPTION=SESSION NOT FOUND").unwrap()
        ));
    }
}
