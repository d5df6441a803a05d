//! Catalog search, details and similar titles over the real MovieLens
//! catalog (`shared/reco`), through the HTTP API a box uses.

mod common;

use std::path::PathBuf;

use common::TestServer;
use ottbox_protocol::catalog::{TitleDetails, TitleList};
use ottbox_protocol::{ApiError, ErrorCode};
use reqwest::StatusCode;

fn reco_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reco");
    assert!(
        dir.join("movies.csv").is_file(),
        "the MovieLens catalog is expected at {} (shared/ beside the checkout)",
        dir.display()
    );
    dir
}

async fn catalog_server() -> TestServer {
    let server = TestServer::start(|_| {}).await;
    for i in 0..6 {
        server.add_asset(&ottbox_headend::sample::asset_id(i), &["ALL"], &["eu"]);
    }
    let dir = reco_dir();
    let titles = ottbox_headend::sample::import_catalog(
        &server.state.db,
        &dir.join("movies.csv"),
        &dir.join("tags.csv"),
        6,
    )
    .expect("import");
    assert_eq!(titles, 9742);
    server
        .state
        .search
        .reload(&server.state.db.conn().expect("conn"))
        .expect("reload vocabulary");
    server
}

async fn search(server: &TestServer, q: &str) -> Vec<String> {
    let resp = reqwest::Client::new()
        .get(server.url("/api/v1/search"))
        .query(&[("q", q), ("limit", "10")])
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK, "{q}");
    let list: TitleList = resp.json().await.expect("results");
    list.results
        .into_iter()
        .map(|t| {
            format!(
                "{} ({})",
                t.name,
                t.year.map_or("-".into(), |y| y.to_string())
            )
        })
        .collect()
}

#[tokio::test]
async fn search_finds_what_viewers_type() {
    let server = catalog_server().await;
    // On-screen keyboard: word prefixes.
    let r = search(&server, "soc netw").await;
    assert_eq!(
        r.first().map(String::as_str),
        Some("Social Network, The (2010)"),
        "{r:?}"
    );
    let r = search(&server, "toy sto").await;
    assert!(r.iter().take(3).any(|t| t == "Toy Story (1995)"), "{r:?}");
    // Typos.
    let r = search(&server, "godfathr").await;
    assert!(
        r.iter().take(3).any(|t| t == "Godfather, The (1972)"),
        "{r:?}"
    );
    let r = search(&server, "matrx").await;
    assert!(r.iter().take(5).any(|t| t == "Matrix, The (1999)"), "{r:?}");
    // Tags: viewers' words find titles too.
    let r = search(&server, "pixar").await;
    assert!(r.iter().any(|t| t.starts_with("Toy Story")), "{r:?}");
    // Nothing matches nonsense.
    assert!(search(&server, "qqqqzzzzxxxx").await.is_empty());
}

#[tokio::test]
async fn fts_syntax_and_sql_in_queries_are_just_text() {
    let server = catalog_server().await;
    for q in [
        "\"",
        "*",
        "NEAR(",
        "title:",
        "'; DROP TABLE titles; --",
        "a OR b AND NOT",
        "^",
        "((((",
    ] {
        let _ = search(&server, q).await;
    }
    let conn = server.state.db.conn().expect("conn");
    assert_eq!(
        ottbox_headend::db::catalog::count(&conn).expect("count"),
        9742
    );
    let resp = reqwest::Client::new()
        .get(server.url("/api/v1/search"))
        .query(&[("q", "x".repeat(1000))])
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn details_and_similar_titles() {
    let server = catalog_server().await;
    let client = reqwest::Client::new();
    let d: TitleDetails = client
        .get(server.url("/api/v1/titles/ml-1"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("details");
    assert_eq!(
        (d.summary.name.as_str(), d.summary.year),
        ("Toy Story", Some(1995))
    );
    assert!(d.summary.genres.contains(&"Animation".to_owned()));
    assert!(d.tags.contains(&"pixar".to_owned()), "{:?}", d.tags);
    assert!(
        d.synopsis.starts_with("Toy Story: an adventure"),
        "{}",
        d.synopsis
    );
    assert_eq!(d.asset_id.as_deref(), Some("sample-1"));

    let similar: TitleList = client
        .get(server.url("/api/v1/titles/ml-1/similar"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("similar");
    let names: Vec<&str> = similar.results.iter().map(|t| t.name.as_str()).collect();
    assert!(
        !names.contains(&"Toy Story"),
        "never the title itself: {names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("Toy Story")),
        "its sequels: {names:?}"
    );

    let resp = client
        .get(server.url("/api/v1/titles/ml-0"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        resp.json::<ApiError>().await.expect("error").error,
        ErrorCode::NotFound
    );
    let resp = client
        .get(server.url("/api/v1/titles/nope/similar"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
