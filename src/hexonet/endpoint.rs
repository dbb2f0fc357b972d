//! Where a HEXONET call goes and as whom it logs in.
//!
//! | backend | system | URL | `s_entity` |
//! | --- | --- | --- | --- |
//! | `hexonet` | `ote` | `https://api-ote.ispapi.net/api/call.cgi` | `1234` |
//! | `hexonet` | `live` | `https://api.ispapi.net/api/call.cgi` | `54cd` |
//! | `centralnic` | `ote` | `https://api-ote.rrpproxy.net/api/call.cgi` | none |
//! | `centralnic` | `live` | `https://api.rrpproxy.net/api/call.cgi` | none |
//!
//! `HEXONET_URL` replaces the URL (e.g. the SDK's high-performance proxy
//! [`PROXY_URL`], or the sandbox) but never the entity: the system still
//! says which data the account works on. The login is `login!role` for
//! HEXONET and `login:role` for CentralNic Reseller, as their SDKs write it.
//! The values come from the platform's [`Protocol`].

use super::protocol::Protocol;
pub use super::protocol::{
    CENTRALNIC_LIVE_URL, CENTRALNIC_OTE_URL, HEXONET_LIVE_URL, HEXONET_OTE_URL,
};
use crate::config::{Backend, HexonetConfig, System};
use url::Url;
/// The SDKs' high-performance proxy (a local Apache keeping connections
/// open); set `HEXONET_URL` to it to use one. exh-task keeps its own
/// connections open, so it does not need one.
pub const PROXY_URL: &str = "http://127.0.0.1/api/call.cgi";

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
    /// The endpoint `config` describes.
    ///
    /// # Example
    /// ```
    /// use exh_task::config::{Backend, HexonetConfig, System};
    /// use exh_task::hexonet::Endpoint;
    /// use exh_task::secret::Secret;
    /// let config = HexonetConfig {
    ///     login: "me".into(), password: Secret::new("pw"), role: Some("ops".into()),
    ///     backend: Backend::Hexonet, system: System::Ote, url: None, subuser: None,
    ///     proxy: None, referer: None,
    /// };
    /// let endpoint = Endpoint::of(&config);
    /// assert_eq!(endpoint.url.as_str(), "https://api-ote.ispapi.net/api/call.cgi");
    /// assert_eq!((endpoint.entity, endpoint.login.as_str()), (Some("1234"), "me!ops"));
    /// ```
    pub fn of(config: &HexonetConfig) -> Endpoint {
        let protocol = Protocol::of(config.backend);
        let url = match &config.url {
            Some(url) => url.clone(),
            None => Url::parse(protocol.url(config.system))
                .unwrap_or_else(|_| unreachable!("the endpoint constants are URLs")),
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

    fn config(backend: Backend, system: System, url: Option<&str>) -> HexonetConfig {
        HexonetConfig {
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
