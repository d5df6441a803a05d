//! Device identity over HTTPS: enrollment and mutual TLS.
//!
//! - `POST /api/v1/devices/enroll` (bearer token): the box's CSR in, a
//!   client certificate from the device CA out (see [`crate::devices`]);
//!   the device is recorded with its account and certificate fingerprint.
//! - `POST /api/v1/devices/{serial}/revoke` (bearer token of the device's
//!   own account), like `ottbox-headend device revoke SERIAL`.
//! - [`DeviceAcceptor`] wraps the rustls acceptor: after the handshake it
//!   puts the fingerprint of the client certificate, if one was presented
//!   (rustls has already verified it against the device CA), into every
//!   request of that connection as a [`PeerDevice`] extension.
//! - [`require_device`]: with `[tls] require_client_cert = true`, license
//!   and playback calls need a certificate of an enrolled device
//!   (`device_certificate_required` otherwise) that is not revoked
//!   (`device_revoked`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Extension, Json, Router};
use axum_server::accept::{Accept, NoDelayAcceptor};
use axum_server::tls_rustls::RustlsAcceptor;
use ottbox_protocol::ErrorCode;
use ottbox_protocol::device::{ENROLL_PATH, EnrollRequest, EnrollResponse};
use tokio::net::TcpStream;
use tower::Layer;

use super::AppState;
use super::bearer::{authenticate, check_session};
use super::error::HttpError;
use crate::db::devices;

/// The device routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(ENROLL_PATH, post(enroll))
        .route("/api/v1/devices/{serial}/revoke", post(revoke))
}

/// The client certificate a connection presented, as its SHA-256
/// fingerprint; `None` when it presented none (or is plain HTTP).
#[derive(Debug, Clone, Default)]
pub struct PeerDevice(pub Option<String>);

/// The TLS acceptor that tells handlers which certificate the client
/// presented.
#[derive(Clone)]
pub struct DeviceAcceptor {
    inner: RustlsAcceptor<NoDelayAcceptor>,
}

impl DeviceAcceptor {
    /// Wraps the rustls acceptor; connections get TCP_NODELAY (a TLS
    /// record written after another must not wait for a delayed ACK).
    pub fn new(inner: RustlsAcceptor) -> Self {
        Self {
            inner: inner.acceptor(NoDelayAcceptor::new()),
        }
    }
}

impl<S> Accept<TcpStream, S> for DeviceAcceptor
where
    S: Send + 'static,
{
    type Stream = <RustlsAcceptor<NoDelayAcceptor> as Accept<TcpStream, S>>::Stream;
    type Service = axum::middleware::AddExtension<S, PeerDevice>;
    type Future =
        Pin<Box<dyn Future<Output = std::io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            let (stream, service) = inner.accept(stream, service).await?;
            let peer = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| crate::devices::fingerprint(leaf.as_ref()));
            Ok((stream, Extension(PeerDevice(peer)).layer(service)))
        })
    }
}

/// Refuses the call unless it comes from an enrolled, unrevoked device,
/// when the configuration asks for device certificates; a no-op otherwise.
pub fn require_device(
    state: &AppState,
    conn: &rusqlite::Connection,
    peer: Option<&PeerDevice>,
) -> Result<(), HttpError> {
    if !state.config.tls.require_client_cert {
        return Ok(());
    }
    let required = |why: &str| {
        Err(HttpError::from_code(
            ErrorCode::DeviceCertificateRequired,
            why,
        ))
    };
    let Some(fingerprint) = peer.and_then(|p| p.0.as_deref()) else {
        return required("this call needs the box's device certificate (mutual TLS)");
    };
    match devices::by_fingerprint(conn, fingerprint)? {
        None => required("the device certificate is not (or no longer) enrolled"),
        Some(d) if d.revoked_at.is_some() => Err(HttpError::from_code(
            ErrorCode::DeviceRevoked,
            format!("device {} was revoked", d.serial),
        )),
        Some(_) => Ok(()),
    }
}

async fn enroll(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Json<EnrollRequest>, JsonRejection>,
) -> Result<Json<EnrollResponse>, HttpError> {
    let claims = authenticate(&state, &headers)?;
    let Json(req) =
        body.map_err(|e| HttpError::from_code(ErrorCode::InvalidRequest, e.body_text()))?;
    super::blocking(state, move |state, conn| {
        check_session(conn, &claims)?;
        if let Some(known) = devices::by_serial(conn, &req.serial)? {
            if known.revoked_at.is_some() {
                return Err(HttpError::from_code(
                    ErrorCode::DeviceRevoked,
                    format!(
                        "device {} was revoked and cannot enroll again",
                        known.serial
                    ),
                ));
            }
            if known.account_id != claims.sub {
                return Err(HttpError::from_code(
                    ErrorCode::AccessDenied,
                    format!("device {} is enrolled to another account", known.serial),
                ));
            }
        }
        let issued = state
            .device_ca
            .sign(&req.serial, &req.csr_pem)
            .map_err(|e| match e {
                crate::devices::EnrollError::Sign(_) => HttpError::internal(e),
                e => HttpError::from_code(ErrorCode::InvalidRequest, e.to_string()),
            })?;
        devices::enroll(conn, &req.serial, &claims.sub, &issued.fingerprint)?;
        tracing::info!(serial = %req.serial, fingerprint = %issued.fingerprint, "device enrolled");
        Ok(EnrollResponse {
            serial: req.serial,
            certificate_chain_pem: issued.chain_pem,
            fingerprint: issued.fingerprint,
        })
    })
    .await
    .map(Json)
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(serial): Path<String>,
) -> Result<axum::http::StatusCode, HttpError> {
    let claims = authenticate(&state, &headers)?;
    super::blocking(state, move |_, conn| {
        check_session(conn, &claims)?;
        // Someone else's device is "not found" to this account.
        match devices::by_serial(conn, &serial)? {
            Some(d) if d.account_id == claims.sub => {
                devices::revoke(conn, &serial)?;
                tracing::info!(%serial, "device revoked");
                Ok(axum::http::StatusCode::NO_CONTENT)
            }
            _ => Err(HttpError::from_code(ErrorCode::NotFound, "no such device")),
        }
    })
    .await
}
