//! Real nginx CDN edges in front of a real headend: what is cached, what
//! is logged, who the origin thinks the viewer is, what the steering server
//! says, and what happens when an edge dies.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use ottbox_headend::cdn_edge::{AccessLogEntry, CdnEdge, EdgeSpec, free_port};
use ottbox_headend::config::EdgeConfig;
use ottbox_protocol::playback::PlaybackSession;
use ottbox_protocol::steering::SteeringManifest;
use ottbox_protocol::{ApiError, ErrorCode};
use reqwest::StatusCode;

/// The edges' own source address toward the origin: the only one the
/// headend believes `X-Forwarded-For` from.
const EDGE_SOURCE: &str = "127.0.0.3";

/// A headend with one title (`ml-1`, asset `film`, licensed in `eu`) and
/// two edges: `eu-1` near `eu` (127.0.0.1), `us-1` near `us` (127.0.0.2).
struct Cdn {
    server: TestServer,
    eu: CdnEdge,
    us: CdnEdge,
    token: String,
    segment: Vec<u8>,
}

async fn cdn() -> Cdn {
    let lo = IpAddr::from([127, 0, 0, 1]);
    let ports = [free_port(lo).expect("port"), free_port(lo).expect("port")];
    let server = TestServer::start(|c| {
        c.proxy.trusted = vec![format!("{EDGE_SOURCE}/32").parse().expect("net")];
        c.edges = vec![
            EdgeConfig {
                name: "eu-1".into(),
                url: format!("http://127.0.0.1:{}", ports[0]),
                regions: vec!["eu".into()],
            },
            EdgeConfig {
                name: "us-1".into(),
                url: format!("http://127.0.0.1:{}", ports[1]),
                regions: vec!["us".into()],
            },
        ];
    })
    .await;
    server.add_asset("film", &["ALL"], &["eu"]);
    let conn = server.state.db.conn().expect("conn");
    conn.execute(
        "INSERT INTO titles (id, name, asset_id) VALUES ('ml-1', 'Toy Story', 'film')",
        [],
    )
    .expect("title");
    drop(conn);
    server.state.refresh_catalog().expect("refresh");
    // Origin files: what the edges fetch.
    let dir = server.state.config.origin_dir().join("film");
    std::fs::create_dir_all(dir.join("v")).expect("dirs");
    std::fs::write(
        dir.join("master.m3u8"),
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nv/media.m3u8\n",
    )
    .expect("master");
    let segment: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("v/seg_1.m4s"), &segment).expect("segment");
    let origin = format!("http://{}", server.addr);
    let edge = |name: &str, port: u16| {
        let mut spec = EdgeSpec::new(name, origin.clone());
        spec.listen = Some(SocketAddr::new(lo, port));
        spec.proxy_bind = Some(EDGE_SOURCE.parse().expect("ip"));
        CdnEdge::start(spec).expect("nginx edge starts (cargo xtask setup installs nginx-light)")
    };
    let eu = edge("eu-1", ports[0]);
    let us = edge("us-1", ports[1]);
    let token = server.add_account("alice", &["*"]);
    Cdn {
        server,
        eu,
        us,
        token,
        segment,
    }
}

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn segments_are_a_miss_then_a_hit_and_the_log_keeps_cmcd() {
    let cdn = cdn().await;
    let client = client_from("127.0.0.1");
    let url = format!("{}/origin/film/v/seg_1.m4s", cdn.eu.url());
    let mut seen = Vec::new();
    for (i, sid) in ["s1", "s2"].iter().enumerate() {
        let resp = client
            .get(format!("{url}?CMCD=br%3D400%2Cot%3Dv%2Csid%3D%22{sid}%22"))
            .header("CMCD-Request", format!("bl={}", 2000 + i))
            .header("CMCD-Session", "cid=\"ml-1\",sf=h")
            .send()
            .await
            .expect("edge answers");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header(&resp, "x-edge"), "eu-1");
        assert!(header(&resp, "cache-control").contains("immutable"));
        seen.push(header(&resp, "x-cache-status"));
        let body = resp.bytes().await.expect("body");
        assert_eq!(body.as_ref(), cdn.segment.as_slice(), "the origin's bytes");
    }
    assert_eq!(
        seen,
        ["MISS", "HIT"],
        "a different CMCD query must not split the cache"
    );
    // A byte range is served from the cached object.
    let resp = client
        .get(&url)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .expect("range");
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&resp, "x-cache-status"), "HIT");
    assert_eq!(
        resp.bytes().await.expect("body").as_ref(),
        &cdn.segment[10..20]
    );

    // nginx writes a request's log line after the reply has gone out, so
    // the last one may not be there yet: wait for it, up to a deadline.
    let segment_lines = |log: &[AccessLogEntry]| {
        log.iter()
            .filter(|e| e.uri == "/origin/film/v/seg_1.m4s")
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut log = cdn.eu.access_log();
    while segment_lines(&log) < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        log = cdn.eu.access_log();
    }
    let hits: Vec<_> = log
        .iter()
        .filter(|e| e.uri == "/origin/film/v/seg_1.m4s")
        .collect();
    assert_eq!(hits.len(), 3, "{log:?}");
    assert_eq!(hits[0].cache, "MISS");
    assert_eq!(hits[0].remote, "127.0.0.1");
    let keys = hits[1].cmcd_keys();
    for want in [
        "br=400",
        "ot=v",
        "sid=\"s2\"",
        "bl=2001",
        "cid=\"ml-1\"",
        "sf=h",
    ] {
        assert!(keys.iter().any(|k| k == want), "{want} not in {keys:?}");
    }
    // The other edge has its own cache.
    let resp = client
        .get(format!("{}/origin/film/v/seg_1.m4s", cdn.us.url()))
        .send()
        .await
        .expect("us edge");
    assert_eq!(header(&resp, "x-cache-status"), "MISS");
}

#[tokio::test]
async fn manifests_are_cached_briefly_and_keys_never() {
    let cdn = cdn().await;
    let client = client_from("127.0.0.1");
    let resp = client
        .get(format!("{}/origin/film/master.m3u8", cdn.eu.url()))
        .send()
        .await
        .expect("manifest");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "cache-control"), "public, max-age=2");
    assert_eq!(
        header(&resp, "content-type"),
        "application/vnd.apple.mpegurl"
    );
    // Key files are never stored: every fetch goes to the origin.
    std::fs::write(
        cdn.server.state.config.origin_dir().join("film/v/aes.key"),
        [7u8; 16],
    )
    .expect("key file");
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let resp = client
            .get(format!("{}/origin/film/v/aes.key", cdn.eu.url()))
            .send()
            .await
            .expect("key");
        assert_eq!(header(&resp, "cache-control"), "private, no-store");
        statuses.push(header(&resp, "x-cache-status"));
    }
    assert_eq!(statuses, ["MISS", "MISS"]);
    // A missing file is the origin's 404, passed on.
    let resp = client
        .get(format!("{}/origin/film/v/seg_404.m4s", cdn.eu.url()))
        .send()
        .await
        .expect("404");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let err: ApiError = resp.json().await.expect("the origin's JSON error");
    assert_eq!(err.error, ErrorCode::NotFound);
}

async fn steer(cdn: &Cdn, from: &str, query: &str) -> SteeringManifest {
    let resp = client_from(from)
        .get(cdn.server.url(&format!("/api/v1/steering/ml-1/hls{query}")))
        .send()
        .await
        .expect("steering");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "cache-control"), "no-store");
    SteeringManifest::parse(&resp.bytes().await.expect("body")).expect("a steering manifest")
}

#[tokio::test]
async fn steering_ranks_the_region_first_and_avoids_failing_and_dead_edges() {
    let mut cdn = cdn().await;
    let eu = steer(&cdn, "127.0.0.1", "").await;
    assert_eq!(eu.priority(), ["eu-1", "us-1"]);
    assert_eq!(eu.ttl_s, 10);
    assert!(
        eu.reload_uri
            .as_deref()
            .is_some_and(|u| u.ends_with("/api/v1/steering/ml-1/hls")),
        "{eu:?}"
    );
    let us = steer(
        &cdn,
        "127.0.0.2",
        "?_HLS_pathway=eu-1&_HLS_throughput=5000000",
    )
    .await;
    assert_eq!(us.priority(), ["us-1", "eu-1"]);
    let reported = steer(
        &cdn,
        "127.0.0.1",
        "?_HLS_pathway=us-1&_HLS_throughput=900000&ottbox_failed=eu-1",
    )
    .await;
    assert_eq!(
        reported.priority(),
        ["us-1", "eu-1"],
        "a failing pathway goes last"
    );
    // DASH names its list SERVICE-LOCATION-PRIORITY.
    let resp = client_from("127.0.0.1")
        .get(
            cdn.server
                .url("/api/v1/steering/ml-1/dash?_DASH_pathway=eu-1"),
        )
        .send()
        .await
        .expect("dash");
    let json: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(
        json["SERVICE-LOCATION-PRIORITY"],
        serde_json::json!(["eu-1", "us-1"])
    );
    assert_eq!(json["VERSION"], 1);

    // The viewer's edge dies: its port refuses, the other edge serves, and
    // steering (once its probe is older than a second) sends eu there too.
    cdn.eu.kill();
    assert!(!cdn.eu.is_running());
    let err = client_from("127.0.0.1")
        .get(format!("{}/origin/film/master.m3u8", cdn.eu.url()))
        .send()
        .await
        .expect_err("a dead edge refuses");
    assert!(err.is_connect(), "{err}");
    let resp = client_from("127.0.0.1")
        .get(format!("{}/origin/film/master.m3u8", cdn.us.url()))
        .send()
        .await
        .expect("the other edge");
    assert_eq!(resp.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let dead = steer(&cdn, "127.0.0.1", "").await;
    assert_eq!(dead.priority(), ["us-1", "eu-1"]);

    // Back again, on the same port, with its cache.
    cdn.eu.restart().expect("restarts");
    let resp = client_from("127.0.0.1")
        .get(format!("{}/origin/film/master.m3u8", cdn.eu.url()))
        .send()
        .await
        .expect("restarted edge");
    assert_eq!(resp.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        steer(&cdn, "127.0.0.1", "").await.priority(),
        ["eu-1", "us-1"]
    );

    let resp = client_from("127.0.0.1")
        .get(cdn.server.url("/api/v1/steering/no-such-title/hls"))
        .send()
        .await
        .expect("unknown title");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

async fn play_via(
    edge: &CdnEdge,
    from: &str,
    token: &str,
    spoof: Option<&str>,
) -> Result<PlaybackSession, ErrorCode> {
    let mut req = client_from(from)
        .post(format!("{}/api/v1/playback/ml-1", edge.url()))
        .bearer_auth(token);
    if let Some(claim) = spoof {
        req = req.header("X-Forwarded-For", claim);
    }
    let resp = req.send().await.expect("through the edge");
    assert_eq!(header(&resp, "x-edge"), edge.name());
    if resp.status() == StatusCode::OK {
        Ok(resp.json().await.expect("session"))
    } else {
        Err(resp.json::<ApiError>().await.expect("error").error)
    }
}

#[tokio::test]
async fn region_blocked_works_behind_an_edge() {
    let cdn = cdn().await;
    // 127.0.0.2 is in `us`, where the title is not licensed; the edge
    // tells the headend who is asking.
    assert_eq!(
        play_via(&cdn.eu, "127.0.0.2", &cdn.token, None)
            .await
            .map(|_| ()),
        Err(ErrorCode::RegionBlocked)
    );
    let session = play_via(&cdn.eu, "127.0.0.1", &cdn.token, None)
        .await
        .expect("eu plays");
    let names: Vec<&str> = session.edges.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["eu-1", "us-1"]);
    assert_eq!(
        session.edges[0].hls_url,
        format!("{}/origin/film/master.m3u8", cdn.eu.url())
    );
    let steering = session.steering.expect("steering with edges");
    assert!(
        steering.hls_url.ends_with("/api/v1/steering/ml-1/hls"),
        "{steering:?}"
    );
    assert!(
        steering.dash_url.ends_with("/api/v1/steering/ml-1/dash"),
        "{steering:?}"
    );
    // A viewer in `us` claiming to be in `eu` is not believed: nginx
    // appends the real address, and that is the hop the headend reads.
    assert_eq!(
        play_via(&cdn.us, "127.0.0.2", &cdn.token, Some("127.0.0.1"))
            .await
            .map(|_| ()),
        Err(ErrorCode::RegionBlocked)
    );
    // Nor is a viewer sending the header straight to the headend.
    let resp = client_from("127.0.0.2")
        .post(cdn.server.url("/api/v1/playback/ml-1"))
        .bearer_auth(&cdn.token)
        .header("X-Forwarded-For", "127.0.0.1")
        .send()
        .await
        .expect("direct");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn https_origin_verified_by_the_headends_ca_and_an_https_edge() {
    use ottbox_headend::server::{AppState, serve_tls};
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ottbox_headend::config::Config {
        data_dir: dir.path().to_owned(),
        ..Default::default()
    };
    let files =
        ottbox_headend::tls::ensure_dev_pki(&config.tls_dir(), &["localhost".into()]).expect("pki");
    let tls = ottbox_headend::tls::server_config(&files, None).expect("tls config");
    let state = Arc::new(AppState::open(config).expect("state"));
    let origin_dir = state.config.origin_dir().join("film");
    std::fs::create_dir_all(&origin_dir).expect("dir");
    std::fs::write(origin_dir.join("init.mp4"), b"init bytes").expect("file");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve_tls(
        state.clone(),
        listener,
        tls,
        std::future::pending(),
    ));

    let certs = tempfile::tempdir().expect("tempdir");
    let cert = ottbox_headend::tls::issue_edge_cert(
        &state.config.tls_dir(),
        certs.path(),
        "eu-1",
        &["localhost".into()],
    )
    .expect("edge certificate");
    let mut spec = EdgeSpec::new("eu-1", format!("https://127.0.0.1:{}", addr.port()));
    spec.origin_ca = Some(files.ca_cert.clone());
    spec.origin_tls_name = Some("localhost".into());
    spec.tls = Some(cert);
    let edge = CdnEdge::start(spec.clone()).expect("https edge");
    assert!(edge.url().starts_with("https://127.0.0.1:"));
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(&files.ca_cert).expect("ca")).expect("pem");
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .expect("client");
    let resp = client
        .get(format!("{}/origin/film/init.mp4", edge.url()))
        .send()
        .await
        .expect("the box trusts the edge by the headend's CA");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.expect("body").as_ref(), b"init bytes");

    // An edge told to trust another CA refuses the origin (502), never
    // serving unverified bytes.
    let other = tempfile::tempdir().expect("tempdir");
    let stranger = ottbox_headend::tls::ensure_dev_pki(other.path(), &["localhost".into()])
        .expect("another pki");
    let mut wrong = spec;
    wrong.name = "eu-2".into();
    wrong.tls = None;
    wrong.listen = None;
    wrong.origin_ca = Some(stranger.ca_cert);
    let wrong = CdnEdge::start(wrong).expect("edge");
    let resp = reqwest::get(format!("{}/origin/film/init.mp4", wrong.url()))
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let log = std::fs::read_to_string(wrong.error_log_path()).expect("error log");
    assert!(log.contains("certificate"), "{log}");
}
