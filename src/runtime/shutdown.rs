//! SIGTERM and SIGINT: stop taking invocations, give those in flight a
//! short grace, answer the rest, flush the logs and exit 0.
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
//! wait) and reads the answer just before the first `/next`
//! ([`register_extension`]); the extension's one request for its events
//! then goes out on the same connection.

use super::endpoint::Endpoint;
use std::io::Write;
use std::net::ToSocketAddrs;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{signal, SignalKind};
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
    /// Listens for SIGTERM and SIGINT from now on.
    pub fn on_signals() -> std::io::Result<Shutdown> {
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let (sender, receiver) = watch::channel(None);
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            tracing::info!(
                signal = name,
                "shutting down: no new invocations, {GRACE:?} for those in flight"
            );
            sender.send_replace(Some(Instant::now()));
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

/// How long the connection to the Extensions API may take to open: it is
/// local to the execution environment, so this only bounds a wrong address.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The most of the registration's answer read before its headers end.
const MAX_HEAD: usize = 16 * 1024;

/// A registration sent by [`send_registration`], not yet read.
struct Sent {
    api: Endpoint,
    stream: std::io::Result<std::net::TcpStream>,
}

/// The registration [`send_registration`] sent, for [`register_extension`].
static SENT: Mutex<Option<Sent>> = Mutex::new(None);

/// Sends the registration of the no-op internal extension to the
/// Extensions API at `AWS_LAMBDA_RUNTIME_API` now, before the rest of
/// start-up, without waiting for the answer: the Extensions API works on
/// it while the function builds its clients, and [`register_extension`]
/// (which the runtime loop calls before its first `/next`, as Lambda asks
/// of internal extensions) reads the answer.
///
/// Call it first thing in a `main` whose process then runs
/// [`crate::runtime::run`]: in Lambda, an extension that registered must
/// also poll for its events, or the function never gets an invocation.
/// Does nothing outside Lambda (the variable unset).
pub fn send_registration() {
    if let Some(Ok(api)) = Endpoint::from_env() {
        let stream = connect_and_send(&api, &register_request(&api));
        *SENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Sent { api, stream });
    }
}

/// Registers the no-op internal extension with the Extensions API at `api`
/// (or reads the answer to the registration [`send_registration`] sent)
/// and keeps polling its (empty) event stream, as Lambda asks of every
/// extension before the first invocation: with it, Lambda sends SIGTERM
/// before it ends the environment. Best effort: where no Extensions API
/// answers (local tools), shutdown is by SIGKILL, as without it.
pub async fn register_extension(api: &Endpoint) {
    let sent = SENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
        .filter(|sent| sent.api == *api);
    let stream = match sent {
        Some(sent) => sent.stream,
        None => connect_and_send(api, &register_request(api)),
    };
    if let Err(reason) = poll_events(api, stream).await {
        tracing::debug!(%reason, "no Extensions API: no SIGTERM before shutdown");
    }
}

/// Reads the registration's answer on `stream`, then asks for the
/// extension's next event (on the same connection, if the service keeps
/// it open) and leaves that request waiting in a task of its own:
/// subscribed to no events, it is answered only at the end. It is sent
/// once because Lambda ends the init phase only after it.
async fn poll_events(
    api: &Endpoint,
    stream: std::io::Result<std::net::TcpStream>,
) -> Result<(), String> {
    let stream = stream.map_err(|error| format!("cannot register: {error}"))?;
    stream
        .set_nonblocking(true)
        .map_err(|error| error.to_string())?;
    let mut stream = tokio::net::TcpStream::from_std(stream).map_err(|error| error.to_string())?;
    let registered = read_answer(&mut stream).await?;
    let identifier = registered.identifier.ok_or_else(|| {
        format!(
            "the Extensions API answered the registration with status {} and no usable identifier",
            registered.status
        )
    })?;
    let next = next_event_request(api, &identifier);
    let mut stream = match registered.keeps_connection {
        true => stream,
        false => tokio::net::TcpStream::connect(api.authority())
            .await
            .map_err(|error| format!("cannot ask for events: {error}"))?,
    };
    stream
        .write_all(next.as_bytes())
        .await
        .map_err(|error| format!("cannot ask for events: {error}"))?;
    tokio::spawn(async move {
        // Held open until the service answers or goes away.
        let _ = stream.read(&mut [0u8; 512]).await;
    });
    Ok(())
}

/// What the registration's answer says.
struct Registered {
    status: u16,
    /// `Lambda-Extension-Identifier`, when the registration succeeded and
    /// the value can stand in a header as it is.
    identifier: Option<String>,
    /// Whether the connection can carry the next request.
    keeps_connection: bool,
}

/// Reads the answer's status line and headers (its body is not needed).
async fn read_answer(stream: &mut tokio::net::TcpStream) -> Result<Registered, String> {
    let mut head = Vec::with_capacity(1024);
    loop {
        let mut chunk = [0u8; 1024];
        let read = stream
            .read(&mut chunk)
            .await
            .map_err(|error| format!("reading the registration's answer: {error}"))?;
        if read == 0 {
            return Err("the Extensions API closed the connection without an answer".to_owned());
        }
        head.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut answer = httparse::Response::new(&mut headers);
        match answer.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {
                let status = answer.code.unwrap_or(0);
                let value = |name: &str| {
                    answer
                        .headers
                        .iter()
                        .find(|header| header.name.eq_ignore_ascii_case(name))
                        .and_then(|header| std::str::from_utf8(header.value).ok())
                };
                let identifier = value("lambda-extension-identifier")
                    .filter(|_| (200..300).contains(&status))
                    .filter(|id| is_header_text(id))
                    .map(str::to_owned);
                let keeps_connection = answer.version == Some(1)
                    && !value("connection")
                        .is_some_and(|value| value.eq_ignore_ascii_case("close"));
                return Ok(Registered {
                    status,
                    identifier,
                    keeps_connection,
                });
            }
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(format!(
                    "the registration's answer has over {MAX_HEAD} bytes of headers"
                ))
            }
            Err(error) => return Err(format!("the registration's answer is not HTTP: {error}")),
        }
    }
}

/// Opens a connection to `api` and writes `request` on it.
fn connect_and_send(api: &Endpoint, request: &str) -> std::io::Result<std::net::TcpStream> {
    let address = api
        .authority()
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("AWS_LAMBDA_RUNTIME_API names no address"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)?;
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
}
