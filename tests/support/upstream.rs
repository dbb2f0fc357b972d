//! A scriptable loopback upstream: an HTTP/1.1 server on `127.0.0.1:0` that
//! answers after a delay, never, hangs up, answers like the two APIs, or
//! answers what cannot be read, and counts and records what reaches it.
//!
//! Tests point `API_HOST` or `HEXONET_URL` at it to see whether a call was
//! made at all ([`Upstream::requests`]), where it went ([`Seen::host`],
//! [`Seen::target`]) and what it carried ([`Seen::body`]). It stops, and
//! drops every connection, when dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// What [`Upstream`] does with each request it reads.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Answers `200` with [`UPSTREAM_USER`] after the delay, keeping the
    /// connection open for the next request.
    AnswerAfter(Duration),
    /// Reads the request, then holds the connection without a word.
    Never,
    /// Reads the request, then closes the connection without an answer.
    HangUp,
    /// Answers as the APIs would, at once: a HEXONET success for
    /// [`HEXONET_PATH`], an empty Extra Horizon list for any other target.
    Api,
    /// Answers `200` announcing JSON with a body that is not JSON.
    NotJson,
    /// Answers, as the APIs would, a list that announces 10^9 items.
    BillionItems,
    /// Answers the first request with the first page of a list of 99,000
    /// items (990 pages, within the caps), and every later one with a
    /// refusal: Extra Horizon's `404`, HEXONET's `545`.
    FirstPageThenRefusals,
    /// Answers, after the delay, a list of 60 items at 20 a page (three
    /// requests for `all_pages`), keeping the connection open.
    ListAfter(Duration),
    /// Answers the first request `503 Service Unavailable`, every later
    /// one as [`Behaviour::Api`]: one retry's worth of trouble.
    UnavailableOnce,
    /// Answers each request as the script says.
    Script(Script),
}

/// What a test answers each request with: `(status, content type, body)`
/// for the request and its number (from 0).
#[derive(Clone)]
pub struct Script(Arc<ScriptFn>);

type ScriptFn = dyn Fn(&Seen, usize) -> (&'static str, &'static str, String) + Send + Sync;

impl Script {
    /// A script of `answer`.
    pub fn new(
        answer: impl Fn(&Seen, usize) -> (&'static str, &'static str, String) + Send + Sync + 'static,
    ) -> Script {
        Script(Arc::new(answer))
    }
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Script(..)")
    }
}

/// The body [`Behaviour::AnswerAfter`] answers with.
pub const UPSTREAM_USER: &str = r#"{"id":"e2e-user","email":"e2e@example.com"}"#;

/// Where [`Behaviour::Api`] answers as HEXONET's `call.cgi`.
pub const HEXONET_PATH: &str = "/api/call.cgi";

/// The HEXONET answer of [`Behaviour::Api`].
const HEXONET_OK: &str =
    "[RESPONSE]\r\ncode = 200\r\ndescription = Command completed successfully\r\nEOF\r\n";

/// The Extra Horizon answer of [`Behaviour::Api`]: one page, no items.
const EXH_EMPTY_LIST: &str = r#"{"page":{"total":0,"offset":0,"limit":20},"data":[]}"#;

/// The first page of a list of `total` items at `limit` a page, as `target`
/// asks it of: HEXONET's or Extra Horizon's.
fn list_page(target: &str, total: u64, limit: u64) -> (&'static str, String) {
    if target.starts_with(HEXONET_PATH) {
        let text = format!(
            "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=Command completed successfully\r\n\
             PROPERTY[DOMAIN][0]=a.com\r\nPROPERTY[FIRST][0]=0\r\nPROPERTY[LAST][0]=0\r\n\
             PROPERTY[COUNT][0]=1\r\nPROPERTY[LIMIT][0]={limit}\r\nPROPERTY[TOTAL][0]={total}\r\nEOF\r\n"
        );
        ("text/plain", text)
    } else {
        let json =
            format!(r#"{{"page":{{"total":{total},"offset":0,"limit":{limit}}},"data":[]}}"#);
        ("application/json", json)
    }
}

/// One request as it reached the upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The method of the request line.
    pub method: String,
    /// The request target as sent: path and optional `?query`.
    pub target: String,
    /// The `Host` header, if any.
    pub host: Option<String>,
    /// The body (`content-length` bytes).
    pub body: Vec<u8>,
}

/// The running server; see the module docs.
pub struct Upstream {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stats: Arc<Stats>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

impl Upstream {
    /// Binds `127.0.0.1:0` and serves with `behaviour` until dropped.
    pub async fn start(behaviour: Behaviour) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let stats = Arc::new(Stats::default());
        let counted = stats.clone();
        let server = tokio::spawn(async move {
            // Aborting this task drops the set, which aborts every connection.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                counted.connections.fetch_add(1, Ordering::SeqCst);
                connections.spawn(serve(stream, behaviour.clone(), counted.clone()));
                while connections.try_join_next().is_some() {}
            }
        });
        Upstream { url, stats, server }
    }

    /// `127.0.0.1:PORT`, as a client's `Host` header names it.
    pub fn authority(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }

    /// Requests read so far.
    pub fn requests(&self) -> usize {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// The most requests that were being answered at one time.
    pub fn max_in_flight(&self) -> usize {
        self.stats.max_in_flight.load(Ordering::SeqCst)
    }

    /// Every request read so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.stats
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(mut stream: TcpStream, behaviour: Behaviour, stats: Arc<Stats>) {
    let mut buffer = Vec::new();
    while let Some(seen) = read_request(&mut stream, &mut buffer).await {
        let head_only = seen.method == "HEAD";
        let target = seen.target.clone();
        let index = stats.requests.fetch_add(1, Ordering::SeqCst);
        let scripted = match &behaviour {
            Behaviour::Script(script) => Some((script.0)(&seen, index)),
            _ => None,
        };
        stats
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(seen);
        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
        // One retry's worth of trouble, then the APIs' answers.
        let behaviour = match &behaviour {
            Behaviour::UnavailableOnce if index > 0 => &Behaviour::Api,
            other => other,
        };
        let hexonet = target.starts_with(HEXONET_PATH);
        let (status, content_type, body) = match behaviour {
            Behaviour::Script(_) => scripted.expect("answered by the script"),
            Behaviour::Never => std::future::pending().await,
            Behaviour::HangUp => return,
            Behaviour::AnswerAfter(delay) => {
                tokio::time::sleep(*delay).await;
                ("200 OK", "application/json", UPSTREAM_USER.to_owned())
            }
            Behaviour::Api if hexonet => ("200 OK", "text/plain", HEXONET_OK.to_owned()),
            Behaviour::Api => ("200 OK", "application/json", EXH_EMPTY_LIST.to_owned()),
            Behaviour::NotJson => (
                "200 OK",
                "application/json",
                "<html>not json</html>".to_owned(),
            ),
            Behaviour::BillionItems => {
                let (content_type, body) = list_page(&target, 1_000_000_000, 50);
                ("200 OK", content_type, body)
            }
            Behaviour::FirstPageThenRefusals if index == 0 => {
                let (content_type, body) = list_page(&target, 99_000, 100);
                ("200 OK", content_type, body)
            }
            Behaviour::FirstPageThenRefusals if hexonet => (
                "200 OK",
                "text/plain",
                "[RESPONSE]\r\nCODE=545\r\nDESCRIPTION=Entity reference not found\r\nEOF\r\n"
                    .to_owned(),
            ),
            Behaviour::FirstPageThenRefusals => (
                "404 Not Found",
                "application/json",
                r#"{"code":16,"name":"RESOURCE_UNKNOWN_EXCEPTION","message":"gone"}"#.to_owned(),
            ),
            Behaviour::ListAfter(delay) => {
                tokio::time::sleep(*delay).await;
                let (content_type, body) = list_page(&target, 60, 20);
                ("200 OK", content_type, body)
            }
            Behaviour::UnavailableOnce => (
                "503 Service Unavailable",
                "text/plain",
                "unavailable".to_owned(),
            ),
        };
        stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        // A HEAD answer has the headers of a GET but no body.
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{}",
            body.len(),
            if head_only { "" } else { &body }
        );
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one request (head and `content-length` body) off `stream`, keeping
/// what follows in `buffer`; `None` when the peer closed first.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Seen> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let header = |name: &str| {
                head.lines().skip(1).find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| value.trim().to_owned())
                })
            };
            let length: usize = header("content-length")
                .and_then(|value| value.parse().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                let mut request_line = head.lines().next().unwrap_or_default().split(' ');
                let seen = Seen {
                    method: request_line.next().unwrap_or_default().to_owned(),
                    target: request_line.next().unwrap_or_default().to_owned(),
                    host: header("host"),
                    body: buffer[end + 4..end + 4 + length].to_vec(),
                };
                buffer.drain(..end + 4 + length);
                return Some(seen);
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// An Extra Horizon page, of a list of `total` items one a page, whose one
/// item is an array of numbers taking about `mb` MB once read (72 bytes a
/// number, for two bytes of text).
pub fn page_of_numbers(mb: usize, offset: usize, total: usize) -> String {
    let numbers = ",0".repeat(mb * 1024 * 1024 / 72 - 1);
    format!(
        r#"{{"page": {{"total": {total}, "offset": {offset}, "limit": 1}}, "data": [[0{numbers}]]}}"#
    )
}
