//! The Extra Horizon client: signs, sends, retries and pages.

use super::oauth1::authorization;
use super::request::Prepared;
use super::ApiHost;
use crate::answer_memory::{AnswerMemory, Held, Unread};
use crate::config::{ExhConfig, OAuth1Credentials};
use crate::error::Error;
use crate::http::{Failure, Received, Upstream};
use crate::limits::{check_pages, BodyBudget, Spent, MAX_ITEMS};
use crate::mask::{self, Redactor};
use crate::retry::{retrying, Attempt};
use crate::telemetry::{self, Side};
use futures::StreamExt;
use reqwest::{header, Method, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::time::Instant;
use url::Url;

pub use crate::http::PAGE_CONCURRENCY;

/// An Extra Horizon client. Cheap to clone: clones share one connection pool.
///
/// # Example
/// ```no_run
/// # async fn run() -> Result<(), exh_task::Error> {
/// use exh_task::{config::Config, exh};
/// let config = Config::from_env().expect("valid configuration");
/// let client = exh::Client::new(exh_task::http::client().unwrap(), config.exh()?.clone(), false);
/// let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
/// let answer = client.send(&exh::Request::default().prepare()?, deadline).await?;
/// println!("{} {}", answer.status, answer.body);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: Upstream,
    host: ApiHost,
    credentials: OAuth1Credentials,
    redactor: Redactor,
    debug: bool,
}

/// Extra Horizon's answer: the HTTP status and the body (JSON, or text when
/// the body is not JSON, or `null` when empty).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "ExhAnswer")]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Value,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn is_ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Client {
    /// A client for `config`'s host and credentials, sending through `http`
    /// (a bare `reqwest::Client` gets the default limits and permits of its
    /// own). With `debug`, every request and response is logged, secrets
    /// masked.
    pub fn new(http: impl Into<Upstream>, config: ExhConfig, debug: bool) -> Client {
        let redactor = Redactor::new(config.credentials.secrets());
        Client::redacting(http, config, debug, redactor)
    }

    /// [`Client::new`], masking what `redactor` knows (its own secrets
    /// among them) in its debug log and errors: the handler's, which also
    /// knows the other side's secrets, which an answer may echo.
    pub(crate) fn redacting(
        http: impl Into<Upstream>,
        config: ExhConfig,
        debug: bool,
        redactor: Redactor,
    ) -> Client {
        let credentials = config.credentials;
        Client {
            inner: Arc::new(Inner {
                http: http.into(),
                host: config.host,
                credentials,
                redactor,
                debug,
            }),
        }
    }

    /// The host this client calls.
    pub fn host(&self) -> &ApiHost {
        &self.inner.host
    }

    /// Sends a request checked by [`super::Request::prepare`], all pages of
    /// it when it asks for them.
    pub async fn send(&self, prepared: &Prepared, deadline: Instant) -> Result<Answer, Error> {
        // The answers are held by the request this call is made for (an
        // invocation's, an SQS record's), else while it is made.
        AnswerMemory::held_in_call(async {
            if prepared.all_pages {
                self.all_pages(prepared, deadline).await
            } else {
                let url = prepared.url(&self.inner.host);
                self.send_one(&prepared.method, url, prepared.body.as_ref(), deadline)
                    .await
                    .map(|(answer, _)| answer)
            }
        })
        .await
    }

    /// The first page, then the remaining ones concurrently, merged in order
    /// into the first answer's `data`. A page that is not ok is returned as
    /// the answer at once (no further page is asked for), since the merged
    /// list would be incomplete. The first page's figures are held to
    /// [`crate::limits::MAX_PAGES`] and [`MAX_ITEMS`] before any further
    /// request, and the pages' bytes together to the body cap.
    async fn all_pages(&self, request: &Prepared, deadline: Instant) -> Result<Answer, Error> {
        let host = &self.inner.host;
        let (mut first, bytes) = self
            .send_one(&Method::GET, request.url(host), None, deadline)
            .await?;
        if !first.is_ok() {
            return Ok(first);
        }
        let what = format!("Extra Horizon GET {}", request.path);
        let page = Page::take(&mut first.body)?;
        let items = page.total.saturating_sub(page.offset);
        check_pages(
            &what,
            &format!(
                "page.total {}, page.offset {}, page.limit {}",
                page.total, page.offset, page.limit
            ),
            items.div_ceil(page.limit),
            items,
        )?;
        let offsets =
            (page.offset.saturating_add(page.limit)..page.total).step_by(page.limit as usize);
        let mut rest = futures::stream::iter(offsets)
            .map(|offset| {
                let url = request.page_url(host, page.limit, offset);
                self.send_one(&Method::GET, url, None, deadline)
            })
            .buffered(PAGE_CONCURRENCY);
        telemetry::record_pages(Side::Exh, 1);
        // Each page's items are moved, not copied, into the first page's
        // list; leaving the loop early drops the pages still in flight.
        let mut items = page.data;
        let limit = self.inner.http.limits().max_body_bytes;
        let not_ok = BodyBudget::spend_in(Spent::Pages, limit, bytes, async {
            while let Some(answer) = rest.next().await {
                let (mut answer, _) = answer?;
                telemetry::record_pages(Side::Exh, 1);
                if !answer.is_ok() {
                    return Ok(Some(answer));
                }
                items.append(&mut Page::take(&mut answer.body)?.data);
                if items.len() as u64 > MAX_ITEMS {
                    return Err(Error::InvalidResponse(format!(
                        "{what} all_pages: the pages hold more than the cap of {MAX_ITEMS} items, \
                         though the first page announced {}",
                        page.total.saturating_sub(page.offset)
                    )));
                }
            }
            Ok(None)
        })
        .await?;
        if let Some(answer) = not_ok {
            return Ok(answer);
        }
        first.body["page"] =
            json!({"total": page.total, "offset": page.offset, "limit": items.len()});
        first.body["data"] = Value::Array(items);
        Ok(first)
    }

    /// One request (one page), its attempts retried when that is safe: the
    /// answer and the size of its body.
    async fn send_one(
        &self,
        method: &Method,
        url: Url,
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<(Answer, usize), Error> {
        let what = format!("Extra Horizon {method} {}", url.path());
        let idempotent = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let call = telemetry::Call::start(Side::Exh, method.as_str(), url.path());
        let result = retrying(deadline, &what, idempotent, || {
            call.attempt(self.attempt(method, &url, body, &what, deadline))
        })
        .await
        // The answers of the attempts before were dropped, and what they
        // took given back with them.
        .map(|(answer, bytes, held)| {
            held.keep();
            (answer, bytes)
        });
        call.end(result.as_ref().map(|(answer, _)| answer.status));
        result
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        what: &str,
        deadline: Instant,
    ) -> Attempt<(Answer, usize, Held)> {
        // Signed per attempt: a retry with the same nonce would be refused as
        // a replay (DUPLICATE_REQUEST_EXCEPTION).
        let authorization = authorization(method.as_str(), url, &self.inner.credentials);
        if self.inner.debug {
            tracing::info!(
                method = %method,
                url = %url,
                authorization = %mask::authorization(&authorization),
                body = %body.map(|body| mask::fields::masked(body).to_string()).unwrap_or_default(),
                "Extra Horizon request"
            );
        }
        let mut builder = self
            .inner
            .http
            .client()
            .request(method.clone(), url.clone())
            .header(header::AUTHORIZATION, authorization)
            .header(header::ACCEPT, "application/json");
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let idempotent = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let received = match self
            .inner
            .http
            .exchange(builder, deadline, what, idempotent)
            .await
        {
            Ok(received) => received,
            Err(
                failure @ (Failure::Timeout(_) | Failure::TooLarge(_) | Failure::OverBudget(_)),
            ) => return Attempt::Done(Err(failure.into_error(what))),
            Err(failure) => {
                // A connection that was never made carried nothing: safe to retry.
                let retry = idempotent || failure.nothing_sent();
                let error = failure.into_error(what);
                return if retry {
                    Attempt::Retryable(Err(error))
                } else {
                    Attempt::Done(Err(error))
                };
            }
        };
        let status = received.status;
        let bytes = received.body.len();
        let headers = received.headers.clone();
        let (answer, held) = match read_answer(received, what) {
            Ok(read) => read,
            Err(Unreadable::Garbled(error)) if idempotent => return Attempt::Retryable(Err(error)),
            Err(Unreadable::Garbled(error) | Unreadable::TooHeavy(error)) => {
                return Attempt::Done(Err(error))
            }
        };
        if self.inner.debug {
            tracing::info!(status = answer.status, body = %self.inner.redactor.redact(&mask::fields::masked(&answer.body).to_string()), "Extra Horizon response");
        }
        if status == StatusCode::UNAUTHORIZED {
            let reason = self
                .inner
                .redactor
                .redact(&describe_exh_error(&answer.body));
            let reason = crate::error::shortened(&reason, crate::error::QUOTED_CHARS);
            return Attempt::Done(Err(Error::Unauthorized(format!(
                "Extra Horizon refused the OAuth1 credentials: {reason}"
            ))));
        }
        if idempotent && (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()) {
            Attempt::retry(Ok((answer, bytes, held)), &headers)
        } else {
            Attempt::Done(Ok((answer, bytes, held)))
        }
    }
}

/// Why an answer was not read.
enum Unreadable {
    /// It is not what it announced, or not text: asking again may help.
    Garbled(Error),
    /// It would take more memory than is left: asking again would not help.
    TooHeavy(Error),
}

/// The answer `received`, and what it takes of the memory answers share.
fn read_answer(received: Received, what: &str) -> Result<(Answer, Held), Unreadable> {
    let status = received.status;
    let is_json = received
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"));
    let bytes = received.body;
    let refused = |why: &str| {
        Error::InvalidResponse(format!("{what}: answered {status} with a body that {why}"))
    };
    let garbled = |why: &str| Err(Unreadable::Garbled(refused(why)));
    let too_heavy = |why: &str| Unreadable::TooHeavy(refused(why));
    let (body, held) = if bytes.is_empty() {
        (Value::Null, Held::none())
    } else {
        match AnswerMemory::read(&bytes) {
            Ok(read) => read,
            Err(Unread::Over(why)) => return Err(too_heavy(&why)),
            Err(Unread::NotJson) if is_json && status.is_success() => {
                return garbled("is not the JSON it announced")
            }
            Err(Unread::NotJson) => {
                let Ok(text) = String::from_utf8(bytes) else {
                    return garbled("is neither JSON nor text");
                };
                let held = AnswerMemory::hold_text(text.len()).map_err(|why| too_heavy(&why))?;
                (Value::String(text), held)
            }
        }
    };
    let answer = Answer {
        status: status.as_u16(),
        body,
    };
    Ok((answer, held))
}

/// An Extra Horizon list answer: `{"page": {"total", "offset", "limit"}, "data": [...]}`.
struct Page {
    total: u64,
    offset: u64,
    limit: u64,
    data: Vec<Value>,
}

impl Page {
    /// The page figures of `body` and its items, taken out of it (`data`
    /// is left empty), so merging pages moves every item once.
    fn take(body: &mut Value) -> Result<Page, Error> {
        let figure = |name: &str| body["page"][name].as_u64();
        let figures = (figure("total"), figure("offset"), figure("limit"));
        match (figures, body.get_mut("data").and_then(Value::as_array_mut)) {
            ((Some(total), Some(offset), Some(limit)), Some(data)) if limit > 0 => Ok(Page {
                total,
                offset,
                limit,
                data: std::mem::take(data),
            }),
            _ => Err(Error::InvalidResponse(
                "all_pages needs a list answer with page.total, page.offset, page.limit > 0 and data".into(),
            )),
        }
    }
}

/// Extra Horizon's error body `{"code", "name", "message"}` in one line.
fn describe_exh_error(body: &Value) -> String {
    match (
        body["code"].as_i64(),
        body["name"].as_str(),
        body["message"].as_str(),
    ) {
        (Some(code), Some(name), Some(message)) => format!("{code} {name}: {message}"),
        (Some(code), Some(name), None) => format!("{code} {name}"),
        _ => format!(
            "401 {}",
            body.as_str()
                .unwrap_or("without an Extra Horizon error body")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exh_error_bodies_are_described_in_one_line() {
        let body = json!({"code": 109, "name": "OAUTH_SIGNATURE_EXCEPTION", "message": "Invalid signature"});
        assert_eq!(
            describe_exh_error(&body),
            "109 OAUTH_SIGNATURE_EXCEPTION: Invalid signature"
        );
        assert_eq!(describe_exh_error(&json!("nope")), "401 nope");
    }

    /// An answer of 2 MB of numbers (72 MB once read) from a hostile or
    /// broken upstream is refused before it is read: it was read whole,
    /// over half of a 128 MB function's memory.
    #[test]
    fn an_answer_that_would_take_the_memory_is_refused_before_it_is_read() {
        let received = |body: Vec<u8>| Received {
            status: StatusCode::OK,
            headers: header::HeaderMap::new(),
            body,
        };
        let numbers = format!("[0{}]", ",0".repeat(999_999)).into_bytes();
        let Err(Unreadable::TooHeavy(error)) =
            read_answer(received(numbers), "Extra Horizon GET /x")
        else {
            panic!("read, or refused as garbled");
        };
        assert_eq!(error.error_type(), "InvalidResponse");
        assert!(
            error
                .to_string()
                .contains("MB once read, half of the function's 128 MB"),
            "{error}"
        );
        let text = " ".repeat(2_000_000).into_bytes();
        let Ok((answer, _)) = read_answer(received(text), "Extra Horizon GET /x") else {
            panic!("a long text is refused");
        };
        assert!(answer.body.is_string(), "a long text is kept as text");
    }

    #[test]
    fn a_page_gives_up_its_items_and_keeps_its_figures() {
        let mut body = json!({"page": {"total": 3, "offset": 0, "limit": 2}, "data": [1, 2]});
        let page = Page::take(&mut body).unwrap();
        assert_eq!((page.total, page.offset, page.limit), (3, 0, 2));
        assert_eq!(page.data, [json!(1), json!(2)]);
        assert_eq!(body["data"], json!([]));
    }

    #[test]
    fn a_list_answer_without_page_figures_cannot_be_paged() {
        let error = Page::take(&mut json!({"data": []})).err().unwrap();
        assert_eq!(error.error_type(), "InvalidResponse");
        let error =
            Page::take(&mut json!({"page": {"total": 5, "offset": 0, "limit": 0}, "data": []}))
                .err()
                .unwrap();
        assert_eq!(error.error_type(), "InvalidResponse");
    }
}
