//! Shared by the headend's integration tests: a real server on a free
//! loopback port, over a temporary data directory.

#![allow(dead_code)] // each test file uses its own part of this

use std::net::SocketAddr;
use std::sync::Arc;

use ottbox_headend::config::Config;
use ottbox_headend::db::{accounts, assets};
use ottbox_headend::keystore::ContentKey;
use ottbox_headend::server::{self, AppState};
use tokio::sync::oneshot;

/// A running headend; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Starts a server with the default config over a fresh data dir,
    /// after `tweak` has adjusted the config.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        tweak(&mut config);
        Self::start_with(config, Some(dir)).await
    }

    /// Starts a server with exactly `config` (its data dir may be shared
    /// with other servers; `dir`, if given, is removed on drop).
    pub async fn start_with(config: Config, dir: Option<tempfile::TempDir>) -> Self {
        let dir = dir.unwrap_or_else(|| tempfile::tempdir().expect("tempdir"));
        let state = Arc::new(AppState::open(config).expect("state opens"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server::serve(state.clone(), listener, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            state,
            dir,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Records an asset with fresh keys, licensed in `regions`; returns its keys.
    pub fn add_asset(&self, id: &str, labels: &[&str], regions: &[&str]) -> Vec<ContentKey> {
        add_asset(&self.state, id, labels, regions)
    }

    /// Creates an account entitled to `scopes`; returns a valid token.
    pub fn add_account(&self, id: &str, scopes: &[&str]) -> String {
        add_account(&self.state, id, scopes)
    }
}

/// Records an asset with fresh keys, licensed in `regions`; returns its keys.
pub fn add_asset(state: &AppState, id: &str, labels: &[&str], regions: &[&str]) -> Vec<ContentKey> {
    let keys: Vec<ContentKey> = labels.iter().map(|_| ContentKey::generate()).collect();
    let sealed: Vec<assets::SealedKey> = keys
        .iter()
        .zip(labels)
        .map(|(k, label)| assets::SealedKey {
            kid: k.kid,
            label: (*label).to_owned(),
            sealed: state.master.seal(k),
        })
        .collect();
    let asset = assets::Asset {
        id: id.into(),
        scheme: "cenc".into(),
        duration_s: 8.0,
        hls_path: format!("{id}/master.m3u8"),
        dash_path: Some(format!("{id}/manifest.mpd")),
    };
    let regions: Vec<String> = regions.iter().map(|r| (*r).to_owned()).collect();
    let mut conn = state.db.conn().expect("conn");
    assets::replace(&mut conn, &asset, &[], &sealed, &regions).expect("asset recorded");
    keys
}

/// Creates an account entitled to `scopes`; returns a valid token.
pub fn add_account(state: &AppState, id: &str, scopes: &[&str]) -> String {
    let conn = state.db.conn().expect("conn");
    accounts::create(&conn, id, false).expect("account");
    for scope in scopes {
        accounts::entitle(&conn, id, scope).expect("entitle");
    }
    state.tokens.issue(id, 3600)
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
