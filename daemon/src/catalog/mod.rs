//! The catalog as the box sees it: answered from sled at once, refreshed
//! from the headend behind the viewer's back (stale-while-revalidate).
//!
//! - `home`: the cached rows come back immediately; if they are older than
//!   `cache.home_ttl_s` (or the box is offline) a refresh starts in the
//!   background, and a change of rows is published on [`Catalog::rows_changed`]
//!   (the D-Bus layer turns it into `RowsChanged`). Only a box that has never
//!   seen the rows waits for the headend.
//! - Offline: any call that cannot reach the headend sets
//!   [`Catalog::offline`]; a prober then retries every
//!   `cache.probe_interval_s` and, when the headend answers, refreshes the
//!   rows, clears the flag and signals.
//! - After each refresh the details and posters of the first titles of the
//!   first rows are fetched ahead, so opening them is instant (and works
//!   offline).

pub mod resume;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ottbox_protocol::catalog::{Home, TitleDetails, TitleList};
use ottbox_protocol::dbus::{Details, HomeRow, HomeView, Tile};
use ottbox_protocol::playback::EventKind;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::account::{Account, AccountError};
use crate::config::CacheConfig;
use crate::events::Events;
use crate::net::{Headend, HeadendError};
use crate::store::{Store, StoreError, now_s};

const HOME_KEY: &str = "view";
/// Queries longer than this are refused (an on-screen keyboard never gets there).
const MAX_QUERY: usize = 200;

/// Why a catalog call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// Nothing cached and the headend is unreachable.
    #[error("offline: the headend is unreachable and nothing is cached for this")]
    Offline,
    /// The account failed (not logged in, refresh refused).
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The headend refused.
    #[error(transparent)]
    Headend(HeadendError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bad argument.
    #[error("invalid_argument: {0}")]
    InvalidArgument(String),
}

impl From<HeadendError> for CatalogError {
    fn from(e: HeadendError) -> Self {
        if e.is_unreachable() {
            Self::Offline
        } else {
            Self::Headend(e)
        }
    }
}

/// A cached answer with the time it was fetched.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached<T> {
    fetched_at: i64,
    /// Home rows only: the headend's answer reflects the box's events up
    /// to this time (the request time, or earlier when events were still
    /// unsent then). Local resume points saved since are newer.
    #[serde(default)]
    reflects_until: Option<i64>,
    value: T,
}

/// Details and similar titles, cached together.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DetailsEntry {
    details: TitleDetails,
    similar: Option<TitleList>,
}

/// The catalog cache.
pub struct Catalog {
    store: Store,
    headend: Headend,
    account: Arc<Account>,
    events: Arc<Events>,
    config: CacheConfig,
    offline: watch::Sender<bool>,
    rows_changed: watch::Sender<u64>,
    refreshing: AtomicBool,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("offline", &*self.offline.borrow())
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// The cache over `store`.
    pub fn new(
        store: Store,
        headend: Headend,
        account: Arc<Account>,
        events: Arc<Events>,
        config: CacheConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            headend,
            account,
            events,
            config,
            offline: watch::channel(false).0,
            rows_changed: watch::channel(0).0,
            refreshing: AtomicBool::new(false),
        })
    }

    /// True while the headend is unreachable.
    pub fn offline(&self) -> watch::Receiver<bool> {
        self.offline.subscribe()
    }

    /// Bumped each time the home rows change.
    pub fn rows_changed(&self) -> watch::Receiver<u64> {
        self.rows_changed.subscribe()
    }

    fn mark(&self, result: &Result<impl Sized, HeadendError>) {
        let unreachable = matches!(result, Err(e) if e.is_unreachable());
        self.offline
            .send_if_modified(|o| std::mem::replace(o, unreachable) != unreachable);
    }

    /// The home rows: cached at once (refreshing in the background when
    /// stale), or fetched when there is no cache yet.
    pub async fn home(self: &Arc<Self>) -> Result<HomeView, CatalogError> {
        let cached: Option<Cached<Home>> = self.store.get(&self.store.home, HOME_KEY);
        let cached = match cached {
            Some(c) => {
                let stale = now_s() - c.fetched_at >= self.config.home_ttl_s as i64;
                if stale || *self.offline.borrow() {
                    let me = Arc::clone(self);
                    tokio::spawn(async move {
                        let _ = me.refresh_home().await;
                    });
                }
                c
            }
            None => {
                self.refresh_home().await?;
                self.store
                    .get(&self.store.home, HOME_KEY)
                    .ok_or(CatalogError::Offline)?
            }
        };
        Ok(self.view(cached))
    }

    /// The home rows as last fetched, without asking the headend.
    pub fn cached_home(&self) -> Option<HomeView> {
        let cached: Option<Cached<Home>> = self.store.get(&self.store.home, HOME_KEY);
        cached.map(|c| self.view(c))
    }

    fn view(&self, cached: Cached<Home>) -> HomeView {
        let mut rows: Vec<HomeRow> = cached
            .value
            .rows
            .iter()
            .map(|r| HomeRow {
                id: r.id.clone(),
                title: r.title.clone(),
                tiles: r.items.iter().map(Tile::from).collect(),
            })
            .collect();
        // The server's row reflects what it had been told when it was
        // asked; positions saved after that, or not yet sent, are newer.
        let reflected = cached.reflects_until.unwrap_or(cached.fetched_at);
        let known_until = self
            .events
            .oldest_unsent_at()
            .map_or(reflected, |at| at.min(reflected));
        resume::merge(&self.store, &mut rows, known_until);
        HomeView {
            rows,
            offline: *self.offline.borrow(),
            updated_at: cached.fetched_at,
        }
    }

    /// Fetches the home rows now; signals if they changed. One refresh at a
    /// time: a second caller returns at once.
    pub async fn refresh_home(self: &Arc<Self>) -> Result<(), CatalogError> {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let result = self.fetch_home().await;
        self.refreshing.store(false, Ordering::Release);
        result
    }

    async fn fetch_home(self: &Arc<Self>) -> Result<(), CatalogError> {
        let token = self.account.access_token().await?;
        let asked_at = now_s();
        let reflects_until = self
            .events
            .oldest_unsent_at()
            .map_or(asked_at, |at| at.min(asked_at));
        let result = self.headend.home(&token).await;
        self.mark(&result);
        let home = result?;
        let old: Option<Cached<Home>> = self.store.get(&self.store.home, HOME_KEY);
        let changed = old.as_ref().is_none_or(|o| o.value != home);
        self.store.put(
            &self.store.home,
            HOME_KEY,
            &Cached {
                fetched_at: now_s(),
                reflects_until: Some(reflects_until),
                value: home.clone(),
            },
        )?;
        // The rows are what an offline cold start shows: worth a sync.
        self.store.flush()?;
        if changed {
            self.rows_changed.send_modify(|n| *n += 1);
        }
        let me = Arc::clone(self);
        tokio::spawn(async move { me.prefetch(&home).await });
        Ok(())
    }

    /// Details and posters of the first titles of the first rows.
    async fn prefetch(&self, home: &Home) {
        let ids: Vec<String> = home
            .rows
            .iter()
            .take(2)
            .flat_map(|r| r.items.iter().take(self.config.prefetch_titles))
            .map(|i| i.title.id.clone())
            .collect();
        for id in ids {
            if self.details_entry(&id, false).await.is_err() || self.poster(&id).await.is_err() {
                // Offline or refused: the rest would fail the same way.
                break;
            }
        }
        if let Err(e) = self.store.flush() {
            tracing::warn!(error = %e, "prefetched details not flushed");
        }
    }

    /// Search results, reused for `search_ttl_s`; a search event is queued
    /// for the recommender.
    pub async fn search(&self, query: &str) -> Result<Vec<Tile>, CatalogError> {
        let key = normalise(query);
        if key.len() > MAX_QUERY {
            return Err(CatalogError::InvalidArgument(format!(
                "a query is at most {MAX_QUERY} characters"
            )));
        }
        if key.is_empty() {
            return Ok(Vec::new());
        }
        let mut event = Events::event(EventKind::Search);
        event.query = Some(key.clone());
        self.events.push(&event)?;
        let cached: Option<Cached<TitleList>> = self.store.get(&self.store.search, &key);
        if let Some(c) = &cached
            && now_s() - c.fetched_at < self.config.search_ttl_s as i64
        {
            return Ok(tiles(&c.value));
        }
        let token = self.account.access_token().await?;
        let result = self.headend.search(&token, &key).await;
        self.mark(&result);
        match (result, cached) {
            (Ok(list), _) => {
                self.store.put(
                    &self.store.search,
                    &key,
                    &Cached {
                        fetched_at: now_s(),
                        reflects_until: None,
                        value: list.clone(),
                    },
                )?;
                Ok(tiles(&list))
            }
            (Err(e), Some(c)) if e.is_unreachable() => Ok(tiles(&c.value)),
            (Err(e), _) => Err(e.into()),
        }
    }

    async fn details_entry(
        &self,
        id: &str,
        with_similar: bool,
    ) -> Result<DetailsEntry, CatalogError> {
        check_id(id)?;
        let cached: Option<Cached<DetailsEntry>> = self.store.get(&self.store.details, id);
        if let Some(c) = &cached {
            let fresh = now_s() - c.fetched_at < self.config.details_ttl_s as i64;
            if fresh && (!with_similar || c.value.similar.is_some()) {
                return Ok(c.value.clone());
            }
        }
        let fetched = async {
            let token = self.account.access_token().await?;
            let details = self.headend.details(&token, id).await;
            self.mark(&details);
            let details = details?;
            let similar = if with_similar {
                let s = self.headend.similar(&token, id).await;
                self.mark(&s);
                Some(s?)
            } else {
                None
            };
            Ok::<_, CatalogError>(DetailsEntry { details, similar })
        }
        .await;
        match (fetched, cached) {
            (Ok(entry), _) => {
                self.store.put(
                    &self.store.details,
                    id,
                    &Cached {
                        fetched_at: now_s(),
                        reflects_until: None,
                        value: entry.clone(),
                    },
                )?;
                Ok(entry)
            }
            (Err(CatalogError::Offline), Some(c)) => Ok(c.value),
            (Err(e), _) => Err(e),
        }
    }

    /// A title's details, with the local resume point.
    pub async fn details(&self, id: &str) -> Result<Details, CatalogError> {
        let entry = self.details_entry(id, false).await?;
        let mut details = Details::from(&entry.details);
        if let Some(r) = resume::get(&self.store, id) {
            details.tile.resume_s = r.position_s;
            if r.duration_s > 0.0 {
                details.tile.progress = (r.position_s / r.duration_s).clamp(0.0, 1.0);
            }
        }
        Ok(details)
    }

    /// Titles like `id`.
    pub async fn similar(&self, id: &str) -> Result<Vec<Tile>, CatalogError> {
        let entry = self.details_entry(id, true).await?;
        Ok(entry.similar.as_ref().map(tiles).unwrap_or_default())
    }

    /// A title's poster (PNG), cached for good: posters do not change.
    pub async fn poster(&self, id: &str) -> Result<Vec<u8>, CatalogError> {
        check_id(id)?;
        if let Some(bytes) = self.store.posters.get(id).map_err(StoreError::from)? {
            return Ok(bytes.to_vec());
        }
        let result = self.headend.poster(id).await;
        self.mark(&result);
        let bytes = result?;
        self.store
            .posters
            .insert(id, bytes.as_slice())
            .map_err(StoreError::from)?;
        Ok(bytes)
    }

    /// While offline, probes the headend every `probe_interval_s`; when it
    /// answers, the rows are refreshed (which clears the flag and signals).
    pub async fn run_prober(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut offline = self.offline();
        let every = Duration::from_secs_f64(self.config.probe_interval_s.max(0.05));
        loop {
            if !*offline.borrow_and_update() {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = offline.changed() => continue,
                }
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                () = tokio::time::sleep(every) => {}
            }
            match self.refresh_home().await {
                Ok(()) | Err(CatalogError::Offline) => {}
                Err(e) => {
                    // Reachable but refusing (logged out): no longer offline.
                    tracing::debug!(error = %e, "probe reached the headend");
                    self.offline.send_replace(false);
                }
            }
        }
    }
}

fn tiles(list: &TitleList) -> Vec<Tile> {
    list.results.iter().map(Tile::from).collect()
}

/// Lower case, single spaces: "Soc  Netw " and "soc netw" share a cache entry.
fn normalise(query: &str) -> String {
    query
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn check_id(id: &str) -> Result<(), CatalogError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CatalogError::InvalidArgument(format!(
            "{id:?} is not a title id"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_normalised_and_ids_checked() {
        assert_eq!(normalise("  Soc   NETW "), "soc netw");
        assert!(check_id("ml-2571").is_ok());
        assert!(check_id("../etc").is_err());
        assert!(check_id("").is_err());
        assert!(check_id(&"a".repeat(200)).is_err());
    }
}
