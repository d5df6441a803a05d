//! API errors: a status, a stable code and a human sentence, as JSON.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ottbox_protocol::{ApiError, ErrorCode};

/// An error a handler returns; becomes `{"error": code, "message": ...}`.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    body: ApiError,
}

impl HttpError {
    /// An error with an explicit status.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiError {
                error: code,
                message: message.into(),
            },
        }
    }

    /// The status each code normally takes.
    pub fn from_code(code: ErrorCode, message: impl Into<String>) -> Self {
        let status = match code {
            ErrorCode::InvalidToken | ErrorCode::DeviceCertificateRequired => {
                StatusCode::UNAUTHORIZED
            }
            ErrorCode::NotEntitled | ErrorCode::RegionBlocked | ErrorCode::DeviceRevoked => {
                StatusCode::FORBIDDEN
            }
            ErrorCode::UnknownKey | ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, code, message)
    }

    /// A server-side failure: logged in full, answered without details.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "request failed");
        Self::from_code(ErrorCode::ServerError, "internal error; please retry")
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<crate::db::DbError> for HttpError {
    fn from(e: crate::db::DbError) -> Self {
        Self::internal(e)
    }
}

/// The fallback for unknown paths.
pub async fn not_found() -> HttpError {
    HttpError::from_code(ErrorCode::NotFound, "no such resource")
}
