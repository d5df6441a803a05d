//! Response caches for the two hottest reads: search results and home rows.
//!
//! Both answers are pure functions of state that changes rarely, so the
//! headend keeps the serialised JSON of recent answers and sends the same
//! bytes again instead of re-running FTS5 and re-serialising hundreds of
//! tiles:
//!
//! - [`SearchCache`]: keyed by the *normalised* query (the lower-case terms
//!   search actually uses, so "Soc  Netw" and "soc netw" share an entry) and
//!   the page size. Bounded LRU; cleared when the catalog is refreshed.
//! - [`HomeCache`]: keyed by account. An account's entry is dropped when
//!   that account posts viewing events (they move Continue watching and the
//!   recommendations), and everything is dropped when the catalog is
//!   refreshed. Authentication is never cached: every request still checks
//!   its token and session.
//!
//! A home page being built while the same account's events are recorded
//! must not be stored after the invalidation (it would be stale until the
//! next event). Each account entry therefore carries a version drawn from
//! one global counter: a builder notes the version before reading, and its
//! result is stored only if the version is unchanged.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use lru::LruCache;

/// Distinct searches kept.
const SEARCH_ENTRIES: usize = 4096;
/// Accounts whose home rows are kept.
const HOME_ACCOUNTS: usize = 8192;

/// Recent search answers, by normalised query and page size.
#[derive(Debug)]
pub struct SearchCache {
    entries: Mutex<LruCache<(String, usize), Bytes>>,
}

impl Default for SearchCache {
    fn default() -> Self {
        Self {
            entries: Mutex::new(LruCache::new(nonzero(SEARCH_ENTRIES))),
        }
    }
}

impl SearchCache {
    /// The cached answer to `query` (already normalised) with `limit`.
    pub fn get(&self, query: &str, limit: usize) -> Option<Bytes> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&(query.to_owned(), limit)).cloned()
    }

    /// Keeps an answer.
    pub fn put(&self, query: String, limit: usize, body: Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.put((query, limit), body);
    }

    /// Forgets everything (the catalog changed).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// One account's cached home pages.
#[derive(Debug)]
struct HomeEntry {
    /// Changes on every invalidation; see the module docs.
    version: u64,
    /// Serialised home answers by tiles per row.
    pages: Vec<(usize, Bytes)>,
}

/// Recent home answers, by account.
#[derive(Debug)]
pub struct HomeCache {
    entries: Mutex<LruCache<String, HomeEntry>>,
    versions: AtomicU64,
}

impl Default for HomeCache {
    fn default() -> Self {
        Self {
            entries: Mutex::new(LruCache::new(nonzero(HOME_ACCOUNTS))),
            versions: AtomicU64::new(0),
        }
    }
}

/// What a miss hands back: the version to store under.
#[derive(Debug, Clone, Copy)]
pub struct HomeTicket(u64);

impl HomeCache {
    /// The cached home of `account` with `items` tiles per row, or a ticket
    /// to store a freshly built one with [`HomeCache::put`].
    pub fn get(&self, account: &str, items: usize) -> Result<Bytes, HomeTicket> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get(account) {
            return match entry.pages.iter().find(|(n, _)| *n == items) {
                Some((_, body)) => Ok(body.clone()),
                None => Err(HomeTicket(entry.version)),
            };
        }
        let version = self.next_version();
        entries.put(
            account.to_owned(),
            HomeEntry {
                version,
                pages: Vec::new(),
            },
        );
        Err(HomeTicket(version))
    }

    /// Stores a home built under `ticket`, unless the account was
    /// invalidated meanwhile.
    pub fn put(&self, account: &str, ticket: HomeTicket, items: usize, body: Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get_mut(account)
            && entry.version == ticket.0
        {
            entry.pages.retain(|(n, _)| *n != items);
            entry.pages.push((items, body));
        }
    }

    /// Drops `account`'s pages (it posted events).
    pub fn invalidate(&self, account: &str) {
        let version = self.next_version();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get_mut(account) {
            entry.version = version;
            entry.pages.clear();
        }
    }

    /// Forgets everything (the catalog or the recommender changed).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn next_version(&self) -> u64 {
        self.versions.fetch_add(1, Ordering::Relaxed) + 1
    }
}

fn nonzero(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_entries_are_bounded_and_cleared() {
        let cache = SearchCache::default();
        for i in 0..SEARCH_ENTRIES + 10 {
            cache.put(format!("q{i}"), 20, Bytes::from(format!("{i}")));
        }
        assert!(cache.get("q0", 20).is_none(), "oldest entry evicted");
        let last = format!("q{}", SEARCH_ENTRIES + 9);
        assert_eq!(cache.get(&last, 20).as_deref(), Some(b"4105".as_slice()));
        assert!(
            cache.get(&last, 10).is_none(),
            "page size is part of the key"
        );
        cache.clear();
        assert!(cache.get(&last, 20).is_none());
    }

    #[test]
    fn home_pages_are_dropped_by_the_accounts_events() {
        let cache = HomeCache::default();
        let ticket = cache.get("alice", 20).expect_err("empty cache");
        cache.put("alice", ticket, 20, Bytes::from_static(b"a"));
        let ticket = cache.get("bob", 20).expect_err("empty cache");
        cache.put("bob", ticket, 20, Bytes::from_static(b"b"));
        assert_eq!(
            cache.get("alice", 20).as_deref().ok(),
            Some(b"a".as_slice())
        );

        cache.invalidate("alice");
        assert!(cache.get("alice", 20).is_err());
        assert!(cache.get("bob", 20).is_ok(), "other accounts keep theirs");
    }

    #[test]
    fn a_home_built_across_an_invalidation_is_not_stored() {
        let cache = HomeCache::default();
        let ticket = cache.get("alice", 20).expect_err("empty cache");
        // Events arrive while the page is being built from older data.
        cache.invalidate("alice");
        cache.put("alice", ticket, 20, Bytes::from_static(b"stale"));
        assert!(
            cache.get("alice", 20).is_err(),
            "stale page must not be kept"
        );
    }
}
