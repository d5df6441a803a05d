//! What the daemon's end-to-end tests start: a real headend (in process,
//! on a loopback port), optionally with real encrypted media
//! ([`Headend::start_with_media`]) and real nginx CDN edges in front of its
//! origin ([`Headend::start_with_edges`]), a private dbus-daemon, and the
//! real `ottboxd` binary on that bus; plus a viewer confirming a device
//! code on the headend's HTML page with form posts, as a browser does.

#![allow(dead_code)] // each test file uses its own part of this

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ottbox_headend::cdn_edge::{CdnEdge, EdgeSpec};
use ottbox_headend::config::{Config, EdgeConfig};
use ottbox_headend::link::Link;
use ottbox_headend::server::{self, AppState};
use ottbox_protocol::dbus::{Catalog1Proxy, LoginState, Player1Proxy, Session1Proxy};

pub const EMAIL: &str = "viewer@ottbox.example";
pub const PASSWORD: &str = "correct horse";

/// How many MovieLens titles the test catalog holds: enough for rows,
/// small enough to import in a blink.
const TITLES: usize = 300;

/// The source address CDN edges connect to the origin from: the only
/// address whose `X-Forwarded-For` the headend believes, so a box on
/// 127.0.0.1 cannot claim a region by sending the header itself.
pub const EDGE_SOURCE: &str = "127.0.0.3";

/// The edges [`Headend::start_with_cdn`] starts: `eu-1` near `eu`
/// (127.0.0.1), `eu-2` near `us` (127.0.0.2), so each region has its own
/// first choice and the other as the fallback.
pub const DEFAULT_EDGES: [(&str, &[&str]); 2] = [("eu-1", &["eu"]), ("eu-2", &["us"])];

/// A headend on 127.0.0.1 with a small MovieLens catalog and one viewer.
pub struct Headend {
    pub addr: SocketAddr,
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
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"), &[], false, tweak).await
    }

    /// A headend whose titles `ml-6` (`sample-0`, cenc, palette 0) and
    /// `ml-1` (`sample-1`, cbcs, palette 1) have real encrypted media: see
    /// [`MEDIA`].
    pub async fn start_with_media(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_in(media_dir(), &[], false, tweak).await
    }

    /// [`Headend::start_with_edges`] with [`DEFAULT_EDGES`].
    pub async fn start_with_cdn(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_edges(tweak, &DEFAULT_EDGES).await
    }

    /// A headend whose playback sessions list real nginx edges, one per
    /// `(name, regions)`, on free loopback ports; the edges trust-proxy
    /// from [`EDGE_SOURCE`]. `tweak` sees the config with the edges in it.
    pub async fn start_with_edges(
        tweak: impl FnOnce(&mut Config),
        edges: &[(&str, &[&str])],
    ) -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"), edges, false, tweak).await
    }

    /// [`Headend::start_with_media`] behind [`DEFAULT_EDGES`].
    pub async fn start_with_media_and_cdn(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_in(media_dir(), &DEFAULT_EDGES, false, tweak).await
    }

    /// [`Headend::start_with_media_and_cdn`] with the box reaching each
    /// edge through an emulated [`Link`] (unlimited until
    /// [`Headend::link`]`.set_rate`): the way to slow one edge down
    /// without cutting its connections. Ad beacons go through a link of
    /// their own, `ads`, as to an ad server's tracking host.
    pub async fn start_with_media_and_links(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_in(media_dir(), &DEFAULT_EDGES, true, tweak).await
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

/// The titles with real media: (asset, catalog title, scheme, palette
/// index). Six seconds, the tiny three-rung ladder, 2 s segments, audio.
pub const MEDIA: [(&str, &str, ottbox_headend::config::Scheme, usize); 2] = [
    ("sample-0", "ml-6", ottbox_headend::config::Scheme::Cenc, 0),
    ("sample-1", "ml-1", ottbox_headend::config::Scheme::Cbcs, 1),
];

/// A longer title with real media, as in [`MEDIA`]: thirty seconds, so
/// that a buffer of many seconds and a long outage, or a few ABR moves,
/// fit inside it.
pub const LONG_MEDIA: (&str, &str, ottbox_headend::config::Scheme, usize) =
    ("sample-2", "ml-2", ottbox_headend::config::Scheme::Cenc, 2);
/// [`LONG_MEDIA`]'s running time, seconds.
pub const LONG_MEDIA_S: u32 = 30;
/// [`LONG_MEDIA`]'s audio, English and a French dub: (ISO 639-2, tone Hz).
/// Manifests call them `en` and `fr`.
const LONG_MEDIA_AUDIO: [(&str, u32); 2] = [("eng", 440), ("fra", 660)];
/// [`LONG_MEDIA`]'s WebVTT subtitles, each cue
/// [`ottbox_headend::sample::cue_text`].
pub const LONG_MEDIA_SUBTITLES: [&str; 2] = ["en", "fr"];

/// The clear ad creative in every [`media_template`].
pub const AD_ASSET: &str = "test-ad";

/// Turns ads on for every playback session: a pre-roll, a mid-roll half
/// way and a post-roll, each the [`AD_ASSET`] creative.
pub fn ads(config: &mut Config) {
    config.ads = ottbox_headend::config::AdsConfig {
        enabled: true,
        creatives: vec![AD_ASSET.into()],
        midrolls: vec![0.5],
        midroll_pod: 1,
        tracking_url: String::new(),
    };
}

/// The ad beacons the headend recorded, as `(break, event)` in arrival
/// order.
pub fn beacons(headend: &Headend) -> Vec<(String, String)> {
    let conn = headend.state.db.conn().expect("conn");
    let mut stmt = conn
        .prepare("SELECT break_id, event FROM ad_events ORDER BY seq")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("beacons")
}

/// A fresh copy of [`media_template`].
fn media_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", media_template().display()))
        .arg(dir.path())
        .status()
        .expect("cp");
    assert!(status.success(), "copying the media template");
    dir
}

/// A headend data directory (database, master key, origin) holding the
/// [`MEDIA`] titles, made with real ffmpeg and Shaka Packager once per
/// test binary; each headend starts from a copy.
fn media_template() -> &'static Path {
    use ottbox_headend::ingest::{self, IngestOptions};
    static TEMPLATE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let config = Config {
                data_dir: dir.path().to_owned(),
                ..Config::default()
            };
            let db = ottbox_headend::db::Db::open(&config.db_path()).expect("db");
            let master =
                ottbox_headend::keystore::MasterKey::load_or_create(&config.master_key_path())
                    .expect("master key");
            let titles = MEDIA.map(|m| (m, 6)).into_iter();
            for ((asset, _, scheme, colour), seconds) in titles.chain([(LONG_MEDIA, LONG_MEDIA_S)])
            {
                let mezz = dir.path().join(format!("{asset}.mp4"));
                let rgb = ottbox_headend::sample::palette(colour);
                let audio: &[(&str, u32)] = if asset == LONG_MEDIA.0 {
                    &LONG_MEDIA_AUDIO
                } else {
                    &[("eng", 440)]
                };
                ottbox_headend::sample::generate_dubbed(&config, rgb, audio, seconds, &mezz)
                    .expect("mezzanine");
                let mut subtitles = Vec::new();
                if asset == LONG_MEDIA.0 {
                    for language in LONG_MEDIA_SUBTITLES {
                        let file = dir.path().join(format!("{language}.vtt"));
                        ottbox_headend::sample::write_subtitles(language, seconds, &file)
                            .expect("subtitles");
                        subtitles.push((language.to_owned(), file));
                    }
                }
                let opts = IngestOptions {
                    scheme,
                    subtitles,
                    ladder: ottbox_headend::config::tiny_ladder(),
                    preset: "ultrafast".into(),
                    regions: vec!["eu".into()],
                    ..IngestOptions::from_config(&config, asset)
                };
                ingest::ingest(&config, &db, &master, &mezz, &opts).expect("ingest");
                std::fs::remove_file(&mezz).expect("mezzanine removed");
            }
            // The ad creative of [`ads`]: a clear two-second clip.
            let clip = dir.path().join("ad.mp4");
            let rgb = ottbox_headend::sample::AD_PALETTE[0];
            ottbox_headend::sample::generate_clip(&config, rgb, 880, 2, &clip).expect("ad clip");
            let opts = IngestOptions {
                scheme: ottbox_headend::config::Scheme::Clear,
                ladder: ottbox_headend::config::tiny_ladder(),
                preset: "ultrafast".into(),
                ..IngestOptions::from_config(&config, AD_ASSET)
            };
            ingest::ingest(&config, &db, &master, &clip, &opts).expect("ad ingest");
            std::fs::remove_file(&clip).expect("clip removed");
            dir
        })
        .path()
}

/// The daemon binary. Cargo names it for the daemon package's own tests;
/// another package's tests (the whole-stack ones in `tests/`, which build
/// it first) find it in the profile directory their binary runs from.
fn ottboxd_bin() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_ottboxd") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary is in <target>/<profile>/deps")
        .join("ottboxd")
}

/// A private dbus-daemon, stopped on drop.
pub struct Bus {
    child: Child,
    pub address: String,
    _dir: tempfile::TempDir,
}

impl Bus {
    /// A session-style bus that lets everyone do everything.
    pub fn open() -> Self {
        Self::start(
            "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/><allow own=\"*\"/></policy>",
        )
    }

    /// A system-style bus: default deny, plus `policy` (busconfig XML
    /// elements, e.g. the shipped policy file's contents).
    pub fn start(policy: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        // Callers run as other users in the policy test: they must reach the socket.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let socket = dir.path().join("bus");
        let config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_destination="org.freedesktop.DBus"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
  {policy}
</busconfig>"#,
            socket.display()
        );
        let config_path = dir.path().join("bus.conf");
        std::fs::write(&config_path, config).expect("bus config");
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config_path.display()))
            .args(["--nofork", "--print-address=1", "--nopidfile", "--nosyslog"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon (apt-get install dbus)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("bus address");
        assert!(!line.trim().is_empty(), "dbus-daemon printed no address");
        Self {
            child,
            address: line.trim().to_owned(),
            _dir: dir,
        }
    }

    pub async fn connect(&self) -> zbus::Connection {
        zbus::connection::Builder::address(self.address.as_str())
            .build()
            .await
            .expect("connect to the test bus")
    }
}

/// Logs the daemon on `conn` in through the device flow, the viewer
/// confirming on the headend's page, and waits for `logged_in`.
pub async fn log_in(conn: &zbus::Connection, headend: &Headend) {
    let session = session_proxy(conn).await;
    let code = session.start_login().await.expect("StartLogin");
    headend
        .confirm(&code.verification_uri, &code.user_code, "approve")
        .await;
    eventually(15, "logged in", || async {
        (session.state().await.ok()? == LoginState::LoggedIn).then_some(())
    })
    .await;
}

/// Proxies that read every property from the daemon when asked, instead of
/// from a cache that the PropertiesChanged signal updates on its own time:
/// a test that reads State right after StartLogin must see what the daemon
/// says now, not race the signal.
pub async fn session_proxy(conn: &zbus::Connection) -> Session1Proxy<'static> {
    Session1Proxy::builder(conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("Session1 proxy")
}

/// See [`session_proxy`].
pub async fn catalog_proxy(conn: &zbus::Connection) -> Catalog1Proxy<'static> {
    Catalog1Proxy::builder(conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("Catalog1 proxy")
}

/// See [`session_proxy`].
pub async fn player_proxy(conn: &zbus::Connection) -> Player1Proxy<'static> {
    Player1Proxy::builder(conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("Player1 proxy")
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real `ottboxd` binary on a bus.
pub struct Daemon {
    child: Option<Child>,
    pub state_dir: PathBuf,
    bus: String,
    headend: String,
    extra_env: Vec<(String, String)>,
}

impl Daemon {
    pub async fn start(bus: &Bus, headend: &str, state_dir: &Path) -> Self {
        Self::start_with(bus, headend, state_dir, &[]).await
    }

    pub async fn start_with(
        bus: &Bus,
        headend: &str,
        state_dir: &Path,
        env: &[(&str, &str)],
    ) -> Self {
        let mut daemon = Self {
            child: None,
            state_dir: state_dir.to_owned(),
            bus: bus.address.clone(),
            headend: headend.to_owned(),
            extra_env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        daemon.spawn();
        daemon.wait_ready().await;
        daemon
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.state_dir.with_extension("log"))
            .expect("log file");
        let child = Command::new(ottboxd_bin())
            .args(["--bus-address", &self.bus, "--headend-url", &self.headend])
            .arg("--state-dir")
            .arg(&self.state_dir)
            .arg("--config")
            .arg(empty_config())
            .env("OTTBOX_LOG", "ottboxd=debug,info")
            .env("OTTBOX_CACHE_PROBE_INTERVAL_S", "0.2")
            .env("OTTBOX_EVENTS_MIN_BACKOFF_S", "0.1")
            .env("OTTBOX_EVENTS_MAX_BACKOFF_S", "0.5")
            // Off unless a test is about it: a prefetch round's requests
            // would mingle with the ones other tests count.
            .env("OTTBOX_PREFETCH_TITLES", "0")
            .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ottboxd");
        self.child = Some(child);
    }

    /// Waits until the daemon owns its name on the bus.
    pub async fn wait_ready(&mut self) {
        let conn = zbus::connection::Builder::address(self.bus.as_str())
            .build()
            .await
            .expect("bus");
        let dbus = zbus::fdo::DBusProxy::new(&conn).await.expect("dbus proxy");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let name = ottbox_protocol::dbus::SERVICE.try_into().expect("name");
            if dbus.name_has_owner(name).await.unwrap_or(false) {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().expect("wait"))
            {
                panic!(
                    "ottboxd exited with {status}; see {}",
                    self.log_path().display()
                );
            }
            assert!(Instant::now() < deadline, "ottboxd did not take its name");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.state_dir.with_extension("log")
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait: the clean shutdown path.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        child.wait().expect("wait")
    }

    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn();
        self.wait_ready().await;
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An empty config file, so no /etc/ottbox/ottboxd.toml on the test machine
/// leaks in.
fn empty_config() -> PathBuf {
    let path = std::env::temp_dir().join("ottboxd-test-empty.toml");
    if !path.exists() {
        let mut f = std::fs::File::create(&path).expect("config");
        f.write_all(b"# empty: defaults\n").expect("write");
    }
    path
}

/// Polls `check` every 20 ms until it returns Some, or panics after `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
