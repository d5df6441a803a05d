//! Ad beacons, delivered even across power cuts and outages.
//!
//! An advertiser pays per impression, so a beacon the box owes must reach
//! the ad server eventually: [`Beacons::push`] puts the URL in the
//! `beacons` tree (an [`Outbox`]: on disk before it returns, bounded,
//! removed only once delivered) and a sender task GETs them oldest first.
//! A 2xx answer delivers a beacon; a 4xx one drops it (the server will
//! never take it, and retrying would block the ones behind); anything else
//! is retried with backoff.
//!
//! Each beacon gets an id when it becomes due, written into its URL in
//! place of the VAST `[CACHEBUSTING]` macro and queued with it, so every
//! resend carries the same id. When the reply to a beacon is lost (the
//! server counted it, the box never heard), the box sends it again: the
//! headend's own tracking endpoint records an id once, so that resend is
//! harmless. To a third-party tracker the promise is at-least-once: one
//! that ignores the id may count such a beacon twice, which VAST prefers to
//! losing it, and which only a reply lost in flight can cause.

use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::outbox::{Backoff, Outbox};
use crate::store::{Store, StoreError, now_s};

/// Beacons kept at most while the ad server is unreachable.
const MAX_QUEUED: usize = 5_000;
/// Retry delays.
const BACKOFF: Backoff = Backoff {
    min_s: 1.0,
    max_s: 60.0,
};

/// One beacon owed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Beacon {
    url: String,
    /// When it became due, Unix seconds.
    at: i64,
}

/// The queue and its sender.
#[derive(Debug)]
pub struct Beacons {
    queue: Outbox,
    http: reqwest::Client,
}

impl Beacons {
    /// Opens the queue over the store; `http` delivers.
    pub fn new(store: Store, http: reqwest::Client) -> Arc<Self> {
        let tree = store.beacons.clone();
        Arc::new(Self {
            queue: Outbox::new(store, tree, "beacons", MAX_QUEUED),
            http,
        })
    }

    /// Owes `urls`, durably, each with its own id.
    pub fn push(&self, urls: Vec<String>) -> Result<(), StoreError> {
        let at = now_s();
        let beacons: Vec<Beacon> = urls
            .into_iter()
            .map(|url| Beacon {
                url: with_id(&url, beacon_id()),
                at,
            })
            .collect();
        self.queue.push_all(&beacons)
    }

    /// Beacons not yet delivered.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Delivers until shutdown.
    pub async fn run_sender(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        self.queue
            .run(BACKOFF, shutdown, || self.send_oldest())
            .await;
    }

    /// Sends the oldest beacon; returns how many left the queue.
    async fn send_oldest(&self) -> Result<usize, SendError> {
        let taken = self.queue.oldest::<Beacon>(1)?;
        if taken.keys.is_empty() {
            return Ok(0);
        }
        if let Some(beacon) = taken.items.first() {
            let status = self.http.get(&beacon.url).send().await?.status();
            if status.is_server_error() || status.as_u16() == 429 {
                return Err(SendError::Status(status.as_u16()));
            }
            if !status.is_success() {
                tracing::warn!(
                    status = status.as_u16(),
                    "ad server refused a beacon; dropped"
                );
            }
        }
        self.queue.remove(&taken.keys)?;
        Ok(taken.keys.len())
    }
}

/// The VAST macro a beacon's id goes in.
const ID_MACRO: &str = "[CACHEBUSTING]";

/// A new beacon id: 16 random decimal digits. VAST asks for at least 8
/// there; 16 make two beacons of one playback (a few dozen) all but
/// certain to differ.
fn beacon_id() -> u64 {
    rand::rng().random_range(1_000_000_000_000_000..10_000_000_000_000_000)
}

/// `url` with its `[CACHEBUSTING]` macro, if any, filled with `id`.
fn with_id(url: &str, id: u64) -> String {
    url.replace(ID_MACRO, &id.to_string())
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("ads.beacon_failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("ads.beacon_failed: HTTP {0}")]
    Status(u16),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::Mutex;

    use super::*;

    /// An ad server on a free port answering each path's status from
    /// `status` (a path not listed gets 204); it records the paths asked,
    /// in order.
    fn ad_server(status: fn(&str) -> u16) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                // Read the headers to their end before answering.
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let code = status(&path);
                log.lock().expect("log").push(path);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        (url, asked)
    }

    /// An empty queue over a fresh store.
    fn queue() -> (tempfile::TempDir, Arc<Beacons>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        (dir, Beacons::new(store, reqwest::Client::new()))
    }

    #[tokio::test]
    async fn owed_beacons_survive_a_restart_and_arrive_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, asked) = ad_server(|path| match path {
            "/refused" => 404,
            _ => 204,
        });
        {
            // Owed while the box had no network, then the power went.
            let store = Store::open(dir.path()).expect("store");
            let beacons = Beacons::new(store, reqwest::Client::new());
            let urls = ["/impression", "/refused", "/start"];
            beacons
                .push(urls.iter().map(|p| format!("{url}{p}")).collect())
                .expect("push");
        }
        let store = Store::open(dir.path()).expect("store after the restart");
        let beacons = Beacons::new(store, reqwest::Client::new());
        assert_eq!(beacons.queued(), 3);
        let (stop, shutdown) = watch::channel(false);
        let sender = tokio::spawn(beacons.clone().run_sender(shutdown));
        for _ in 0..100 {
            if beacons.queued() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = stop.send(true);
        sender.await.expect("sender stops on shutdown");
        assert_eq!(
            beacons.queued(),
            0,
            "a refused beacon is dropped, not retried forever"
        );
        assert_eq!(
            *asked.lock().expect("log"),
            ["/impression", "/refused", "/start"]
        );
    }

    #[tokio::test]
    async fn every_resend_of_a_beacon_carries_the_id_it_was_given() {
        let (_dir, beacons) = queue();
        let (url, asked) = ad_server(|_| 503);
        let macro_url = format!("{url}/t?e=start&cb={ID_MACRO}");
        beacons
            .push(vec![macro_url.clone(), macro_url])
            .expect("push");
        // The first beacon, tried twice, then dropped by hand to reach the
        // second.
        assert!(beacons.send_oldest().await.is_err());
        assert!(beacons.send_oldest().await.is_err());
        let first = beacons.queue.oldest::<Beacon>(1).expect("oldest");
        beacons.queue.remove(&first.keys).expect("remove");
        assert!(beacons.send_oldest().await.is_err());

        let asked = asked.lock().expect("log").clone();
        let ids: Vec<&str> = asked
            .iter()
            .map(|p| p.rsplit("cb=").next().expect("an id"))
            .collect();
        assert!(
            ids.iter()
                .all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit())),
            "{asked:?}"
        );
        assert_eq!(ids[0], ids[1], "a resend is the same beacon");
        assert_ne!(ids[1], ids[2], "another beacon is another id");
    }

    #[tokio::test]
    async fn a_failing_ad_server_keeps_the_beacon_for_later() {
        let (_dir, beacons) = queue();
        let (url, asked) = ad_server(|_| 503);
        beacons.push(vec![format!("{url}/start")]).expect("push");
        assert!(beacons.send_oldest().await.is_err());
        assert_eq!(beacons.queued(), 1, "kept for the next try");
        assert_eq!(asked.lock().expect("log").len(), 1);
    }
}
