//! The daemon's CDN selection against the real thing: a headend with two
//! nginx edges (the test harness's [`ottbox_testkit::Builder::cdn`]),
//! segments fetched through [`EdgeSelector`], the serving edge killed in
//! the middle, and the steering server consulted with [`SteeringClient`].
//! This is how the playback engine's fetcher is meant to drive the module.

use std::time::Instant;

use ottbox_protocol::playback::PlaybackSession;
use ottbox_testkit::Headend;
use ottboxd::playback::cdn::{EdgeSelector, Outcome, Policy, SteeringClient, SteeringProtocol};

/// Fetches `url`; the outcome as the selector wants it.
async fn fetch(client: &reqwest::Client, url: &str) -> (Outcome, Option<Vec<u8>>) {
    let started = Instant::now();
    match client.get(url).send().await {
        Err(e) if e.is_connect() => (Outcome::ConnectError, None),
        Err(e) if e.is_timeout() => (Outcome::Timeout, None),
        Err(_) => (Outcome::ConnectError, None),
        Ok(resp) if !resp.status().is_success() => (Outcome::Status(resp.status().as_u16()), None),
        Ok(resp) => match resp.bytes().await {
            Ok(body) => {
                let secs = started.elapsed().as_secs_f64().max(1e-6);
                let bps = body.len() as f64 * 8.0 / secs;
                (Outcome::Throughput(bps), Some(body.to_vec()))
            }
            Err(_) => (Outcome::Timeout, None),
        },
    }
}

#[tokio::test]
async fn failover_to_the_next_edge_and_steering_away_from_the_dead_one() {
    let mut headend = Headend::builder().cdn().start().await;
    let asset = ottbox_headend::sample::asset_id(0);
    let title: String = headend
        .state
        .db
        .conn()
        .expect("conn")
        .query_row("SELECT id FROM titles WHERE asset_id = ?1", [&asset], |r| {
            r.get(0)
        })
        .expect("a title with the asset");
    let dir = headend.state.config.origin_dir().join(&asset).join("v");
    std::fs::create_dir_all(&dir).expect("origin dir");
    let segment: Vec<u8> = (0..64_000u32).map(|i| (i % 253) as u8).collect();
    for n in 1..=6 {
        std::fs::write(dir.join(format!("seg_{n}.m4s")), &segment).expect("segment");
    }

    let token = headend.state.tokens.issue("viewer", 3600);
    let client = reqwest::Client::new();
    let session: PlaybackSession = client
        .post(format!("{}/api/v1/playback/{title}", headend.url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = session.edges.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["eu-1", "eu-2"], "127.0.0.1 is in eu: eu-1 first");
    let mut cdn = EdgeSelector::new(
        session.edges.iter().map(|e| e.name.clone()),
        Policy::default(),
    )
    .expect("edges");
    let segment_url = |i: usize, n: usize| {
        let base = session.edges[i].hls_url.rsplit_once('/').expect("path").0;
        format!("{base}/v/seg_{n}.m4s")
    };

    // Play three segments from the preferred edge, then it dies.
    let mut served_by = Vec::new();
    for n in 1..=6 {
        if n == 4 {
            headend.edge("eu-1").kill();
        }
        // One request may fail per segment; the next edge serves it.
        let body = loop {
            let now = Instant::now();
            let pick = cdn.select(now);
            let (index, name) = (pick.index, pick.name.to_owned());
            let (outcome, body) = fetch(&client, &segment_url(index, n)).await;
            cdn.report(index, outcome, Instant::now());
            if let Some(body) = body {
                served_by.push(name);
                break body;
            }
            assert_eq!(outcome, Outcome::ConnectError, "segment {n} from {name}");
        };
        assert_eq!(body, segment, "segment {n}");
    }
    assert_eq!(served_by, ["eu-1", "eu-1", "eu-1", "eu-2", "eu-2", "eu-2"]);
    assert!(cdn.is_on_hold(0, Instant::now()));

    // Steering: tell the server eu-1 failed; it ranks eu-1 last.
    let steering = session.steering.as_ref().expect("a steering server");
    let mut steer = SteeringClient::new(&steering.hls_url, SteeringProtocol::Hls).expect("url");
    let now = Instant::now();
    assert!(steer.due(now));
    let (index, name) = {
        let current = cdn.select(now);
        (current.index, current.name.to_owned())
    };
    let failed = cdn.take_failed();
    let url = steer.request_url(&name, cdn.throughput_bps(index, now), &failed);
    assert!(url.contains("_HLS_pathway=eu-2"), "{url}");
    assert!(url.contains("_HLS_throughput="), "{url}");
    assert!(url.contains("ottbox_failed=eu-1"), "{url}");
    let body = client
        .get(&url)
        .send()
        .await
        .expect("steering")
        .bytes()
        .await
        .expect("body");
    let manifest = steer.on_reply(&body, now).expect("steering manifest");
    assert_eq!(manifest.priority(), ["eu-2", "eu-1"]);
    cdn.apply_priority(manifest.priority());
    assert_eq!(cdn.priority(), ["eu-2", "eu-1"]);
    assert!(!steer.due(now), "asks again after the TTL");

    // eu-1 comes back; after its hold-down it would be tried again, but
    // steering now prefers eu-2, so eu-2 keeps serving.
    headend.edge("eu-1").restart().expect("restart");
    let later = now + Policy::default().hold_down;
    assert_eq!(cdn.select(later).name, "eu-2");
}
