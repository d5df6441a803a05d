//! The origin over real HTTP: MIME types, cache headers, ETags, byte ranges,
//! and no way out of the origin directory.

mod common;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::TestServer;
use reqwest::StatusCode;

fn publish(server: &TestServer, rel: &str, bytes: &[u8]) {
    let path = server.state.config.origin_dir().join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

/// Sends a request line exactly as written (HTTP clients normalise `..`).
async fn raw_get(server: &TestServer, target: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn streaming_files_get_their_mime_type_and_cache_policy() {
    let server = TestServer::start(|_| {}).await;
    publish(&server, "t/master.m3u8", b"#EXTM3U\n");
    publish(&server, "t/manifest.mpd", b"<MPD/>");
    publish(&server, "t/v/init.mp4", b"init");
    publish(&server, "t/v/seg_1.m4s", b"seg");
    publish(&server, "t/ts/seg_1.ts", b"ts");
    let client = reqwest::Client::new();
    for (path, mime, immutable) in [
        ("t/master.m3u8", "application/vnd.apple.mpegurl", false),
        ("t/manifest.mpd", "application/dash+xml", false),
        ("t/v/init.mp4", "video/mp4", true),
        ("t/v/seg_1.m4s", "video/iso.segment", true),
        ("t/ts/seg_1.ts", "video/mp2t", true),
    ] {
        let resp = client
            .get(server.url(&format!("/origin/{path}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(resp.headers()["content-type"], mime, "{path}");
        let cache = resp.headers()["cache-control"].to_str().expect("ascii");
        assert_eq!(cache.contains("immutable"), immutable, "{path}: {cache}");
        assert!(resp.headers().contains_key("etag"), "{path}");
    }
}

#[tokio::test]
async fn byte_ranges_and_conditional_requests() {
    let server = TestServer::start(|_| {}).await;
    let body: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    publish(&server, "t/v/seg_1.m4s", &body);
    let client = reqwest::Client::new();
    let url = server.url("/origin/t/v/seg_1.m4s");

    let resp = client
        .get(&url)
        .header("range", "bytes=100-199")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.headers()["content-range"], "bytes 100-199/10000");
    assert_eq!(resp.headers()["content-type"], "video/iso.segment");
    assert_eq!(resp.bytes().await.expect("body").as_ref(), &body[100..200]);

    let resp = client.get(&url).send().await.expect("sent");
    let etag = resp.headers()["etag"].clone();
    assert_eq!(resp.bytes().await.expect("body").len(), 10_000);
    let resp = client
        .get(&url)
        .header("if-none-match", etag.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(resp.headers()["etag"], etag);

    // A re-published file gets a new ETag.
    std::thread::sleep(std::time::Duration::from_millis(10));
    publish(&server, "t/v/seg_1.m4s", &body[..5_000]);
    let resp = client
        .get(&url)
        .header("if-none-match", etag.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_ne!(resp.headers()["etag"], etag);

    let resp = client
        .get(&url)
        .header("range", "bytes=90000-")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn nothing_outside_the_origin_is_reachable() {
    let server = TestServer::start(|_| {}).await;
    publish(&server, "t/master.m3u8", b"#EXTM3U\n");
    // The database and the master key sit next to the origin directory.
    assert!(server.state.config.master_key_path().exists());
    for target in [
        "/origin/../master.key",
        "/origin/t/../../headend.db",
        "/origin/%2e%2e/master.key",
        "/origin/t/%2e%2e%2f%2e%2e%2fmaster.key",
        "/origin/..%5cmaster.key",
        "/origin//etc/passwd",
        "/origin/t/%00.m3u8",
    ] {
        let resp = raw_get(&server, target).await;
        let status_line = resp.lines().next().unwrap_or_default();
        assert!(
            status_line.contains(" 400 ") || status_line.contains(" 404 "),
            "{target}: {status_line}"
        );
    }
    // Files the origin has no business serving are not served even if present.
    publish(&server, "t/notes.txt", b"private");
    let resp = reqwest::get(server.url("/origin/t/notes.txt"))
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Writes are refused, and the server keeps serving.
    let resp = reqwest::Client::new()
        .post(server.url("/origin/t/master.m3u8"))
        .body("x")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let resp = reqwest::get(server.url("/origin/t/master.m3u8"))
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
}
