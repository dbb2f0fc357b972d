//! [`Settings`]: the HEXONET side's configuration, the values of the
//! `HEXONET_*` variables. It lives here, not in [`crate::config`], so that
//! the connector depends on no part of the Lambda function: `config` builds
//! it, the [`super::Client`] and [`super::Endpoint`] read it.

use super::{Backend, System};
use crate::secret::Secret;

/// The HEXONET side's configuration: which system to call and as whom.
///
/// [`crate::config::Config`] reads it from the environment; tests and
/// custom tasks may build one themselves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `HEXONET_LOGIN`.
    pub login: String,
    /// `HEXONET_PASSWORD`.
    pub password: Secret,
    /// `HEXONET_ROLE`: when set, the login becomes `login!role`. Default: none.
    pub role: Option<String>,
    /// `HEXONET_BACKEND`. Default: [`Backend::Hexonet`].
    pub backend: Backend,
    /// `HEXONET_SYSTEM`. Default: [`System::Ote`].
    pub system: System,
    /// `HEXONET_URL`: overrides the system's endpoint. Default: none.
    pub url: Option<url::Url>,
    /// `HEXONET_SUBUSER`: the default subuser view. Default: none.
    pub subuser: Option<String>,
    /// `HEXONET_PROXY`: an HTTP(S) proxy for HEXONET calls only (the SDK's
    /// `setProxy`). Default: none (the usual `HTTPS_PROXY` variables apply).
    pub proxy: Option<url::Url>,
    /// `HEXONET_REFERER`: the `Referer` header of HEXONET calls (the SDK's
    /// `setReferer`). Default: none.
    pub referer: Option<String>,
}

impl Settings {
    /// What is masked wherever text leaves the function: the password,
    /// and the password of [`Settings::url`] and [`Settings::proxy`] when
    /// they carry one (as written and decoded).
    pub fn secrets(&self) -> Vec<Secret> {
        let mut secrets = vec![self.password.clone()];
        for url in [&self.url, &self.proxy] {
            secrets.extend(crate::mask::url::credentials(url.as_ref()));
        }
        secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secrets_are_the_password_and_those_of_the_url_and_the_proxy() {
        let settings = Settings {
            login: "me".into(),
            password: Secret::new("the-password"),
            role: None,
            backend: Backend::Hexonet,
            system: System::Ote,
            url: Some("https://me:url-secret@api.example/".parse().unwrap()),
            subuser: None,
            proxy: Some(
                "http://proxy:proxy%2Fsecret@127.0.0.1:3128"
                    .parse()
                    .unwrap(),
            ),
            referer: None,
        };
        let secrets: Vec<String> = settings
            .secrets()
            .iter()
            .map(|secret| secret.expose().to_owned())
            .collect();
        for expected in [
            "the-password",
            "url-secret",
            "proxy%2Fsecret",
            "proxy/secret",
        ] {
            assert!(
                secrets.iter().any(|s| s == expected),
                "{expected} not in {secrets:?}"
            );
        }
    }
}
