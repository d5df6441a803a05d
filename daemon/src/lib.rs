//! `ottboxd`: the box's service.
//!
//! One module per concern, as `ARCHITECTURE.md` lays out:
//! - [`config`]: TOML file, `OTTBOX_*` environment, command line;
//! - [`store`]: sled trees, schema version, durability;
//! - [`net`]: the rustls HTTPS client for the headend API;
//! - [`account`]: device login (RFC 8628), tokens kept fresh, logout;
//! - [`catalog`]: home rows, search, details, posters from cache first;
//! - [`ids`]: the random ids the box makes up (UUID v4);
//! - [`events`]: the store-and-forward queue of viewing events, over
//!   [`outbox`] (which ad beacons use too);
//! - [`ads`]: client-side ads: VMAP/VAST plans, when breaks play, beacons;
//! - [`player`]: Play, Preview and Stop for the viewer: one playback at a
//!   time, resume points and viewing events around the engine;
//! - [`prefetch`]: while idle, the likeliest next titles made ready to
//!   start from memory;
//! - [`dbus`]: `io.ottbox.Daemon` and its interfaces, one file each;
//! - [`daemon`]: wiring it together, systemd readiness and watchdog,
//!   shutdown;
//! - [`playback`]: the streaming engine (manifests, ABR, scheduling,
//!   licenses, ads, QoE);
//! - [`media`]: the GStreamer side (pipeline, the CENC decryptor element,
//!   decoder ranking, sinks).

use std::sync::Arc;

pub mod account;
pub mod ads;
pub mod catalog;
pub mod config;
pub mod daemon;
pub mod dbus;
pub mod events;
pub mod ids;
pub mod media;
pub mod net;
pub mod outbox;
pub mod playback;
pub mod player;
pub mod prefetch;
pub mod store;

/// The daemon's version, as reported on D-Bus and in logs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything the interfaces share: one per daemon.
#[derive(Debug)]
pub struct Core {
    /// The sled store.
    pub store: store::Store,
    /// The headend client.
    pub headend: net::Headend,
    /// The viewer's account.
    pub account: Arc<account::Account>,
    /// The catalog cache.
    pub catalog: Arc<catalog::Catalog>,
    /// Outbound events.
    pub events: Arc<events::Events>,
    /// Ad beacons owed.
    pub beacons: Arc<ads::beacons::Beacons>,
    /// The player.
    pub player: Arc<player::Player>,
    /// Predictive prefetch for the player.
    pub prefetcher: Arc<prefetch::Prefetcher>,
}

impl Core {
    /// Opens the store and builds the services over it.
    pub fn open(config: &config::Config) -> anyhow::Result<Arc<Self>> {
        let store = store::Store::open(&config.state_dir)?;
        let headend = net::Headend::new(&config.headend)?;
        let enroll_as = config
            .headend
            .enroll
            .then(|| config.headend.device_serial.clone());
        let account = account::Account::new(store.clone(), headend.clone(), enroll_as);
        let events = events::Events::new(store.clone(), config.events.clone());
        let catalog = catalog::Catalog::new(
            store.clone(),
            headend.clone(),
            account.clone(),
            events.clone(),
            config.cache.clone(),
        );
        let beacons = ads::beacons::Beacons::new(store.clone(), headend.http());
        let engine = playback::context::Engine {
            headend: headend.clone(),
            account: account.clone(),
            store: store.clone(),
            config: config.player.clone(),
        };
        let warm = playback::warm::Warm::new(config.prefetch.max_bytes, config.prefetch.ttl());
        let player = player::Player::new(
            engine.clone(),
            Arc::new(warm),
            catalog.clone(),
            events.clone(),
            beacons.clone(),
        );
        let prefetcher = prefetch::Prefetcher::new(
            engine,
            catalog.clone(),
            player.clone(),
            config.prefetch.clone(),
        );
        Ok(Arc::new(Self {
            player,
            prefetcher,
            store,
            headend,
            account,
            catalog,
            events,
            beacons,
        }))
    }
}
