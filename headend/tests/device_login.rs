//! Device login end to end (RFC 8628): the box asks for a code, the viewer
//! confirms it on the HTML page as a browser would (form posts), the box's
//! polling gets tokens that open licenses; refresh rotates, reuse and
//! logout revoke.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::TestServer;
use ottbox_headend::auth::password;
use ottbox_protocol::auth::{DeviceAuthorization, TokenResponse};
use ottbox_protocol::license::LicenseRequest;
use ottbox_protocol::{ApiError, ErrorCode};
use reqwest::StatusCode;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start(tweak: impl FnOnce(&mut ottbox_headend::config::Config)) -> (TestServer, [u8; 16]) {
    let server = TestServer::start(|c| {
        c.auth.poll_interval_s = 1;
        tweak(c);
    })
    .await;
    let kid = server.add_asset("film", &["ALL"], &["eu"])[0].kid;
    server.add_account("alice", &["*"]);
    let conn = server.state.db.conn().expect("conn");
    password::set_credentials(&conn, "alice", "Alice@Example.com", "correct horse").expect("creds");
    (server, kid)
}

async fn device_code(client: &reqwest::Client, server: &TestServer) -> DeviceAuthorization {
    let resp = client
        .post(server.url("/api/v1/device/code"))
        .form(&[("client_id", "ottbox-test")])
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("device authorization")
}

async fn poll(
    client: &reqwest::Client,
    server: &TestServer,
    code: &str,
) -> Result<TokenResponse, ErrorCode> {
    let resp = client
        .post(server.url("/api/v1/token"))
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", code),
            ("client_id", "ottbox-test"),
        ])
        .send()
        .await
        .expect("sent");
    if resp.status() == StatusCode::OK {
        Ok(resp.json().await.expect("tokens"))
    } else {
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        Err(resp.json::<ApiError>().await.expect("oauth error").error)
    }
}

async fn refresh(
    client: &reqwest::Client,
    server: &TestServer,
    token: &str,
) -> Result<TokenResponse, ErrorCode> {
    let resp = client
        .post(server.url("/api/v1/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .expect("sent");
    if resp.status() == StatusCode::OK {
        Ok(resp.json().await.expect("tokens"))
    } else {
        Err(resp.json::<ApiError>().await.expect("oauth error").error)
    }
}

/// Fills in and posts the verification form, as a browser does.
async fn confirm(
    client: &reqwest::Client,
    auth: &DeviceAuthorization,
    email: &str,
    password: &str,
    action: &str,
) -> (StatusCode, String) {
    let page = client
        .get(&auth.verification_uri_complete)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains(&format!("value=\"{}\"", auth.user_code)),
        "code pre-filled:\n{page}"
    );
    assert!(page.contains("<form method=\"post\" action=\"/device\">"));
    let resp = client
        .post(&auth.verification_uri)
        .form(&[
            ("user_code", auth.user_code.to_lowercase().as_str()),
            ("email", email),
            ("password", password),
            ("action", action),
        ])
        .send()
        .await
        .expect("posted");
    let status = resp.status();
    (status, resp.text().await.expect("html"))
}

async fn license_status(
    client: &reqwest::Client,
    server: &TestServer,
    token: &str,
    kid: [u8; 16],
) -> StatusCode {
    client
        .post(server.url("/api/v1/license"))
        .bearer_auth(token)
        .json(&LicenseRequest {
            kids: vec![B64.encode(kid)],
            session_type: "temporary".into(),
        })
        .send()
        .await
        .expect("sent")
        .status()
}

#[tokio::test]
async fn the_whole_device_login() {
    let (server, kid) = start(|c| c.public_url = String::new()).await;
    // The verification URL must be reachable: point public_url at the server.
    let client = reqwest::Client::new();
    let mut auth = device_code(&client, &server).await;
    auth.verification_uri = server.url(&auth.verification_uri);
    auth.verification_uri_complete = server.url(&auth.verification_uri_complete);
    assert_eq!(auth.interval, 1);
    assert!(auth.user_code.len() == 9 && auth.user_code.as_bytes()[4] == b'-');

    assert_eq!(
        poll(&client, &server, &auth.device_code).await.err(),
        Some(ErrorCode::AuthorizationPending)
    );

    let (status, page) = confirm(&client, &auth, "alice@example.com", "wrong", "approve").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Wrong e-mail or password"));

    let (status, page) = confirm(
        &client,
        &auth,
        "alice@example.com",
        "correct horse",
        "approve",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Your TV is signed in"));
    // The code is single-use.
    let (status, _) = confirm(
        &client,
        &auth,
        "alice@example.com",
        "correct horse",
        "approve",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let tokens = poll(&client, &server, &auth.device_code)
        .await
        .expect("tokens after approval");
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(
        license_status(&client, &server, &tokens.access_token, kid).await,
        StatusCode::OK
    );
    // The device code cannot be redeemed twice.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        poll(&client, &server, &auth.device_code).await.err(),
        Some(ErrorCode::InvalidGrant)
    );

    // Refresh rotates: the new pair works...
    let second = refresh(&client, &server, &tokens.refresh_token)
        .await
        .expect("refreshed");
    assert_ne!(second.refresh_token, tokens.refresh_token);
    assert_eq!(
        license_status(&client, &server, &second.access_token, kid).await,
        StatusCode::OK
    );
    let third = refresh(&client, &server, &second.refresh_token)
        .await
        .expect("refreshed again");

    // Logout revokes at once: the access token and the refresh token.
    let resp = client
        .post(server.url("/api/v1/logout"))
        .bearer_auth(&third.access_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        license_status(&client, &server, &third.access_token, kid).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&client, &server, &third.refresh_token).await.err(),
        Some(ErrorCode::InvalidGrant)
    );
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_session() {
    let (server, kid) = start(|_| {}).await;
    let client = reqwest::Client::new();
    let auth = device_code(&client, &server).await;
    {
        let conn = server.state.db.conn().expect("conn");
        let code = auth.user_code.clone();
        assert!(
            ottbox_headend::auth::device::decide(
                &conn,
                &code,
                "alice",
                ottbox_headend::auth::device::Decision::Approve
            )
            .expect("db")
        );
    }
    let first = poll(&client, &server, &auth.device_code)
        .await
        .expect("tokens");
    let second = refresh(&client, &server, &first.refresh_token)
        .await
        .expect("rotated");
    // A thief replays the first refresh token.
    assert_eq!(
        refresh(&client, &server, &first.refresh_token).await.err(),
        Some(ErrorCode::InvalidGrant)
    );
    // The whole session is gone, including the legitimate new tokens.
    assert_eq!(
        refresh(&client, &server, &second.refresh_token).await.err(),
        Some(ErrorCode::InvalidGrant)
    );
    assert_eq!(
        license_status(&client, &server, &second.access_token, kid).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn rfc8628_errors() {
    let (server, _) = start(|c| c.public_url = String::new()).await;
    let client = reqwest::Client::new();

    // slow_down: polling faster than the interval.
    let auth = device_code(&client, &server).await;
    assert_eq!(
        poll(&client, &server, &auth.device_code).await.err(),
        Some(ErrorCode::AuthorizationPending)
    );
    assert_eq!(
        poll(&client, &server, &auth.device_code).await.err(),
        Some(ErrorCode::SlowDown)
    );

    // access_denied: the viewer said no.
    let mut auth = device_code(&client, &server).await;
    auth.verification_uri = server.url(&auth.verification_uri);
    auth.verification_uri_complete = server.url(&auth.verification_uri_complete);
    let (status, page) =
        confirm(&client, &auth, "alice@example.com", "correct horse", "deny").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("not signed in"));
    assert_eq!(
        poll(&client, &server, &auth.device_code).await.err(),
        Some(ErrorCode::AccessDenied)
    );

    // invalid_grant: a made-up device code.
    assert_eq!(
        poll(&client, &server, "made-up").await.err(),
        Some(ErrorCode::InvalidGrant)
    );

    // unsupported_grant_type and missing fields.
    let resp = client
        .post(server.url("/api/v1/token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .expect("sent");
    assert_eq!(
        resp.json::<ApiError>().await.expect("error").error,
        ErrorCode::UnsupportedGrantType
    );
    let resp = client
        .post(server.url("/api/v1/token"))
        .form(&[("grant_type", DEVICE_GRANT)])
        .send()
        .await
        .expect("sent");
    assert_eq!(
        resp.json::<ApiError>().await.expect("error").error,
        ErrorCode::InvalidRequest
    );
}

#[tokio::test]
async fn expired_codes_are_refused() {
    let (server, _) = start(|c| c.auth.device_code_ttl_s = 0).await;
    let client = reqwest::Client::new();
    let auth = device_code(&client, &server).await;
    assert_eq!(
        poll(&client, &server, &auth.device_code).await.err(),
        Some(ErrorCode::ExpiredToken)
    );
    let conn = server.state.db.conn().expect("conn");
    assert!(
        !ottbox_headend::auth::device::decide(
            &conn,
            &auth.user_code,
            "alice",
            ottbox_headend::auth::device::Decision::Approve
        )
        .expect("db")
    );
}

#[tokio::test]
async fn customer_care_signs_a_box_in_from_the_command_line() {
    let (server, _) = start(|_| {}).await;
    let client = reqwest::Client::new();
    let auth = device_code(&client, &server).await;
    let approve = |code: &str, account: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ottbox-headend"))
            .arg("--data-dir")
            .arg(&server.state.config.data_dir)
            .args(["device", "approve", code, "--account", account])
            .output()
            .expect("ottbox-headend runs")
    };
    // Read out over the phone: lower case and spaced is forgiven.
    let spoken = auth.user_code.to_lowercase().replace('-', " ");

    let wrong = approve(&spoken, "nobody");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("no account"));
    assert_eq!(
        poll(&client, &server, &auth.device_code).await.err(),
        Some(ErrorCode::AuthorizationPending),
        "a refused approval signs nobody in"
    );

    let ok = approve(&spoken, "alice");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let tokens = poll(&client, &server, &auth.device_code)
        .await
        .expect("the box's next poll gets its tokens");
    assert!(!tokens.access_token.is_empty());

    let again = approve(&spoken, "alice");
    assert!(!again.status.success(), "a code signs in one box, once");
}
