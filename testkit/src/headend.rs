//! A real headend, in process on a loopback port: the MovieLens catalog,
//! one viewer, and on request real media, nginx CDN edges and emulated
//! links ([`Builder`]); plus the viewer confirming a device code on its
//! HTML page with form posts, as a browser does.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ottbox_headend::cdn_edge::{CdnEdge, EdgeSpec};
use ottbox_headend::config::{Config, EdgeConfig};
use ottbox_headend::server::{self, AppState};

use crate::link::Link;
use crate::media::media_dir;
#[cfg(doc)]
use crate::media::{AD_ASSET, LONG_MEDIA, MEDIA};

/// The viewer's e-mail address, their login on the confirmation page.
pub const EMAIL: &str = "viewer@ottbox.example";
/// The viewer's password.
pub const PASSWORD: &str = "correct horse";

/// How many MovieLens titles the test catalog holds: enough for rows,
/// small enough to import in a blink.
const TITLES: usize = 300;

/// The source address CDN edges connect to the origin from: the only
/// address whose `X-Forwarded-For` the headend believes, so a box on
/// 127.0.0.1 cannot claim a region by sending the header itself.
pub const EDGE_SOURCE: &str = "127.0.0.3";

/// The edges [`Builder::cdn`] starts: `eu-1` near `eu`
/// (127.0.0.1), `eu-2` near `us` (127.0.0.2), so each region has its own
/// first choice and the other as the fallback.
pub const DEFAULT_EDGES: [(&str, &[&str]); 2] = [("eu-1", &["eu"]), ("eu-2", &["us"])];

/// A headend on 127.0.0.1 with a small MovieLens catalog and one viewer.
pub struct Headend {
    /// Where it serves.
    pub addr: SocketAddr,
    /// Its state: database, configuration, keys (tests read and damage
    /// them directly).
    pub state: Arc<AppState>,
    /// nginx edges in front of the origin, in configuration order (empty
    /// unless started with edges); kill and restart them through
    /// [`Headend::edge`].
    pub edges: Vec<CdnEdge>,
    /// The emulated links in front of the edges, by edge name, and `ads`
    /// in front of the headend for ad tracking beacons only (empty unless
    /// started with [`Headend::start_with_media_and_links`]).
    pub links: Vec<(String, Link)>,
    /// With `tls.enabled` in the config: the server's rustls config and
    /// the development CA (PEM file) a box must trust.
    tls: Option<(Arc<rustls::ServerConfig>, PathBuf)>,
    _dir: tempfile::TempDir,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Headend {
    /// How to start one: `Headend::builder().media().cdn().start().await`.
    pub fn builder<'a>() -> Builder<'a> {
        Builder::default()
    }

    async fn start_in(
        dir: tempfile::TempDir,
        edges: &[(&str, &[&str])],
        with_links: bool,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let lo = std::net::IpAddr::from([127, 0, 0, 1]);
        let plan: Vec<(String, Vec<String>, u16)> = edges
            .iter()
            .map(|(name, regions)| {
                let port = ottbox_headend::cdn_edge::free_port(lo).expect("free port");
                let regions = regions.iter().map(|r| (*r).to_owned()).collect();
                ((*name).to_owned(), regions, port)
            })
            .collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut links = Vec::new();
        if with_links {
            for (name, _, port) in &plan {
                let link = Link::start(SocketAddr::new(lo, *port)).await.expect("link");
                links.push((name.clone(), link));
            }
            let ads = Link::start(addr).await.expect("link");
            links.push(("ads".to_owned(), ads));
        }
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            public_url: format!("http://{addr}"),
            ..Config::default()
        };
        config.auth.poll_interval_s = 1;
        if !plan.is_empty() {
            config.proxy.trusted = vec![format!("{EDGE_SOURCE}/32").parse().expect("net")];
            config.edges = plan
                .iter()
                .map(|(name, regions, port)| {
                    // The box goes through the edge's link when there is one.
                    let port = links
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(*port, |(_, l)| l.addr().port());
                    EdgeConfig {
                        name: name.clone(),
                        url: format!("http://127.0.0.1:{port}"),
                        regions: regions.clone(),
                    }
                })
                .collect();
        }
        tweak(&mut config);
        if config.tls.enabled {
            config.public_url = format!("https://{addr}");
        }
        if let Some((_, ads)) = links.iter().find(|(n, _)| n == "ads") {
            config.ads.tracking_url = format!("http://{}", ads.addr());
        }
        let state = Arc::new(AppState::open(config).expect("headend state"));
        import_catalog(&state, dir.path());
        let conn = state.db.conn().expect("conn");
        ottbox_headend::db::accounts::create(&conn, "viewer", false).expect("account");
        ottbox_headend::db::accounts::entitle(&conn, "viewer", "*").expect("entitle");
        ottbox_headend::auth::password::set_credentials(&conn, "viewer", EMAIL, PASSWORD)
            .expect("credentials");
        drop(conn);
        let edges = plan
            .into_iter()
            .map(|(name, _, port)| {
                let mut spec = EdgeSpec::new(name, format!("http://{addr}"));
                spec.listen = Some(SocketAddr::new(lo, port));
                spec.proxy_bind = Some(EDGE_SOURCE.parse().expect("ip"));
                CdnEdge::start(spec).expect("nginx edge (cargo xtask setup installs nginx-light)")
            })
            .collect();
        let tls = state.config.tls.enabled.then(|| {
            let files = ottbox_headend::tls::ensure_dev_pki(&state.config.tls_dir(), &[])
                .expect("development PKI");
            let server =
                ottbox_headend::tls::server_config(&files, Some(&state.device_ca.cert_path))
                    .expect("TLS config");
            (server, files.ca_cert)
        });
        let mut headend = Self {
            addr,
            state,
            edges,
            links,
            tls,
            _dir: dir,
            task: None,
        };
        headend.serve(listener);
        headend
    }

    /// The edge called `name` (to kill or restart it mid-playback).
    pub fn edge(&mut self, name: &str) -> &mut CdnEdge {
        self.edges
            .iter_mut()
            .find(|e| e.name() == name)
            .unwrap_or_else(|| panic!("no edge {name}"))
    }

    /// The link in front of the edge called `name`.
    pub fn link(&self, name: &str) -> &Link {
        self.links
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l)
            .unwrap_or_else(|| panic!("no link to {name}"))
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let state = self.state.clone();
        self.task = Some(match &self.tls {
            Some((tls, _)) => tokio::spawn(server::serve_tls(
                state,
                listener.into_std().expect("std listener"),
                tls.clone(),
                std::future::pending(),
            )),
            None => tokio::spawn(server::serve(state, listener, std::future::pending())),
        });
    }

    /// Its public URL, as a box is told.
    pub fn url(&self) -> String {
        self.state.config.public_url.clone()
    }

    /// The CA a box trusts to reach this headend over HTTPS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|(_, ca)| ca.as_path())
    }

    /// A client as a browser would be: trusting the headend's CA.
    fn browser(&self) -> reqwest::Client {
        let mut b = reqwest::Client::builder();
        if let Some(ca) = self.ca_file() {
            let pem = std::fs::read(ca).expect("ca");
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("ca pem"));
        }
        b.build().expect("client")
    }

    /// Takes the headend off the network: the socket closes, connections drop.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Serves again on the same address.
    pub async fn restart(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("rebinding {}: {e}", self.addr);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot rebind {}: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    /// Confirms `user_code` on the verification page as a browser would:
    /// GET the page, then POST the form with the viewer's credentials.
    pub async fn confirm(&self, verification_uri: &str, user_code: &str, action: &str) {
        let client = self.browser();
        let page = client
            .get(format!("{verification_uri}?user_code={user_code}"))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        assert!(page.contains("name=\"user_code\""), "{page}");
        let resp = client
            .post(verification_uri)
            .form(&[
                ("user_code", user_code),
                ("email", EMAIL),
                ("password", PASSWORD),
                ("action", action),
            ])
            .send()
            .await
            .expect("posted");
        assert!(
            resp.status().is_success(),
            "confirmation: {}",
            resp.status()
        );
    }

    /// The viewing events the headend recorded for the viewer, by kind.
    pub fn recorded_events(&self, kind: &str) -> Vec<(String, Option<String>)> {
        let conn = self.state.db.conn().expect("conn");
        let mut stmt = conn
            .prepare("SELECT event_id, query FROM events WHERE account_id = 'viewer' AND kind = ?1 ORDER BY at, event_id")
            .expect("prepare");
        stmt.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    }
}

impl Drop for Headend {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A change to the configuration before the headend starts.
type Tweak<'a> = Box<dyn FnOnce(&mut Config) + Send + 'a>;

/// What a [`Headend`] starts with. Every part is off until asked for.
#[must_use]
#[derive(Default)]
pub struct Builder<'a> {
    media: bool,
    edges: Vec<(String, Vec<String>)>,
    links: bool,
    tweak: Option<Tweak<'a>>,
}

impl<'a> Builder<'a> {
    /// Real encrypted media for the [`MEDIA`] and [`LONG_MEDIA`] titles,
    /// and the [`AD_ASSET`] creative (a copy of what ffmpeg and Shaka
    /// Packager made once per test binary).
    pub fn media(mut self) -> Self {
        self.media = true;
        self
    }

    /// Real nginx edges in front of the origin, one per `(name, regions)`,
    /// on free loopback ports; they trust-proxy from [`EDGE_SOURCE`].
    pub fn edges(mut self, edges: &[(&str, &[&str])]) -> Self {
        self.edges = edges
            .iter()
            .map(|(name, regions)| {
                let regions = regions.iter().map(|r| (*r).to_owned()).collect();
                ((*name).to_owned(), regions)
            })
            .collect();
        self
    }

    /// The [`DEFAULT_EDGES`].
    pub fn cdn(self) -> Self {
        self.edges(&DEFAULT_EDGES)
    }

    /// The box reaches each edge through an emulated [`Link`] (unlimited
    /// until [`Headend::link`]`.set_rate`): the way to slow one edge down
    /// without cutting its connections. Ad beacons go through a link of
    /// their own, `ads`, as to an ad server's tracking host.
    pub fn links(mut self) -> Self {
        self.links = true;
        self
    }

    /// Changes the configuration before the headend starts (it sees the
    /// edges already in it).
    pub fn tweak(mut self, tweak: impl FnOnce(&mut Config) + Send + 'a) -> Self {
        self.tweak = Some(Box::new(tweak));
        self
    }

    /// Starts it: serving on a free loopback port, its catalog imported,
    /// the viewer ([`EMAIL`]) entitled to everything.
    pub async fn start(self) -> Headend {
        let dir = if self.media {
            media_dir()
        } else {
            tempfile::tempdir().expect("tempdir")
        };
        let edges: Vec<(&str, Vec<&str>)> = self
            .edges
            .iter()
            .map(|(n, r)| (n.as_str(), r.iter().map(String::as_str).collect()))
            .collect();
        let edges: Vec<(&str, &[&str])> = edges.iter().map(|(n, r)| (*n, r.as_slice())).collect();
        let tweak = self.tweak.unwrap_or_else(|| Box::new(|_| {}));
        Headend::start_in(dir, &edges, self.links, tweak).await
    }
}

/// Imports the first [`TITLES`] MovieLens movies (with their tags).
fn import_catalog(state: &AppState, dir: &Path) {
    // `../shared/reco` beside the checkout; a worktree elsewhere names it
    // with OTTBOX_RECO_DIR (as `cargo xtask bench api` does).
    let reco = std::env::var_os("OTTBOX_RECO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reco"));
    let movies = std::fs::read_to_string(reco.join("movies.csv")).expect("shared/reco/movies.csv");
    let small: String = movies
        .lines()
        .take(TITLES + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.join("movies.csv");
    std::fs::write(&path, small).expect("write movies");
    for i in 0..6 {
        add_asset(state, &ottbox_headend::sample::asset_id(i));
    }
    ottbox_headend::sample::import_catalog(&state.db, &path, &reco.join("tags.csv"), None, 6)
        .expect("import");
    state
        .search
        .reload(&state.db.conn().expect("conn"))
        .expect("vocabulary");
    state.refresh_catalog().expect("refresh");
}

fn add_asset(state: &AppState, id: &str) {
    use ottbox_headend::db::assets;
    // Real media from the template stays.
    if assets::get(&state.db.conn().expect("conn"), id)
        .expect("asset")
        .is_some()
    {
        return;
    }
    use ottbox_headend::keystore::ContentKey;
    let key = ContentKey::generate();
    let sealed = assets::SealedKey {
        kid: key.kid,
        label: "ALL".into(),
        sealed: state.master.seal(&key),
    };
    let asset = assets::Asset {
        id: id.into(),
        scheme: "cenc".into(),
        duration_s: 8.0,
        hls_path: format!("{id}/master.m3u8"),
        dash_path: Some(format!("{id}/manifest.mpd")),
    };
    let mut conn = state.db.conn().expect("conn");
    assets::replace(&mut conn, &asset, &[], &[sealed], &["eu".to_owned()]).expect("asset");
}
