//! What predictive prefetch keeps ready so that Play starts from memory.
//!
//! For each warmed title: the headend's playback session, the startup
//! objects (the manifest, the media playlists or segment indexes, the
//! init segments and the first media segment of every track that Play
//! will choose, at the point it will start from) and the content keys.
//! [`fill`] fetches them through the same [`Router`] and [`Selection`] a
//! playback uses, so the URLs and ranges are the ones Play asks for; a
//! playback started with a [`WarmTitle`] is served them without a
//! request, and only what it needs beyond them goes to the network.
//!
//! Bounded: at most `max_bytes` of objects, the least recently warmed
//! title dropped first, and each title only for `ttl` (a session's URLs,
//! the viewer's entitlement and resume point move on). The keys live in
//! memory only, like the player's own, and [`Warm::clear`] (on logout)
//! forgets everything.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ottbox_protocol::playback::PlaybackSession;
use tokio::sync::watch;

use super::context::{self, Engine};
use super::error::PlayError;
use super::license;
use super::objects::Objects;
use super::route::Router;
use super::selection::Selection;
use crate::media::keyring::{KeyRing, Kid};

/// One title, ready to start.
#[derive(Debug)]
pub struct WarmTitle {
    /// The headend's answer to Play.
    pub session: PlaybackSession,
    /// Where Play was expected to start, seconds.
    pub from_s: f64,
    /// The startup objects.
    pub objects: Objects,
    keys: KeyRing,
    warmed_at: Instant,
}

impl WarmTitle {
    /// Puts the keys for `kids` into `ring`; false (and `ring` untouched)
    /// unless every one of them is held.
    pub fn keys_into(&self, kids: &[Kid], ring: &KeyRing) -> bool {
        let Some(keys) = kids
            .iter()
            .map(|k| self.keys.get(k).map(|key| (*k, key)))
            .collect::<Option<Vec<_>>>()
        else {
            return false;
        };
        for (kid, key) in keys {
            ring.insert(kid, key);
        }
        true
    }
}

/// The warmed titles.
#[derive(Debug)]
pub struct Warm {
    max_bytes: usize,
    ttl: Duration,
    /// Oldest first.
    titles: Mutex<Vec<Arc<WarmTitle>>>,
    changed: watch::Sender<u64>,
}

impl Warm {
    /// Holds at most `max_bytes` of objects, each title for `ttl`.
    pub fn new(max_bytes: usize, ttl: Duration) -> Self {
        Self {
            max_bytes,
            ttl,
            titles: Mutex::new(Vec::new()),
            changed: watch::channel(0).0,
        }
    }

    /// `title_id`, if it is warm and fresh.
    pub fn get(&self, title_id: &str) -> Option<Arc<WarmTitle>> {
        let mut titles = self.lock();
        titles.retain(|t| t.warmed_at.elapsed() < self.ttl);
        titles
            .iter()
            .find(|t| t.session.title_id == title_id)
            .cloned()
    }

    /// The titles a Play would start from memory now.
    pub fn titles(&self) -> Vec<String> {
        let titles = self.lock();
        titles
            .iter()
            .filter(|t| t.warmed_at.elapsed() < self.ttl)
            .map(|t| t.session.title_id.clone())
            .collect()
    }

    /// Bumped when a title is warmed or everything is forgotten.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Keeps `title` (replacing an older warming of it), dropping the
    /// oldest titles until the objects fit. A title larger than the whole
    /// budget is not kept.
    pub fn insert(&self, title: WarmTitle) {
        if title.objects.bytes() > self.max_bytes {
            tracing::info!(
                title = %title.session.title_id,
                bytes = title.objects.bytes(),
                "too large to keep warm"
            );
            return;
        }
        {
            let mut titles = self.lock();
            titles.retain(|t| t.session.title_id != title.session.title_id);
            let mut total: usize = titles.iter().map(|t| t.objects.bytes()).sum();
            while total + title.objects.bytes() > self.max_bytes && !titles.is_empty() {
                total -= titles.remove(0).objects.bytes();
            }
            titles.push(Arc::new(title));
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Forgets every title and key (logout).
    pub fn clear(&self) {
        let had = !std::mem::take(&mut *self.lock()).is_empty();
        if had {
            self.changed.send_modify(|n| *n += 1);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<WarmTitle>>> {
        self.titles.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Fetches what a Play of `session` from `from_s` needs before its first
/// frame: the presentation, the license, and each chosen track's init
/// segment and first media segment in the rendition the ABR will start
/// with.
pub async fn fill(
    engine: &Engine,
    session: PlaybackSession,
    from_s: f64,
) -> Result<WarmTitle, PlayError> {
    let mut router: Router = context::router(engine, &session)?;
    router.record();
    let presentation = context::open(&mut router).await?;
    let mut selection = Selection::new(&presentation, &engine.store, false)?;
    let keys = KeyRing::new();
    license::acquire(
        &engine.account,
        &engine.headend,
        &session.license_url,
        &selection.kids,
        &keys,
    )
    .await?;
    let mut abr = context::startup_abr(engine, &selection.feeds[0])?;
    for feed in &mut selection.feeds {
        feed.seek(from_s);
        let rendition = feed.rendition(&mut abr, 0.0, false);
        let Some(segment) = feed.segments(rendition).get(feed.next).cloned() else {
            continue;
        };
        let request = super::cmcd::Request {
            startup: true,
            ..super::cmcd::Request::new(context::object_type(feed.kind))
        };
        if let Some(init) = &segment.init {
            router.get(&init.url, init.range, &request).await?;
        }
        router.get(&segment.url, segment.range, &request).await?;
    }
    Ok(WarmTitle {
        session,
        from_s,
        objects: router.take_recorded(),
        keys,
        warmed_at: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title(id: &str, bytes: usize) -> WarmTitle {
        let mut objects = Objects::default();
        let url = url::Url::parse(&format!("https://edge.example/{id}/seg.m4s")).expect("url");
        objects.insert(&url, None, &vec![0; bytes]);
        WarmTitle {
            session: PlaybackSession {
                title_id: id.into(),
                asset_id: id.into(),
                scheme: "cenc".into(),
                duration_s: 10.0,
                edges: Vec::new(),
                license_url: String::new(),
                resume_s: 0.0,
                ad_plan_url: None,
                steering: None,
            },
            from_s: 0.0,
            objects,
            keys: KeyRing::new(),
            warmed_at: Instant::now(),
        }
    }

    #[test]
    fn the_oldest_title_makes_room_and_a_rewarm_replaces() {
        let warm = Warm::new(1000, Duration::from_secs(60));
        warm.insert(title("a", 400));
        warm.insert(title("b", 400));
        assert_eq!(warm.titles(), ["a", "b"]);
        warm.insert(title("c", 400));
        assert_eq!(warm.titles(), ["b", "c"]);
        assert!(warm.get("a").is_none());
        warm.insert(title("b", 100));
        assert_eq!(warm.titles(), ["c", "b"]);
        warm.insert(title("huge", 1001));
        assert_eq!(warm.titles(), ["c", "b"]);
    }

    #[test]
    fn titles_expire_and_clear_forgets_all() {
        let warm = Warm::new(1000, Duration::from_millis(30));
        let mut changes = warm.subscribe();
        warm.insert(title("a", 10));
        assert!(changes.has_changed().expect("open"));
        changes.mark_unchanged();
        assert!(warm.get("a").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(warm.get("a").is_none());
        assert!(warm.titles().is_empty());
        warm.insert(title("b", 10));
        warm.clear();
        assert!(warm.titles().is_empty());
        assert!(changes.has_changed().expect("open"));
    }

    #[test]
    fn keys_are_handed_over_only_when_all_are_held() {
        let t = title("a", 1);
        let kid = Kid([1; 16]);
        t.keys.insert(kid, [7; 16]);
        let ring = KeyRing::new();
        assert!(!t.keys_into(&[kid, Kid([2; 16])], &ring));
        assert!(ring.kids().is_empty());
        assert!(t.keys_into(&[kid], &ring));
        assert_eq!(ring.get(&kid), Some([7; 16]));
    }
}
