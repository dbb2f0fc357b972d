//! The upstream client's DNS resolver: the system's (`getaddrinfo` on
//! tokio's blocking pool, as reqwest's default resolver does it), with one
//! addition for the cold start. The first call of a fresh process would
//! otherwise look its host up only once the first invocation asks for it,
//! after the whole start-up and the first `/next`; [`Resolver::prefetch`]
//! starts that lookup during the start-up, so it runs beside them (in
//! Lambda, a round trip to the VPC's resolver), and the first connection
//! to the host takes its answer.
//!
//! A prefetched answer is used once, and only while it is fresh
//! ([`FRESH_FOR`]): an environment initialised long before its first
//! invocation (provisioned concurrency) looks the host up again, as does
//! every later connection, so DNS changes are followed as before. A lookup
//! that had failed before the connection asked is not taken either: the
//! connection looks up again. One still under way when the connection asks
//! is its lookup, error and all (making a second after it would spend the
//! connection's time twice).

use futures::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long an answer looked up ahead may wait for the first connection:
/// half the 60 s TTL AWS gives its load balancers' names, so it is not
/// used past the time its records were given for.
pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// The resolver the clients of [`crate::http`] share.
pub static SHARED: LazyLock<Resolver> = LazyLock::new(|| Resolver::new(Arc::new(system_lookup)));

/// A lookup of one host name: its addresses (port 0: the connector sets
/// the URL's).
pub type Lookup =
    Arc<dyn Fn(String) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> + Send + Sync>;

/// The system resolver, with lookups that can be started ahead; see the
/// module docs. Cheap to clone: clones share their lookups.
#[derive(Clone)]
pub struct Resolver(Arc<Inner>);

struct Inner {
    lookup: Lookup,
    ahead: Mutex<HashMap<String, Ahead>>,
}

/// A lookup started ahead of the first connection.
struct Ahead {
    started: Instant,
    answer: JoinHandle<io::Result<Vec<SocketAddr>>>,
}

impl Resolver {
    /// A resolver that looks host names up with `lookup`.
    pub fn new(lookup: Lookup) -> Resolver {
        Resolver(Arc::new(Inner {
            lookup,
            ahead: Mutex::new(HashMap::new()),
        }))
    }

    /// Starts looking `host` up now, for the first connection to it. Does
    /// nothing for an IP address (never looked up), a host already being
    /// looked up ahead, or outside a tokio runtime.
    pub fn prefetch(&self, host: &str) {
        if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
            return;
        }
        // Outside a runtime there is nothing to run it on: the first
        // connection looks up, as without a lookup ahead.
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let mut ahead = self.ahead();
        if !ahead.contains_key(host) {
            let answer = tokio::spawn((self.0.lookup)(host.to_owned()));
            let started = Instant::now();
            ahead.insert(host.to_owned(), Ahead { started, answer });
        }
    }

    /// The addresses of `host`: the answer of the lookup started ahead
    /// when there is a fresh one (see the module docs for a failed one), a
    /// new lookup otherwise.
    pub async fn addresses(&self, host: String) -> io::Result<Vec<SocketAddr>> {
        let ahead = self.ahead().remove(&host);
        if let Some(ahead) = ahead.filter(|ahead| ahead.started.elapsed() < FRESH_FOR) {
            let under_way = !ahead.answer.is_finished();
            match ahead.answer.await {
                Ok(Ok(addresses)) if !addresses.is_empty() => return Ok(addresses),
                Ok(Err(error)) if under_way => return Err(error),
                _ => {}
            }
        }
        (self.0.lookup)(host).await
    }

    fn ahead(&self) -> std::sync::MutexGuard<'_, HashMap<String, Ahead>> {
        self.0
            .ahead
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (resolver, host) = (self.clone(), name.as_str().to_owned());
        Box::pin(async move {
            let addresses = resolver.addresses(host).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// `getaddrinfo`, on tokio's blocking pool, started at once (as hyper's
/// resolver starts it), not when the future is first polled.
fn system_lookup(host: String) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
    use std::net::ToSocketAddrs;
    let lookup = tokio::task::spawn_blocking(move || {
        (host.as_str(), 0).to_socket_addrs().map(Iterator::collect)
    });
    Box::pin(async move { lookup.await.map_err(io::Error::other)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    const ADDRESS: &str = "192.0.2.7:0";

    /// A resolver whose lookups are counted; the `n`th (from 1) is `answer(n)`.
    fn counting(
        answer: impl Fn(usize) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>>
            + Send
            + Sync
            + 'static,
    ) -> (Resolver, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let counted = count.clone();
        let lookup: Lookup =
            Arc::new(move |_host| answer(counted.fetch_add(1, Ordering::SeqCst) + 1));
        (Resolver::new(lookup), count)
    }

    fn found(_: usize) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        Box::pin(async { Ok(vec![ADDRESS.parse().unwrap()]) })
    }

    /// The `n`th lookup fails, saying which it was, after `after`.
    fn failing(
        after: Duration,
    ) -> impl Fn(usize) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        move |n| {
            Box::pin(async move {
                tokio::time::sleep(after).await;
                Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("lookup {n} failed"),
                ))
            })
        }
    }

    #[tokio::test]
    async fn the_first_connection_takes_the_lookup_started_ahead_and_later_ones_look_up_again() {
        let (resolver, lookups) = counting(found);
        resolver.prefetch("api.example.com");
        resolver.prefetch("api.example.com");
        let addresses = resolver.addresses("api.example.com".into()).await.unwrap();
        assert_eq!(addresses, [ADDRESS.parse::<SocketAddr>().unwrap()]);
        assert_eq!(
            lookups.load(Ordering::SeqCst),
            1,
            "one lookup, started ahead"
        );
        resolver.addresses("api.example.com".into()).await.unwrap();
        assert_eq!(
            lookups.load(Ordering::SeqCst),
            2,
            "the next connection looks up anew"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lookup_ahead_older_than_its_freshness_is_not_taken() {
        let (resolver, lookups) = counting(found);
        resolver.prefetch("api.example.com");
        tokio::time::advance(FRESH_FOR).await;
        resolver.addresses("api.example.com".into()).await.unwrap();
        assert_eq!(lookups.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lookup_ahead_that_had_failed_is_made_again() {
        let (resolver, lookups) = counting(failing(Duration::ZERO));
        resolver.prefetch("nowhere.example");
        tokio::time::sleep(Duration::from_millis(1)).await;
        let error = resolver
            .addresses("nowhere.example".into())
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), "lookup 2 failed");
        assert_eq!(lookups.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lookup_ahead_still_under_way_is_the_connection_s_error_and_all() {
        let (resolver, lookups) = counting(failing(Duration::from_secs(3)));
        resolver.prefetch("slow.example");
        let error = resolver.addresses("slow.example".into()).await.unwrap_err();
        assert_eq!(error.to_string(), "lookup 1 failed");
        assert_eq!(lookups.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_ip_address_is_never_looked_up_ahead() {
        let (resolver, lookups) = counting(found);
        resolver.prefetch("127.0.0.1");
        resolver.prefetch("[::1]");
        assert_eq!(lookups.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn outside_a_runtime_nothing_is_looked_up_ahead() {
        let (resolver, lookups) = counting(found);
        resolver.prefetch("api.example.com");
        assert_eq!(lookups.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_reqwest_client_connects_to_the_address_looked_up_ahead_on_the_url_s_port() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = [0; 1024];
            let _ = stream.read(&mut head).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await;
        });
        // `upstream.test` exists nowhere but in this lookup.
        let (resolver, lookups) =
            counting(|_| Box::pin(async { Ok(vec!["127.0.0.1:0".parse().unwrap()]) }));
        resolver.prefetch("upstream.test");
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(resolver))
            .build()
            .unwrap();
        let answer = client
            .get(format!("http://upstream.test:{port}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.text().await.unwrap(), "ok");
        assert_eq!(
            lookups.load(Ordering::SeqCst),
            1,
            "the lookup made ahead was the one used"
        );
    }

    #[tokio::test]
    async fn the_system_lookup_finds_localhost() {
        let addresses = SHARED.addresses("localhost".into()).await.unwrap();
        assert!(!addresses.is_empty());
        assert!(
            addresses.iter().all(|address| address.ip().is_loopback()),
            "{addresses:?}"
        );
    }
}
