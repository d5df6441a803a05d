//! An emulated network link on loopback: a TCP proxy in front of a server
//! (a CDN edge, an ad server) whose downstream rate can be changed while
//! connections are open, and which can be cut and restored: for tests and
//! benches of what a box does when its CDN slows down or a route is gone.
//!
//! nginx's own `limit_rate` is per request, lets the first second's worth
//! of bytes through at once (so a small segment is never slowed) and only
//! changes on reload, which drops connections. A link is what a viewer's
//! access line is: one bottleneck shared by every connection through it,
//! changed under a live connection without cutting it.
//!
//! ```no_run
//! # async fn demo(edge: std::net::SocketAddr) -> std::io::Result<()> {
//! let link = ottbox_testkit::Link::start(edge).await?;
//! // Clients connect to link.addr() instead of the edge.
//! link.set_rate(Some(125_000)); // 1 Mbit/s from now on
//! link.set_rate(None); // as fast as loopback goes
//! link.set_up(false); // cut: connections drop, new ones are closed at once
//! link.set_up(true);
//! link.lose_replies(true); // requests arrive, their replies never do
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

/// The most bytes relayed in one step: small enough that a slow rate is
/// paced smoothly rather than in bursts.
const CHUNK: usize = 4096;
/// `rate` when the link is unlimited.
const UNLIMITED: u64 = 0;

/// The shared bottleneck: its rate and when it is next free.
#[derive(Debug)]
struct Shaper {
    /// Bytes per second downstream; [`UNLIMITED`] for no limit.
    rate: AtomicU64,
    /// When the link has sent everything handed to it so far.
    free_at: Mutex<Instant>,
    /// Whether replies are lost: a connection is closed the moment the
    /// server answers, before the client has a byte of the answer.
    lose_replies: AtomicBool,
}

impl Shaper {
    /// Waits until `bytes` more may go out, as a link of the current rate
    /// would send them after what it already carries.
    async fn admit(&self, bytes: usize) {
        let rate = self.rate.load(Ordering::Relaxed);
        if rate == UNLIMITED {
            return;
        }
        let done = {
            let mut free_at = self.free_at.lock().unwrap_or_else(|e| e.into_inner());
            let start = (*free_at).max(Instant::now());
            *free_at = start + Duration::from_secs_f64(bytes as f64 / rate as f64);
            *free_at
        };
        tokio::time::sleep_until(done).await;
    }
}

/// A running link. Its connections close when it is dropped.
#[derive(Debug)]
pub struct Link {
    addr: SocketAddr,
    shaper: Arc<Shaper>,
    /// Whether the link carries anything; relays watch it.
    up: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Link {
    /// Listens on a free loopback port and relays every connection to
    /// `target`, unlimited until [`Link::set_rate`].
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind((target.ip(), 0)).await?;
        let addr = listener.local_addr()?;
        let shaper = Arc::new(Shaper {
            rate: AtomicU64::new(UNLIMITED),
            free_at: Mutex::new(Instant::now()),
            lose_replies: AtomicBool::new(false),
        });
        let up = Arc::new(watch::Sender::new(true));
        let task = tokio::spawn(accept(listener, target, shaper.clone(), up.clone()));
        Ok(Self {
            addr,
            shaper,
            up,
            task,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Limits the downstream (server to client) rate to `bytes_per_s`, or
    /// lifts the limit with `None`; open connections follow at once.
    pub fn set_rate(&self, bytes_per_s: Option<u64>) {
        let rate = bytes_per_s.map_or(UNLIMITED, |r| r.max(1));
        self.shaper.rate.store(rate, Ordering::Relaxed);
    }

    /// Cuts the link (`false`: open connections drop, new ones are closed
    /// as soon as they are accepted, as when the route is gone) or brings
    /// it back.
    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }

    /// Loses every reply (`true`): requests still reach the server, which
    /// acts on them, but each connection is closed as soon as the server
    /// answers, so the client never learns that it did. What a radio link
    /// dropping out mid-request does; `false` brings replies back.
    pub fn lose_replies(&self, lose: bool) {
        self.shaper.lose_replies.store(lose, Ordering::Relaxed);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(
    listener: TcpListener,
    target: SocketAddr,
    shaper: Arc<Shaper>,
    up: Arc<watch::Sender<bool>>,
) {
    let mut relays = tokio::task::JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, most likely: let connections finish.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // Finished relays are reaped here, so the set stays small.
        while relays.try_join_next().is_some() {}
        let cut = up.subscribe();
        if *cut.borrow() {
            relays.spawn(relay(client, target, shaper.clone(), cut));
        }
    }
}

/// One connection: upstream as it comes, downstream through the shaper.
/// A server that is gone closes the client's connection, as a dead host
/// behind a router would reset it.
async fn relay(
    mut client: TcpStream,
    target: SocketAddr,
    shaper: Arc<Shaper>,
    mut up: watch::Receiver<bool>,
) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let upstream = tokio::io::copy(&mut client_read, &mut server_write);
    let down = async {
        let mut buf = vec![0_u8; CHUNK];
        loop {
            let n = server_read.read(&mut buf).await?;
            if n == 0 {
                return client_write.shutdown().await;
            }
            if shaper.lose_replies.load(Ordering::Relaxed) {
                return Ok(());
            }
            shaper.admit(n).await;
            client_write.write_all(&buf[..n]).await?;
        }
    };
    // Either side ending ends the connection, and so does a cut.
    tokio::select! {
        _ = upstream => {}
        _ = down => {}
        _ = up.wait_for(|up| !up) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that sends `size` bytes to each connection and closes it.
    async fn sender(size: usize) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = s.write_all(&vec![7_u8; size]).await;
                });
            }
        });
        addr
    }

    async fn fetch(addr: SocketAddr) -> Vec<u8> {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let mut body = Vec::new();
        s.read_to_end(&mut body).await.expect("read");
        body
    }

    #[tokio::test]
    async fn relays_every_byte_unlimited_and_limited() {
        let link = Link::start(sender(100_000).await).await.expect("link");
        assert_eq!(fetch(link.addr()).await, vec![7_u8; 100_000]);
        link.set_rate(Some(1_000_000));
        assert_eq!(fetch(link.addr()).await, vec![7_u8; 100_000]);
    }

    #[tokio::test]
    async fn a_limited_link_takes_at_least_size_over_rate() {
        // A lower bound only: a busy machine makes it slower, never faster.
        let link = Link::start(sender(64_000).await).await.expect("link");
        link.set_rate(Some(128_000));
        let t0 = std::time::Instant::now();
        let (a, b) = tokio::join!(fetch(link.addr()), fetch(link.addr()));
        assert_eq!(a.len() + b.len(), 128_000);
        // Two connections share the one bottleneck: 128 kB at 128 kB/s.
        assert!(
            t0.elapsed() >= Duration::from_millis(950),
            "{:?}",
            t0.elapsed()
        );
    }

    #[tokio::test]
    async fn a_lost_reply_reaches_the_server_but_not_the_client() {
        // A server that records what it is sent, then answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let target = listener.local_addr().expect("addr");
        let (got, mut received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let got = got.clone();
                tokio::spawn(async move {
                    let mut byte = [0_u8; 1];
                    if s.read_exact(&mut byte).await.is_ok() {
                        let _ = got.send(byte[0]);
                        let _ = s.write_all(b"ok").await;
                    }
                });
            }
        });
        let link = Link::start(target).await.expect("link");
        link.lose_replies(true);
        let mut lost = TcpStream::connect(link.addr()).await.expect("connect");
        lost.write_all(b"a").await.expect("request");
        let mut reply = Vec::new();
        let _ = lost.read_to_end(&mut reply).await;
        assert!(reply.is_empty(), "{reply:?}");
        assert_eq!(received.recv().await, Some(b'a'), "the server had it");

        link.lose_replies(false);
        let mut kept = TcpStream::connect(link.addr()).await.expect("connect");
        kept.write_all(b"b").await.expect("request");
        let mut reply = [0_u8; 2];
        kept.read_exact(&mut reply).await.expect("the reply");
        assert_eq!(&reply, b"ok");
    }

    #[tokio::test]
    async fn a_cut_link_drops_its_connections_until_it_is_back() {
        // A server that holds each connection open after a first byte.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let target = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = s.write_all(b"x").await;
                    tokio::time::sleep(Duration::from_secs(60)).await;
                });
            }
        });
        let link = Link::start(target).await.expect("link");
        let mut open = TcpStream::connect(link.addr()).await.expect("connect");
        let mut byte = [0_u8; 1];
        open.read_exact(&mut byte).await.expect("first byte");

        link.set_up(false);
        let mut rest = Vec::new();
        open.read_to_end(&mut rest)
            .await
            .expect("closed by the cut");
        assert!(rest.is_empty());
        assert!(
            fetch(link.addr()).await.is_empty(),
            "a new connection while cut"
        );

        link.set_up(true);
        let mut again = TcpStream::connect(link.addr()).await.expect("connect");
        again.read_exact(&mut byte).await.expect("through again");
    }

    #[tokio::test]
    async fn a_dead_server_closes_the_client_connection() {
        let port = ottbox_headend::cdn_edge::free_port([127, 0, 0, 1].into()).expect("port");
        let link = Link::start(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("link");
        assert!(fetch(link.addr()).await.is_empty());
    }
}
