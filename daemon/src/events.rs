//! Store-and-forward queue of viewing events to the headend.
//!
//! [`Events::push`] writes the event to the `events` tree and flushes
//! before returning, so a power cut right after loses nothing. A sender
//! task drains the tree oldest first in batches; an event is removed only
//! after the headend acknowledged it. The headend deduplicates by event id,
//! so a batch sent again after a crash between "sent" and "removed" is not
//! counted twice. Failures back off exponentially with jitter; the queue is
//! bounded, and what is dropped (oldest first) is counted in `meta`.

use std::sync::Arc;
use std::time::Duration;

use ottbox_protocol::playback::{Event, EventBatch, EventKind};
use rand::Rng;
use tokio::sync::{Notify, watch};

use crate::account::{Account, AccountError};
use crate::config::EventsConfig;
use crate::net::Headend;
use crate::store::{Store, StoreError, now_s};

const DROPPED_KEY: &str = "events_dropped";

/// The queue.
pub struct Events {
    store: Store,
    config: EventsConfig,
    wake: Notify,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("queued", &self.store.events.len())
            .finish_non_exhaustive()
    }
}

impl Events {
    /// Opens the queue over the store.
    pub fn new(store: Store, config: EventsConfig) -> Arc<Self> {
        Arc::new(Self {
            store,
            config,
            wake: Notify::new(),
        })
    }

    /// A new event of `kind`, with a fresh id.
    pub fn event(kind: EventKind) -> Event {
        Event {
            id: new_id(),
            kind,
            at: now_s(),
            title_id: None,
            position_s: None,
            query: None,
        }
    }

    /// Queues an event durably and wakes the sender.
    pub fn push(&self, event: &Event) -> Result<(), StoreError> {
        let key = self.store.next_id()?.to_be_bytes();
        self.store.put(&self.store.events, key, event)?;
        self.trim()?;
        self.store.flush()?;
        self.wake.notify_one();
        Ok(())
    }

    /// Drops the oldest events beyond the bound, counting them.
    fn trim(&self) -> Result<(), StoreError> {
        let over = self
            .store
            .events
            .len()
            .saturating_sub(self.config.max_queued.max(1));
        if over == 0 {
            return Ok(());
        }
        for entry in self.store.events.iter().take(over) {
            let (key, _) = entry?;
            self.store.events.remove(key)?;
        }
        self.store
            .meta
            .update_and_fetch(DROPPED_KEY, |old| Some(bump(old, over as u64)))?;
        tracing::warn!(dropped = over, "event queue full; oldest events dropped");
        Ok(())
    }

    /// Events waiting to be sent.
    pub fn queued(&self) -> usize {
        self.store.events.len()
    }

    /// When the oldest unsent event happened: anything the box recorded
    /// since then may still be unknown to the headend.
    pub fn oldest_unsent_at(&self) -> Option<i64> {
        let (_, value) = self.store.events.first().ok()??;
        serde_json::from_slice::<Event>(&value).ok().map(|e| e.at)
    }

    /// Events dropped because the queue was full, since the box was set up.
    pub fn dropped(&self) -> u64 {
        self.store
            .meta
            .get(DROPPED_KEY)
            .ok()
            .flatten()
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(0, u64::from_be_bytes)
    }

    /// Sends until shutdown: a batch whenever there are events, with
    /// backoff after failures.
    pub async fn run_sender(
        self: Arc<Self>,
        account: Arc<Account>,
        headend: Headend,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut backoff = self.config.min_backoff_s;
        loop {
            let delay = match self.send_batch(&account, &headend).await {
                Ok(0) => None,
                Ok(_) => {
                    backoff = self.config.min_backoff_s;
                    Some(Duration::ZERO)
                }
                Err(e) => {
                    let wait = jitter(backoff);
                    tracing::debug!(error = %e, retry_in_s = wait, "events not sent");
                    backoff = (backoff * 2.0).min(self.config.max_backoff_s);
                    Some(Duration::from_secs_f64(wait))
                }
            };
            tokio::select! {
                _ = shutdown.changed() => return,
                () = self.wake.notified(), if delay.is_none() => {}
                () = tokio::time::sleep(delay.unwrap_or_default()), if delay.is_some() => {}
            }
        }
    }

    /// Sends the oldest batch; returns how many events left the queue.
    async fn send_batch(&self, account: &Account, headend: &Headend) -> Result<usize, SendError> {
        let mut keys = Vec::new();
        let mut events = Vec::new();
        for entry in self.store.events.iter().take(self.config.batch.max(1)) {
            let (key, value) = entry.map_err(StoreError::from)?;
            match serde_json::from_slice::<Event>(&value) {
                Ok(event) => events.push(event),
                // A torn write from a crash: nothing to send, drop it.
                Err(_) => tracing::warn!("undecodable queued event dropped"),
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Ok(0);
        }
        if !events.is_empty() {
            let token = account.access_token().await?;
            headend
                .events(&token, &EventBatch { events })
                .await
                .map_err(AccountError::from)?;
        }
        for key in &keys {
            self.store.events.remove(key).map_err(StoreError::from)?;
        }
        self.store.flush()?;
        Ok(keys.len())
    }
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn bump(old: Option<&[u8]>, by: u64) -> Vec<u8> {
    let n = old
        .and_then(|v| <[u8; 8]>::try_from(v).ok())
        .map_or(0, u64::from_be_bytes);
    (n + by).to_be_bytes().to_vec()
}

/// "Full jitter" between half the delay and the delay: boxes that lost the
/// network together do not all come back in the same second.
fn jitter(delay_s: f64) -> f64 {
    delay_s * rand::rng().random_range(0.5..=1.0)
}

/// A random 128-bit id in UUID v4 text form.
/// A random (version 4) UUID: event ids, playback session ids.
pub fn new_id() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(max: usize) -> (tempfile::TempDir, Arc<Events>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let config = EventsConfig {
            max_queued: max,
            ..EventsConfig::default()
        };
        (dir, Events::new(store, config))
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_them() {
        let (_dir, events) = queue(3);
        let mut ids = Vec::new();
        for _ in 0..5 {
            let e = Events::event(EventKind::Search);
            ids.push(e.id.clone());
            events.push(&e).expect("push");
        }
        assert_eq!(events.queued(), 3);
        assert_eq!(events.dropped(), 2);
        let kept: Vec<String> = events
            .store
            .events
            .iter()
            .map(|e| {
                serde_json::from_slice::<Event>(&e.expect("entry").1)
                    .expect("json")
                    .id
            })
            .collect();
        assert_eq!(kept, ids[2..].to_vec(), "the newest are kept, in order");
    }

    #[test]
    fn ids_are_unique_uuids() {
        let a = new_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, new_id());
    }
}
