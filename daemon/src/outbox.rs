//! A durable store-and-forward queue: what the box owes a server.
//!
//! Viewing events (to the headend) and ad beacons (to the ad server) share
//! one discipline, kept here so both get it right the same way:
//!
//! - [`Outbox::push`] writes the item to its sled tree and flushes before
//!   returning: a power cut right after loses nothing;
//! - items leave oldest first, and only once the server took them
//!   ([`Outbox::remove`] after a successful send), so a crash between
//!   "sent" and "removed" sends them again (servers deduplicate, or count
//!   a beacon twice, which VAST accepts over losing it);
//! - failures back off exponentially with jitter ([`Outbox::run`]);
//! - the queue is bounded; what is dropped, oldest first, is counted in
//!   the `meta` tree under `<name>_dropped`.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};

use crate::store::{Store, StoreError};

/// One queue over one tree of the store.
pub struct Outbox {
    store: Store,
    tree: sled::Tree,
    name: &'static str,
    max: usize,
    wake: Notify,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("name", &self.name)
            .field("queued", &self.tree.len())
            .finish_non_exhaustive()
    }
}

/// Retry delays after a failed send, seconds: the first, doubling up to the
/// longest.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First delay.
    pub min_s: f64,
    /// Longest delay.
    pub max_s: f64,
}

impl Outbox {
    /// The queue `name` over `tree`, holding at most `max` items.
    pub fn new(store: Store, tree: sled::Tree, name: &'static str, max: usize) -> Self {
        Self {
            store,
            tree,
            name,
            max: max.max(1),
            wake: Notify::new(),
        }
    }

    /// Queues `item` durably and wakes the sender.
    pub fn push<T: Serialize>(&self, item: &T) -> Result<(), StoreError> {
        self.push_all(std::slice::from_ref(item))
    }

    /// Queues `items` in order, durably (one flush for all), and wakes the
    /// sender.
    pub fn push_all<T: Serialize>(&self, items: &[T]) -> Result<(), StoreError> {
        for item in items {
            let key = self.store.next_id()?.to_be_bytes();
            self.store.put(&self.tree, key, item)?;
        }
        self.trim()?;
        self.store.flush()?;
        self.wake.notify_one();
        Ok(())
    }

    /// Drops the oldest items beyond the bound, counting them.
    fn trim(&self) -> Result<(), StoreError> {
        let over = self.tree.len().saturating_sub(self.max);
        if over == 0 {
            return Ok(());
        }
        for entry in self.tree.iter().take(over) {
            let (key, _) = entry?;
            self.tree.remove(key)?;
        }
        self.store
            .meta
            .update_and_fetch(self.dropped_key(), |old| Some(bump(old, over as u64)))?;
        tracing::warn!(
            queue = self.name,
            dropped = over,
            "queue full; oldest dropped"
        );
        Ok(())
    }

    fn dropped_key(&self) -> String {
        format!("{}_dropped", self.name)
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Nothing waits.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// Items dropped because the queue was full, since the box was set up.
    pub fn dropped(&self) -> u64 {
        self.store
            .meta
            .get(self.dropped_key())
            .ok()
            .flatten()
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(0, u64::from_be_bytes)
    }

    /// The oldest `n` items, with the keys to [`Outbox::remove`] them by.
    /// An undecodable item (a torn write from a crash) has a key but no
    /// value: it is to be removed, there is nothing to send.
    pub fn oldest<T: DeserializeOwned>(&self, n: usize) -> Result<Taken<T>, StoreError> {
        let mut taken = Taken {
            keys: Vec::new(),
            items: Vec::new(),
        };
        for entry in self.tree.iter().take(n.max(1)) {
            let (key, value) = entry?;
            match serde_json::from_slice::<T>(&value) {
                Ok(item) => taken.items.push(item),
                Err(_) => tracing::warn!(queue = self.name, "undecodable queued item dropped"),
            }
            taken.keys.push(key);
        }
        Ok(taken)
    }

    /// Removes what was sent, durably.
    pub fn remove(&self, keys: &[sled::IVec]) -> Result<(), StoreError> {
        for key in keys {
            self.tree.remove(key)?;
        }
        self.store.flush()
    }

    /// Calls `send` until shutdown: again at once while it moves items
    /// (it returns how many left the queue), on the next push when the
    /// queue is empty, after a growing, jittered delay when it fails.
    pub async fn run<E, F, Fut>(
        &self,
        backoff: Backoff,
        mut shutdown: watch::Receiver<bool>,
        mut send: F,
    ) where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<usize, E>>,
    {
        let mut delay_s = backoff.min_s;
        loop {
            let wait = match send().await {
                Ok(0) => None,
                Ok(_) => {
                    delay_s = backoff.min_s;
                    Some(Duration::ZERO)
                }
                Err(e) => {
                    let wait = jitter(delay_s);
                    tracing::debug!(queue = self.name, error = %e, retry_in_s = wait, "not sent");
                    delay_s = (delay_s * 2.0).min(backoff.max_s);
                    Some(Duration::from_secs_f64(wait))
                }
            };
            tokio::select! {
                _ = shutdown.changed() => return,
                () = self.wake.notified(), if wait.is_none() => {}
                () = tokio::time::sleep(wait.unwrap_or_default()), if wait.is_some() => {}
            }
        }
    }
}

/// What [`Outbox::oldest`] took.
#[derive(Debug)]
pub struct Taken<T> {
    /// Keys of every item taken, decodable or not.
    pub keys: Vec<sled::IVec>,
    /// The decodable items, oldest first.
    pub items: Vec<T>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(max: usize) -> (tempfile::TempDir, Outbox) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let tree = store.events.clone();
        (dir, Outbox::new(store, tree, "test", max))
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_them() {
        let (_dir, q) = outbox(3);
        for n in 0..5_u32 {
            q.push(&n).expect("push");
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 2);
        let kept = q.oldest::<u32>(10).expect("oldest");
        assert_eq!(kept.items, vec![2, 3, 4], "the newest are kept, in order");
        q.remove(&kept.keys[..1]).expect("remove");
        assert_eq!(q.oldest::<u32>(10).expect("oldest").items, vec![3, 4]);
    }

    #[test]
    fn an_undecodable_item_is_taken_for_removal_but_not_returned() {
        let (_dir, q) = outbox(10);
        q.push(&"a").expect("push");
        q.tree.insert([0xff; 8], &b"{torn"[..]).expect("insert");
        let taken = q.oldest::<String>(10).expect("oldest");
        assert_eq!(taken.items, vec!["a".to_owned()]);
        assert_eq!(taken.keys.len(), 2);
    }
}
