//! SIGTERM and SIGINT: stop taking invocations, give those in flight a
//! short grace, answer the rest, flush the logs and exit 0. A second
//! signal ends the process at once.
//!
//! Lambda sends SIGTERM to a runtime only when an extension is registered,
//! and then leaves it about 500 ms before SIGKILL. `lambda_runtime`'s
//! `spawn_graceful_shutdown_handler` registers such an extension but panics
//! when the Extensions API refuses it and ends the process with
//! `std::process::exit(0)` from its signal task, so an invocation in flight
//! gets no answer. Here the registration is best effort and the signal only
//! tells the runtime loop, which ends the invocations itself.
//!
//! Lambda takes an internal extension's registration only in the init
//! phase, before the runtime's first `/next`, so its round trip is part of
//! every cold start. To hide it, `bootstrap` sends the request before the
//! rest of start-up ([`send_registration`]: one connection, one write, no
//! wait, and a second connection opened) and reads the answer just before
//! the first `/next` ([`register_extension`]); the extension's one request
//! for its events goes out on the second connection, and the runtime's
//! first `/next` on the first: no connection is opened on the way to the
//! first invocation.

use super::endpoint::Endpoint;
use std::io::Write;
use std::net::ToSocketAddrs;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;
use tokio::time::Instant;

/// How long invocations in flight may go on after the signal before they
/// are answered with a `Timeout`: within Lambda's 500 ms, with room left
/// to post the answers and flush.
pub const GRACE: Duration = Duration::from_millis(300);

/// The name of the no-op internal extension that makes Lambda send SIGTERM.
const EXTENSION_NAME: &str = "exh-task-graceful-shutdown";

/// How long a `/next` answer already on its way may take to arrive after
/// the signal: an invocation the Runtime API handed out must be answered,
/// not dropped with the connection.
pub const IN_TRANSIT: Duration = Duration::from_millis(100);

/// Tells, once, that a shutdown signal came, and when. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<Option<Instant>>);

impl Shutdown {
    /// Listens for SIGTERM and SIGINT from now on. The first starts the
    /// shutdown; a second, once [`GRACE`] and [`IN_TRANSIT`] are over, ends
    /// the process at once, with status 128 + the signal's number (143 or
    /// 130), without waiting for the answers still being posted: a Runtime
    /// API that never takes one cannot hold the process (locally, a second
    /// Ctrl-C ends it, as it does `docker compose`). One sooner is taken for
    /// the first coming twice: a terminal's Ctrl-C reaches the whole process
    /// group, and a supervisor may pass it on as well.
    pub fn on_signals() -> std::io::Result<Shutdown> {
        let mut signals = Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        };
        let (sender, receiver) = watch::channel(None);
        tokio::spawn(async move {
            let (name, _) = signals.next().await;
            // Taken first: the grace counts from the signal, not the log line.
            let signalled = Instant::now();
            sender.send_replace(Some(signalled));
            tracing::info!(
                signal = name,
                "shutting down: no new invocations, {GRACE:?} for those in flight"
            );
            let (name, status) = loop {
                let second = signals.next().await;
                if signalled.elapsed() >= GRACE + IN_TRANSIT {
                    break second;
                }
                tracing::debug!(signal = second.0, "taken for the first signal coming twice");
            };
            tracing::warn!(
                signal = name,
                status,
                "a second signal: exiting now, without waiting for the answers still being posted"
            );
            let _ = std::io::stdout().flush();
            std::process::exit(status);
        });
        Ok(Shutdown(receiver))
    }

    /// Resolves when the signal has come (at once if it already has), with
    /// when it came.
    pub async fn started(&self) -> Instant {
        let mut receiver = self.0.clone();
        // An error means the signal task ended without the signal (the
        // tokio runtime is going away): it never comes, then.
        match receiver
            .wait_for(Option::is_some)
            .await
            .map(|signalled| *signalled)
        {
            Ok(Some(signalled)) => signalled,
            _ => std::future::pending().await,
        }
    }

    /// Whether the signal has come.
    pub fn is_started(&self) -> bool {
        self.0.borrow().is_some()
    }

    /// Resolves [`GRACE`] after the signal, however late it is asked.
    pub async fn grace_over(&self) {
        let signalled = self.started().await;
        tokio::time::sleep_until(signalled + GRACE).await;
    }
}

/// The two signals that end the function.
struct Signals {
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    /// The next of them to come: its name and the exit status it gives
    /// when it ends the process (128 + its number).
    async fn next(&mut self) -> (&'static str, i32) {
        tokio::select! {
            _ = self.terminate.recv() => ("SIGTERM", 143),
            _ = self.interrupt.recv() => ("SIGINT", 130),
        }
    }
}

/// How long the connection to the Extensions API may take to open: it is
/// local to the execution environment, so this only bounds a wrong address.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The most of the registration's answer read before its headers end.
const MAX_HEAD: usize = 16 * 1024;

/// The most headers the registration's answer may have.
const MAX_HEADERS: usize = 64;

/// How long the registration's answer and the event poll may take from
/// [`register_extension`] on: the service is local, so this bounds only a
/// service that takes the request and never answers.
const REGISTRATION_TIME: Duration = Duration::from_secs(2);

/// How long the body of the registration's answer may take after its head,
/// for the connection to be reused; a slower one is left with it.
const BODY_TIME: Duration = Duration::from_millis(100);

/// How many times the extension's request for its events is sent, when the
/// service closes its connection without an answer.
const EVENT_POLL_TRIES: usize = 3;

/// A registration sent by [`send_registration`], not yet read.
struct Sent {
    api: Endpoint,
    stream: std::io::Result<std::net::TcpStream>,
    /// A second connection, opened at the same time, for the extension's
    /// request for its events.
    spare: Option<std::net::TcpStream>,
}

/// The registration [`send_registration`] sent, for [`register_extension`].
static SENT: Mutex<Option<Sent>> = Mutex::new(None);

/// Sends the registration of the no-op internal extension to the
/// Extensions API at `AWS_LAMBDA_RUNTIME_API` now, before the rest of
/// start-up, without waiting for the answer, and opens a second connection
/// beside it: the service works on both while the function builds its
/// clients, and [`register_extension`] (which the runtime loop calls before
/// its first `/next`, as Lambda asks of internal extensions) reads the
/// answer.
///
/// Call it first thing in a `main` whose process then runs
/// [`crate::runtime::run`]: in Lambda, an extension that registered must
/// also poll for its events, or the function never gets an invocation.
/// Does nothing outside Lambda (the variable unset).
pub fn send_registration() {
    if let Some(Ok(api)) = Endpoint::from_env() {
        let stream = connect_and_send(&api, &register_request(&api));
        let spare = stream
            .is_ok()
            .then(|| connect_and_send(&api, "").ok())
            .flatten();
        *SENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some(Sent { api, stream, spare });
    }
}

/// Registers the no-op internal extension with the Extensions API at `api`
/// (or reads the answer to the registration [`send_registration`] sent)
/// and keeps polling its (empty) event stream, as Lambda asks of every
/// extension before the first invocation: with it, Lambda sends SIGTERM
/// before it ends the environment. Best effort: where no Extensions API
/// answers (local tools), shutdown is by SIGKILL, as without it.
///
/// Returns the registration's connection when it is open, idle and free
/// (the event poll went out on the second one): the Runtime API client's
/// first request can go out on it ([`super::api::RuntimeApi::adopt`]).
pub async fn register_extension(api: &Endpoint) -> Option<std::net::TcpStream> {
    let sent = SENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
        .filter(|sent| sent.api == *api);
    let (stream, spare) = match sent {
        Some(sent) => (sent.stream.and_then(nonblocking), sent.spare),
        None => (send_now(api).await, None),
    };
    let polled = tokio::time::timeout(REGISTRATION_TIME, poll_events(api, stream, spare))
        .await
        .unwrap_or_else(|_| {
            Err(Unpolled::Stranded(format!(
                "no answer to the registration within {} s",
                REGISTRATION_TIME.as_secs()
            )))
        });
    match polled {
        Ok(idle) => idle,
        Err(Unpolled::NotRegistered(reason)) => {
            tracing::debug!(%reason, "no Extensions API: no SIGTERM before shutdown");
            None
        }
        Err(Unpolled::Stranded(reason)) => {
            tracing::error!(
                %reason,
                "the extension may be registered but does not ask for its events: Lambda may \
                 not end the init phase, and sends no SIGTERM before shutdown"
            );
            None
        }
    }
}

/// Why the extension does not ask for its events.
#[derive(Debug)]
enum Unpolled {
    /// The registration was not taken (no connection, or an answer that
    /// refuses it): shutdown is by SIGKILL, as without an extension.
    NotRegistered(String),
    /// The service may hold the registration of an extension that never
    /// asks for its events, so Lambda may never end the init phase.
    Stranded(String),
}

/// Reads the registration's answer on `stream`, then asks for the
/// extension's next event (on `spare`, or on the same connection if the
/// service keeps it open) and leaves that request waiting in a task of its
/// own: subscribed to no events, it is answered only at the end. Lambda
/// ends the init phase only after it, so it is sent again if the service
/// closes its connection without an answer. Returns the registration's
/// connection if it is idle and free.
async fn poll_events(
    api: &Endpoint,
    stream: std::io::Result<tokio::net::TcpStream>,
    spare: Option<std::net::TcpStream>,
) -> Result<Option<std::net::TcpStream>, Unpolled> {
    let mut stream =
        stream.map_err(|error| Unpolled::NotRegistered(format!("cannot register: {error}")))?;
    let registered = read_answer(&mut stream).await.map_err(Unpolled::Stranded)?;
    if !(200..300).contains(&registered.status) {
        return Err(Unpolled::NotRegistered(format!(
            "the Extensions API answered the registration with status {}",
            registered.status
        )));
    }
    let identifier = registered.identifier.ok_or_else(|| {
        Unpolled::Stranded(format!(
            "the Extensions API answered the registration with status {} and no usable identifier",
            registered.status
        ))
    })?;
    let next = next_event_request(api, &identifier);
    let spare = spare
        .map(nonblocking)
        .transpose()
        .map_err(|error| Unpolled::Stranded(error.to_string()))?;
    let (events, idle) = match (spare, registered.reusable) {
        (Some(spare), true) => (Some(spare), Some(stream)),
        (Some(spare), false) => (Some(spare), None),
        (None, true) => (Some(stream), None),
        (None, false) => (None, None),
    };
    let written = match events {
        Some(mut events) => events
            .write_all(next.as_bytes())
            .await
            .is_ok()
            .then_some(events),
        None => None,
    };
    // No connection left, or the spare was closed meanwhile: a new one.
    let mut events = match written {
        Some(events) => events,
        None => ask_for_events(api, &next)
            .await
            .map_err(Unpolled::Stranded)?,
    };
    let api = api.clone();
    tokio::spawn(async move {
        // Held open until the service answers or goes away. A connection
        // the service closed before the request came loses the request
        // without an error on the write (the close is read at once): the
        // request goes out again on a new one, a bounded number of times.
        let mut answer = [0u8; 512];
        for _ in 1..EVENT_POLL_TRIES {
            if let read @ 1.. = read_status_line(&mut events, &mut answer).await {
                warn_unless_an_event(&answer[..read]);
                return;
            }
            match ask_for_events(&api, &next).await {
                Ok(stream) => events = stream,
                Err(error) => {
                    tracing::warn!(%error, "the extension's event poll could not be sent again");
                    return;
                }
            }
        }
        if let read @ 1.. = read_status_line(&mut events, &mut answer).await {
            warn_unless_an_event(&answer[..read]);
        }
    });
    Ok(idle.and_then(|idle| idle.into_std().ok()))
}

/// Reads into `answer` until it holds a line end, is full, or the
/// connection ends; how many bytes it holds (0: none came).
async fn read_status_line(events: &mut tokio::net::TcpStream, answer: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < answer.len() && !answer[..filled].contains(&b'\n') {
        match events.read(&mut answer[filled..]).await {
            Ok(read @ 1..) => filled += read,
            Ok(0) | Err(_) => break,
        }
    }
    filled
}

/// Logs the start of `answer`, the Extensions API's answer to the
/// extension's event poll, unless it is an event (`200`): no further events
/// are asked for, and a signal is still handled.
fn warn_unless_an_event(answer: &[u8]) {
    if let Some(refusal) = event_poll_refusal(answer) {
        tracing::warn!("the Extensions API answered the extension's event poll with {refusal}");
    }
}

/// The status line of `answer`, escaped, if it is not `200`.
fn event_poll_refusal(answer: &[u8]) -> Option<String> {
    let line = answer
        .split(|&byte| byte == b'\r' || byte == b'\n')
        .next()?;
    let mut words = line.split(|&byte| byte == b' ');
    let is_event = words
        .next()
        .is_some_and(|version| version.starts_with(b"HTTP/1."))
        && words.next() == Some(b"200");
    (!is_event).then(|| format!("\"{}\"", line.escape_ascii()))
}

/// A new connection to `api` with the extension's request for its events
/// (`next`) written on it.
async fn ask_for_events(api: &Endpoint, next: &str) -> Result<tokio::net::TcpStream, String> {
    connect_and_write(api, next)
        .await
        .map_err(|error| format!("cannot ask for events: {error}"))
}

/// `stream` as a tokio stream.
fn nonblocking(stream: std::net::TcpStream) -> std::io::Result<tokio::net::TcpStream> {
    stream.set_nonblocking(true)?;
    tokio::net::TcpStream::from_std(stream)
}

/// The registration sent now, without blocking the runtime's thread: for a
/// process whose `main` did not call [`send_registration`].
async fn send_now(api: &Endpoint) -> std::io::Result<tokio::net::TcpStream> {
    connect_and_write(api, &register_request(api)).await
}

/// [`connect_and_send`] on the runtime: a new connection to `api` with
/// `request` written on it.
async fn connect_and_write(
    api: &Endpoint,
    request: &str,
) -> std::io::Result<tokio::net::TcpStream> {
    let connecting = tokio::net::TcpStream::connect(api.authority());
    let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    stream.set_nodelay(true)?;
    stream.write_all(request.as_bytes()).await?;
    Ok(stream)
}

/// What the registration's answer says.
struct Registered {
    status: u16,
    /// `Lambda-Extension-Identifier`, when the registration succeeded and
    /// the value can stand in a header as it is.
    identifier: Option<String>,
    /// Whether the connection can carry another request: kept open by the
    /// service, and the answer read to its exact end.
    reusable: bool,
}

/// Reads the answer: its status line and headers (after any interim
/// `1xx` answers), then its body when its length is given alone (so the
/// connection is left at the start of the next answer).
async fn read_answer(stream: &mut tokio::net::TcpStream) -> Result<Registered, String> {
    let mut head = Vec::with_capacity(1024);
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut answer = httparse::Response::new(&mut headers);
        let length = match answer.parse(&head) {
            Ok(httparse::Status::Complete(length)) => length,
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => {
                read_more(stream, &mut head).await?;
                continue;
            }
            Ok(httparse::Status::Partial) => {
                return Err(format!(
                    "the registration's answer has over {MAX_HEAD} bytes of headers"
                ))
            }
            Err(error) => return Err(format!("the registration's answer is not HTTP: {error}")),
        };
        let status = answer.code.unwrap_or(0);
        if (100..200).contains(&status) {
            // `100 Continue` or `103 Early Hints`: the answer comes after it.
            head.drain(..length);
            continue;
        }
        let values = |name: &'static str| {
            answer
                .headers
                .iter()
                .filter(move |header| header.name.eq_ignore_ascii_case(name))
                .map(|header| std::str::from_utf8(header.value).ok())
        };
        let identifier = values("lambda-extension-identifier")
            .next()
            .flatten()
            .filter(|_| (200..300).contains(&status))
            .filter(|id| is_header_text(id))
            .map(str::to_owned);
        let closes = values("connection")
            .flat_map(|value| value.unwrap_or_default().split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("close"));
        let kept_open = answer.version == Some(1) && !closes;
        let lengths: Vec<_> = values("content-length").collect();
        let body = match lengths.as_slice() {
            [Some(length)] if values("transfer-encoding").next().is_none() => {
                length.trim().parse::<usize>().ok()
            }
            _ => None,
        };
        let reusable = match body {
            Some(body) if kept_open && body <= MAX_HEAD => {
                match body.checked_sub(head.len() - length) {
                    // Only the connection's reuse waits for the body: one
                    // that stalls must not hold back the request for events.
                    Some(rest) => {
                        let skipped = tokio::time::timeout(BODY_TIME, skip(stream, rest)).await;
                        matches!(skipped, Ok(true)) && nothing_more(stream)
                    }
                    // More came than the answer holds.
                    None => false,
                }
            }
            _ => false,
        };
        return Ok(Registered {
            status,
            identifier,
            reusable,
        });
    }
}

/// Appends what `stream` has next to `head`.
async fn read_more(stream: &mut tokio::net::TcpStream, head: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 1024];
    let read = stream
        .read(&mut chunk)
        .await
        .map_err(|error| format!("reading the registration's answer: {error}"))?;
    if read == 0 {
        return Err("the Extensions API closed the connection without an answer".to_owned());
    }
    head.extend_from_slice(&chunk[..read]);
    Ok(())
}

/// Whether `stream` is open with nothing waiting on it: an answer was read
/// to its exact end, and nothing of another can be taken for the next one.
fn nothing_more(stream: &tokio::net::TcpStream) -> bool {
    matches!(
        stream.try_read(&mut [0u8; 1]),
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock
    )
}

/// Reads and drops `count` bytes; whether they all came.
async fn skip(stream: &mut tokio::net::TcpStream, mut count: usize) -> bool {
    let mut chunk = [0u8; 1024];
    while count > 0 {
        match stream.read(&mut chunk[..count.min(1024)]).await {
            Ok(0) | Err(_) => return false,
            Ok(read) => count -= read,
        }
    }
    true
}

/// Opens a connection to `api` and writes `request` on it.
fn connect_and_send(api: &Endpoint, request: &str) -> std::io::Result<std::net::TcpStream> {
    let mut failed = std::io::Error::other("AWS_LAMBDA_RUNTIME_API names no address");
    let mut connected = None;
    for address in api.authority().to_socket_addrs()? {
        match std::net::TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(stream) => {
                connected = Some(stream);
                break;
            }
            Err(error) => failed = error,
        }
    }
    let mut stream = connected.ok_or(failed)?;
    stream.set_nodelay(true)?;
    stream.write_all(request.as_bytes())?;
    Ok(stream)
}

/// `POST /2020-01-01/extension/register`, subscribed to no events.
fn register_request(api: &Endpoint) -> String {
    const BODY: &str = r#"{"events":[]}"#;
    format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n\
         Lambda-Extension-Name: {EXTENSION_NAME}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{BODY}",
        api.path(&format!("{EXTENSION_API}/register")),
        api.authority(),
        crate::http::USER_AGENT,
        BODY.len()
    )
}

/// `GET /2020-01-01/extension/event/next` of the registered extension.
fn next_event_request(api: &Endpoint, identifier: &str) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n\
         Lambda-Extension-Identifier: {identifier}\r\n\r\n",
        api.path(&format!("{EXTENSION_API}/event/next")),
        api.authority(),
        crate::http::USER_AGENT
    )
}

/// The Extensions API's path.
const EXTENSION_API: &str = "/2020-01-01/extension";

/// Whether `text` can stand in a request line or header as it is: visible
/// ASCII, no space, so no value can end a header or add one.
fn is_header_text(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_value_can_add_a_header() {
        assert!(is_header_text("127.0.0.1:9001"));
        for text in ["", "a\r\nX: y", "a b", "caf\u{e9}"] {
            assert!(!is_header_text(text), "{text:?}");
        }
    }

    /// Reads one request (head and `Content-Length` body) from `stream`.
    async fn request(stream: &mut tokio::net::TcpStream) -> String {
        try_request(stream).await.expect("closed before a request")
    }

    /// [`request`], or `None` if the connection closes first.
    async fn try_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
        let mut text = Vec::new();
        let mut byte = [0u8; 1];
        while !text.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await.ok()? == 0 {
                return None;
            }
            text.push(byte[0]);
        }
        let head = String::from_utf8(text).unwrap();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .map_or(0, |length| length.trim().parse().unwrap());
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await.ok()?;
        Some(head + std::str::from_utf8(&body).unwrap())
    }

    /// Registers against a server that answers with `answer`, and checks
    /// that the request for events went out, the registration's connection
    /// not reused.
    async fn asks_for_events_on_a_new_connection(answer: &'static str) {
        let (events, reused) = register_against(answer).await;
        assert!(
            events.contains("Lambda-Extension-Identifier: ext-1"),
            "{events}"
        );
        assert!(!reused);
    }

    /// Registers against a server that answers with `answer`; what the
    /// server read on its second connection, and whether the first came
    /// back idle (then checked to be read to the end of the answer).
    async fn register_against(answer: &'static str) -> (String, bool) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = Endpoint::parse(&listener.local_addr().unwrap().to_string()).unwrap();
        let server = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            let (mut second, _) = listener.accept().await.unwrap();
            assert!(request(&mut first).await.contains("/extension/register"));
            first.write_all(answer.as_bytes()).await.unwrap();
            let events = request(&mut second).await;
            // A request on the first connection after the registration.
            if let Some(next) = try_request(&mut first).await {
                assert!(next.starts_with("GET /next"), "{next}");
                first
                    .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .await
                    .unwrap();
            }
            events
        });
        let stream = connect_and_send(&api, &register_request(&api)).and_then(nonblocking);
        let spare = connect_and_send(&api, "").ok();
        let idle = poll_events(&api, stream, spare).await.unwrap();
        let reused = idle.is_some();
        if let Some(idle) = idle {
            let mut idle = nonblocking(idle).unwrap();
            idle.write_all(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut answer = [0u8; 12];
            idle.read_exact(&mut answer).await.unwrap();
            assert_eq!(
                &answer, b"HTTP/1.1 204",
                "the registration's body was left unread"
            );
        }
        (server.await.unwrap(), reused)
    }

    #[tokio::test]
    async fn the_event_poll_goes_on_the_second_connection_and_the_first_is_left_idle() {
        let (events, reused) = register_against(
            "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: ext-1\r\nContent-Length: 15\r\n\r\n{\"handler\":\"x\"}",
        )
        .await;
        assert!(
            events.starts_with("GET /2020-01-01/extension/event/next"),
            "{events}"
        );
        assert!(
            events.contains("Lambda-Extension-Identifier: ext-1"),
            "{events}"
        );
        assert!(reused);
    }

    #[tokio::test]
    async fn without_an_early_registration_both_requests_go_on_one_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = Endpoint::parse(&listener.local_addr().unwrap().to_string()).unwrap();
        let server = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            assert!(request(&mut first).await.contains("/extension/register"));
            first
                .write_all(b"HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: ext-2\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            request(&mut first).await
        });
        assert!(register_extension(&api).await.is_none());
        let events = server.await.unwrap();
        assert!(
            events.starts_with("GET /2020-01-01/extension/event/next"),
            "{events}"
        );
        assert!(
            events.contains("Lambda-Extension-Identifier: ext-2"),
            "{events}"
        );
    }

    /// An answer that registers `ext-1`, with `headers` and a 2-byte body.
    fn registered(headers: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: ext-1\r\n{headers}\
             Content-Length: 2\r\n\r\n{{}}"
        )
    }

    #[tokio::test]
    async fn an_interim_answer_and_many_headers_are_read_past() {
        let many: String = (0..40).map(|n| format!("X-{n}: {n}\r\n")).collect();
        let answer = format!("HTTP/1.1 100 Continue\r\n\r\n{}", registered(&many));
        let (events, reused) = register_against(answer.leak()).await;
        assert!(
            events.contains("Lambda-Extension-Identifier: ext-1"),
            "{events}"
        );
        assert!(reused);
    }

    #[tokio::test]
    async fn a_connection_closed_among_other_connection_options_is_not_reused() {
        let answer = registered("Connection: keep-alive, Close\r\n");
        asks_for_events_on_a_new_connection(answer.leak()).await;
    }

    #[tokio::test]
    async fn an_answer_followed_by_more_bytes_is_not_reused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = Endpoint::parse(&listener.local_addr().unwrap().to_string()).unwrap();
        let server = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            let (mut second, _) = listener.accept().await.unwrap();
            request(&mut first).await;
            // The head alone, then the body with a forged answer behind it.
            let answer = registered("");
            let (head, body) = answer.split_at(answer.len() - 2);
            first.write_all(head.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            let forged = "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: evil\r\n\r\n";
            first
                .write_all(format!("{body}{forged}").as_bytes())
                .await
                .unwrap();
            request(&mut second).await
        });
        let stream = connect_and_send(&api, &register_request(&api)).and_then(nonblocking);
        let spare = connect_and_send(&api, "").ok();
        let idle = poll_events(&api, stream, spare).await.unwrap();
        assert!(idle.is_none(), "a connection with unread bytes was kept");
        assert!(server.await.unwrap().contains("ext-1"));
    }

    #[tokio::test]
    async fn an_event_poll_lost_with_a_closed_connection_is_sent_again() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = Endpoint::parse(&listener.local_addr().unwrap().to_string()).unwrap();
        let server = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            let (second, _) = listener.accept().await.unwrap();
            request(&mut first).await;
            // The spare connection, closed while it is idle.
            drop(second);
            tokio::time::sleep(Duration::from_millis(50)).await;
            first.write_all(registered("").as_bytes()).await.unwrap();
            let (mut third, _) = listener.accept().await.unwrap();
            request(&mut third).await
        });
        let stream = connect_and_send(&api, &register_request(&api)).and_then(nonblocking);
        let spare = connect_and_send(&api, "").ok();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(poll_events(&api, stream, spare).await.is_ok());
        let events = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the event poll was not sent again")
            .unwrap();
        assert!(
            events.starts_with("GET /2020-01-01/extension/event/next"),
            "{events}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_that_never_answers_the_registration_does_not_hold_the_start() {
        // Bound, never accepted: the registration is taken, never answered.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let api = Endpoint::parse(&listener.local_addr().unwrap().to_string()).unwrap();
        let started = Instant::now();
        let idle = tokio::time::timeout(REGISTRATION_TIME * 2, register_extension(&api))
            .await
            .expect("the registration outlived twice its bound");
        assert!(idle.is_none());
        assert!(started.elapsed() >= REGISTRATION_TIME);
    }

    #[tokio::test]
    async fn a_registration_connection_the_service_closes_is_not_reused() {
        let (events, reused) = register_against(
            "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: ext-1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        )
        .await;
        assert!(
            events.contains("Lambda-Extension-Identifier: ext-1"),
            "{events}"
        );
        assert!(!reused);
    }

    #[test]
    fn the_registration_is_one_http_request_subscribed_to_no_events() {
        let request = register_request(&Endpoint::parse("http://127.0.0.1:9001/.rt/f").unwrap());
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut parsed = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(length) = parsed.parse(request.as_bytes()).unwrap() else {
            panic!("incomplete: {request}");
        };
        assert_eq!(parsed.path, Some("/.rt/f/2020-01-01/extension/register"));
        assert_eq!(&request[length..], r#"{"events":[]}"#);
        assert!(parsed
            .headers
            .iter()
            .any(|h| h.name == "Lambda-Extension-Name" && h.value == EXTENSION_NAME.as_bytes()));
    }

    #[test]
    fn an_event_poll_answered_with_other_than_an_event_is_named() {
        let event = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{";
        assert_eq!(event_poll_refusal(event), None);
        assert_eq!(
            event_poll_refusal(b"HTTP/1.1 403 Forbidden\r\n\r\n").as_deref(),
            Some("\"HTTP/1.1 403 Forbidden\"")
        );
        assert_eq!(
            event_poll_refusal(b"\x1b[31mnot http\n").as_deref(),
            Some("\"\\x1b[31mnot http\"")
        );
    }

    #[tokio::test]
    async fn a_registration_whose_body_stalls_still_asks_for_events() {
        let short = "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: ext-1\r\n\
                     Content-Length: 100\r\n\r\n{}";
        let asked = asks_for_events_on_a_new_connection(short);
        let asked = tokio::time::timeout(REGISTRATION_TIME, asked).await;
        asked.expect("asked for events in the registration's time");
    }

    #[tokio::test]
    async fn an_answer_with_more_bytes_than_its_length_in_one_read_is_not_reused() {
        let over = "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: ext-1\r\n\
                    Content-Length: 0\r\n\r\nxyz";
        asks_for_events_on_a_new_connection(over).await;
    }

    #[tokio::test]
    async fn an_event_whose_status_line_comes_in_pieces_is_read_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let service = tokio::spawn(async move {
            let (mut events, _) = listener.accept().await.unwrap();
            for piece in ["HTTP/1.1 20", "0 OK\r\nContent-Length: 2\r\n\r\n{}"] {
                events.write_all(piece.as_bytes()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            events
        });
        let mut events = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut answer = [0u8; 512];
        let read = read_status_line(&mut events, &mut answer).await;
        assert_eq!(event_poll_refusal(&answer[..read]), None, "{read} bytes");
        drop(service.await.unwrap());
        assert_eq!(
            read_status_line(&mut events, &mut answer).await,
            0,
            "closed"
        );
    }
}
