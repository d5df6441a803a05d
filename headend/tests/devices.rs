//! Device identity through real HTTPS: a box enrolls with its own key pair,
//! then license calls need its certificate (mutual TLS); a revoked box, a
//! box without a certificate and a certificate from another CA are refused.

mod common;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ottbox_headend::config::Config;
use ottbox_headend::server::{self, AppState};
use ottbox_protocol::device::{ENROLL_PATH, EnrollRequest, EnrollResponse};
use ottbox_protocol::license::{LicenseRequest, LicenseResponse};
use ottbox_protocol::{ApiError, ErrorCode};
use rcgen::{CertificateParams, KeyPair};
use reqwest::StatusCode;

/// A headend serving HTTPS with device certificates required on license
/// and playback calls.
struct TlsServer {
    url: String,
    state: Arc<AppState>,
    ca_pem: Vec<u8>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start() -> TlsServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    config.tls.require_client_cert = true;
    let state = Arc::new(AppState::open(config).expect("state"));
    let files =
        ottbox_headend::tls::ensure_dev_pki(&state.config.tls_dir(), &[]).expect("development PKI");
    let tls = ottbox_headend::tls::server_config(&files, Some(&state.device_ca.cert_path))
        .expect("TLS config");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve_tls(state.clone(), listener, tls, async {
        let _ = stopped.await;
    }));
    TlsServer {
        url: format!("https://{addr}"),
        ca_pem: std::fs::read(&files.ca_cert).expect("ca"),
        state,
        _dir: dir,
        stop: Some(stop),
    }
}

/// A client trusting the headend's CA, presenting `identity` if given.
fn client(server: &TlsServer, identity: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&server.ca_pem).expect("ca pem"));
    if let Some(pem) = identity {
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    b.build().expect("client")
}

/// A box's key pair and its certificate request.
fn box_key() -> (KeyPair, String) {
    let key = KeyPair::generate().expect("key");
    let csr = CertificateParams::new(Vec::<String>::new())
        .expect("params")
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem");
    (key, csr)
}

async fn enroll(server: &TlsServer, token: &str, serial: &str, csr_pem: &str) -> reqwest::Response {
    client(server, None)
        .post(format!("{}{ENROLL_PATH}", server.url))
        .bearer_auth(token)
        .json(&EnrollRequest {
            serial: serial.into(),
            csr_pem: csr_pem.into(),
        })
        .send()
        .await
        .expect("enroll request sent")
}

async fn license(
    client: &reqwest::Client,
    server: &TlsServer,
    token: &str,
    kid: [u8; 16],
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{}/api/v1/license", server.url))
        .bearer_auth(token)
        .json(&LicenseRequest {
            kids: vec![B64.encode(kid)],
            session_type: "temporary".into(),
        })
        .send()
        .await
}

async fn code_of(resp: reqwest::Response) -> (StatusCode, ErrorCode) {
    let status = resp.status();
    let body: ApiError = resp.json().await.expect("error body is JSON");
    (status, body.error)
}

#[tokio::test]
async fn enrolled_box_gets_licenses_until_revoked() {
    let server = start().await;
    let keys = common::add_asset(&server.state, "film", &["ALL"], &["eu"]);
    let token = common::add_account(&server.state, "alice", &["*"]);
    let (key, csr) = box_key();

    let resp = enroll(&server, &token, "BOX-0001", &csr).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let issued: EnrollResponse = resp.json().await.expect("enroll response");
    assert_eq!(issued.serial, "BOX-0001");
    assert_eq!(
        issued
            .certificate_chain_pem
            .matches("BEGIN CERTIFICATE")
            .count(),
        2
    );

    // With its certificate, the box gets its key.
    let identity = format!("{}{}", issued.certificate_chain_pem, key.serialize_pem());
    let with_cert = client(&server, Some(&identity));
    let resp = license(&with_cert, &server, &token, keys[0].kid)
        .await
        .expect("mutual TLS handshake");
    assert_eq!(resp.status(), StatusCode::OK);
    let granted: LicenseResponse = resp.json().await.expect("license");
    assert_eq!(B64.decode(&granted.keys[0].k).expect("b64"), keys[0].key);

    // The same account without a certificate: refused with a clear code.
    let resp = license(&client(&server, None), &server, &token, keys[0].kid)
        .await
        .expect("TLS without a client certificate");
    assert_eq!(
        code_of(resp).await,
        (
            StatusCode::UNAUTHORIZED,
            ErrorCode::DeviceCertificateRequired
        )
    );

    // Revoked (as the CLI does): the certificate no longer opens anything,
    // and the serial cannot enroll again.
    let conn = server.state.db.conn().expect("conn");
    assert!(ottbox_headend::db::devices::revoke(&conn, "BOX-0001").expect("revoke"));
    let resp = license(&with_cert, &server, &token, keys[0].kid)
        .await
        .expect("handshake still succeeds");
    assert_eq!(
        code_of(resp).await,
        (StatusCode::FORBIDDEN, ErrorCode::DeviceRevoked)
    );
    let (_, csr2) = box_key();
    let resp = enroll(&server, &token, "BOX-0001", &csr2).await;
    assert_eq!(
        code_of(resp).await,
        (StatusCode::FORBIDDEN, ErrorCode::DeviceRevoked)
    );
}

#[tokio::test]
async fn revoke_endpoint_is_limited_to_the_devices_account() {
    let server = start().await;
    let keys = common::add_asset(&server.state, "film", &["ALL"], &["eu"]);
    let alice = common::add_account(&server.state, "alice", &["*"]);
    let mallory = common::add_account(&server.state, "mallory", &["*"]);
    let (key, csr) = box_key();
    let issued: EnrollResponse = enroll(&server, &alice, "BOX-7", &csr)
        .await
        .json()
        .await
        .expect("enrolled");
    let revoke = |token: &str| {
        client(&server, None)
            .post(format!("{}/api/v1/devices/BOX-7/revoke", server.url))
            .bearer_auth(token.to_owned())
            .send()
    };
    let resp = revoke(&mallory).await.expect("sent");
    assert_eq!(code_of(resp).await.1, ErrorCode::NotFound);
    let resp = revoke(&alice).await.expect("sent");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let identity = format!("{}{}", issued.certificate_chain_pem, key.serialize_pem());
    let resp = license(
        &client(&server, Some(&identity)),
        &server,
        &alice,
        keys[0].kid,
    )
    .await
    .expect("handshake");
    assert_eq!(code_of(resp).await.1, ErrorCode::DeviceRevoked);
}

#[tokio::test]
async fn a_certificate_from_another_ca_fails_the_handshake() {
    let server = start().await;
    let keys = common::add_asset(&server.state, "film", &["ALL"], &["eu"]);
    let token = common::add_account(&server.state, "alice", &["*"]);
    // Another headend's device CA signs a box certificate for the same serial.
    let other = tempfile::tempdir().expect("tempdir");
    let foreign_ca = ottbox_headend::devices::DeviceCa::load_or_create(other.path()).expect("ca");
    let (key, csr) = box_key();
    let foreign = foreign_ca.sign("BOX-0001", &csr).expect("signed");
    let identity = format!("{}{}", foreign.chain_pem, key.serialize_pem());
    let err = license(
        &client(&server, Some(&identity)),
        &server,
        &token,
        keys[0].kid,
    )
    .await
    .expect_err("the server rejects an unknown issuer");
    assert!(err.is_connect() || err.is_request(), "{err}");
}

#[tokio::test]
async fn malformed_enrollments_are_invalid_requests() {
    let server = start().await;
    let token = common::add_account(&server.state, "alice", &["*"]);
    let (_, csr) = box_key();
    for (serial, pem) in [
        (
            "BOX-1",
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        ),
        ("BOX-1", "hello"),
        ("../etc", csr.as_str()),
    ] {
        let resp = enroll(&server, &token, serial, pem).await;
        assert_eq!(
            code_of(resp).await,
            (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
            "{serial} {pem}"
        );
    }
    // No token, no certificate.
    let resp = client(&server, None)
        .post(format!("{}{ENROLL_PATH}", server.url))
        .json(&EnrollRequest {
            serial: "BOX-1".into(),
            csr_pem: csr,
        })
        .send()
        .await
        .expect("sent");
    assert_eq!(code_of(resp).await.1, ErrorCode::InvalidToken);
    let conn = server.state.db.conn().expect("conn");
    assert!(
        ottbox_headend::db::devices::list(&conn)
            .expect("list")
            .is_empty()
    );
}
