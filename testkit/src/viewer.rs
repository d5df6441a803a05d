//! A viewer at the box: the real `ottboxd` playing to fakesinks that keep
//! their last picture, logged in on a private bus, and what a playback
//! test looks at (the state, the picture's corner, MPRIS through
//! `playerctl`).

use ottbox_protocol::dbus::{PlayState, Player1Proxy};

use crate::bus::{Bus, log_in, player_proxy};
use crate::daemon::Daemon;
use crate::headend::Headend;
use crate::wait::eventually;

/// Starts a daemon on `bus` playing to fakesinks with `manifest`
/// and logs in.
pub async fn start_box(
    manifest: &str,
    headend: &Headend,
    bus: &Bus,
    dir: &tempfile::TempDir,
) -> Daemon {
    start_box_with(manifest, headend, bus, dir, &[]).await
}

/// [`start_box`] with more environment for the daemon.
pub async fn start_box_with(
    manifest: &str,
    headend: &Headend,
    bus: &Bus,
    dir: &tempfile::TempDir,
    env: &[(&str, &str)],
) -> Daemon {
    let mut all = vec![
        ("OTTBOX_PLAYER_VIDEO_SINK", "fakesink sync=true"),
        ("OTTBOX_PLAYER_AUDIO_SINK", "fakesink sync=true"),
        ("OTTBOX_PLAYER_MANIFEST", manifest),
    ];
    all.extend_from_slice(env);
    let daemon = Daemon::start_with(bus, &headend.url(), &dir.path().join("state"), &all).await;
    log_in(&bus.connect().await, headend).await;
    daemon
}

/// A viewer watching a title: the daemon, its bus and state directory
/// live as long as this.
pub struct Viewer {
    /// Its player, properties read when asked.
    pub player: Player1Proxy<'static>,
    /// The daemon (kill or restart it through this).
    pub daemon: Daemon,
    /// Its private bus.
    pub bus: Bus,
    _dir: tempfile::TempDir,
}

impl Viewer {
    /// A viewer of `daemon`, whose state is in `dir` (kept as long as the
    /// viewer is).
    pub fn new(
        player: Player1Proxy<'static>,
        daemon: Daemon,
        bus: Bus,
        dir: tempfile::TempDir,
    ) -> Self {
        Self {
            player,
            daemon,
            bus,
            _dir: dir,
        }
    }

    /// The private bus, for command-line tools.
    pub fn bus_address(&self) -> String {
        self.bus.address.clone()
    }
}

/// Starts a daemon playing HLS with a buffer target of `buffer_s`
/// seconds, logs in, plays `title` from its start and waits until it
/// plays.
pub async fn playing_hls(headend: &Headend, title: &str, buffer_s: u32) -> Viewer {
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = buffer_s.to_string();
    let daemon = start_box_with(
        "hls",
        headend,
        &bus,
        &dir,
        &[("OTTBOX_PLAYER_BUFFER_TARGET_S", &target)],
    )
    .await;
    let player = player_proxy(&bus.connect().await).await;
    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Playing).await;
    Viewer::new(player, daemon, bus, dir)
}

/// Waits (30 s at most) for the player to be in `want`; any other
/// playback's error fails at once, with its message.
pub async fn wait_state(player: &Player1Proxy<'_>, want: PlayState) {
    eventually(30, want.as_str(), || async {
        let state = player.state().await.ok()?;
        assert!(
            state != PlayState::Error || want == PlayState::Error,
            "playback failed: {}",
            player.last_error().await.unwrap_or_default()
        );
        (state == want).then_some(())
    })
    .await;
}

/// The (4, 4) pixel of the picture on screen, once there is one (right
/// after a seek, the new pipeline may not have shown its first yet).
pub async fn corner(player: &Player1Proxy<'_>) -> [u8; 3] {
    let (width, height, rgb) =
        eventually(10, "a picture", || async { player.snapshot().await.ok() }).await;
    assert_eq!(rgb.len(), (width * height * 3) as usize);
    let i = (4 * width as usize + 4) * 3;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// Runs `playerctl --player=ottbox <command>` against the test bus, as a
/// desktop's media keys would; returns its output.
pub fn playerctl(bus: &Bus, command: &str) -> String {
    let out = std::process::Command::new("playerctl")
        .args(["--player=ottbox", command])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .expect("playerctl (cargo xtask setup installs it)");
    assert!(
        out.status.success(),
        "playerctl {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether colour `c` is `want`, give or take what video coding does to
/// a flat colour.
pub fn close_to(c: [u8; 3], want: [u8; 3]) -> bool {
    (0..3).all(|i| (i32::from(c[i]) - i32::from(want[i])).abs() <= 24)
}
