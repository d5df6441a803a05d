//! A private dbus-daemon per test, and proxies on it that read the
//! daemon's state when asked.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use ottbox_protocol::dbus::{Catalog1Proxy, LoginState, Player1Proxy, Session1Proxy};

use crate::headend::Headend;
use crate::wait::eventually;

/// A private dbus-daemon, stopped on drop.
pub struct Bus {
    child: Child,
    /// Its address, for `DBUS_SESSION_BUS_ADDRESS` or `--bus-address`.
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

    /// A new connection to it.
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
