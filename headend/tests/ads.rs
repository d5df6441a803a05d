//! Ads: a playback session's VMAP plan (pre-roll, mid-roll pod at the cue
//! point, post-roll) of VAST 4 inline ads whose creatives are clear streams
//! on the origin; beacons recorded in order; ad-free accounts get an empty
//! plan.

mod common;

use common::TestServer;
use ottbox_headend::config::{Scheme, tiny_ladder};
use ottbox_headend::db::accounts;
use ottbox_headend::ingest::{self, IngestOptions};
use ottbox_headend::sample;
use ottbox_protocol::playback::PlaybackSession;
use reqwest::StatusCode;

const PUBLIC: &str = "http://headend.invalid";

async fn server() -> TestServer {
    let server = TestServer::start(|c| c.public_url = PUBLIC.into()).await;
    let state = &server.state;
    for (i, rgb) in sample::AD_PALETTE.iter().enumerate() {
        let clip = server.dir.path().join(format!("ad-{i}.mp4"));
        sample::generate_clip(&state.config, *rgb, 880, 2, &clip).expect("clip");
        let opts = IngestOptions {
            scheme: Scheme::Clear,
            ladder: tiny_ladder(),
            ..IngestOptions::from_config(&state.config, &format!("ad-{i}"))
        };
        ingest::ingest(&state.config, &state.db, &state.master, &clip, &opts).expect("ad ingest");
    }
    server.add_asset("film", &["ALL"], &["eu"]);
    let conn = state.db.conn().expect("conn");
    conn.execute(
        "INSERT INTO titles (id, name, asset_id) VALUES ('ml-1', 'Toy Story', 'film')",
        [],
    )
    .expect("title");
    server
}

/// The server's own URL for one the headend wrote with its public URL.
fn local(server: &TestServer, url: &str) -> String {
    server.url(url.strip_prefix(PUBLIC).expect("a URL of this headend"))
}

async fn plan(server: &TestServer, token: &str) -> String {
    let client = reqwest::Client::new();
    let session: PlaybackSession = client
        .post(server.url("/api/v1/playback/ml-1"))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("session");
    let url = session.ad_plan_url.expect("an ad plan");
    let resp = client.get(local(server, &url)).send().await.expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/xml")
    );
    resp.text().await.expect("xml")
}

#[tokio::test]
async fn the_plan_has_pre_mid_and_post_rolls_of_clear_creatives() {
    let server = server().await;
    let token = server.add_account("alice", &["*"]);
    let xml = plan(&server, &token).await;
    let doc = roxmltree::Document::parse(&xml).expect("VMAP is XML");
    let breaks: Vec<roxmltree::Node<'_, '_>> = doc
        .descendants()
        .filter(|n| n.has_tag_name("AdBreak"))
        .collect();
    let offsets: Vec<&str> = breaks
        .iter()
        .map(|b| b.attribute("timeOffset").expect("offset"))
        .collect();
    assert_eq!(
        offsets,
        ["start", "00:00:04.000", "end"],
        "8 s title, mid-roll at half"
    );
    let pods: Vec<usize> = breaks
        .iter()
        .map(|b| b.descendants().filter(|n| n.has_tag_name("Ad")).count())
        .collect();
    assert_eq!(pods, [1, 2, 1]);
    let ads: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("Ad"))
        .map(|n| n.attribute("id").expect("id"))
        .collect();
    assert_eq!(
        ads,
        ["ad-0", "ad-1", "ad-0", "ad-1"],
        "creatives dealt in turn"
    );
    let vast = doc
        .descendants()
        .find(|n| n.has_tag_name("VAST"))
        .expect("VAST inside");
    assert_eq!(vast.attribute("version"), Some("4.1"));
    let duration = doc
        .descendants()
        .find(|n| n.has_tag_name("Duration"))
        .and_then(|n| n.text());
    assert_eq!(duration, Some("00:00:02.000"));
    let client = reqwest::Client::new();
    for media in doc.descendants().filter(|n| n.has_tag_name("MediaFile")) {
        let url = media.text().expect("url").trim();
        let body = client
            .get(local(&server, url))
            .send()
            .await
            .expect("sent")
            .text()
            .await
            .expect("text");
        assert!(
            !body.contains("EXT-X-KEY") && !body.contains("ContentProtection"),
            "clear creative: {url}"
        );
        assert!(
            body.starts_with("#EXTM3U") || body.contains("<MPD"),
            "{url}"
        );
    }
    let trackers: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("Tracking"))
        .take(5)
        .map(|n| n.attribute("event").expect("event"))
        .collect();
    assert_eq!(
        trackers,
        [
            "start",
            "firstQuartile",
            "midpoint",
            "thirdQuartile",
            "complete"
        ]
    );
}

#[tokio::test]
async fn beacons_are_recorded_in_order() {
    let server = server().await;
    let token = server.add_account("alice", &["*"]);
    let xml = plan(&server, &token).await;
    let doc = roxmltree::Document::parse(&xml).expect("xml");
    let preroll = doc
        .descendants()
        .find(|n| n.has_tag_name("Ad"))
        .expect("pre-roll ad");
    let text = |tag: &str| {
        preroll
            .descendants()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .expect("tag")
            .trim()
            .to_owned()
    };
    let mut urls = vec![text("Impression")];
    urls.extend(
        preroll
            .descendants()
            .filter(|n| n.has_tag_name("Tracking"))
            .map(|n| n.text().expect("url").trim().to_owned()),
    );
    urls.push(text("Error").replace("[ERRORCODE]", "405"));
    // The player gives each beacon its own id, and sends the impression
    // twice (the reply to the first was lost): it is recorded once.
    let urls: Vec<String> = (10_000_000..)
        .zip(&urls)
        .map(|(id, url)| url.replace("[CACHEBUSTING]", &id.to_string()))
        .collect();
    let client = reqwest::Client::new();
    for url in urls.iter().chain(&urls[..1]) {
        let resp = client.get(local(&server, url)).send().await.expect("sent");
        assert_eq!(resp.status(), StatusCode::NO_CONTENT, "{url}");
    }
    let session = urls[0]
        .split("s=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("session id");
    let events: Vec<serde_json::Value> = client
        .get(server.url(&format!("/api/v1/ads/events/{session}")))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(
        names,
        [
            "impression",
            "start",
            "firstQuartile",
            "midpoint",
            "thirdQuartile",
            "complete",
            "error"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e["break_id"] == "preroll" && e["ad_id"] == "ad-0")
    );
    assert_eq!(events[6]["error_code"], "405");

    // Beacons this server never sent.
    let bad = |q: &str| {
        client
            .get(server.url(&format!("/api/v1/ads/track?{q}")))
            .send()
    };
    assert_eq!(
        bad("s=nope&b=preroll&ad=ad-0&e=start")
            .await
            .expect("sent")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bad(&format!("s={session}&b=preroll&ad=ad-0&e=hack"))
            .await
            .expect("sent")
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        bad("s=x").await.expect("sent").status(),
        StatusCode::BAD_REQUEST
    );
    let resp = client
        .get(server.url("/api/v1/ads/vmap/nope"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ad_free_accounts_get_an_empty_plan() {
    let server = server().await;
    let token = server.add_account("bob", &["*"]);
    accounts::create(&server.state.db.conn().expect("conn"), "bob", true).expect("ad-free");
    let xml = plan(&server, &token).await;
    let doc = roxmltree::Document::parse(&xml).expect("xml");
    assert!(doc.root_element().has_tag_name("VMAP"));
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("AdBreak"))
            .count(),
        0
    );
}
