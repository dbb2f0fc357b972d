//! Injected faults: the sandbox answering as a hostile or broken upstream
//! would, so that timeouts, caps, retries and redirects can be reproduced
//! by tests and by hand (`exh-task sandbox --fault SPEC`).
//!
//! # Syntax
//! `KIND[=VALUE][@N]`; with `@N` only every Nth request (the Nth, the
//! 2Nth, …) gets the fault and the others are served as usual.
//!
//! | spec | the answer |
//! | --- | --- |
//! | `latency=250ms` | the usual answer, after the delay (`ms` or `s`) |
//! | `reset` | the connection closes before any byte of the body |
//! | `truncate` | the usual answer's headers and half of its body, then the connection closes |
//! | `drip=20ms` | the usual answer, one byte per delay |
//! | `endless` | `200`, a chunked JSON body that never ends |
//! | `huge=200MB` | `200` announcing and sending that many bytes (`B`, `KB`, `MB`, `GB`; default 200MB) |
//! | `status=503` | that status, with an Extra Horizon error body |
//! | `retry-after=2` | `429` with `Retry-After: 2` (seconds or an HTTP date, sent as given) |
//! | `redirect=302:http://127.0.0.1:9/x` | that 3xx status with `Location` (default `301:http://127.0.0.1:9/`) |
//! | `garbage` | `200` with a body that is neither a HEXONET response nor the JSON it announces |
//!
//! Faults apply to the Extra Horizon and the HEXONET routes alike (and to
//! the [secrets extension](crate::secrets_extension)'s), before
//! the emulation sees the request (except `latency`, `truncate` and `drip`,
//! which pass it on), so a faulted request is recorded only when it is
//! passed on.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::stream::{self, StreamExt};

use super::lock;

/// One injected fault and which requests get it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What the faulted requests are answered with.
    pub kind: FaultKind,
    /// Every how many requests one is faulted: 1 (the default) is every one.
    pub every: u64,
}

/// What a faulted request is answered with; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The usual answer, this much later.
    Latency(Duration),
    /// The connection closes before any byte of the body.
    Reset,
    /// Half of the usual body, then the connection closes.
    Truncate,
    /// The usual answer, one byte per this delay.
    Drip(Duration),
    /// A chunked body that never ends.
    Endless,
    /// A body of this many bytes, announced in `Content-Length`.
    Huge(u64),
    /// This status, with an Extra Horizon error body.
    Status(u16),
    /// `429` with this `Retry-After` value.
    RetryAfter(String),
    /// This 3xx status, with this `Location`.
    Redirect {
        /// The status, 300–399.
        status: u16,
        /// Where the redirect points.
        location: String,
    },
    /// A body that is neither a HEXONET response nor JSON.
    Garbage,
}

/// Why a fault spec cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFaultError(String);

impl fmt::Display for ParseFaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for ParseFaultError {}

impl FromStr for Fault {
    type Err = ParseFaultError;

    fn from_str(spec: &str) -> Result<Fault, ParseFaultError> {
        let bad = |why: &str| ParseFaultError(format!("fault {spec:?}: {why}"));
        let (rest, every) = match spec.rsplit_once('@') {
            Some((rest, every)) => match every.parse::<u64>() {
                Ok(every) if every > 0 => (rest, every),
                _ => return Err(bad("@N needs a whole number above 0")),
            },
            None => (spec, 1),
        };
        let (name, value) = match rest.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (rest, None),
        };
        let kind =
            match (name, value) {
                ("latency", Some(value)) => FaultKind::Latency(
                    duration(value).ok_or_else(|| bad("a delay is 250ms or 2s"))?,
                ),
                ("drip", Some(value)) => {
                    FaultKind::Drip(duration(value).ok_or_else(|| bad("a delay is 20ms or 1s"))?)
                }
                ("reset", None) => FaultKind::Reset,
                ("truncate", None) => FaultKind::Truncate,
                ("endless", None) => FaultKind::Endless,
                ("huge", None) => FaultKind::Huge(200 * 1024 * 1024),
                ("huge", Some(value)) => FaultKind::Huge(
                    size(value).ok_or_else(|| bad("a size is 200MB, 64KB or 100B"))?,
                ),
                ("status", Some(value)) => match value.parse::<u16>() {
                    Ok(status) if StatusCode::from_u16(status).is_ok() => FaultKind::Status(status),
                    _ => return Err(bad("a status is a number such as 503")),
                },
                ("retry-after", Some(value)) if HeaderValue::from_str(value).is_ok() => {
                    FaultKind::RetryAfter(value.to_owned())
                }
                ("redirect", value) => {
                    let (status, location) = value
                        .unwrap_or("301:http://127.0.0.1:9/")
                        .split_once(':')
                        .ok_or_else(|| bad("a redirect is STATUS:LOCATION"))?;
                    match status.parse::<u16>() {
                        Ok(status @ 300..=399)
                            if !location.is_empty() && HeaderValue::from_str(location).is_ok() =>
                        {
                            FaultKind::Redirect {
                                status,
                                location: location.to_owned(),
                            }
                        }
                        _ => {
                            return Err(bad(
                                "a redirect is STATUS:LOCATION, STATUS 300-399 and a location",
                            ))
                        }
                    }
                }
                ("garbage", None) => FaultKind::Garbage,
                _ => return Err(bad(
                    "expected latency=D, reset, truncate, drip=D, endless, huge[=SIZE], status=N, \
                 retry-after=V, redirect[=STATUS:LOCATION] or garbage, then optionally @N",
                )),
            };
        Ok(Fault { kind, every })
    }
}

/// `250ms` or `2s`.
fn duration(value: &str) -> Option<Duration> {
    if let Some(ms) = value.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    value
        .strip_suffix('s')?
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// `200MB`, `64KB`, `1GB` or `100B` (binary units).
fn size(value: &str) -> Option<u64> {
    let units = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)];
    let (number, unit) = units
        .iter()
        .find_map(|(suffix, unit)| Some((value.strip_suffix(suffix)?, *unit)))?;
    number.parse::<u64>().ok()?.checked_mul(unit)
}

/// The fault in force, shared by the server and whoever changes it (a test
/// between two invocations). Clones share it.
#[derive(Clone, Debug, Default)]
pub struct FaultSwitch(Arc<SwitchState>);

#[derive(Debug, Default)]
struct SwitchState {
    fault: Mutex<Option<Fault>>,
    requests: AtomicU64,
}

impl FaultSwitch {
    /// A switch set to `fault`.
    pub fn new(fault: Option<Fault>) -> FaultSwitch {
        let switch = FaultSwitch::default();
        switch.set(fault);
        switch
    }

    /// Puts `fault` in force (`None`: serve as usual), counting requests
    /// for `@N` afresh.
    pub fn set(&self, fault: Option<Fault>) {
        *lock(&self.0.fault) = fault;
        self.0.requests.store(0, Ordering::SeqCst);
    }

    /// The requests that reached the switch since the fault was last set,
    /// faulted or not.
    pub fn requests(&self) -> u64 {
        self.0.requests.load(Ordering::SeqCst)
    }

    /// The fault for the next request, if it gets one.
    fn next(&self) -> Option<FaultKind> {
        let n = self.0.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let fault = lock(&self.0.fault).clone()?;
        n.is_multiple_of(fault.every).then_some(fault.kind)
    }
}

/// `router` with the faults of `switch` applied to every route.
pub fn layer(router: Router, switch: FaultSwitch) -> Router {
    router.layer(middleware::from_fn_with_state(switch, inject))
}

async fn inject(State(switch): State<FaultSwitch>, request: Request, next: Next) -> Response {
    let Some(kind) = switch.next() else {
        return next.run(request).await;
    };
    match kind {
        FaultKind::Latency(delay) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        FaultKind::Truncate => {
            let (parts, body) = usual(request, next).await;
            let half = body.slice(..body.len() / 2);
            let length = body.len().max(1).to_string();
            let mut response = Response::from_parts(parts, broken_after(vec![half]));
            set(&mut response, header::CONTENT_LENGTH, &length);
            response
        }
        FaultKind::Drip(delay) => {
            let (parts, body) = usual(request, next).await;
            let bytes = stream::iter(0..body.len()).then(move |i| {
                let byte = body.slice(i..i + 1);
                async move {
                    tokio::time::sleep(delay).await;
                    Ok::<_, std::io::Error>(byte)
                }
            });
            Response::from_parts(parts, Body::from_stream(bytes))
        }
        FaultKind::Reset => {
            let mut response = Response::new(broken_after(Vec::new()));
            set(&mut response, header::CONTENT_LENGTH, "64");
            response
        }
        FaultKind::Endless => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let body = stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            json(StatusCode::OK, Body::from_stream(body))
        }
        FaultKind::Huge(length) => {
            const CHUNK: u64 = 64 * 1024;
            let chunk = Bytes::from(vec![b' '; CHUNK as usize]);
            let body = stream::iter((0..length).step_by(CHUNK as usize)).map(move |start| {
                Ok::<_, std::io::Error>(chunk.slice(..(length - start).min(CHUNK) as usize))
            });
            let mut response = json(StatusCode::OK, Body::from_stream(body));
            set(&mut response, header::CONTENT_LENGTH, &length.to_string());
            response
        }
        FaultKind::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            json(status, error_body(status))
        }
        FaultKind::RetryAfter(value) => {
            let mut response = json(
                StatusCode::TOO_MANY_REQUESTS,
                error_body(StatusCode::TOO_MANY_REQUESTS),
            );
            set(&mut response, header::RETRY_AFTER, &value);
            response
        }
        FaultKind::Redirect { status, location } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::MOVED_PERMANENTLY);
            let mut response = (status, "redirected").into_response();
            set(&mut response, header::LOCATION, &location);
            response
        }
        FaultKind::Garbage => json(StatusCode::OK, Body::from("<html>not an API answer</html>")),
    }
}

/// The emulation's own answer, its body read whole.
async fn usual(request: Request, next: Next) -> (axum::http::response::Parts, Bytes) {
    let (parts, body) = next.run(request).await.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    (parts, body)
}

/// A body of `chunks` whose stream then fails, so the server drops the
/// connection mid-answer.
fn broken_after(chunks: Vec<Bytes>) -> Body {
    let chunks = stream::iter(chunks.into_iter().map(Ok));
    let failure = stream::once(async { Err(std::io::Error::other("injected connection reset")) });
    Body::from_stream(chunks.chain(failure))
}

fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = (status, body.into()).into_response();
    set(&mut response, header::CONTENT_TYPE, "application/json");
    response
}

fn error_body(status: StatusCode) -> String {
    format!(
        r#"{{"code":{},"name":"SANDBOX_INJECTED_FAULT","message":"the sandbox was asked to answer {status}"}}"#,
        status.as_u16()
    )
}

fn set(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! specs {
        ($($name:ident: $spec:literal => $kind:expr, $every:literal;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!($spec.parse::<Fault>(), Ok(Fault { kind: $kind, every: $every }));
            }
        )*};
    }

    specs! {
        latency_takes_milliseconds: "latency=250ms" => FaultKind::Latency(Duration::from_millis(250)), 1;
        drip_takes_seconds: "drip=1s" => FaultKind::Drip(Duration::from_secs(1)), 1;
        reset_every_third_request: "reset@3" => FaultKind::Reset, 3;
        huge_defaults_to_200_mb: "huge" => FaultKind::Huge(200 << 20), 1;
        huge_takes_a_size: "huge=64KB" => FaultKind::Huge(64 << 10), 1;
        status_takes_a_code: "status=503@2" => FaultKind::Status(503), 2;
        retry_after_is_sent_as_given: "retry-after=999999999" => FaultKind::RetryAfter("999999999".into()), 1;
        redirect_takes_a_status_and_location: "redirect=307:http://127.0.0.1:1/x" =>
            FaultKind::Redirect { status: 307, location: "http://127.0.0.1:1/x".into() }, 1;
        garbage_needs_no_value: "garbage" => FaultKind::Garbage, 1;
    }

    #[test]
    fn unknown_or_malformed_specs_are_refused() {
        for spec in [
            "",
            "explode",
            "latency",
            "latency=fast",
            "status=abc",
            "redirect=200:x",
            "redirect=302:",
            "reset@0",
        ] {
            assert!(spec.parse::<Fault>().is_err(), "{spec} was accepted");
        }
    }

    #[test]
    fn a_fault_every_nth_request_spares_the_others() {
        let switch = FaultSwitch::new(Some("reset@3".parse().unwrap()));
        let faulted: Vec<bool> = (0..6).map(|_| switch.next().is_some()).collect();
        assert_eq!(faulted, [false, false, true, false, false, true]);
        switch.set(None);
        assert!(switch.next().is_none());
    }
}
