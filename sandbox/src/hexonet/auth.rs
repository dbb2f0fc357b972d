//! Who a call acts as: logins (`login`, `login!role`), sessions, and the
//! subuser view.

use std::collections::HashMap;

use rand::distr::{Alphanumeric, SampleString as _};

use super::registry::Registry;
use super::reply::Reply;

/// The account (and role) a call is authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) account: String,
    pub(crate) role: Option<String>,
    /// Set for read-only roles: no `AddDomain`, no `DeleteDomain`.
    pub(crate) read_only: bool,
}

/// Checks `login` (`account`, or `account{separator}role`) and `password`.
///
/// # Errors
/// 530 `Authentication failed` for anything but a known login with its
/// password.
pub(crate) fn login(
    registry: &Registry,
    login: Option<&str>,
    password: Option<&str>,
    role_separator: char,
) -> Result<Identity, Reply> {
    let (Some(login), Some(password)) = (login, password) else {
        return Err(Reply::authentication_failed());
    };
    let (name, role) = match login.split_once(role_separator) {
        Some((name, role)) => (name, Some(role)),
        None => (login, None),
    };
    let account = registry
        .account(name)
        .ok_or_else(Reply::authentication_failed)?;
    let identity = match role {
        None if account.password == password => Identity {
            account: account.name.clone(),
            role: None,
            read_only: false,
        },
        Some(role) => {
            let role = account
                .roles
                .iter()
                .find(|r| r.name == role && r.password == password)
                .ok_or_else(Reply::authentication_failed)?;
            Identity {
                account: account.name.clone(),
                role: Some(role.name.clone()),
                read_only: role.read_only,
            }
        }
        None => return Err(Reply::authentication_failed()),
    };
    Ok(identity)
}

/// The account whose data a call sees: `subuser` when given, else the
/// identity's own.
///
/// # Errors
/// 531 `Authorization failed` when `subuser` is unknown or not below the
/// identity's account.
pub(crate) fn view(
    registry: &Registry,
    identity: &Identity,
    subuser: Option<&str>,
) -> Result<String, Reply> {
    match subuser {
        None => Ok(identity.account.clone()),
        Some(subuser) if registry.is_within(subuser, &identity.account) => Ok(subuser.to_owned()),
        Some(_) => Err(Reply::authorization_failed()),
    }
}

/// Open sessions by id.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sessions(HashMap<String, Identity>);

impl Sessions {
    /// How many sessions may be open at once, so a long-running sandbox
    /// does not grow without bound.
    pub(crate) const CAPACITY: usize = 10_000;

    /// Opens a session for `identity`; its id, 64 letters and digits.
    ///
    /// # Errors
    /// 521 when [`Sessions::CAPACITY`] sessions are open.
    pub(crate) fn start(&mut self, identity: Identity) -> Result<String, Reply> {
        if self.0.len() >= Self::CAPACITY {
            return Err(Reply::too_many_sessions());
        }
        let id = Alphanumeric.sample_string(&mut rand::rng(), 64);
        self.0.insert(id.clone(), identity);
        Ok(id)
    }

    /// The identity of the open session `id`.
    ///
    /// # Errors
    /// 530 `SESSION NOT FOUND` for an unknown or ended session.
    pub(crate) fn get(&self, id: &str) -> Result<Identity, Reply> {
        self.0.get(id).cloned().ok_or_else(Reply::session_not_found)
    }

    /// Ends the session `id`, if open.
    pub(crate) fn end(&mut self, id: &str) {
        self.0.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexonet::{LOGIN, PASSWORD, ROLE, ROLE_PASSWORD, SUBUSER, SUBUSER_PASSWORD};

    macro_rules! logins {
        ($($name:ident: $login:expr, $password:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = login(&Registry::seed(), $login, $password, '!')
                    .map(|i| (i.account, i.role, i.read_only));
                assert_eq!(got, $want);
            }
        )*};
    }

    fn who(
        account: &str,
        role: Option<&str>,
        read_only: bool,
    ) -> Result<(String, Option<String>, bool), Reply> {
        Ok((account.to_owned(), role.map(str::to_owned), read_only))
    }

    logins! {
        the_user_logs_in_with_its_password: Some(LOGIN), Some(PASSWORD) => who(LOGIN, None, false);
        the_role_logs_in_with_its_own_password: Some(&format!("{LOGIN}!{ROLE}")), Some(ROLE_PASSWORD) => who(LOGIN, Some(ROLE), true);
        the_subuser_logs_in_too: Some(SUBUSER), Some(SUBUSER_PASSWORD) => who(SUBUSER, None, false);
        a_wrong_password_fails: Some(LOGIN), Some("nope") => Err(Reply::authentication_failed());
        the_role_password_is_not_the_user_password: Some(&format!("{LOGIN}!{ROLE}")), Some(PASSWORD) => Err(Reply::authentication_failed());
        an_unknown_role_fails: Some(&format!("{LOGIN}!root")), Some(ROLE_PASSWORD) => Err(Reply::authentication_failed());
        an_unknown_login_fails: Some("someone"), Some(PASSWORD) => Err(Reply::authentication_failed());
        a_missing_password_fails: Some(LOGIN), None => Err(Reply::authentication_failed());
        a_missing_login_fails: None, Some(PASSWORD) => Err(Reply::authentication_failed());
    }

    #[test]
    fn only_own_subusers_can_be_viewed() {
        let registry = Registry::seed();
        let user = login(&registry, Some(LOGIN), Some(PASSWORD), '!').unwrap();
        let subuser = login(&registry, Some(SUBUSER), Some(SUBUSER_PASSWORD), '!').unwrap();
        assert_eq!(
            view(&registry, &user, Some(SUBUSER)),
            Ok(SUBUSER.to_owned())
        );
        assert_eq!(view(&registry, &user, None), Ok(LOGIN.to_owned()));
        assert_eq!(
            view(&registry, &subuser, Some(LOGIN)),
            Err(Reply::authorization_failed())
        );
        assert_eq!(
            view(&registry, &user, Some("ghost")),
            Err(Reply::authorization_failed())
        );
    }

    #[test]
    fn an_ended_session_is_not_found() {
        let mut sessions = Sessions::default();
        let identity = Identity {
            account: LOGIN.to_owned(),
            role: None,
            read_only: false,
        };
        let id = sessions.start(identity.clone()).unwrap();
        assert_eq!(id.len(), 64);
        assert_eq!(sessions.get(&id), Ok(identity));
        sessions.end(&id);
        assert_eq!(sessions.get(&id), Err(Reply::session_not_found()));
    }
}
