//! The D-Bus contract: what `ottboxd` serves is what its clients expect.
//!
//! The UI, `ottboxctl` and every test reach the daemon through the proxies
//! in `ottbox-protocol`; the daemon serves `#[interface]` impls of its own.
//! Nothing in the compiler ties the two, so this test does: the daemon's
//! real object server runs here on a private dbus-daemon (no headend
//! behind it, nobody signed in), and for each interface it
//!
//! 1. reads what is served from `Introspect`: every method with its in and
//!    out signatures, every property with its type, every signal;
//! 2. calls every method and reads every property through the protocol
//!    proxy: a name the daemon does not serve fails with `UnknownMethod` or
//!    `UnknownProperty`, arguments of the wrong types with `InvalidArgs`,
//!    and the type the proxy decodes (its Rust return type's D-Bus
//!    signature) must be the served one;
//! 3. requires that every served member was checked, so a member added to
//!    the daemon without its proxy fails too; and `Player1`'s properties
//!    all decode at once as [`PlayerProperties`], as the UI reads them.
//!
//! MPRIS has no proxy of ours: its two interfaces are checked against the
//! MPRIS 2.2 specification instead (every member served is in it with the
//! same signature, and none it requires is missing).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ottbox_protocol::dbus::{
    CATALOG_PATH, Catalog1Proxy, Error, PLAYER_PATH, Player1Proxy, PlayerProperties, SERVICE,
    SESSION_PATH, Session1Proxy,
};
use ottbox_testkit::Bus;
use ottboxd::config::{BusConfig, BusKind, Config};
use zbus::Type;

/// What an interface serves, by member name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Member {
    /// In-argument and out-argument signatures, each concatenated.
    Method { args: String, returns: Vec<String> },
    /// The property's type.
    Property(String),
    /// The signal's arguments.
    Signal(String),
}

/// One interface's served members, and what the test checked of them.
struct Contract {
    interface: String,
    served: BTreeMap<String, Member>,
    checked: BTreeSet<String>,
    problems: Vec<String>,
}

impl Contract {
    /// Reads `interface` at `path` from the daemon's introspection.
    async fn served(conn: &zbus::Connection, path: &str, interface: &str) -> Self {
        let xml = zbus::fdo::IntrospectableProxy::builder(conn)
            .destination(SERVICE)
            .path(path)
            .build()
            .await
            .expect("introspectable proxy")
            .introspect()
            .await
            .expect("Introspect");
        Self {
            interface: interface.to_owned(),
            served: members(&xml, interface),
            checked: BTreeSet::new(),
            problems: Vec::new(),
        }
    }

    /// A method called through the proxy: it must be served, take what the
    /// proxy sent and return what the proxy decodes.
    fn method<T: Type>(&mut self, name: &str, result: &Result<T, Error>) {
        self.checked.insert(name.to_owned());
        if let Err(Error::ZBus(e)) = result {
            self.problems.push(format!("{name}: {e}"));
            return;
        }
        match self.served.get(name) {
            Some(Member::Method { returns, .. }) => {
                let decoded = T::SIGNATURE.to_string();
                // Several out-arguments arrive as the proxy's tuple.
                let served_as = match returns.len() {
                    1 => returns[0].clone(),
                    _ => format!("({})", returns.concat()),
                };
                let served_as = if returns.is_empty() {
                    String::new()
                } else {
                    served_as
                };
                if decoded != served_as {
                    self.problems.push(format!(
                        "{name}: the proxy decodes {decoded:?}, the daemon returns {served_as:?}"
                    ));
                }
            }
            other => self
                .problems
                .push(format!("{name}: called as a method, served as {other:?}")),
        }
    }

    /// A property read through the proxy.
    fn property<T: Type>(&mut self, name: &str, result: &zbus::Result<T>) {
        self.checked.insert(name.to_owned());
        if let Err(e) = result {
            self.problems.push(format!("{name}: {e}"));
        }
        let decoded = T::SIGNATURE.to_string();
        match self.served.get(name) {
            Some(Member::Property(ty)) if *ty == decoded => {}
            other => self.problems.push(format!(
                "{name}: the proxy reads a property of type {decoded:?}, the daemon serves {other:?}"
            )),
        }
    }

    /// A signal the proxy subscribes to, with arguments of `signature`.
    fn signal(&mut self, name: &str, signature: &str) {
        self.checked.insert(name.to_owned());
        match self.served.get(name) {
            Some(Member::Signal(s)) if s == signature => {}
            other => self.problems.push(format!(
                "{name}: the proxy expects a signal ({signature:?}), the daemon serves {other:?}"
            )),
        }
    }

    /// Every served member was checked and agreed.
    fn verdict(mut self) -> Vec<String> {
        for name in self.served.keys() {
            if !self.checked.contains(name) {
                self.problems
                    .push(format!("{name}: served, but no proxy member checks it"));
            }
        }
        self.problems
            .into_iter()
            .map(|p| format!("{}.{p}", self.interface))
            .collect()
    }
}

/// The members of `interface` in introspection `xml`.
fn members(xml: &str, interface: &str) -> BTreeMap<String, Member> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, options).expect("introspection XML");
    let iface = doc
        .descendants()
        .find(|n| n.has_tag_name("interface") && n.attribute("name") == Some(interface))
        .unwrap_or_else(|| panic!("{interface} is not served:\n{xml}"));
    let args = |n: roxmltree::Node<'_, '_>, direction: &str| -> Vec<String> {
        n.children()
            .filter(|a| a.has_tag_name("arg"))
            .filter(|a| a.attribute("direction").unwrap_or("in") == direction)
            .map(|a| a.attribute("type").expect("arg type").to_owned())
            .collect()
    };
    iface
        .children()
        .filter(|n| n.is_element())
        .filter_map(|n| {
            let name = n.attribute("name")?.to_owned();
            let member = match n.tag_name().name() {
                "method" => Member::Method {
                    args: args(n, "in").concat(),
                    returns: args(n, "out"),
                },
                "property" => Member::Property(n.attribute("type")?.to_owned()),
                "signal" => Member::Signal(
                    n.children()
                        .filter(|a| a.has_tag_name("arg"))
                        .filter_map(|a| a.attribute("type"))
                        .collect(),
                ),
                _ => return None,
            };
            Some((name, member))
        })
        .collect()
}

/// The daemon's object server on `bus`, in this process: offline, signed
/// out, a fresh store.
async fn serve(bus: &Bus, state: &std::path::Path) -> zbus::Connection {
    let mut config = Config {
        state_dir: state.to_owned(),
        bus: BusConfig {
            kind: BusKind::Address,
            address: Some(bus.address.clone()),
        },
        ..Config::default()
    };
    // A port nothing listens on: every headend call fails at once.
    config.headend.url = "http://127.0.0.1:9".into();
    let core = ottboxd::Core::open(&config).expect("core");
    ottboxd::dbus::serve(&config.bus, Arc::clone(&core))
        .await
        .expect("served")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_interface_matches_its_proxy_in_ottbox_protocol() {
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = serve(&bus, dir.path()).await;
    let conn = bus.connect().await;
    let mut problems = Vec::new();

    let session = Session1Proxy::new(&conn).await.expect("Session1 proxy");
    let mut c = Contract::served(&conn, SESSION_PATH, "io.ottbox.Session1").await;
    c.method("StartLogin", &session.start_login().await);
    c.method("CancelLogin", &session.cancel_login().await);
    c.method("Logout", &session.logout().await);
    c.property("State", &session.state().await);
    c.property("UserCode", &session.user_code().await);
    c.property("LastError", &session.last_error().await);
    problems.extend(c.verdict());

    let catalog = Catalog1Proxy::new(&conn).await.expect("Catalog1 proxy");
    let mut c = Contract::served(&conn, CATALOG_PATH, "io.ottbox.Catalog1").await;
    c.method("Home", &catalog.home().await);
    c.method("Search", &catalog.search("toy").await);
    c.method("Details", &catalog.details("ml-1").await);
    c.method("Similar", &catalog.similar("ml-1").await);
    c.method("Poster", &catalog.poster("ml-1").await);
    catalog
        .receive_rows_changed()
        .await
        .expect("RowsChanged subscription");
    c.signal("RowsChanged", "");
    c.property("Offline", &catalog.offline().await);
    problems.extend(c.verdict());

    let player = Player1Proxy::new(&conn).await.expect("Player1 proxy");
    let mut c = Contract::served(&conn, PLAYER_PATH, "io.ottbox.Player1").await;
    c.method("Play", &player.play("ml-1", 0.0).await);
    c.method("Preview", &player.preview("ml-1", 0, 0, 320, 180).await);
    c.method("Pause", &player.pause().await);
    c.method("Resume", &player.resume().await);
    c.method("Seek", &player.seek(1.0).await);
    c.method("Stop", &player.stop().await);
    c.method("SetMaxResolution", &player.set_max_resolution(0, 0).await);
    c.method("SetAudioLanguage", &player.set_audio_language("en").await);
    c.method("SetSubtitles", &player.set_subtitles("").await);
    c.method("Snapshot", &player.snapshot().await);
    c.property("State", &player.state().await);
    c.property("Playback", &player.playback().await);
    c.property("Title", &player.title().await);
    c.property("Position", &player.position().await);
    c.property("Duration", &player.duration().await);
    c.property("Rendition", &player.rendition().await);
    c.property("Bitrate", &player.bitrate().await);
    c.property("Buffer", &player.buffer().await);
    c.property("Decoder", &player.decoder().await);
    c.property("Edge", &player.edge().await);
    c.property("AudioLanguages", &player.audio_languages().await);
    c.property("AudioLanguage", &player.audio_language().await);
    c.property("SubtitleLanguages", &player.subtitle_languages().await);
    c.property("Subtitles", &player.subtitles().await);
    c.property("SubtitleText", &player.subtitle_text().await);
    c.property("LastError", &player.last_error().await);
    c.property("AdBreak", &player.ad_break().await);
    c.property("AdIndex", &player.ad_index().await);
    c.property("AdCount", &player.ad_count().await);
    c.property("AdRemaining", &player.ad_remaining().await);
    c.property("Qoe", &player.qoe().await);
    c.property("Prefetched", &player.prefetched().await);
    problems.extend(c.verdict());
    // All of them at once, as the UI reads them.
    let properties = zbus::fdo::PropertiesProxy::builder(&conn)
        .destination(SERVICE)
        .path(PLAYER_PATH)
        .build()
        .await
        .expect("properties proxy");
    if let Err(e) = PlayerProperties::read(&properties).await {
        problems.push(format!("io.ottbox.Player1 GetAll as PlayerProperties: {e}"));
    }

    problems.extend(mpris(&conn).await);
    assert!(
        problems.is_empty(),
        "the daemon and its proxies disagree:\n{}",
        problems.join("\n")
    );
}

/// MPRIS 2.2 (specifications.freedesktop.org/mpris-spec/2.2): each member
/// of the two interfaces with its signature, and whether a player must
/// serve it.
const MPRIS_SPEC: &[(&str, &str, &str, bool)] = &[
    ("org.mpris.MediaPlayer2", "Raise", "method()", true),
    ("org.mpris.MediaPlayer2", "Quit", "method()", true),
    ("org.mpris.MediaPlayer2", "CanQuit", "b", true),
    ("org.mpris.MediaPlayer2", "Fullscreen", "b", false),
    ("org.mpris.MediaPlayer2", "CanSetFullscreen", "b", false),
    ("org.mpris.MediaPlayer2", "CanRaise", "b", true),
    ("org.mpris.MediaPlayer2", "HasTrackList", "b", true),
    ("org.mpris.MediaPlayer2", "Identity", "s", true),
    ("org.mpris.MediaPlayer2", "DesktopEntry", "s", false),
    ("org.mpris.MediaPlayer2", "SupportedUriSchemes", "as", true),
    ("org.mpris.MediaPlayer2", "SupportedMimeTypes", "as", true),
    ("org.mpris.MediaPlayer2.Player", "Next", "method()", true),
    (
        "org.mpris.MediaPlayer2.Player",
        "Previous",
        "method()",
        true,
    ),
    ("org.mpris.MediaPlayer2.Player", "Pause", "method()", true),
    (
        "org.mpris.MediaPlayer2.Player",
        "PlayPause",
        "method()",
        true,
    ),
    ("org.mpris.MediaPlayer2.Player", "Stop", "method()", true),
    ("org.mpris.MediaPlayer2.Player", "Play", "method()", true),
    ("org.mpris.MediaPlayer2.Player", "Seek", "method(x)", true),
    (
        "org.mpris.MediaPlayer2.Player",
        "SetPosition",
        "method(ox)",
        true,
    ),
    (
        "org.mpris.MediaPlayer2.Player",
        "OpenUri",
        "method(s)",
        true,
    ),
    ("org.mpris.MediaPlayer2.Player", "Seeked", "signal(x)", true),
    ("org.mpris.MediaPlayer2.Player", "PlaybackStatus", "s", true),
    ("org.mpris.MediaPlayer2.Player", "LoopStatus", "s", false),
    ("org.mpris.MediaPlayer2.Player", "Rate", "d", true),
    ("org.mpris.MediaPlayer2.Player", "Shuffle", "b", false),
    ("org.mpris.MediaPlayer2.Player", "Metadata", "a{sv}", true),
    ("org.mpris.MediaPlayer2.Player", "Volume", "d", true),
    ("org.mpris.MediaPlayer2.Player", "Position", "x", true),
    ("org.mpris.MediaPlayer2.Player", "MinimumRate", "d", true),
    ("org.mpris.MediaPlayer2.Player", "MaximumRate", "d", true),
    ("org.mpris.MediaPlayer2.Player", "CanGoNext", "b", true),
    ("org.mpris.MediaPlayer2.Player", "CanGoPrevious", "b", true),
    ("org.mpris.MediaPlayer2.Player", "CanPlay", "b", true),
    ("org.mpris.MediaPlayer2.Player", "CanPause", "b", true),
    ("org.mpris.MediaPlayer2.Player", "CanSeek", "b", true),
    ("org.mpris.MediaPlayer2.Player", "CanControl", "b", true),
];

/// The served MPRIS interfaces against [`MPRIS_SPEC`].
async fn mpris(conn: &zbus::Connection) -> Vec<String> {
    let mut problems = Vec::new();
    for interface in ["org.mpris.MediaPlayer2", "org.mpris.MediaPlayer2.Player"] {
        let served = Contract::served(conn, ottboxd::dbus::mpris::MPRIS_PATH, interface)
            .await
            .served;
        let spec: BTreeMap<&str, (&str, bool)> = MPRIS_SPEC
            .iter()
            .filter(|(i, ..)| *i == interface)
            .map(|(_, name, sig, required)| (*name, (*sig, *required)))
            .collect();
        for (name, member) in &served {
            let as_spec = match member {
                Member::Method { args, .. } => format!("method({args})"),
                Member::Signal(args) => format!("signal({args})"),
                Member::Property(ty) => ty.clone(),
            };
            match spec.get(name.as_str()) {
                Some((sig, _)) if *sig == as_spec => {}
                other => problems.push(format!(
                    "{interface}.{name}: served as {as_spec}, the specification has {other:?}"
                )),
            }
        }
        for (name, (_, required)) in spec {
            if required && !served.contains_key(name) {
                problems.push(format!(
                    "{interface}.{name}: required by the specification, not served"
                ));
            }
        }
    }
    problems
}
