//! HTTPS with the development CA, through the real binary: a client that
//! trusts the CA gets in (by name and by address), one that does not is
//! turned away by certificate verification, and the keys are private.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};

struct Headend(Child);

impl Drop for Headend {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn https_with_the_development_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ottbox-headend"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--tls", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("headend starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("reads");
    let _guard = Headend(child);
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("announces its address")
        .to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let addr: std::net::SocketAddr = url.trim_start_matches("https://").parse().expect("addr");

    let tls = dir.path().join("tls");
    for key in ["server.key", "ca.key"] {
        let mode = std::fs::metadata(tls.join(key))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let ca = reqwest::Certificate::from_pem(&std::fs::read(tls.join("ca.pem")).expect("ca"))
        .expect("pem");
    let trusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .resolve("localhost", addr)
        .build()
        .expect("client");
    for target in [
        format!("https://localhost:{}/healthz", addr.port()),
        format!("{url}/healthz"),
    ] {
        let body = trusting
            .get(&target)
            .send()
            .await
            .expect("TLS handshake")
            .text()
            .await
            .expect("body");
        assert_eq!(body, "ok", "{target}");
    }
    let stranger = reqwest::Client::builder()
        .resolve("localhost", addr)
        .build()
        .expect("client");
    let err = stranger
        .get(format!("https://localhost:{}/healthz", addr.port()))
        .send()
        .await
        .expect_err("an unknown CA is refused");
    assert!(
        err.is_connect() || err.to_string().contains("certificate"),
        "{err}"
    );
}
