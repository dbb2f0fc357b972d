//! Configuration: read from the environment and validated once at start-up.
//!
//! A side (Extra Horizon or HEXONET) whose variables are missing stays
//! unconfigured without failing start-up, so the other side stays usable; a
//! request for it then fails with [`Error::MissingConfig`]. A variable that is
//! set to a value that cannot be right fails start-up with a [`ConfigError`].

use crate::allow_list::{CommandAllowList, PathAllowList};
use crate::error::Error;
use crate::exh::ApiHost;
use crate::hexonet::{Backend, Settings, System};
use crate::limits::{Limits, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT};
use crate::secret::Secret;
use std::fmt;

/// Everything exh-task reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Extra Horizon side, or the names of its missing variables.
    pub exh: Side<ExhConfig>,
    /// The HEXONET side ([`Settings`]), or the names of its missing variables.
    pub hexonet: Side<Settings>,
    /// `HEXONET_ALLOWED_COMMANDS`: the only HEXONET commands a request may run.
    /// Default: every command.
    pub allowed_commands: Option<CommandAllowList>,
    /// `EXH_ALLOWED_PATHS`: the only Extra Horizon path prefixes a request may
    /// call. Default: every path.
    pub allowed_paths: Option<PathAllowList>,
    /// `EXH_TASK_DEBUG=1`: log every upstream request and response, secrets
    /// masked. Default: off.
    pub debug: bool,
    /// `EXH_TASK_MAX_BODY_BYTES`, `EXH_TASK_MAX_IN_FLIGHT`: what bounds
    /// memory and upstream load. Default: [`Limits::default`].
    pub limits: Limits,
}

/// One side's configuration, or the variables that keep it from being usable.
pub type Side<T> = Result<T, Vec<&'static str>>;

/// The Extra Horizon side: where to call and the four OAuth1 secrets.
#[derive(Debug, Clone)]
pub struct ExhConfig {
    /// `API_HOST`, normalised as the `exh` CLI and the JS SDK do.
    pub host: ApiHost,
    /// `API_OAUTH_CONSUMER_KEY`, `API_OAUTH_CONSUMER_SECRET`,
    /// `API_OAUTH_TOKEN`, `API_OAUTH_TOKEN_SECRET`.
    pub credentials: OAuth1Credentials,
}

/// The four OAuth1 values of the seed, all held as secrets.
#[derive(Debug, Clone)]
pub struct OAuth1Credentials {
    /// `API_OAUTH_CONSUMER_KEY`.
    pub consumer_key: Secret,
    /// `API_OAUTH_CONSUMER_SECRET`.
    pub consumer_secret: Secret,
    /// `API_OAUTH_TOKEN`.
    pub token: Secret,
    /// `API_OAUTH_TOKEN_SECRET`.
    pub token_secret: Secret,
}

impl OAuth1Credentials {
    /// The four values: every one of them is masked wherever text leaves
    /// the function.
    pub fn secrets(&self) -> [&Secret; 4] {
        [
            &self.consumer_key,
            &self.consumer_secret,
            &self.token,
            &self.token_secret,
        ]
    }
}

/// A variable that is set but cannot be right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// What is wrong with it (never the value of a secret).
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// The prefixes of the variables exh-task reads (besides Lambda's own).
const PREFIXES: [&str; 3] = ["API_", "EXH_", "HEXONET_"];

/// The process environment, to read as [`Config::from_lookup`] does, once
/// no variable named with one of exh-task's prefixes (`API_`, `EXH_`,
/// `HEXONET_`) holds bytes that are not UTF-8: read as unset, such a value
/// would silently drop an allow-list, or let the Secrets Manager secret
/// fill in a value the environment sets.
pub fn environment() -> Result<impl Fn(&str) -> Option<String>, ConfigError> {
    let unreadable = std::env::vars_os().find_map(|(name, value)| {
        let name = name.into_string().ok()?;
        (PREFIXES.iter().any(|prefix| name.starts_with(prefix)) && value.to_str().is_none())
            .then_some(name)
    });
    match unreadable {
        // Once, before the process ends: the name must outlive the error.
        Some(name) => Err(ConfigError {
            variable: Box::leak(name.into_boxed_str()),
            problem: "the value is not UTF-8 text".to_owned(),
        }),
        None => Ok(|name: &str| std::env::var(name).ok()),
    }
}

impl Config {
    /// Reads the process environment ([`environment`]).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(environment()?)
    }

    /// Reads the variables through `lookup`, so tests and the CLI can supply
    /// their own environment. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let vars = Vars(&lookup);
        Ok(Config {
            exh: exh_side(&vars)?,
            hexonet: hexonet_side(&vars)?,
            allowed_commands: vars
                .get("HEXONET_ALLOWED_COMMANDS")
                .map(|list| CommandAllowList::parse(&list))
                .transpose()
                .map_err(problem_of("HEXONET_ALLOWED_COMMANDS"))?,
            allowed_paths: vars
                .get("EXH_ALLOWED_PATHS")
                .map(|list| PathAllowList::parse(&list))
                .transpose()
                .map_err(problem_of("EXH_ALLOWED_PATHS"))?,
            debug: parse_flag(&vars, "EXH_TASK_DEBUG")?,
            limits: Limits {
                max_body_bytes: parse_count(&vars, "EXH_TASK_MAX_BODY_BYTES")?
                    .unwrap_or(DEFAULT_MAX_BODY_BYTES),
                max_in_flight: parse_count_up_to(&vars, "EXH_TASK_MAX_IN_FLIGHT", MAX_IN_FLIGHT)?
                    .unwrap_or(DEFAULT_MAX_IN_FLIGHT),
            },
        })
    }

    /// Every secret configured: the four OAuth1 values, the HEXONET
    /// password and the credentials in `HEXONET_URL` or `HEXONET_PROXY`;
    /// what no answer, error or log may show.
    pub fn secrets(&self) -> Vec<Secret> {
        let mut secrets = Vec::new();
        if let Ok(exh) = &self.exh {
            secrets.extend(exh.credentials.secrets().into_iter().cloned());
        }
        if let Ok(hexonet) = &self.hexonet {
            secrets.extend(hexonet.secrets());
        }
        secrets
    }

    /// The Extra Horizon side, or [`Error::MissingConfig`].
    pub fn exh(&self) -> Result<&ExhConfig, Error> {
        self.exh
            .as_ref()
            .map_err(|missing| Error::MissingConfig(missing.clone()))
    }

    /// The HEXONET side, or [`Error::MissingConfig`].
    pub fn hexonet(&self) -> Result<&Settings, Error> {
        self.hexonet
            .as_ref()
            .map_err(|missing| Error::MissingConfig(missing.clone()))
    }

    /// The hosts the clients connect to, to look up ahead ([`crate::dns`]):
    /// the Extra Horizon API's, and HEXONET's unless `HEXONET_PROXY` carries
    /// its calls (the proxy's host is the one looked up then, when it is
    /// needed); none when `lookup` names a proxy for all HTTP clients
    /// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, in upper or lower case,
    /// as reqwest reads them), as reqwest then connects to it instead.
    pub fn hosts_to_look_up(&self, lookup: impl Fn(&str) -> Option<String>) -> Vec<String> {
        let proxied = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"]
            .iter()
            .flat_map(|name| [name.to_string(), name.to_lowercase()])
            .any(|name| lookup(&name).is_some_and(|value| !value.is_empty()));
        if proxied {
            return Vec::new();
        }
        let exh = self.exh.as_ref().ok().map(|exh| exh.host.url().clone());
        let hexonet = self
            .hexonet
            .as_ref()
            .ok()
            .filter(|hexonet| hexonet.proxy.is_none())
            .map(|hexonet| crate::hexonet::Endpoint::of(hexonet).url);
        [exh, hexonet]
            .into_iter()
            .flatten()
            .filter_map(|url| url.host_str().map(str::to_owned))
            .collect()
    }
}

struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// Reads every one of `names`, or returns the ones that are unset.
    fn require<const N: usize>(&self, names: [&'static str; N]) -> Side<[String; N]> {
        let values = names.map(|name| self.get(name));
        let missing: Vec<_> = names
            .iter()
            .zip(&values)
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| *name)
            .collect();
        if missing.is_empty() {
            Ok(values.map(Option::unwrap_or_default))
        } else {
            Err(missing)
        }
    }
}

fn exh_side(vars: &Vars) -> Result<Side<ExhConfig>, ConfigError> {
    let [host, consumer_key, consumer_secret, token, token_secret] = match vars.require([
        "API_HOST",
        "API_OAUTH_CONSUMER_KEY",
        "API_OAUTH_CONSUMER_SECRET",
        "API_OAUTH_TOKEN",
        "API_OAUTH_TOKEN_SECRET",
    ]) {
        Ok(values) => values,
        Err(missing) => return Ok(Err(missing)),
    };
    let host = ApiHost::parse(&host).map_err(|problem| ConfigError {
        variable: "API_HOST",
        problem: problem.to_string(),
    })?;
    Ok(Ok(ExhConfig {
        host,
        credentials: OAuth1Credentials {
            consumer_key: Secret::new(consumer_key),
            consumer_secret: Secret::new(consumer_secret),
            token: Secret::new(token),
            token_secret: Secret::new(token_secret),
        },
    }))
}

fn hexonet_side(vars: &Vars) -> Result<Side<Settings>, ConfigError> {
    let backend = match vars.get("HEXONET_BACKEND").as_deref() {
        None | Some("hexonet") => Backend::Hexonet,
        Some("centralnic") => Backend::CentralNic,
        Some(other) => return Err(unexpected("HEXONET_BACKEND", other, "hexonet, centralnic")),
    };
    let system = match vars.get("HEXONET_SYSTEM").as_deref() {
        None | Some("ote") => System::Ote,
        Some("live") => System::Live,
        Some(other) => return Err(unexpected("HEXONET_SYSTEM", other, "ote, live")),
    };
    let url = optional_url(vars, "HEXONET_URL")?;
    let proxy = optional_url(vars, "HEXONET_PROXY")?;
    let referer = vars.get("HEXONET_REFERER");
    if let Some(referer) = &referer {
        if reqwest::header::HeaderValue::from_str(referer).is_err() {
            return Err(ConfigError {
                variable: "HEXONET_REFERER",
                problem: "is not a valid HTTP header value".into(),
            });
        }
    }
    let [login, password] = match vars.require(["HEXONET_LOGIN", "HEXONET_PASSWORD"]) {
        Ok(values) => values,
        Err(missing) => return Ok(Err(missing)),
    };
    Ok(Ok(Settings {
        login,
        password: Secret::new(password),
        role: vars.get("HEXONET_ROLE"),
        backend,
        system,
        url,
        subuser: vars.get("HEXONET_SUBUSER"),
        proxy,
        referer,
    }))
}

fn optional_url(vars: &Vars, variable: &'static str) -> Result<Option<url::Url>, ConfigError> {
    vars.get(variable)
        .map(|value| parse_http_url(&value))
        .transpose()
        .map_err(|problem| ConfigError { variable, problem })
}

fn parse_http_url(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value).map_err(|error| format!("not a URL ({error})"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err("must be an http:// or https:// URL with a host".into()),
    }
}

fn parse_flag(vars: &Vars, name: &'static str) -> Result<bool, ConfigError> {
    match vars.get(name).as_deref() {
        None | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") => Ok(true),
        Some(other) => Err(unexpected(name, other, "1, true, 0, false")),
    }
}

/// A whole number above 0, or `None` when unset.
fn parse_count(vars: &Vars, name: &'static str) -> Result<Option<usize>, ConfigError> {
    vars.get(name)
        .map(|value| match value.parse::<usize>() {
            Ok(count) if count > 0 => Ok(count),
            _ => Err(ConfigError {
                variable: name,
                problem: format!("{value:?} is not a whole number above 0"),
            }),
        })
        .transpose()
}

/// The [`ConfigError`] of `variable` for a problem a parser found.
fn problem_of(variable: &'static str) -> impl FnOnce(String) -> ConfigError {
    move |problem| ConfigError { variable, problem }
}

/// [`parse_count`], refusing a count above `most`.
fn parse_count_up_to(
    vars: &Vars,
    name: &'static str,
    most: usize,
) -> Result<Option<usize>, ConfigError> {
    match parse_count(vars, name)? {
        Some(count) if count > most => Err(ConfigError {
            variable: name,
            problem: format!("{count} is above the most accepted, {most}"),
        }),
        count => Ok(count),
    }
}

fn unexpected(variable: &'static str, value: &str, accepted: &str) -> ConfigError {
    ConfigError {
        variable,
        problem: format!("{value:?} is not one of {accepted}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    const EXH: [(&str, &str); 5] = [
        ("API_HOST", "x.extrahorizon.io"),
        ("API_OAUTH_CONSUMER_KEY", "ck"),
        ("API_OAUTH_CONSUMER_SECRET", "cs"),
        ("API_OAUTH_TOKEN", "tk"),
        ("API_OAUTH_TOKEN_SECRET", "ts"),
    ];

    #[test]
    fn empty_environment_leaves_both_sides_unconfigured_and_names_every_variable() {
        let config = config(&[]).unwrap();
        assert_eq!(
            config.exh().unwrap_err(),
            Error::MissingConfig(vec![
                "API_HOST",
                "API_OAUTH_CONSUMER_KEY",
                "API_OAUTH_CONSUMER_SECRET",
                "API_OAUTH_TOKEN",
                "API_OAUTH_TOKEN_SECRET"
            ])
        );
        assert_eq!(
            config.hexonet().unwrap_err(),
            Error::MissingConfig(vec!["HEXONET_LOGIN", "HEXONET_PASSWORD"])
        );
        assert!(!config.debug);
    }

    #[test]
    fn exh_side_is_usable_without_hexonet_variables() {
        let config = config(&EXH).unwrap();
        let exh = config.exh().unwrap();
        assert_eq!(exh.host.as_str(), "https://api.x.extrahorizon.io");
        assert_eq!(exh.credentials.token_secret.expose(), "ts");
        assert!(config.hexonet().is_err());
    }

    #[test]
    fn the_hosts_looked_up_ahead_are_those_the_clients_connect_to() {
        let mut vars = EXH.to_vec();
        vars.extend([("HEXONET_LOGIN", "me"), ("HEXONET_PASSWORD", "pw")]);
        let no_proxy = |_: &str| None;
        assert_eq!(
            config(&vars).unwrap().hosts_to_look_up(no_proxy),
            ["api.x.extrahorizon.io", "api-ote.ispapi.net"]
        );
        // Through HEXONET_PROXY, its own host is looked up when it is needed.
        vars.push(("HEXONET_PROXY", "http://proxy.example:3128"));
        assert_eq!(
            config(&vars).unwrap().hosts_to_look_up(no_proxy),
            ["api.x.extrahorizon.io"]
        );
        // A proxy for every client: reqwest connects to it, not to the APIs.
        for name in ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"] {
            let proxied = |asked: &str| (asked == name).then(|| "http://proxy:3128".to_string());
            assert!(
                config(&vars).unwrap().hosts_to_look_up(proxied).is_empty(),
                "{name}"
            );
        }
        assert!(config(&[]).unwrap().hosts_to_look_up(no_proxy).is_empty());
    }

    #[test]
    fn empty_values_count_as_missing() {
        let mut vars = EXH.to_vec();
        vars[4] = ("API_OAUTH_TOKEN_SECRET", "  ");
        assert_eq!(
            config(&vars).unwrap().exh().unwrap_err(),
            Error::MissingConfig(vec!["API_OAUTH_TOKEN_SECRET"])
        );
    }

    #[test]
    fn debug_of_config_never_shows_a_secret() {
        let mut vars = EXH.to_vec();
        vars.extend([("HEXONET_LOGIN", "me"), ("HEXONET_PASSWORD", "pa55word")]);
        let printed = format!("{:?}", config(&vars).unwrap());
        for secret in ["\"ck\"", "\"cs\"", "\"tk\"", "\"ts\"", "pa55word"] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
    }

    #[test]
    fn hexonet_defaults_to_the_ote_system_of_hexonet() {
        let config = config(&[("HEXONET_LOGIN", "me"), ("HEXONET_PASSWORD", "pw")]).unwrap();
        let hexonet = config.hexonet().unwrap();
        assert_eq!(hexonet.backend, Backend::Hexonet);
        assert_eq!(hexonet.system, System::Ote);
        assert_eq!(hexonet.url, None);
    }

    #[test]
    fn an_unknown_system_fails_start_up_naming_the_variable() {
        let error = config(&[("HEXONET_SYSTEM", "prod")]).unwrap_err();
        assert_eq!(error.variable, "HEXONET_SYSTEM");
        assert_eq!(
            error.to_string(),
            "HEXONET_SYSTEM: \"prod\" is not one of ote, live"
        );
    }

    #[test]
    fn an_invalid_api_host_fails_start_up_naming_the_variable() {
        let mut vars = EXH.to_vec();
        vars[0] = ("API_HOST", "ftp://x.extrahorizon.io");
        assert_eq!(config(&vars).unwrap_err().variable, "API_HOST");
    }

    #[test]
    fn a_debug_flag_other_than_yes_or_no_is_refused() {
        assert_eq!(
            config(&[("EXH_TASK_DEBUG", "verbose")])
                .unwrap_err()
                .variable,
            "EXH_TASK_DEBUG"
        );
        assert!(config(&[("EXH_TASK_DEBUG", "1")]).unwrap().debug);
    }

    #[test]
    fn a_hexonet_proxy_and_referer_are_read_and_checked() {
        let base = [("HEXONET_LOGIN", "me"), ("HEXONET_PASSWORD", "pw")];
        let mut vars = base.to_vec();
        vars.extend([
            ("HEXONET_PROXY", "http://proxy.local:3128"),
            ("HEXONET_REFERER", "https://shop.example/"),
        ]);
        let config = config(&vars).unwrap();
        let hexonet = config.hexonet().unwrap();
        assert_eq!(
            hexonet.proxy.as_ref().unwrap().as_str(),
            "http://proxy.local:3128/"
        );
        assert_eq!(hexonet.referer.as_deref(), Some("https://shop.example/"));
        let mut vars = base.to_vec();
        vars.push(("HEXONET_PROXY", "proxy.local"));
        assert_eq!(config_of(&vars).variable, "HEXONET_PROXY");
        let mut vars = base.to_vec();
        vars.push(("HEXONET_REFERER", "a\u{7f}b"));
        assert_eq!(config_of(&vars).variable, "HEXONET_REFERER");
    }

    fn config_of(vars: &[(&str, &str)]) -> ConfigError {
        config(vars).unwrap_err()
    }

    #[test]
    fn a_hexonet_url_must_be_http() {
        let error = config(&[("HEXONET_URL", "127.0.0.1/api/call.cgi")]).unwrap_err();
        assert_eq!(error.variable, "HEXONET_URL");
    }

    #[test]
    fn limits_default_to_the_result_limit_and_sixteen_requests_and_can_be_set() {
        let limits = config(&[]).unwrap().limits;
        assert_eq!(limits, Limits::default());
        assert_eq!(limits.max_body_bytes, crate::envelope::MAX_RESULT_BYTES);
        let limits = config(&[
            ("EXH_TASK_MAX_BODY_BYTES", "1000"),
            ("EXH_TASK_MAX_IN_FLIGHT", "2"),
        ])
        .unwrap()
        .limits;
        assert_eq!((limits.max_body_bytes, limits.max_in_flight), (1000, 2));
        let above = (crate::limits::MAX_IN_FLIGHT + 1).to_string();
        let far_above = (usize::MAX / 4).to_string();
        for value in ["0", "-1", "6MB", &above, &far_above] {
            let error = config(&[("EXH_TASK_MAX_IN_FLIGHT", value)]).unwrap_err();
            assert_eq!(error.variable, "EXH_TASK_MAX_IN_FLIGHT");
        }
    }
}
