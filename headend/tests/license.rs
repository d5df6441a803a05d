//! The ClearKey license server, over real HTTP: who gets keys, who does not,
//! and that bad requests neither crash it nor leak anything.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::TestServer;
use ottbox_headend::tokens::Claims;
use ottbox_protocol::license::{LicenseRequest, LicenseResponse};
use ottbox_protocol::{ApiError, ErrorCode};
use reqwest::StatusCode;

fn request_for(kids: &[[u8; 16]]) -> LicenseRequest {
    LicenseRequest {
        kids: kids.iter().map(|k| B64.encode(k)).collect(),
        session_type: "temporary".into(),
    }
}

async fn post(
    client: &reqwest::Client,
    server: &TestServer,
    token: Option<&str>,
    body: &LicenseRequest,
) -> reqwest::Response {
    let mut req = client.post(server.url("/api/v1/license")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request sent")
}

async fn refusal(resp: reqwest::Response) -> (StatusCode, ErrorCode) {
    let status = resp.status();
    let body: ApiError = resp.json().await.expect("error body is JSON");
    assert!(!body.message.is_empty());
    (status, body.error)
}

#[tokio::test]
async fn entitled_account_in_licensed_region_gets_the_keys() {
    let server = TestServer::start(|_| {}).await;
    let keys = server.add_asset("film", &["SD", "HD"], &["eu"]);
    let token = server.add_account("alice", &["*"]);
    let kids: Vec<[u8; 16]> = keys.iter().map(|k| k.kid).collect();
    let resp = post(
        &reqwest::Client::new(),
        &server,
        Some(&token),
        &request_for(&kids),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let license: LicenseResponse = resp.json().await.expect("JWK set");
    assert_eq!(license.session_type, "temporary");
    assert_eq!(license.keys.len(), 2);
    for (jwk, key) in license.keys.iter().zip(&keys) {
        assert_eq!(jwk.kty, "oct");
        assert_eq!(B64.decode(&jwk.kid).expect("b64"), key.kid);
        assert_eq!(B64.decode(&jwk.k).expect("b64"), key.key);
    }
}

#[tokio::test]
async fn entitlement_by_asset_or_title_is_enough() {
    let server = TestServer::start(|_| {}).await;
    let film = server.add_asset("film", &["ALL"], &["eu"]);
    let other = server.add_asset("other", &["ALL"], &["eu"]);
    {
        let conn = server.state.db.conn().expect("conn");
        conn.execute(
            "INSERT INTO titles (id, name, asset_id) VALUES ('ml-1', 'Toy Story', 'other')",
            [],
        )
        .expect("title");
    }
    let by_asset = server.add_account("bob", &["film"]);
    let by_title = server.add_account("carol", &["ml-1"]);
    let client = reqwest::Client::new();
    let ok = post(
        &client,
        &server,
        Some(&by_asset),
        &request_for(&[film[0].kid]),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let ok = post(
        &client,
        &server,
        Some(&by_title),
        &request_for(&[other[0].kid]),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    // ...but not to the other one.
    let no = post(
        &client,
        &server,
        Some(&by_asset),
        &request_for(&[other[0].kid]),
    )
    .await;
    assert_eq!(
        refusal(no).await,
        (StatusCode::FORBIDDEN, ErrorCode::NotEntitled)
    );
    // A request mixing a granted and a refused asset gets nothing.
    let mixed = post(
        &client,
        &server,
        Some(&by_asset),
        &request_for(&[film[0].kid, other[0].kid]),
    )
    .await;
    assert_eq!(refusal(mixed).await.1, ErrorCode::NotEntitled);
}

#[tokio::test]
async fn each_refusal_has_its_code() {
    let server = TestServer::start(|_| {}).await;
    let keys = server.add_asset("film", &["ALL"], &["eu"]);
    let kid = keys[0].kid;
    let alice = server.add_account("alice", &["*"]);
    let nobody = server.add_account("dave", &[]);
    let client = reqwest::Client::new();

    let resp = post(&client, &server, Some(&nobody), &request_for(&[kid])).await;
    assert_eq!(
        refusal(resp).await,
        (StatusCode::FORBIDDEN, ErrorCode::NotEntitled)
    );

    let resp = post(&client, &server, Some(&alice), &request_for(&[[9u8; 16]])).await;
    assert_eq!(
        refusal(resp).await,
        (StatusCode::NOT_FOUND, ErrorCode::UnknownKey)
    );

    let resp = post(&client, &server, None, &request_for(&[kid])).await;
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        refusal(resp).await,
        (StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken)
    );

    // Region: the same account from 127.0.0.2, which the default table maps to "us".
    let abroad = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().expect("ip"))
        .build()
        .expect("client");
    let resp = post(&abroad, &server, Some(&alice), &request_for(&[kid])).await;
    assert_eq!(
        refusal(resp).await,
        (StatusCode::FORBIDDEN, ErrorCode::RegionBlocked)
    );
    // An address in no region at all is refused too.
    let nowhere = reqwest::Client::builder()
        .local_address("127.0.0.9".parse::<std::net::IpAddr>().expect("ip"))
        .build()
        .expect("client");
    let resp = post(&nowhere, &server, Some(&alice), &request_for(&[kid])).await;
    assert_eq!(refusal(resp).await.1, ErrorCode::RegionBlocked);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_edges() {
    let server =
        TestServer::start(|c| c.proxy.trusted = vec!["127.0.0.3/32".parse().expect("net")]).await;
    let kid = server.add_asset("film", &["ALL"], &["eu"])[0].kid;
    let alice = server.add_account("alice", &["*"]);
    let send = |from: &'static str, xff: &'static str| {
        let client = reqwest::Client::builder()
            .local_address(from.parse::<std::net::IpAddr>().expect("ip"))
            .build()
            .expect("client");
        let req = client
            .post(server.url("/api/v1/license"))
            .bearer_auth(&alice)
            .header("x-forwarded-for", xff)
            .json(&request_for(&[kid]));
        async move { req.send().await.expect("sent").status() }
    };
    // A viewer in eu cannot pretend to be elsewhere, nor a viewer abroad be in eu.
    assert_eq!(send("127.0.0.1", "127.0.0.2").await, StatusCode::OK);
    assert_eq!(send("127.0.0.2", "127.0.0.1").await, StatusCode::FORBIDDEN);
    // The trusted edge speaks for its clients.
    assert_eq!(send("127.0.0.3", "127.0.0.1").await, StatusCode::OK);
    assert_eq!(
        send("127.0.0.3", "127.0.0.1, 127.0.0.2").await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn tampered_expired_and_foreign_tokens_are_refused() {
    let server = TestServer::start(|_| {}).await;
    let kid = server.add_asset("film", &["ALL"], &["eu"])[0].kid;
    let good = server.add_account("alice", &["*"]);
    let expired = server.state.tokens.issue_claims(&Claims {
        sub: "alice".into(),
        iat: 0,
        exp: 1,
        sid: None,
    });
    let (head, sig) = good.rsplit_once('.').expect("token has dots");
    let (version, _) = head.split_once('.').expect("token has dots");
    let forged_payload = B64.encode(br#"{"sub":"alice","iat":0,"exp":99999999999}"#);
    let tampered = format!("{version}.{forged_payload}.{sig}");
    let foreign =
        ottbox_headend::tokens::TokenIssuer::new(b"someone else's secret").issue("alice", 3600);
    let ghost = server.state.tokens.issue("ghost", 3600);
    let client = reqwest::Client::new();
    for token in [expired.as_str(), &tampered, &foreign, &ghost, "garbage", ""] {
        let resp = post(&client, &server, Some(token), &request_for(&[kid])).await;
        assert_eq!(
            refusal(resp).await,
            (StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken),
            "token {token:?}"
        );
    }
}

#[tokio::test]
async fn bad_requests_get_clear_4xx_and_the_server_keeps_serving() {
    let server = TestServer::start(|_| {}).await;
    let kid = server.add_asset("film", &["ALL"], &["eu"])[0].kid;
    let token = server.add_account("alice", &["*"]);
    let client = reqwest::Client::new();
    let url = server.url("/api/v1/license");
    for body in [
        "".to_owned(),
        "{".to_owned(),
        "[]".to_owned(),
        r#"{"kids":[]}"#.to_owned(),
        r#"{"kids":["not base64!"]}"#.to_owned(),
        r#"{"kids":[1,2,3]}"#.to_owned(),
        format!(
            r#"{{"kids":[{}]}}"#,
            vec!["\"AAAAAAAAAAAAAAAAAAAAAA\""; 100].join(",")
        ),
    ] {
        let resp = client
            .post(&url)
            .bearer_auth(&token)
            .body(body.clone())
            .send()
            .await
            .expect("sent");
        assert_eq!(
            refusal(resp).await,
            (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
            "{body}"
        );
    }
    let huge = vec![b'x'; 2 * 1024 * 1024];
    let resp = client
        .post(&url)
        .bearer_auth(&token)
        .body(huge)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        refusal(resp).await,
        (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
    );
    let resp = client
        .get(server.url("/api/v1/nope"))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        refusal(resp).await,
        (StatusCode::NOT_FOUND, ErrorCode::NotFound)
    );
    // Still serving.
    let resp = post(&client, &server, Some(&token), &request_for(&[kid])).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_burst_of_concurrent_requests_is_served() {
    let server = TestServer::start(|_| {}).await;
    let kid = server.add_asset("film", &["ALL"], &["eu"])[0].kid;
    let token = server.add_account("alice", &["*"]);
    let client = reqwest::Client::new();
    let req = request_for(&[kid]);
    let tasks: Vec<_> = (0..256)
        .map(|_| {
            let (client, req, token, url) = (
                client.clone(),
                req.clone(),
                token.clone(),
                server.url("/api/v1/license"),
            );
            tokio::spawn(async move {
                let resp = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&req)
                    .send()
                    .await
                    .expect("sent");
                resp.status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task"), StatusCode::OK);
    }
}

#[tokio::test]
async fn hls_aes128_key_endpoint_serves_raw_key_bytes_under_the_same_rules() {
    let server = TestServer::start(|_| {}).await;
    let key = server.add_asset("legacy", &["ALL"], &["eu"]).remove(0);
    let token = server.add_account("alice", &["*"]);
    let nobody = server.add_account("dave", &[]);
    let client = reqwest::Client::new();
    let url = server.url(&format!("/api/v1/license/hls/{}", B64.encode(key.kid)));
    let resp = client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "private, no-store");
    assert_eq!(resp.bytes().await.expect("body").as_ref(), key.key);
    let resp = client
        .get(&url)
        .bearer_auth(&nobody)
        .send()
        .await
        .expect("sent");
    assert_eq!(refusal(resp).await.1, ErrorCode::NotEntitled);
    let resp = client.get(&url).send().await.expect("sent");
    assert_eq!(refusal(resp).await.1, ErrorCode::InvalidToken);
    let resp = client
        .get(server.url("/api/v1/license/hls/xyz"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(refusal(resp).await.1, ErrorCode::InvalidRequest);
}
