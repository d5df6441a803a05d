//! Store-and-forward queue of viewing events to the headend.
//!
//! The queue is an [`Outbox`] over the `events` tree (durable on push,
//! removed only once sent, bounded, backing off): [`Events::push`] returns
//! once the event is on disk, and a sender task drains the tree oldest
//! first in batches. The headend deduplicates by event id, so a batch sent
//! again after a crash between "sent" and "removed" is not counted twice.

use std::sync::Arc;

use ottbox_protocol::playback::{Event, EventBatch, EventKind};
use tokio::sync::watch;

use crate::account::{Account, AccountError};
use crate::config::EventsConfig;
use crate::net::Headend;
use crate::outbox::{Backoff, Outbox};
use crate::store::{Store, StoreError, now_s};

/// The queue.
#[derive(Debug)]
pub struct Events {
    queue: Outbox,
    config: EventsConfig,
}

impl Events {
    /// Opens the queue over the store.
    pub fn new(store: Store, config: EventsConfig) -> Arc<Self> {
        let tree = store.events.clone();
        Arc::new(Self {
            queue: Outbox::new(store, tree, "events", config.max_queued),
            config,
        })
    }

    /// A new event of `kind`, with a fresh id.
    pub fn event(kind: EventKind) -> Event {
        Event {
            id: crate::ids::new_id(),
            kind,
            at: now_s(),
            title_id: None,
            position_s: None,
            query: None,
        }
    }

    /// Queues an event durably and wakes the sender.
    pub fn push(&self, event: &Event) -> Result<(), StoreError> {
        self.queue.push(event)
    }

    /// Events waiting to be sent.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// When the oldest unsent event happened: anything the box recorded
    /// since then may still be unknown to the headend.
    pub fn oldest_unsent_at(&self) -> Option<i64> {
        let taken = self.queue.oldest::<Event>(1).ok()?;
        taken.items.first().map(|e| e.at)
    }

    /// Events dropped because the queue was full, since the box was set up.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }

    /// Sends until shutdown: a batch whenever there are events, with
    /// backoff after failures.
    pub async fn run_sender(
        self: Arc<Self>,
        account: Arc<Account>,
        headend: Headend,
        shutdown: watch::Receiver<bool>,
    ) {
        let backoff = Backoff {
            min_s: self.config.min_backoff_s,
            max_s: self.config.max_backoff_s,
        };
        self.queue
            .run(backoff, shutdown, || self.send_batch(&account, &headend))
            .await;
    }

    /// Sends the oldest batch; returns how many events left the queue.
    async fn send_batch(&self, account: &Account, headend: &Headend) -> Result<usize, SendError> {
        let taken = self.queue.oldest::<Event>(self.config.batch)?;
        if taken.keys.is_empty() {
            return Ok(0);
        }
        if !taken.items.is_empty() {
            let token = account.access_token().await?;
            headend
                .events(
                    &token,
                    &EventBatch {
                        events: taken.items,
                    },
                )
                .await
                .map_err(AccountError::from)?;
        }
        self.queue.remove(&taken.keys)?;
        Ok(taken.keys.len())
    }
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
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
            .queue
            .oldest::<Event>(10)
            .expect("oldest")
            .items
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(kept, ids[2..].to_vec(), "the newest are kept, in order");
    }
}
