//! Predictive prefetch: while the box is idle, the titles the viewer is
//! most likely to play next are made ready to start from memory.
//!
//! "Most likely" is the cached home rows in the order a remote's focus
//! reaches them: the first tile of each row (Continue watching is the
//! first row), then the second of each, and so on, `prefetch.titles` of
//! them. For each one the headend's playback session is asked for and
//! [`warm::fill`] fetches its manifest, license and first segments into
//! [`Warm`]; Play on it then starts from there (see [`crate::player`]).
//!
//! A round runs only while the player is stopped and the viewer is logged
//! in, and it gives way between titles as soon as something plays. Rounds
//! are started by changes, never by a timer: once at start, when the home
//! rows change, and when a playback stops. On a metered link (config, or
//! NetworkManager's `Metered` property with `metered = "auto"`) nothing
//! is fetched unless `prefetch.on_metered`. Logout forgets everything.

use std::sync::Arc;
use std::time::Duration;

use ottbox_protocol::dbus::LoginState;
use tokio::sync::watch;

use crate::account::AccountError;
use crate::catalog::{Catalog, resume};
use crate::config::{Metered, PrefetchConfig};
use crate::net::HeadendError;
use crate::playback::context::Engine;
use crate::playback::error::PlayError;
use crate::playback::warm::{self, Warm};
use crate::player::Player;

/// NetworkManager's answer is awaited this long.
const NM_TIMEOUT: Duration = Duration::from_secs(1);

/// Why one title could not be warmed.
#[derive(Debug, thiserror::Error)]
enum PrefetchError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Headend(#[from] HeadendError),
    #[error(transparent)]
    Play(#[from] PlayError),
}

impl PrefetchError {
    /// The network is gone: the other titles would fail the same way.
    fn is_unreachable(&self) -> bool {
        match self {
            Self::Headend(e) => e.is_unreachable(),
            Self::Account(AccountError::Headend(e)) => e.is_unreachable(),
            Self::Play(e) => e.code().ends_with(".unreachable"),
            Self::Account(_) => false,
        }
    }
}

/// The prefetch task's parts.
#[derive(Debug)]
pub struct Prefetcher {
    engine: Engine,
    catalog: Arc<Catalog>,
    player: Arc<Player>,
    config: PrefetchConfig,
}

impl Prefetcher {
    /// Warms titles into `player`'s [`Warm`].
    pub fn new(
        engine: Engine,
        catalog: Arc<Catalog>,
        player: Arc<Player>,
        config: PrefetchConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            engine,
            catalog,
            player,
            config,
        })
    }

    fn warm(&self) -> &Warm {
        self.player.warm()
    }

    /// Runs rounds when they are due, until `shutdown`.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        if self.config.titles == 0 {
            return;
        }
        let mut account = self.engine.account.subscribe();
        let mut rows = self.catalog.rows_changed();
        let mut player = self.player.subscribe();
        let mut busy = !self.player_idle();
        let mut due = true;
        loop {
            if due {
                due = false;
                tokio::select! {
                    () = tokio::time::sleep(self.config.idle()) => self.round().await,
                    _ = shutdown.changed() => return,
                }
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                changed = account.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let state = account.borrow_and_update().state;
                    if state == LoginState::LoggedIn {
                        due = true;
                    } else {
                        self.warm().clear();
                    }
                }
                changed = rows.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    rows.borrow_and_update();
                    due = true;
                }
                changed = player.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let idle = player.borrow_and_update().state.is_over();
                    due = idle && busy;
                    busy = !idle;
                }
            }
        }
    }

    /// Warms the candidates that are not warm yet, while the player stays
    /// idle.
    async fn round(&self) {
        if !self.player_idle() || self.engine.account.status().state != LoginState::LoggedIn {
            return;
        }
        if !self.config.on_metered && self.metered().await {
            tracing::debug!("metered link: no predictive prefetch");
            return;
        }
        // Just logged in, nobody asked for Home yet: the rows are wanted
        // anyway, and they say what to prefetch.
        if self.catalog.cached_home().is_none()
            && let Err(e) = self.catalog.refresh_home().await
        {
            tracing::info!(error = %e, "no home rows to prefetch from");
            return;
        }
        for title in self.candidates() {
            if !self.player_idle() {
                return;
            }
            if self.warm().get(&title).is_some() {
                continue;
            }
            match self.warm_title(&title).await {
                Ok(()) => tracing::debug!(%title, "ready to start from memory"),
                Err(e) if e.is_unreachable() => {
                    tracing::info!(error = %e, "prefetch stopped: the network is away");
                    return;
                }
                // Not entitled, not in this region, no video yet: the
                // viewer would be told at Play.
                Err(e) => tracing::info!(%title, error = %e, "not prefetched"),
            }
        }
    }

    async fn warm_title(&self, title: &str) -> Result<(), PrefetchError> {
        let token = self.engine.account.access_token().await?;
        let session = self.engine.headend.playback(&token, title).await?;
        let from = resume::start_at(&self.engine.store, title, session.resume_s);
        let warmed = warm::fill(&self.engine, session, from).await?;
        // A logout while this title was in flight must not leave its keys.
        if self.engine.account.status().state == LoginState::LoggedIn {
            self.warm().insert(warmed);
        }
        Ok(())
    }

    /// The titles to warm, most likely first.
    fn candidates(&self) -> Vec<String> {
        let Some(home) = self.catalog.cached_home() else {
            return Vec::new();
        };
        let rows: Vec<Vec<String>> = home
            .rows
            .iter()
            .map(|r| r.tiles.iter().map(|t| t.id.clone()).collect())
            .collect();
        focus_order(&rows, self.config.titles)
    }

    fn player_idle(&self) -> bool {
        self.player.status().state.is_over()
    }

    async fn metered(&self) -> bool {
        match self.config.metered {
            Metered::Yes => true,
            Metered::No => false,
            Metered::Auto => tokio::time::timeout(NM_TIMEOUT, network_manager_metered())
                .await
                .unwrap_or(false),
        }
    }
}

/// Up to `n` distinct ids: the first of each row, then the second of
/// each, and so on.
fn focus_order(rows: &[Vec<String>], n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let longest = rows.iter().map(Vec::len).max().unwrap_or(0);
    for column in 0..longest {
        for row in rows {
            let Some(id) = row.get(column) else { continue };
            if out.len() == n {
                return out;
            }
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
    }
    out
}

/// NetworkManager's `Metered` property: `yes` or `guess-yes` count as
/// metered; no NetworkManager, or `unknown`, as not.
async fn network_manager_metered() -> bool {
    const YES: u32 = 1;
    const GUESS_YES: u32 = 3;
    let Ok(conn) = zbus::Connection::system().await else {
        return false;
    };
    let reply = conn
        .call_method(
            Some("org.freedesktop.NetworkManager"),
            "/org/freedesktop/NetworkManager",
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.freedesktop.NetworkManager", "Metered"),
        )
        .await;
    let Ok(reply) = reply else {
        return false;
    };
    let body = reply.body();
    let Ok(value) = body.deserialize::<zbus::Variant<'_>>() else {
        return false;
    };
    matches!(u32::try_from(&value), Ok(YES | GUESS_YES))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(spec: &[&[&str]]) -> Vec<Vec<String>> {
        spec.iter()
            .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn the_first_tile_of_every_row_comes_before_the_second_of_any() {
        let home = rows(&[&["a", "b", "c"], &["d"], &["e", "f"]]);
        assert_eq!(focus_order(&home, 4), ["a", "d", "e", "b"]);
        assert_eq!(focus_order(&home, 10), ["a", "d", "e", "b", "f", "c"]);
        assert!(focus_order(&home, 0).is_empty());
    }

    #[test]
    fn a_title_in_two_rows_is_warmed_once() {
        let home = rows(&[&["a", "b"], &["a", "c"]]);
        assert_eq!(focus_order(&home, 3), ["a", "b", "c"]);
    }
}
