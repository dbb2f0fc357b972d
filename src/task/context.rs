//! What a task's handler gets beside its event: the shared clients, ready,
//! and the invocation's deadline, which bounds every call made through them.
//!
//! [`Context::exh`] and [`Context::hexonet`] are thin typed layers over
//! [`exh::Client::send`] and [`hexonet::Client::send`] (through
//! [`Handler::send_exh`] and [`Handler::send_hexonet`], so the allow-lists
//! apply as to any invoker's request): the same OAuth1 signing, retries,
//! paging, sessions, deadlines and errors as `bootstrap`'s requests.

use crate::allow_list::Caller;
use crate::error::Error;
use crate::exh;
use crate::handler::{instant_of_epoch_ms, Handler};
use crate::hexonet::{self, Command, Options};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;

/// One invocation's context: the ready clients and the deadline.
/// Cheap to clone.
///
/// # Example
/// A test that calls a handler directly, against the sandbox:
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use exh_task::{config::Config, task::Context, Handler};
/// let config = Config::from_env()?;
/// let handler = Handler::new(config, exh_task::http::client()?);
/// let ctx = Context::with_timeout(handler, std::time::Duration::from_secs(10));
/// let me: serde_json::Value = ctx.exh().get("/users/v1/me").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Context {
    handler: Handler,
    lambda: lambda_runtime::Context,
    deadline: Instant,
}

impl Context {
    /// The context of the invocation Lambda describes in `lambda`, its
    /// deadline taken from it (less [`crate::handler::DEADLINE_MARGIN`]).
    pub fn new(handler: Handler, lambda: lambda_runtime::Context) -> Context {
        let deadline = instant_of_epoch_ms(lambda.deadline);
        Context {
            handler,
            lambda,
            deadline,
        }
    }

    /// A context with `timeout` left from now and an empty Lambda context:
    /// for tests that call a handler directly.
    pub fn with_timeout(handler: Handler, timeout: Duration) -> Context {
        Context {
            handler,
            lambda: lambda_runtime::Context::default(),
            deadline: Instant::now() + timeout,
        }
    }

    /// The Extra Horizon side.
    pub fn exh(&self) -> Exh<'_> {
        Exh { ctx: self }
    }

    /// The HEXONET / CentralNic side.
    pub fn hexonet(&self) -> Hexonet<'_> {
        Hexonet { ctx: self }
    }

    /// The handler `bootstrap` runs: requests as events describe them.
    pub fn handler(&self) -> &Handler {
        &self.handler
    }

    /// What Lambda says of the invocation: request id, function ARN, …
    /// (the ARN empty if the Runtime API sent none).
    pub fn lambda(&self) -> &lambda_runtime::Context {
        &self.lambda
    }

    /// When the calls made through this context must be done by.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// The Extra Horizon side of a [`Context`].
#[derive(Clone, Copy)]
pub struct Exh<'a> {
    ctx: &'a Context,
}

impl<'a> Exh<'a> {
    /// A call of `method` (any case: `GET`, `POST`, …) on `path`, a path on
    /// `API_HOST`; [`ExhCall`] adds RQL, query, body and paging.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let emails: exh_task::task::List<serde_json::Value> = ctx
    ///     .exh()
    ///     .call("GET", "/users/v1/")
    ///     .rql("select(id,email)")
    ///     .all_pages()
    ///     .fetch()
    ///     .await?;
    /// println!("{} users", emails.data.len());
    /// # Ok(()) }
    /// ```
    pub fn call(self, method: &str, path: &str) -> ExhCall<'a> {
        ExhCall {
            ctx: self.ctx,
            request: exh::Request {
                method: Some(method.to_owned()),
                path: Some(path.to_owned()),
                ..exh::Request::default()
            },
            unserialisable: None,
        }
    }

    /// `GET path`, the 2xx answer's body read as `T`.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Me { email: String }
    /// let me: Me = ctx.exh().get("/users/v1/me").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get<T: DeserializeOwned>(self, path: &str) -> Result<T, Error> {
        self.call("GET", path).fetch().await
    }

    /// `POST path` with `body` as JSON, the 2xx answer's body read as `T`.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let created: serde_json::Value = ctx
    ///     .exh()
    ///     .post("/data/v1/blood-pressure/documents", &serde_json::json!({"systolic": 120}))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn post<T: DeserializeOwned>(
        self,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<T, Error> {
        self.call("POST", path).json(body).fetch().await
    }

    /// `PUT path` with `body` as JSON, the 2xx answer's body read as `T`.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let path = "/data/v1/domain-checks/documents/5f5e1a10000000000000d001";
    /// let _: serde_json::Value = ctx.exh().put(path, &serde_json::json!({"checked": true})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put<T: DeserializeOwned>(
        self,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<T, Error> {
        self.call("PUT", path).json(body).fetch().await
    }

    /// `DELETE path`, the 2xx answer's body read as `T`; never retried.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let path = "/data/v1/blood-pressure/documents/5f5e10005ae1b0c0e3000000";
    /// let _: serde_json::Value = ctx.exh().delete(path).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete<T: DeserializeOwned>(self, path: &str) -> Result<T, Error> {
        self.call("DELETE", path).fetch().await
    }

    /// Sends a request as an event's `exh` describes one; any status is an
    /// answer.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let answer = ctx.exh().send(&exh_task::exh::Request::default()).await?;
    /// assert_eq!(answer.status, 200);
    /// # Ok(()) }
    /// ```
    pub async fn send(self, request: &exh::Request) -> Result<exh::Answer, Error> {
        let prepared = request.prepare()?;
        self.ctx
            .handler
            .send_exh(&prepared, Caller::Invoker, self.ctx.deadline)
            .await
    }

    /// The shared client itself, for [`exh::Client::send`] with a deadline
    /// of your own; `MissingConfig` when `API_*` is not all set.
    ///
    /// # Example
    /// ```no_run
    /// # fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// println!("calling {}", ctx.exh().client()?.host().as_str());
    /// # Ok(()) }
    /// ```
    pub fn client(self) -> Result<&'a exh::Client, Error> {
        self.ctx.handler.exh_client()
    }
}

/// One Extra Horizon call being described; nothing is sent before
/// [`ExhCall::send`] or [`ExhCall::fetch`].
pub struct ExhCall<'a> {
    ctx: &'a Context,
    request: exh::Request,
    /// Why a query value or the body could not be made JSON, told on send.
    unserialisable: Option<String>,
}

impl ExhCall<'_> {
    /// Adds RQL, put straight after the `?` (`select(id,email)&limit(10)`);
    /// a second call adds more clauses.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let first: exh_task::task::List<serde_json::Value> =
    ///     ctx.exh().call("GET", "/users/v1/").rql("limit(1)").fetch().await?;
    /// # Ok(()) }
    /// ```
    pub fn rql(mut self, rql: &str) -> Self {
        self.request.rql = Some(match self.request.rql.take() {
            Some(earlier) => format!("{earlier}&{rql}"),
            None => rql.to_owned(),
        });
        self
    }

    /// Adds a query pair; an array repeats the key, `None` leaves it out.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let answer = ctx.exh().call("GET", "/data/v1/blood-pressure/documents")
    ///     .query("tag", ["a", "b"]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn query(mut self, name: &str, value: impl Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => {
                self.request.query.insert(name.to_owned(), value);
            }
            Err(error) => self.unserialisable = Some(format!("query {name:?}: {error}")),
        }
        self
    }

    /// Sends `body` as JSON (`POST`, `PUT`, `PATCH`).
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let answer = ctx.exh().call("PATCH", "/users/v1/me")
    ///     .json(&serde_json::json!({"language": "NL"})).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn json(mut self, body: &(impl Serialize + ?Sized)) -> Self {
        match serde_json::to_value(body) {
            Ok(body) => self.request.body = Some(body),
            Err(error) => self.unserialisable = Some(format!("body: {error}")),
        }
        self
    }

    /// Fetches every page of a list answer (`GET`), merged into `data`.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let users: exh_task::task::List<serde_json::Value> =
    ///     ctx.exh().call("GET", "/users/v1/").all_pages().fetch().await?;
    /// assert_eq!(users.page.total as usize, users.data.len());
    /// # Ok(()) }
    /// ```
    pub fn all_pages(mut self) -> Self {
        self.request.all_pages = true;
        self
    }

    /// Sends the call; any status is an answer.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let answer = ctx.exh().call("GET", "/users/v1/nobody").send().await?;
    /// if answer.status == 404 { println!("no such user"); }
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<exh::Answer, Error> {
        if let Some(reason) = self.unserialisable {
            return Err(Error::InvalidEvent(format!(
                "exh: the {reason} is not JSON"
            )));
        }
        self.ctx.exh().send(&self.request).await
    }

    /// Sends the call and reads a 2xx answer's body as `T`; any other
    /// status, or a body that is not a `T`, is `InvalidResponse` (use
    /// [`ExhCall::send`] to read every status).
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// let me: serde_json::Value = ctx.exh().call("GET", "/users/v1/me").fetch().await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetch<T: DeserializeOwned>(self) -> Result<T, Error> {
        let what = format!(
            "Extra Horizon {} {}",
            self.request
                .method
                .as_deref()
                .unwrap_or("GET")
                .to_ascii_uppercase(),
            self.request
                .path
                .as_deref()
                .unwrap_or(exh::request::DEFAULT_PATH)
        );
        typed(self.send().await?, &what)
    }
}

/// An Extra Horizon list answer: `{"page": {"total", "offset", "limit"}, "data": [...]}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct List<T> {
    /// Where this page sits in the whole list.
    pub page: ListPage,
    /// The items.
    pub data: Vec<T>,
}

/// The page figures of a [`List`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct ListPage {
    /// Items in the whole list.
    pub total: u64,
    /// The first item's index.
    pub offset: u64,
    /// Items per page (all of them, after `all_pages`).
    pub limit: u64,
}

/// A 2xx answer's body as `T`; a path without its query says which call.
fn typed<T: DeserializeOwned>(answer: exh::Answer, what: &str) -> Result<T, Error> {
    if !answer.is_ok() {
        let body = &answer.body;
        let reason = match (body["code"].as_i64(), body["name"].as_str()) {
            (Some(code), Some(name)) => format!(" ({code} {name})"),
            _ => String::new(),
        };
        return Err(Error::InvalidResponse(format!(
            "{what}: answered {}{reason}, not the 2xx a typed answer needs",
            answer.status
        )));
    }
    serde_json::from_value(answer.body).map_err(|error| {
        Error::InvalidResponse(format!(
            "{what}: the answer is not the type asked for: {error}"
        ))
    })
}

/// The HEXONET / CentralNic side of a [`Context`].
#[derive(Clone, Copy)]
pub struct Hexonet<'a> {
    ctx: &'a Context,
}

impl<'a> Hexonet<'a> {
    /// Sends `command` with the account's credentials and returns the
    /// parsed response, whatever its code (see
    /// [`hexonet::Response::is_success`]).
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// use exh_task::hexonet_command;
    /// let response = ctx.hexonet()
    ///     .command(hexonet_command! { COMMAND: "CheckDomains", DOMAIN: ["a.com", "b.net"] }?)
    ///     .await?;
    /// for check in response.column("DOMAINCHECK").unwrap_or_default() {
    ///     println!("{check}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn command(self, command: Command) -> Result<hexonet::Response, Error> {
        self.call(command).send().await
    }

    /// A call of `command`; [`HexonetCall`] adds paging, the session and
    /// the subuser view.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// use exh_task::hexonet_command;
    /// let domains = ctx.hexonet()
    ///     .call(hexonet_command! { COMMAND: "QueryDomainList", LIMIT: 100 }?)
    ///     .all_pages()
    ///     .send()
    ///     .await?;
    /// println!("{} domains", domains.records().len());
    /// # Ok(()) }
    /// ```
    pub fn call(self, command: Command) -> HexonetCall<'a> {
        HexonetCall {
            ctx: self.ctx,
            command,
            options: Options::default(),
            all_pages: false,
        }
    }

    /// The shared client itself, for [`hexonet::Client::send`] with a
    /// deadline of your own; `MissingConfig` when `HEXONET_*` is not all set.
    ///
    /// # Example
    /// ```no_run
    /// # fn run(ctx: exh_task::task::Context) -> Result<(), exh_task::Error> {
    /// println!("HEXONET at {:?}", ctx.hexonet().client()?.endpoint().system);
    /// # Ok(()) }
    /// ```
    pub fn client(self) -> Result<&'a hexonet::Client, Error> {
        self.ctx.handler.hexonet_client()
    }
}

/// One HEXONET call being described; nothing is sent before
/// [`HexonetCall::send`].
pub struct HexonetCall<'a> {
    ctx: &'a Context,
    command: Command,
    options: Options,
    all_pages: bool,
}

impl HexonetCall<'_> {
    /// Fetches every page of a list command, merged in order (as the SDK's
    /// `requestAllResponsePages`, from `FIRST=0`).
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context, command: exh_task::hexonet::Command) -> Result<(), exh_task::Error> {
    /// let all = ctx.hexonet().call(command).all_pages().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn all_pages(mut self) -> Self {
        self.all_pages = true;
        self
    }

    /// Sends inside the session the client keeps across warm invocations.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context, command: exh_task::hexonet::Command) -> Result<(), exh_task::Error> {
    /// let response = ctx.hexonet().call(command).session().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn session(mut self) -> Self {
        self.options.session = true;
        self
    }

    /// Sends in `subuser`'s view (`s_user`); `""` is the account's own.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context, command: exh_task::hexonet::Command) -> Result<(), exh_task::Error> {
    /// let response = ctx.hexonet().call(command).subuser("reseller1").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn subuser(mut self, subuser: &str) -> Self {
        self.options.subuser = Some(subuser.to_owned());
        self
    }

    /// Sends the call; any code is an answer.
    ///
    /// # Example
    /// ```no_run
    /// # async fn run(ctx: exh_task::task::Context, command: exh_task::hexonet::Command) -> Result<(), exh_task::Error> {
    /// let response = ctx.hexonet().call(command).send().await?;
    /// println!("{} {}", response.code(), response.description());
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<hexonet::Response, Error> {
        let prepared = hexonet::Prepared::new(self.command, self.options, self.all_pages)?;
        self.ctx
            .handler
            .send_hexonet(&prepared, Caller::Invoker, self.ctx.deadline)
            .await
    }
}

/// Builds a [`hexonet::Command`] from `NAME: value` pairs, as the SDK's
/// `cl.request({...})` takes them: names upper-cased, arrays expanded to
/// `NAME0, NAME1, …`, `None` dropped (see [`hexonet::Command`] for every
/// rule). Evaluates to `Result<Command, hexonet::Error>`; a value that is
/// an object (or cannot be made JSON) is refused.
///
/// # Example
/// ```
/// use exh_task::hexonet_command;
/// let domains = vec!["a.com".to_owned(), "b.net".to_owned()];
/// let command = hexonet_command! { COMMAND: "CheckDomains", DOMAIN: domains }.unwrap();
/// assert_eq!(command.plain(), "COMMAND=CheckDomains\nDOMAIN0=a.com\nDOMAIN1=b.net");
/// ```
#[macro_export]
macro_rules! hexonet_command {
    ($($name:ident : $value:expr),+ $(,)?) => {{
        let mut params = $crate::task::__private::Map::new();
        $(
            params.insert(
                ::core::stringify!($name).to_owned(),
                $crate::task::__private::parameter(&$value),
            );
        )+
        $crate::hexonet::Command::from_map(&params)
    }};
}

/// What [`hexonet_command!`] expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json::Map;
    use serde_json::Value;

    /// A parameter's value as JSON; one that cannot be made JSON becomes an
    /// object, which the command refuses by name.
    pub fn parameter(value: &(impl serde::Serialize + ?Sized)) -> Value {
        serde_json::to_value(value).unwrap_or_else(|_| Value::Object(Map::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn answer(status: u16, body: Value) -> exh::Answer {
        exh::Answer { status, body }
    }

    #[test]
    fn a_typed_answer_reads_a_list() {
        let body = json!({"page": {"total": 1, "offset": 0, "limit": 20}, "data": [{"id": "a"}]});
        let list: List<Value> = typed(answer(200, body), "GET /x").unwrap();
        assert_eq!(list.page.total, 1);
        assert_eq!(list.data, [json!({"id": "a"})]);
    }

    #[test]
    fn a_status_outside_2xx_is_an_invalid_response_naming_the_exh_error() {
        let body = json!({"code": 16, "name": "RESOURCE_UNKNOWN_EXCEPTION", "message": "gone"});
        let error = typed::<Value>(answer(404, body), "Extra Horizon GET /x").unwrap_err();
        assert_eq!(error.error_type(), "InvalidResponse");
        assert_eq!(
            error.to_string(),
            "invalid response: Extra Horizon GET /x: answered 404 (16 RESOURCE_UNKNOWN_EXCEPTION), \
             not the 2xx a typed answer needs"
        );
    }

    #[test]
    fn a_body_of_another_shape_is_an_invalid_response() {
        let error = typed::<List<Value>>(answer(200, json!({"id": "a"})), "GET /x").unwrap_err();
        assert_eq!(error.error_type(), "InvalidResponse");
        assert!(
            error.to_string().contains("missing field `page`"),
            "{error}"
        );
    }

    #[test]
    fn the_macro_builds_the_command_the_sdk_would_send() {
        let command = crate::hexonet_command! {
            command: "QueryDomainList", LIMIT: 5, WIDE: true, ORDERBY: None::<String>,
        }
        .unwrap();
        assert_eq!(command.plain(), "COMMAND=QueryDomainList\nLIMIT=5\nWIDE=1");
    }

    #[test]
    fn the_macro_refuses_a_nested_object() {
        let error = crate::hexonet_command! { COMMAND: "AddDomain", CONTACT: json!({"a": 1}) };
        assert!(error.is_err());
    }

    #[test]
    fn the_context_can_serve_concurrent_workers() {
        fn assert_worker_safe<T: Clone + Send + Sync + 'static>() {}
        assert_worker_safe::<Context>();
    }
}
