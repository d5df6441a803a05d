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
        Some(&dir.join("ratings.csv")),
        6,
    )
    .expect("import");
    assert_eq!(titles, 9742);
    server
        .state
        .search
        .reload(&server.state.db.conn().expect("conn"))
        .expect("reload vocabulary");
    server.state.refresh_catalog().expect("catalog refresh");
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
        Some("The Social Network (2010)"),
        "{r:?}"
    );
    let r = search(&server, "toy sto").await;
    assert!(r.iter().take(3).any(|t| t == "Toy Story (1995)"), "{r:?}");
    // Typos.
    let r = search(&server, "godfathr").await;
    assert_eq!(
        r.first().map(String::as_str),
        Some("The Godfather (1972)"),
        "popularity breaks the tie: {r:?}"
    );
    let r = search(&server, "matrx").await;
    assert!(r.iter().take(5).any(|t| t == "The Matrix (1999)"), "{r:?}");
    // Tags: viewers' words find titles too.
    let r = search(&server, "pixar").await;
    assert!(r.iter().any(|t| t.starts_with("Toy Story")), "{r:?}");
    // Nothing matches nonsense.
    assert!(search(&server, "qqqqzzzzxxxx").await.is_empty());
}

#[tokio::test]
async fn cast_from_an_operators_credits_is_searched_and_shown_in_details() {
    let server = catalog_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let credits = dir.path().join("cast.csv");
    std::fs::write(
        &credits,
        "movieId,name\n80463,Jesse Eisenberg\n80463,Andrew Garfield\n\
         858,Marlon Brando\n858,Al Pacino\n1221,Al Pacino\n1221,Robert De Niro\n\
         999999,Nobody Known\n",
    )
    .expect("write");
    let given = ottbox_headend::sample::import_cast(&server.state.db, &credits).expect("cast");
    assert_eq!(given, 3, "the id the catalog does not have is skipped");
    server
        .state
        .search
        .reload(&server.state.db.conn().expect("conn"))
        .expect("reload vocabulary");

    // A name, the start of one, a misspelt one.
    for q in ["eisenberg", "jesse eisen", "andrew garfeld"] {
        let r = search(&server, q).await;
        assert_eq!(
            r.first().map(String::as_str),
            Some("The Social Network (2010)"),
            "{q}: {r:?}"
        );
    }
    let r = search(&server, "pacino").await;
    for title in ["The Godfather (1972)", "The Godfather: Part II (1974)"] {
        assert!(r.iter().take(3).any(|t| t == title), "{title}: {r:?}");
    }
    let r = search(&server, "marlon brndo").await;
    assert_eq!(
        r.first().map(String::as_str),
        Some("The Godfather (1972)"),
        "{r:?}"
    );

    let details = |id: &'static str| {
        let url = server.url(&format!("/api/v1/titles/{id}"));
        async move {
            reqwest::get(url)
                .await
                .expect("sent")
                .json::<TitleDetails>()
                .await
                .expect("details")
        }
    };
    assert_eq!(
        details("ml-80463").await.cast,
        ["Jesse Eisenberg", "Andrew Garfield"],
        "in billing order"
    );
    assert!(details("ml-1").await.cast.is_empty(), "no credits, no cast");
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
    assert_eq!(d.age_rating, "All");
    let poster = client
        .get(server.url(&d.summary.poster))
        .send()
        .await
        .expect("sent");
    assert_eq!(poster.headers()["content-type"], "image/png");
    let bytes = poster.bytes().await.expect("png");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");

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

async fn home(server: &TestServer, token: &str) -> ottbox_protocol::catalog::Home {
    let resp = reqwest::Client::new()
        .get(server.url("/api/v1/home"))
        .bearer_auth(token)
        .query(&[("items", "10")])
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("home")
}

fn row<'a>(
    home: &'a ottbox_protocol::catalog::Home,
    id: &str,
) -> Option<&'a ottbox_protocol::catalog::Row> {
    home.rows.iter().find(|r| r.id == id)
}

#[tokio::test]
async fn home_rows_follow_what_the_viewer_watches() {
    use ottbox_protocol::playback::{Event, EventBatch, EventKind};
    let server = catalog_server().await;
    let token = server.add_account("alice", &["*"]);
    let client = reqwest::Client::new();

    // A new viewer: popular titles, trending, genres; nothing to continue.
    let h = home(&server, &token).await;
    assert!(row(&h, "continue").is_none());
    let rec = row(&h, "recommended").expect("recommended row");
    assert_eq!(rec.title, "Popular on ottbox");
    assert_eq!(rec.items.len(), 10);
    assert!(row(&h, "trending").is_some() && row(&h, "genre:Comedy").is_some());

    // Alice starts Toy Story and stops after 3 s of its 8.
    let ev = |id: &str, kind, at, pos| Event {
        id: id.into(),
        kind,
        at,
        title_id: Some("ml-1".into()),
        position_s: pos,
        query: None,
    };
    let batch = EventBatch {
        events: vec![
            ev("1", EventKind::Play, 10, Some(0.0)),
            ev("2", EventKind::Progress, 13, Some(3.0)),
        ],
    };
    let resp = client
        .post(server.url("/api/v1/events"))
        .bearer_auth(&token)
        .json(&batch)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    let h = home(&server, &token).await;
    assert_eq!(h.rows[0].id, "continue", "Continue watching comes first");
    let tile = &h.rows[0].items[0];
    assert_eq!(
        (tile.title.name.as_str(), tile.progress, tile.resume_s),
        ("Toy Story", Some(0.375), Some(3.0))
    );
    let rec = row(&h, "recommended").expect("recommended row");
    assert_eq!(rec.title, "Recommended for you");
    assert!(
        rec.items.iter().all(|t| t.title.id != "ml-1"),
        "never what was watched"
    );
    let because = row(&h, "because:ml-1").expect("because row");
    assert_eq!(because.title, "Because you watched Toy Story");
    let names: Vec<&str> = because
        .items
        .iter()
        .map(|t| t.title.name.as_str())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("Toy Story")),
        "{names:?}"
    );

    // Finished: gone from Continue watching.
    let done = EventBatch {
        events: vec![ev("3", EventKind::Complete, 20, None)],
    };
    client
        .post(server.url("/api/v1/events"))
        .bearer_auth(&token)
        .json(&done)
        .send()
        .await
        .expect("sent");
    assert!(row(&home(&server, &token).await, "continue").is_none());

    // Rows page.
    let page = |offset: &str| {
        client
            .get(server.url("/api/v1/home/rows/genre:Comedy"))
            .bearer_auth(&token)
            .query(&[("offset", offset), ("limit", "5")])
            .send()
    };
    let first: ottbox_protocol::catalog::Row =
        page("0").await.expect("sent").json().await.expect("row");
    let second: ottbox_protocol::catalog::Row =
        page("5").await.expect("sent").json().await.expect("row");
    assert_eq!((first.items.len(), first.next_offset), (5, Some(5)));
    assert!(
        first
            .items
            .iter()
            .all(|a| second.items.iter().all(|b| a.title.id != b.title.id))
    );
    let resp = client
        .get(server.url("/api/v1/home/rows/nope"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = client
        .get(server.url("/api/v1/home"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn openapi_documents_every_api_route() {
    let server = TestServer::start(|_| {}).await;
    let doc: serde_json::Value = reqwest::get(server.url("/api/v1/openapi.json"))
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().expect("paths");
    // Every route the server mounts under /api/v1 (see server/*.rs).
    let source: String = [
        "license.rs",
        "oauth.rs",
        "catalog.rs",
        "home.rs",
        "playback.rs",
    ]
    .iter()
    .map(|f| {
        std::fs::read_to_string(format!("{}/src/server/{f}", env!("CARGO_MANIFEST_DIR")))
            .expect("source")
    })
    .collect();
    let mut routes: Vec<String> = source
        .match_indices("\"/api/v1/")
        .map(|(i, _)| {
            source[i + 1..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    routes.extend([
        "/api/v1/license".into(),
        "/api/v1/device/code".into(),
        "/api/v1/token".into(),
        "/api/v1/logout".into(),
    ]);
    for route in routes {
        if route.ends_with('/') {
            continue;
        }
        assert!(
            paths.contains_key(&route),
            "{route} is not in the OpenAPI document"
        );
    }
    // Refs resolve.
    let text = doc.to_string();
    for (i, _) in text.match_indices("#/components/schemas/") {
        let name = text[i + 21..].split('"').next().unwrap_or_default();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {name}"
        );
    }
}
