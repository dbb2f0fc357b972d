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
//! that failed is not taken either: the connection looks up again, and its
//! error is the one reported.

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
    /// nothing for an IP address (never looked up) or a host already being
    /// looked up ahead. Must run inside a tokio runtime.
    pub fn prefetch(&self, host: &str) {
        if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
            return;
        }
        let mut ahead = self.ahead();
        if !ahead.contains_key(host) {
            let answer = tokio::spawn((self.0.lookup)(host.to_owned()));
            let started = Instant::now();
            ahead.insert(host.to_owned(), Ahead { started, answer });
        }
    }

    /// The addresses of `host`: the lookup started ahead when there is a
    /// fresh one and it found any, a new lookup otherwise.
    pub async fn addresses(&self, host: String) -> io::Result<Vec<SocketAddr>> {
        let ahead = self.ahead().remove(&host);
        if let Some(ahead) = ahead.filter(|ahead| ahead.started.elapsed() < FRESH_FOR) {
            if let Ok(Ok(addresses)) = ahead.answer.await {
                if !addresses.is_empty() {
                    return Ok(addresses);
                }
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

/// `getaddrinfo`, on tokio's blocking pool.
fn system_lookup(host: String) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
    Box::pin(async move { Ok(tokio::net::lookup_host((host, 0)).await?.collect()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const ADDRESS: &str = "192.0.2.7:0";

    /// A resolver whose lookups are counted and answer `answer`.
    fn counting(answer: fn() -> io::Result<Vec<SocketAddr>>) -> (Resolver, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let counted = count.clone();
        let lookup: Lookup = Arc::new(move |_host| {
            counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { answer() })
        });
        (Resolver::new(lookup), count)
    }

    fn found() -> io::Result<Vec<SocketAddr>> {
        Ok(vec![ADDRESS.parse().unwrap()])
    }

    #[tokio::test]
    async fn the_first_connection_takes_the_lookup_started_ahead_and_later_ones_look_up_again() {
        let (resolver, lookups) = counting(found);
        resolver.prefetch("api.example.com");
        resolver.prefetch("api.example.com");
        assert_eq!(
            resolver.addresses("api.example.com".into()).await.unwrap(),
            found().unwrap()
        );
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

    #[tokio::test]
    async fn a_failed_lookup_ahead_is_looked_up_again_and_that_error_is_the_answer() {
        let (resolver, lookups) =
            counting(|| Err(io::Error::new(io::ErrorKind::NotFound, "no such host")));
        resolver.prefetch("nowhere.example");
        let error = resolver
            .addresses("nowhere.example".into())
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), "no such host");
        assert_eq!(lookups.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_ip_address_is_never_looked_up_ahead() {
        let (resolver, lookups) = counting(found);
        resolver.prefetch("127.0.0.1");
        resolver.prefetch("[::1]");
        tokio::task::yield_now().await;
        assert_eq!(lookups.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_system_lookup_finds_localhost() {
        let addresses = SHARED.addresses("localhost".into()).await.unwrap();
        assert!(
            addresses.iter().all(|address| address.ip().is_loopback()),
            "{addresses:?}"
        );
        assert!(!addresses.is_empty());
    }
}
