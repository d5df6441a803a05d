//! The daemon through D-Bus, as the UI and `ottboxctl` use it: a private
//! dbus-daemon, the real `ottboxd` binary, a real headend.
//!
//! - device login end to end (the viewer confirms on the HTML page), home
//!   rows, search, details; logout wipes;
//! - the access token is refreshed before it expires;
//! - a cold start with the headend down answers Home from the cache,
//!   marked offline, and signals when the headend is back;
//! - a declined login says why.

use std::time::Duration;

use ottbox_protocol::dbus::{Catalog1Proxy, Error, LoginState, Session1Proxy};
use ottbox_testkit::{Bus, Daemon, Headend, catalog_proxy, eventually, session_proxy};
use zbus::export::futures_core::Stream;

/// Logs the daemon in through D-Bus, confirming on the page as a viewer.
async fn login(session: &Session1Proxy<'_>, headend: &Headend) {
    let code = session.start_login().await.expect("StartLogin");
    assert_eq!(session.state().await.expect("state"), LoginState::Pending);
    assert_eq!(session.user_code().await.expect("code"), code.user_code);
    assert!(code.qr_payload.contains(&code.user_code), "{code:?}");
    headend
        .confirm(&code.verification_uri, &code.user_code, "approve")
        .await;
    eventually(15, "logged_in", || async {
        (session.state().await.ok()? == LoginState::LoggedIn).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_login_home_search_and_logout_through_dbus() {
    let headend = Headend::builder().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = Daemon::start(&bus, &headend.url(), &dir.path().join("state")).await;
    let conn = bus.connect().await;
    let session = session_proxy(&conn).await;
    let catalog = catalog_proxy(&conn).await;

    assert_eq!(session.state().await.expect("state"), LoginState::LoggedOut);
    let err = catalog.home().await.expect_err("home needs an account");
    assert!(matches!(err, Error::NotLoggedIn(_)), "{err:?}");

    login(&session, &headend).await;

    let home = catalog.home().await.expect("home");
    assert!(!home.offline);
    assert!(
        home.rows.len() >= 3,
        "rows: {:?}",
        home.rows.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    assert!(home.rows.iter().all(|r| !r.tiles.is_empty()));

    let results = catalog.search("toy stor").await.expect("search");
    assert!(
        results.iter().any(|t| t.name.starts_with("Toy Story")),
        "{:?}",
        results.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    let toy = &results[0];
    let details = catalog.details(&toy.id).await.expect("details");
    assert_eq!(details.tile.id, toy.id);
    assert!(!details.tile.genres.is_empty());
    let poster = catalog.poster(&toy.id).await.expect("poster");
    assert!(poster.starts_with(b"\x89PNG"), "a PNG poster");

    // Odd arguments are refused with a code, and the daemon carries on.
    let err = catalog
        .details("../../etc/passwd")
        .await
        .expect_err("bad id");
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    let err = catalog
        .details("ml-99999999")
        .await
        .expect_err("unknown id");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    let err = catalog
        .search(&"x".repeat(10_000))
        .await
        .expect_err("huge query");
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(catalog.search("a\"b'c;DROP TABLE titles;--*").await.is_ok());

    // The search was reported to the headend (through the event queue).
    eventually(10, "search events at the headend", || async {
        headend
            .recorded_events("search")
            .iter()
            .any(|(_, q)| q.as_deref() == Some("toy stor"))
            .then_some(())
    })
    .await;

    session.logout().await.expect("logout");
    assert_eq!(session.state().await.expect("state"), LoginState::LoggedOut);
    let err = catalog.home().await.expect_err("logged out");
    assert!(matches!(err, Error::NotLoggedIn(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_token_is_refreshed_before_it_expires() {
    // Tokens that live 3 s: without a refresh the calls below would fail.
    let headend = Headend::builder()
        .tweak(|c| c.auth.access_ttl_s = 3)
        .start()
        .await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(&bus, &headend.url(), &dir.path().join("state")).await;
    let conn = bus.connect().await;
    let session = session_proxy(&conn).await;
    let catalog = catalog_proxy(&conn).await;
    login(&session, &headend).await;
    for query in ["matrix", "heat", "jumanji"] {
        tokio::time::sleep(Duration::from_secs(3)).await;
        catalog
            .search(query)
            .await
            .expect("search with a refreshed token");
    }
    assert_eq!(session.state().await.expect("state"), LoginState::LoggedIn);
    let log = std::fs::read_to_string(daemon.log_path()).expect("log");
    assert!(log.contains("tokens refreshed"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_offline_serves_home_from_cache_and_signals_the_return() {
    let mut headend = Headend::builder().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let mut daemon = Daemon::start(&bus, &headend.url(), &state).await;
    let conn = bus.connect().await;
    let session = session_proxy(&conn).await;
    let catalog = catalog_proxy(&conn).await;
    login(&session, &headend).await;
    let online = catalog.home().await.expect("home");

    // Power cut, and the headend is gone when the box comes back.
    daemon.kill9();
    headend.stop().await;
    daemon.restart().await;
    let catalog = catalog_proxy(&conn).await;
    assert_eq!(
        session.state().await.expect("state"),
        LoginState::LoggedIn,
        "no new login"
    );
    let offline_home = catalog.home().await.expect("home from cache");
    assert_eq!(
        offline_home.rows.iter().map(|r| &r.id).collect::<Vec<_>>(),
        online.rows.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    eventually(10, "Offline = true", || async {
        catalog.offline().await.ok()?.then_some(())
    })
    .await;
    assert!(
        catalog.home().await.expect("home").offline,
        "marked offline"
    );

    // The headend returns: the daemon notices by itself and says so. (A
    // change stream needs the caching proxy: it is the cache's feed.)
    let watcher = Catalog1Proxy::new(&conn).await.expect("proxy");
    let mut offline_changes = watcher.receive_offline_changed().await;
    headend.restart().await;
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let change =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut offline_changes).poll_next(cx))
                    .await
                    .expect("signal stream");
            if !change.get().await.expect("value") {
                break;
            }
        }
    })
    .await
    .expect("Offline went false with a PropertiesChanged signal");
    assert!(!catalog.home().await.expect("home").offline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_login_says_why() {
    let headend = Headend::builder().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = Daemon::start(&bus, &headend.url(), &dir.path().join("state")).await;
    let conn = bus.connect().await;
    let session = session_proxy(&conn).await;
    let code = session.start_login().await.expect("StartLogin");
    headend
        .confirm(&code.verification_uri, &code.user_code, "deny")
        .await;
    eventually(15, "logged_out after deny", || async {
        (session.state().await.ok()? == LoginState::LoggedOut).then_some(())
    })
    .await;
    let why = session.last_error().await.expect("last error");
    assert!(why.starts_with("access_denied"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_the_instant_the_name_is_taken_is_a_clean_stop() {
    let headend = Headend::builder().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    for _ in 0..5 {
        let mut daemon = Daemon::start(&bus, &headend.url(), &dir.path().join("state")).await;
        let status = daemon.terminate();
        assert!(status.success(), "stopped with {status}");
    }
    let log = std::fs::read_to_string(dir.path().join("state.log")).expect("log");
    assert_eq!(log.matches("stopping").count(), 5, "{log}");
}
