//! Secrets from one AWS Secrets Manager secret, read once at start-up.
//!
//! When `EXH_TASK_SECRET_ID` names a secret (its ARN or name), `bootstrap`
//! reads it before the first invocation and fills in, from it, the secret
//! variables the environment leaves unset or empty; the environment always
//! wins. When the variable is unset nothing happens at all: no client is
//! built and no request is made, so the usual cold start pays nothing.
//!
//! The secret is read through the AWS Parameters and Secrets Lambda
//! Extension (a Lambda layer), not the AWS SDK: one loopback GET with the
//! reqwest stack the binary already carries, instead of the SDK's crates in
//! every cold start (the figures are in the README, "Configuring secrets
//! safely").
//!
//! # Format
//!
//! The request, as the extension documents it:
//!
//! ```text
//! GET http://127.0.0.1:{PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, default 2773}/secretsmanager/get?secretId={id}
//! X-Aws-Parameters-Secrets-Token: {AWS_SESSION_TOKEN}
//! ```
//!
//! The answer is Secrets Manager's `GetSecretValue` result; its
//! `SecretString` must be a JSON object whose keys are variable names of
//! [`SECRET_VARIABLES`] and whose values are strings:
//!
//! ```json
//! {"API_OAUTH_CONSUMER_KEY": "…", "API_OAUTH_CONSUMER_SECRET": "…",
//!  "API_OAUTH_TOKEN": "…", "API_OAUTH_TOKEN_SECRET": "…", "HEXONET_PASSWORD": "…"}
//! ```
//!
//! Every failure is a [`ConfigError`] on `EXH_TASK_SECRET_ID` that names the
//! secret and, where one is at fault, the key; never a value.

use crate::config::ConfigError;
use crate::secret::Secret;
use serde_json::Value;
use std::time::Duration;

/// The variable that names the secret: its ARN or name, as `secretId` takes it.
pub const SECRET_ID: &str = "EXH_TASK_SECRET_ID";

/// The variables a secret may set; any other key is refused, so a typo
/// cannot silently leave a variable unset.
pub const SECRET_VARIABLES: [&str; 6] = [
    "API_OAUTH_CONSUMER_KEY",
    "API_OAUTH_CONSUMER_SECRET",
    "API_OAUTH_TOKEN",
    "API_OAUTH_TOKEN_SECRET",
    "HEXONET_LOGIN",
    "HEXONET_PASSWORD",
];

/// The extension's port variable (the extension reads it too).
pub const PORT_VARIABLE: &str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT";

/// The extension's port when [`PORT_VARIABLE`] is unset.
pub const DEFAULT_PORT: u16 = 2773;

/// The header that carries the function's session token to the extension.
pub const TOKEN_HEADER: &str = "X-Aws-Parameters-Secrets-Token";

/// Where the token comes from: Lambda sets it for the function's role.
const SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";

/// How long one request to the extension may take: it may have to fetch the
/// secret from Secrets Manager first, and the whole Init phase has 10 s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);

/// How long the extension is waited for while it is not yet serving.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// The largest answer read: a secret holds at most 64 KiB.
const MAX_ANSWER: usize = 256 * 1024;

/// The values read from the secret, by variable name. `Debug` shows the
/// names only.
#[derive(Clone, Default)]
pub struct SecretValues(Vec<(&'static str, Secret)>);

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl SecretValues {
    /// The names of the variables the secret set.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|(name, _)| *name).collect()
    }

    /// The value the secret holds for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.0
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, value)| value)
    }

    /// Reads a `SecretString`: a JSON object of [`SECRET_VARIABLES`] and
    /// string values. `secret` names the secret in errors.
    ///
    /// # Errors
    /// Not JSON, not an object, an unknown key, a key given twice, or a
    /// value that is not a string; each error names the key but never a
    /// value.
    pub fn parse(secret: &str, text: &str) -> Result<SecretValues, ConfigError> {
        // Parsed as a `Value` first: serde's type errors quote the value
        // ("invalid type: string \"…\""), its syntax errors only positions.
        let object = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => object,
            Ok(other) => {
                return Err(problem(
                    secret,
                    format!(
                        "its SecretString is {}, not a JSON object keyed by variable names",
                        crate::event::kind_of(&other)
                    ),
                ))
            }
            Err(error) => {
                return Err(problem(
                    secret,
                    format!(
                        "its SecretString is not JSON (line {}, column {}): \
                         store a JSON object keyed by variable names",
                        error.line(),
                        error.column()
                    ),
                ))
            }
        };
        // A `Value` keeps the last of a key given twice; which one was
        // meant cannot be known, so neither is taken.
        if let Some(twice) = key_given_twice(text) {
            return Err(problem(
                secret,
                format!(
                    "key {:?} is given twice: set each variable once",
                    shortened(&twice)
                ),
            ));
        }
        let mut values = Vec::with_capacity(object.len());
        for (key, value) in object {
            let Some(name) = SECRET_VARIABLES.iter().find(|name| **name == key) else {
                return Err(problem(
                    secret,
                    format!(
                        "key {:?} is not a variable the secret may set ({})",
                        shortened(&key),
                        SECRET_VARIABLES.join(", ")
                    ),
                ));
            };
            match value {
                Value::String(value) => values.push((*name, Secret::new(value))),
                other => {
                    return Err(problem(
                        secret,
                        format!(
                            "key {name} holds {}, not a string",
                            crate::event::kind_of(&other)
                        ),
                    ))
                }
            }
        }
        Ok(SecretValues(values))
    }
}

/// The first key the JSON object `text` has more than once.
fn key_given_twice(text: &str) -> Option<String> {
    struct Twice(Option<String>);

    impl<'de> serde::Deserialize<'de> for Twice {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_map(Twice(None))
        }
    }

    impl<'de> serde::de::Visitor<'de> for Twice {
        type Value = Twice;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Twice, A::Error> {
            let mut keys = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<serde::de::IgnoredAny>()?;
                if keys.contains(&key) {
                    return Ok(Twice(Some(key)));
                }
                keys.insert(key);
            }
            Ok(Twice(None))
        }
    }

    serde_json::from_str::<Twice>(text)
        .ok()
        .and_then(|twice| twice.0)
}

/// Reads the secret `EXH_TASK_SECRET_ID` names (when `env` sets it) and
/// returns a lookup for [`Config::from_lookup`](crate::config::Config::from_lookup):
/// `env` first, the secret for the variables `env` leaves unset or empty.
///
/// # Errors
/// The extension cannot be reached or refuses, the secret is missing or may
/// not be read, or its content is not what [`SecretValues::parse`] accepts.
///
/// # Example
/// ```no_run
/// # async fn start() -> Result<(), exh_task::config::ConfigError> {
/// use exh_task::config::Config;
/// let lookup = exh_task::secrets_manager::overlay(exh_task::config::environment()?).await?;
/// let config = Config::from_lookup(lookup)?;
/// # Ok(()) }
/// ```
pub async fn overlay<F>(env: F) -> Result<impl Fn(&str) -> Option<String>, ConfigError>
where
    F: Fn(&str) -> Option<String>,
{
    let secrets = match set(&env, SECRET_ID) {
        Some(secret) => {
            let values = read(&secret, &env).await?;
            tracing::info!(secret, variables = ?values.names(), "read secrets from AWS Secrets Manager");
            values
        }
        None => SecretValues::default(),
    };
    Ok(move |name: &str| {
        set(&env, name).or_else(|| secrets.get(name).map(|value| value.expose().to_owned()))
    })
}

/// `name`'s value in `env`, unless unset or blank (as `Config` counts them).
fn set(env: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|value| !value.trim().is_empty())
}

/// Fetches `secret` from the extension and parses it.
async fn read(
    secret: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<SecretValues, ConfigError> {
    let token = set(env, SESSION_TOKEN).ok_or_else(|| {
        problem(
            secret,
            format!("{SESSION_TOKEN} is not set, and the AWS Parameters and Secrets Lambda Extension needs it"),
        )
    })?;
    let port = match set(env, PORT_VARIABLE) {
        None => DEFAULT_PORT,
        Some(port) => port.trim().parse().map_err(|_| ConfigError {
            variable: PORT_VARIABLE,
            problem: format!("{port:?} is not a port number"),
        })?,
    };
    // A client of its own: no proxy (a proxy would receive the token) and no
    // redirects, so the token goes to the loopback extension and nowhere else.
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|error| problem(secret, format!("cannot build an HTTP client: {error}")))?;
    let mut url = url::Url::parse(&format!("http://127.0.0.1:{port}/secretsmanager/get"))
        .expect("a loopback URL with a port parses");
    url.query_pairs_mut().append_pair("secretId", secret);

    let ready_by = tokio::time::Instant::now() + READY_WITHIN;
    let mut delay = Duration::from_millis(10);
    let (status, body) = loop {
        let answer = fetch(&http, url.clone(), &token).await;
        let retry = match &answer {
            Err(error) => error.is_connect(),
            Ok((status, body)) => starting(*status, body),
        };
        if !retry || tokio::time::Instant::now() + delay > ready_by {
            break answer.map_err(|error| unanswered(secret, port, &error))?;
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    };
    if body.len() > MAX_ANSWER {
        return Err(problem(
            secret,
            format!(
                "the extension's answer (HTTP {}) is over {MAX_ANSWER} bytes, \
                 far more than a secret holds (64 KiB)",
                status.as_u16()
            ),
        ));
    }
    if starting(status, &body) {
        return Err(problem(
            secret,
            format!(
                "the extension was still not ready to serve within {} s",
                READY_WITHIN.as_secs()
            ),
        ));
    }
    let body = String::from_utf8_lossy(&body);
    if !status.is_success() {
        return Err(refusal(secret, status, &body));
    }
    let answer: Value = serde_json::from_str(&body)
        .map_err(|_| problem(secret, "the extension's answer is not JSON".to_owned()))?;
    match answer.get("SecretString") {
        Some(Value::String(text)) => SecretValues::parse(secret, text),
        _ => Err(problem(
            secret,
            "it has no SecretString (a binary secret?): store a JSON object keyed by variable names"
                .to_owned(),
        )),
    }
}

/// Whether an answer is the one the extension gives while it is still
/// starting (`400`, `not ready to serve traffic, please wait`).
fn starting(status: reqwest::StatusCode, body: &[u8]) -> bool {
    status.as_u16() == 400 && String::from_utf8_lossy(body).contains("not ready")
}

/// One GET: the status and the body, read no further than one byte past
/// [`MAX_ANSWER`] (so an answer longer than that is seen to be).
async fn fetch(
    http: &reqwest::Client,
    url: url::Url,
    token: &str,
) -> Result<(reqwest::StatusCode, Vec<u8>), reqwest::Error> {
    let mut response = http.get(url).header(TOKEN_HEADER, token).send().await?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ANSWER + 1 - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() > MAX_ANSWER {
            break;
        }
    }
    Ok((status, body))
}

/// The error for a request that got no whole answer: a token that cannot
/// be a header never left; only a failed connection means the extension is
/// not there; a timeout or an answer broken off come from an extension that
/// was reached.
fn unanswered(secret: &str, port: u16, error: &reqwest::Error) -> ConfigError {
    let extension = format!("the AWS Parameters and Secrets Lambda Extension on 127.0.0.1:{port}");
    let why = if error.is_builder() {
        format!("{SESSION_TOKEN} cannot be sent as the {TOKEN_HEADER} header (is it one line of visible text?)")
    } else if error.is_connect() {
        format!("cannot reach {extension} (is its layer added?)")
    } else if error.is_timeout() {
        format!(
            "{extension} did not answer within {} s",
            REQUEST_TIMEOUT.as_secs()
        )
    } else {
        format!("{extension} was reached, but its answer broke off")
    };
    problem(secret, format!("{why}: {}", crate::http::describe(error)))
}

/// The error for an answer other than 2xx: the AWS error code when the body
/// carries one (`{"__type": "ResourceNotFoundException", …}`), with advice.
fn refusal(secret: &str, status: reqwest::StatusCode, body: &str) -> ConfigError {
    let code = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|body| {
            body.get("__type")
                .or_else(|| body.get("code"))
                .and_then(Value::as_str)
                .map(|code| code.rsplit('#').next().unwrap_or(code).to_owned())
        })
        .unwrap_or_default();
    let advice = if code.contains("ResourceNotFound") || status.as_u16() == 404 {
        "it does not exist: check EXH_TASK_SECRET_ID and the function's region"
    } else if code.contains("AccessDenied") || status.as_u16() == 403 {
        "access denied: allow the function's role secretsmanager:GetSecretValue on it \
         (and kms:Decrypt for a customer managed key)"
    } else if status.as_u16() == 401 {
        "the extension refused the session token"
    } else {
        "the extension could not read it"
    };
    let code = if code.is_empty() {
        String::new()
    } else {
        format!(", {}", shortened(&code))
    };
    problem(secret, format!("{advice} (HTTP {}{code})", status.as_u16()))
}

fn problem(secret: &str, problem: String) -> ConfigError {
    ConfigError {
        variable: SECRET_ID,
        problem: format!("secret {secret:?}: {problem}"),
    }
}

/// At most 64 characters of text quoted from outside.
fn shortened(text: &str) -> std::borrow::Cow<'_, str> {
    crate::error::shortened(text, 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! refused {
        ($($name:ident: $text:expr => $says:expr;)*) => {$(
            #[test]
            fn $name() {
                let error = SecretValues::parse("my-secret", $text).unwrap_err();
                assert_eq!(error.variable, SECRET_ID);
                let message = error.to_string();
                assert!(message.contains("\"my-secret\""), "{message}");
                assert!(message.contains($says), "{message:?} does not say {:?}", $says);
                assert!(!message.contains("hunter2"), "{message} shows a value");
            }
        )*};
    }

    refused! {
        malformed_json_is_refused_with_its_position_but_not_its_text:
            r#"{"HEXONET_PASSWORD": "hunter2""# => "not JSON (line 1";
        a_string_instead_of_an_object_is_refused_without_quoting_it:
            r#""hunter2""# => "a string, not a JSON object";
        an_unknown_key_is_refused_by_name:
            r#"{"HEXONET_PASWORD": "hunter2"}"# => "key \"HEXONET_PASWORD\" is not a variable";
        a_key_given_twice_is_refused_by_name:
            r#"{"HEXONET_PASSWORD": "hunter2", "HEXONET_LOGIN": "me", "HEXONET_PASSWORD": "x"}"# => "key \"HEXONET_PASSWORD\" is given twice";
        a_value_that_is_not_a_string_is_refused_by_key:
            r#"{"HEXONET_PASSWORD": ["hunter2"]}"# => "key HEXONET_PASSWORD holds an array";
    }

    #[test]
    fn known_keys_are_read_and_debug_shows_only_their_names() {
        let values = SecretValues::parse(
            "s",
            r#"{"HEXONET_PASSWORD": "hunter2", "API_OAUTH_TOKEN": "t0ken"}"#,
        )
        .unwrap();
        assert_eq!(values.names(), ["HEXONET_PASSWORD", "API_OAUTH_TOKEN"]);
        assert_eq!(values.get("HEXONET_PASSWORD").unwrap().expose(), "hunter2");
        assert_eq!(
            format!("{values:?}"),
            r#"["HEXONET_PASSWORD", "API_OAUTH_TOKEN"]"#
        );
    }

    #[tokio::test]
    async fn without_a_secret_id_the_lookup_is_the_environment_alone() {
        let lookup = overlay(|name| (name == "HEXONET_LOGIN").then(|| "me".to_owned()))
            .await
            .unwrap();
        assert_eq!(lookup("HEXONET_LOGIN").as_deref(), Some("me"));
        assert_eq!(lookup("HEXONET_PASSWORD"), None);
    }

    #[tokio::test]
    async fn a_secret_id_without_a_session_token_is_refused_before_any_request() {
        let error = overlay(|name| (name == SECRET_ID).then(|| "s".to_owned()))
            .await
            .err()
            .unwrap();
        assert!(error.to_string().contains("AWS_SESSION_TOKEN"), "{error}");
    }

    #[test]
    fn an_aws_error_code_is_named_with_advice() {
        let error = refusal(
            "s",
            reqwest::StatusCode::BAD_REQUEST,
            r#"{"__type": "com.amazonaws#AccessDeniedException", "message": "User: arn:… is not authorized"}"#,
        );
        assert_eq!(
            error.to_string(),
            "EXH_TASK_SECRET_ID: secret \"s\": access denied: allow the function's role \
             secretsmanager:GetSecretValue on it (and kms:Decrypt for a customer managed key) \
             (HTTP 400, AccessDeniedException)"
        );
    }
}
