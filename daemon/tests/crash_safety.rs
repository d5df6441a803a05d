//! `kill -9` at random instants while the daemon writes: every restart
//! opens its store, every acknowledged resume point is there, and every
//! acknowledged event reaches the headend exactly once.
//!
//! The writes are the ones a viewer causes: searches (each queues an event,
//! synced before the reply) and stopping playback (saves the resume point,
//! synced before the reply). A write that was in flight when the kill came
//! may or may not have landed; one that was acknowledged must have.

use std::collections::HashMap;
use std::time::Duration;

use ottbox_protocol::dbus::LoginState;
use ottbox_testkit::{
    Bus, Daemon, Headend, catalog_proxy, eventually, log_in, player_proxy, session_proxy,
};
use rand::Rng;

const KILLS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_kill9s_lose_no_acknowledged_write() {
    let headend = Headend::builder().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut daemon = Daemon::start(&bus, &headend.url(), &dir.path().join("state")).await;
    let conn = bus.connect().await;
    log_in(&conn, &headend).await;
    let session = session_proxy(&conn).await;
    let titles: Vec<String> = catalog_proxy(&conn)
        .await
        .search("story")
        .await
        .expect("search")
        .into_iter()
        .take(3)
        .map(|t| t.id)
        .collect();
    assert!(!titles.is_empty());

    let mut acked_queries = Vec::new();
    // Per title, every position stopped at, and whether the stop was acknowledged.
    let mut stops: HashMap<String, Vec<(f64, bool)>> = HashMap::new();
    let mut n = 0u32;
    for _ in 0..KILLS {
        let catalog = catalog_proxy(&conn).await;
        let player = player_proxy(&conn).await;
        let budget = Duration::from_millis(rand::rng().random_range(50..400));
        let writer = async {
            loop {
                n += 1;
                let query = format!("crash probe {n}");
                if catalog.search(&query).await.is_ok() {
                    acked_queries.push(query);
                }
                let title = &titles[n as usize % titles.len()];
                // Within the 8 s sample, short of the end (which clears the point).
                let position = f64::from(n % 700) / 100.0;
                if player.play(title, position).await.is_ok() {
                    let attempts = stops.entry(title.clone()).or_default();
                    attempts.push((position, false));
                    if player.stop().await.is_ok() {
                        attempts.last_mut().expect("just pushed").1 = true;
                    }
                }
            }
        };
        // The kill lands wherever the writer happens to be.
        let _ = tokio::time::timeout(budget, writer).await;
        daemon.restart().await;
    }

    // Every restart opened the store (restart() waits for the bus name) and
    // kept the account.
    assert_eq!(session.state().await.expect("state"), LoginState::LoggedIn);
    let catalog = catalog_proxy(&conn).await;
    for (title, attempts) in &stops {
        // The last acknowledged stop, or a later one that landed just
        // before a kill took its reply away.
        let Some(last_ack) = attempts.iter().rposition(|(_, acked)| *acked) else {
            continue;
        };
        let allowed: Vec<f64> = attempts[last_ack..].iter().map(|(p, _)| *p).collect();
        let saved = catalog.details(title).await.expect("details").tile.resume_s;
        assert!(
            allowed.contains(&saved),
            "resume point of {title}: {saved}, allowed {allowed:?}"
        );
    }
    assert!(
        acked_queries.len() >= KILLS,
        "the writer got through: {}",
        acked_queries.len()
    );
    let recorded = eventually(20, "every acknowledged search at the headend", || async {
        let recorded = headend.recorded_events("search");
        let got: Vec<&str> = recorded.iter().filter_map(|(_, q)| q.as_deref()).collect();
        acked_queries
            .iter()
            .all(|q| got.contains(&q.as_str()))
            .then_some(recorded)
    })
    .await;
    // Each query was sent once by the viewer, so it must be recorded once.
    let mut per_query: HashMap<&str, usize> = HashMap::new();
    for (_, q) in &recorded {
        *per_query
            .entry(q.as_deref().unwrap_or_default())
            .or_default() += 1;
    }
    let twice: Vec<_> = per_query.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "recorded more than once: {twice:?}");
}
