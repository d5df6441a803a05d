//! The HTTPS client for the headend API.
//!
//! rustls only (no OpenSSL in the tree), certificates always verified:
//! the platform's roots, the bundled Mozilla roots, and an operator CA from
//! `headend.ca_file`. Every call maps its failure to a [`HeadendError`] that
//! tells "unreachable" (serve from cache, say offline) from "refused" (show
//! the headend's code and sentence).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ottbox_protocol::auth::{
    DEVICE_AUTHORIZATION_PATH, DEVICE_CODE_GRANT, DeviceAuthorization, LOGOUT_PATH,
    REFRESH_TOKEN_GRANT, TOKEN_PATH, TokenResponse,
};
use ottbox_protocol::catalog::{Home, TitleDetails, TitleList};
use ottbox_protocol::device::{ENROLL_PATH, EnrollRequest, EnrollResponse};
use ottbox_protocol::license::{LicenseRequest, LicenseResponse};
use ottbox_protocol::playback::{EventBatch, EventReceipt, PlaybackSession};
use ottbox_protocol::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;

use crate::config::HeadendConfig;

/// Answers larger than this are refused (a broken or hostile server must
/// not fill the box's memory).
const MAX_BODY: usize = 8 << 20;

/// Why a headend call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeadendError {
    /// No answer: connection refused, DNS, TLS handshake, timeout.
    #[error("headend_unreachable: {0}")]
    Unreachable(String),
    /// The headend refused, with its stable code.
    #[error("{code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The API error code.
        code: ErrorCode,
        /// The headend's sentence.
        message: String,
    },
    /// The answer was not what the API promises.
    #[error("headend_bad_reply: {0}")]
    BadReply(String),
    /// The client could not be built (bad CA file).
    #[error("tls_config: {0}")]
    Tls(String),
}

impl HeadendError {
    /// True when the headend could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_))
    }

    /// The API code of a refusal.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A client for one headend. Cheap to clone; connections are kept alive
/// and shared, and every clone presents the box's device certificate once
/// it has one ([`Headend::set_identity`]).
#[derive(Clone, Debug)]
pub struct Headend {
    http: Arc<RwLock<reqwest::Client>>,
    config: Arc<HeadendConfig>,
    base: String,
    client_id: String,
}

impl Headend {
    /// Builds the client from config.
    pub fn new(config: &HeadendConfig) -> Result<Self, HeadendError> {
        let http = client(config, None)?;
        Ok(Self {
            http: Arc::new(RwLock::new(http)),
            config: Arc::new(config.clone()),
            base: config.url.trim_end_matches('/').to_owned(),
            client_id: config.client_id.clone(),
        })
    }

    /// Presents `identity` (the device key and certificate chain, PEM) in
    /// every TLS handshake from now on, or none. Connections open so far
    /// are dropped with the old client.
    pub fn set_identity(&self, identity: Option<&[u8]>) -> Result<(), HeadendError> {
        let http = client(&self.config, identity)?;
        *self.http.write().unwrap_or_else(PoisonError::into_inner) = http;
        Ok(())
    }

    /// The HTTP client now (cheap: a handle on the shared pool).
    fn client(&self) -> reqwest::Client {
        self.http
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The absolute URL of an API path (or the path itself if absolute).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// RFC 8628 §3.1: asks for a device code.
    pub async fn device_code(&self) -> Result<DeviceAuthorization, HeadendError> {
        let req = self
            .client()
            .post(self.url(DEVICE_AUTHORIZATION_PATH))
            .form(&[("client_id", self.client_id.as_str())]);
        json(req).await
    }

    /// RFC 8628 §3.4: one poll of the token endpoint. Pending, slow-down,
    /// expiry and denial come back as [`HeadendError::Refused`] with their
    /// OAuth codes.
    pub async fn poll_token(&self, device_code: &str) -> Result<TokenResponse, HeadendError> {
        let req = self.client().post(self.url(TOKEN_PATH)).form(&[
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", device_code),
            ("client_id", self.client_id.as_str()),
        ]);
        json(req).await
    }

    /// Trades a refresh token for new tokens (the old one is spent).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, HeadendError> {
        let req = self.client().post(self.url(TOKEN_PATH)).form(&[
            ("grant_type", REFRESH_TOKEN_GRANT),
            ("refresh_token", refresh_token),
        ]);
        json(req).await
    }

    /// Revokes the session behind `access`.
    pub async fn logout(&self, access: &str) -> Result<(), HeadendError> {
        let req = self
            .client()
            .post(self.url(LOGOUT_PATH))
            .bearer_auth(access);
        send(req).await.map(drop)
    }

    /// The viewer's home rows.
    pub async fn home(&self, access: &str) -> Result<Home, HeadendError> {
        json(
            self.client()
                .get(self.url("/api/v1/home"))
                .bearer_auth(access),
        )
        .await
    }

    /// Full-text search.
    pub async fn search(&self, access: &str, query: &str) -> Result<TitleList, HeadendError> {
        let req = self
            .client()
            .get(self.url("/api/v1/search"))
            .query(&[("q", query)])
            .bearer_auth(access);
        json(req).await
    }

    /// A title's details.
    pub async fn details(&self, access: &str, id: &str) -> Result<TitleDetails, HeadendError> {
        let path = format!("/api/v1/titles/{}", path_segment(id));
        json(self.client().get(self.url(&path)).bearer_auth(access)).await
    }

    /// Titles similar to `id`.
    pub async fn similar(&self, access: &str, id: &str) -> Result<TitleList, HeadendError> {
        let path = format!("/api/v1/titles/{}/similar", path_segment(id));
        json(self.client().get(self.url(&path)).bearer_auth(access)).await
    }

    /// A title's poster, PNG bytes.
    pub async fn poster(&self, id: &str) -> Result<Vec<u8>, HeadendError> {
        let path = format!("/api/v1/titles/{}/poster.png", path_segment(id));
        let resp = send(self.client().get(self.url(&path))).await?;
        body(resp).await
    }

    /// Opens a playback session (refusals come before any media).
    pub async fn playback(
        &self,
        access: &str,
        title: &str,
    ) -> Result<PlaybackSession, HeadendError> {
        let path = format!("/api/v1/playback/{}", path_segment(title));
        json(self.client().post(self.url(&path)).bearer_auth(access)).await
    }

    /// Asks the license server at `url` (from the playback session) for
    /// ClearKey keys.
    pub async fn license(
        &self,
        access: &str,
        url: &str,
        request: &LicenseRequest,
    ) -> Result<LicenseResponse, HeadendError> {
        json(
            self.client()
                .post(self.url(url))
                .bearer_auth(access)
                .json(request),
        )
        .await
    }

    /// The HTTP client itself, for media from the CDN edges: the same
    /// roots and the same pool of kept-alive connections.
    pub fn http(&self) -> reqwest::Client {
        self.client()
    }

    /// Asks the device CA for this box's client certificate.
    pub async fn enroll(
        &self,
        access: &str,
        request: &EnrollRequest,
    ) -> Result<EnrollResponse, HeadendError> {
        let req = self
            .client()
            .post(self.url(ENROLL_PATH))
            .bearer_auth(access)
            .json(request);
        json(req).await
    }

    /// Sends a batch of viewing events.
    pub async fn events(
        &self,
        access: &str,
        batch: &EventBatch,
    ) -> Result<EventReceipt, HeadendError> {
        json(
            self.client()
                .post(self.url("/api/v1/events"))
                .bearer_auth(access)
                .json(batch),
        )
        .await
    }
}

/// The rustls client: the platform's roots and the operator CA from
/// config; the device `identity` (key and chain, PEM) when the box has one.
fn client(
    config: &HeadendConfig,
    identity: Option<&[u8]>,
) -> Result<reqwest::Client, HeadendError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .https_only(false)
        .timeout(config.timeout())
        .connect_timeout(config.timeout().min(Duration::from_secs(3)))
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("ottboxd/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| HeadendError::Tls(format!("cannot read {}: {e}", path.display())))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| HeadendError::Tls(format!("{}: {e}", path.display())))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(pem) = identity {
        let identity = reqwest::Identity::from_pem(pem)
            .map_err(|e| HeadendError::Tls(format!("the device identity: {e}")))?;
        builder = builder.identity(identity);
    }
    builder
        .build()
        .map_err(|e| HeadendError::Tls(e.to_string()))
}

/// Percent-encodes a title id for use as one path segment.
fn path_segment(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn send(req: reqwest::RequestBuilder) -> Result<reqwest::Response, HeadendError> {
    let resp = req
        .send()
        .await
        .map_err(|e| HeadendError::Unreachable(describe(&e)))?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let bytes = body(resp).await.unwrap_or_default();
    Err(match serde_json::from_slice::<ApiError>(&bytes) {
        Ok(api) => HeadendError::Refused {
            status,
            code: api.error,
            message: api.message,
        },
        // A 5xx without our JSON is a proxy or a crash: treat as a server error.
        Err(_) => HeadendError::Refused {
            status,
            code: if status >= 500 {
                ErrorCode::ServerError
            } else {
                ErrorCode::InvalidRequest
            },
            message: format!("HTTP {status} without an API error body"),
        },
    })
}

async fn body(mut resp: reqwest::Response) -> Result<Vec<u8>, HeadendError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| HeadendError::Unreachable(describe(&e)))?
    {
        if out.len() + chunk.len() > MAX_BODY {
            return Err(HeadendError::BadReply(format!(
                "answer larger than {MAX_BODY} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn json<T: DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T, HeadendError> {
    let bytes = body(send(req).await?).await?;
    serde_json::from_slice(&bytes).map_err(|e| HeadendError::BadReply(e.to_string()))
}

/// reqwest's Display stops at the outer layer ("error sending request");
/// the cause chain says what happened (refused, timed out, bad certificate).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    // URLs can carry a query; they carry no secrets here (tokens go in headers).
    text
}
