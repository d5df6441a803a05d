//! Playback sessions and viewing events over the API: refusals come before
//! any media, edges are ranked for the viewer's region, events are
//! idempotent and drive the resume point.

mod common;

use common::TestServer;
use ottbox_headend::config::EdgeConfig;
use ottbox_protocol::playback::{Event, EventBatch, EventKind, EventReceipt, PlaybackSession};
use ottbox_protocol::{ApiError, ErrorCode};
use reqwest::StatusCode;

async fn server() -> TestServer {
    let edge = |name: &str, port: u16, region: &str| EdgeConfig {
        name: name.into(),
        url: format!("http://127.0.0.1:{port}/"),
        regions: vec![region.into()],
    };
    let server = TestServer::start(|c| {
        c.edges = vec![
            edge("us-1", 9001, "us"),
            edge("eu-1", 9002, "eu"),
            edge("eu-2", 9003, "eu"),
        ];
    })
    .await;
    server.add_asset("film", &["ALL"], &["eu"]);
    let conn = server.state.db.conn().expect("conn");
    conn.execute(
        "INSERT INTO titles (id, name, asset_id) VALUES ('ml-1', 'Toy Story', 'film'), ('ml-2', 'No Video', NULL)",
        [],
    )
    .expect("titles");
    server
}

async fn play(
    server: &TestServer,
    token: &str,
    title: &str,
    from: &str,
) -> Result<PlaybackSession, (StatusCode, ErrorCode)> {
    let client = reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().expect("ip"))
        .build()
        .expect("client");
    let resp = client
        .post(server.url(&format!("/api/v1/playback/{title}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    let status = resp.status();
    if status == StatusCode::OK {
        Ok(resp.json().await.expect("session"))
    } else {
        Err((status, resp.json::<ApiError>().await.expect("error").error))
    }
}

fn event(id: &str, kind: EventKind, at: i64, position: Option<f64>) -> Event {
    Event {
        id: id.into(),
        kind,
        at,
        title_id: Some("ml-1".into()),
        position_s: position,
        query: None,
    }
}

async fn send(
    server: &TestServer,
    token: &str,
    events: Vec<Event>,
) -> Result<EventReceipt, (StatusCode, ErrorCode)> {
    let resp = reqwest::Client::new()
        .post(server.url("/api/v1/events"))
        .bearer_auth(token)
        .json(&EventBatch { events })
        .send()
        .await
        .expect("sent");
    let status = resp.status();
    if status == StatusCode::OK {
        Ok(resp.json().await.expect("receipt"))
    } else {
        Err((status, resp.json::<ApiError>().await.expect("error").error))
    }
}

#[tokio::test]
async fn a_granted_session_ranks_edges_for_the_viewer() {
    let server = server().await;
    let token = server.add_account("alice", &["*"]);
    let s = play(&server, &token, "ml-1", "127.0.0.1")
        .await
        .expect("granted");
    let names: Vec<&str> = s.edges.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["eu-1", "eu-2", "us-1"],
        "near edges first, in config order"
    );
    assert_eq!(
        s.edges[0].hls_url,
        "http://127.0.0.1:9002/origin/film/master.m3u8"
    );
    assert_eq!(
        s.edges[0].dash_url.as_deref(),
        Some("http://127.0.0.1:9002/origin/film/manifest.mpd")
    );
    assert!(s.license_url.ends_with("/api/v1/license"));
    assert_eq!((s.asset_id.as_str(), s.resume_s), ("film", 0.0));
}

#[tokio::test]
async fn refusals_come_before_any_media() {
    let server = server().await;
    let alice = server.add_account("alice", &["*"]);
    let nobody = server.add_account("bob", &[]);
    assert_eq!(
        play(&server, &nobody, "ml-1", "127.0.0.1").await.err(),
        Some((StatusCode::FORBIDDEN, ErrorCode::NotEntitled))
    );
    assert_eq!(
        play(&server, &alice, "ml-1", "127.0.0.2").await.err(),
        Some((StatusCode::FORBIDDEN, ErrorCode::RegionBlocked))
    );
    assert_eq!(
        play(&server, &alice, "ml-999", "127.0.0.1").await.err(),
        Some((StatusCode::NOT_FOUND, ErrorCode::NotFound))
    );
    assert_eq!(
        play(&server, &alice, "ml-2", "127.0.0.1").await.err(),
        Some((StatusCode::NOT_FOUND, ErrorCode::NotFound))
    );
    assert_eq!(
        play(&server, "forged", "ml-1", "127.0.0.1").await.err(),
        Some((StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken))
    );
}

#[tokio::test]
async fn events_are_idempotent_and_set_the_resume_point() {
    let server = server().await;
    let token = server.add_account("alice", &["*"]);
    let batch = vec![
        event("e1", EventKind::Play, 100, Some(0.0)),
        event("e2", EventKind::Progress, 104, Some(3.5)),
    ];
    assert_eq!(
        send(&server, &token, batch.clone()).await,
        Ok(EventReceipt {
            accepted: 2,
            duplicates: 0
        })
    );
    // The box retries the same batch: nothing is counted twice.
    assert_eq!(
        send(&server, &token, batch).await,
        Ok(EventReceipt {
            accepted: 0,
            duplicates: 2
        })
    );
    let s = play(&server, &token, "ml-1", "127.0.0.1")
        .await
        .expect("granted");
    assert_eq!(s.resume_s, 3.5);
    // A late-arriving older event does not move the resume point back.
    send(
        &server,
        &token,
        vec![event("e0", EventKind::Progress, 90, Some(1.0))],
    )
    .await
    .expect("ok");
    assert_eq!(
        play(&server, &token, "ml-1", "127.0.0.1")
            .await
            .expect("granted")
            .resume_s,
        3.5
    );
    // Finished: start from the beginning next time.
    send(
        &server,
        &token,
        vec![event("e3", EventKind::Complete, 110, None)],
    )
    .await
    .expect("ok");
    assert_eq!(
        play(&server, &token, "ml-1", "127.0.0.1")
            .await
            .expect("granted")
            .resume_s,
        0.0
    );
    // Another account's history is its own.
    let bob = server.add_account("bob", &["*"]);
    assert_eq!(
        send(
            &server,
            &bob,
            vec![event("e1", EventKind::Progress, 120, Some(2.0))]
        )
        .await
        .map(|r| r.accepted),
        Ok(1)
    );
}

#[tokio::test]
async fn bad_events_are_refused_whole() {
    let server = server().await;
    let token = server.add_account("alice", &["*"]);
    let unknown = Event {
        title_id: Some("ml-404".into()),
        ..event("x1", EventKind::Play, 1, None)
    };
    assert_eq!(
        send(
            &server,
            &token,
            vec![event("ok", EventKind::Play, 1, None), unknown]
        )
        .await
        .err(),
        Some((StatusCode::NOT_FOUND, ErrorCode::NotFound))
    );
    let negative = event("x2", EventKind::Progress, 1, Some(-1.0));
    let no_title = Event {
        title_id: None,
        ..event("x3", EventKind::Play, 1, None)
    };
    let empty_id = event("", EventKind::Play, 1, None);
    for bad in [negative, no_title, empty_id] {
        assert_eq!(
            send(&server, &token, vec![bad]).await.err().map(|e| e.1),
            Some(ErrorCode::InvalidRequest)
        );
    }
    let many: Vec<Event> = (0..501)
        .map(|i| event(&format!("m{i}"), EventKind::Play, i, None))
        .collect();
    assert_eq!(
        send(&server, &token, many).await.err().map(|e| e.1),
        Some(ErrorCode::InvalidRequest)
    );
    let resp = reqwest::Client::new()
        .post(server.url("/api/v1/events"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"events\": [{\"id\": 1}]}")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Nothing of the refused batches was recorded: "ok" is still new.
    assert_eq!(
        send(&server, &token, vec![event("ok", EventKind::Play, 1, None)])
            .await
            .map(|r| r.accepted),
        Ok(1)
    );
}
