//! Ad beacons, delivered even across power cuts and outages.
//!
//! An advertiser pays per impression, so a beacon the box owes must reach
//! the ad server eventually: [`Beacons::push`] puts the URL in the
//! `beacons` tree (an [`Outbox`]: on disk before it returns, bounded,
//! removed only once delivered) and a sender task GETs them oldest first.
//! A 2xx answer delivers a beacon; a 4xx one drops it (the server will
//! never take it, and retrying would block the ones behind); anything else
//! is retried with backoff.

use std::sync::Arc;

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

    /// Owes `urls`, durably.
    pub fn push(&self, urls: Vec<String>) -> Result<(), StoreError> {
        for url in urls {
            self.queue.push(&Beacon { url, at: now_s() })?;
        }
        Ok(())
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

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("ads.beacon_failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("ads.beacon_failed: HTTP {0}")]
    Status(u16),
    #[error(transparent)]
    Store(#[from] StoreError),
}
