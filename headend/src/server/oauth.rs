//! OAuth 2.0 endpoints for boxes: device authorization (RFC 8628), the token
//! endpoint (device-code and refresh-token grants), and logout.
//!
//! Requests are form-encoded, as OAuth requires; errors are JSON with the
//! RFC's `error` codes (`authorization_pending`, `slow_down`,
//! `expired_token`, `access_denied`, `invalid_grant`, ...).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use ottbox_protocol::ErrorCode;
use ottbox_protocol::auth::{
    DEVICE_AUTHORIZATION_PATH, DEVICE_CODE_GRANT, DeviceAuthorization, LOGOUT_PATH,
    REFRESH_TOKEN_GRANT, TOKEN_PATH, TokenResponse, VERIFICATION_PATH,
};

use super::AppState;
use super::error::HttpError;
use crate::auth::{device, sessions};

/// Longest `client_id` accepted.
const MAX_CLIENT_ID: usize = 128;

/// The OAuth routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(DEVICE_AUTHORIZATION_PATH, post(device_authorization))
        .route(TOKEN_PATH, post(token))
        .route(LOGOUT_PATH, post(logout))
}

type FormMap = Form<HashMap<String, String>>;

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, HttpError> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            HttpError::from_code(
                ErrorCode::InvalidRequest,
                format!("missing form field `{name}`"),
            )
        })
}

async fn device_authorization(
    State(state): State<Arc<AppState>>,
    Form(form): FormMap,
) -> Result<Json<DeviceAuthorization>, HttpError> {
    let client_id = field(&form, "client_id")?.to_owned();
    if client_id.len() > MAX_CLIENT_ID {
        return Err(HttpError::from_code(
            ErrorCode::InvalidRequest,
            "client_id is too long",
        ));
    }
    let auth = state.config.auth.clone();
    let issued = super::blocking(state.clone(), move |_, conn| {
        Ok(device::issue(
            conn,
            &client_id,
            auth.device_code_ttl_s,
            auth.poll_interval_s,
        )?)
    })
    .await?;
    let verification_uri = format!("{}{VERIFICATION_PATH}", state.config.public_url);
    Ok(Json(DeviceAuthorization {
        verification_uri_complete: format!("{verification_uri}?user_code={}", issued.user_code),
        verification_uri,
        device_code: issued.device_code,
        user_code: issued.user_code,
        expires_in: auth.device_code_ttl_s,
        interval: auth.poll_interval_s,
    }))
}

async fn token(
    State(state): State<Arc<AppState>>,
    Form(form): FormMap,
) -> Result<Json<TokenResponse>, HttpError> {
    let grant_type = field(&form, "grant_type")?.to_owned();
    let auth = state.config.auth.clone();
    let grant = match grant_type.as_str() {
        DEVICE_CODE_GRANT => {
            let code = field(&form, "device_code")?.to_owned();
            let client_id = field(&form, "client_id")?.to_owned();
            super::blocking(state.clone(), move |_, conn| {
                match device::poll(conn, &code)? {
                    Ok(account) => Ok(sessions::start(
                        conn,
                        &account,
                        &client_id,
                        auth.refresh_ttl_s,
                    )?),
                    Err(code) => Err(oauth_error(code)),
                }
            })
            .await?
        }
        REFRESH_TOKEN_GRANT => {
            let refresh = field(&form, "refresh_token")?.to_owned();
            super::blocking_mut(state.clone(), move |_, conn| {
                sessions::refresh(conn, &refresh, auth.refresh_ttl_s)?
                    .ok_or_else(|| oauth_error(ErrorCode::InvalidGrant))
            })
            .await?
        }
        other => {
            return Err(HttpError::from_code(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type {other:?} is not supported"),
            ));
        }
    };
    let access_token = state.tokens.issue_for_session(
        &grant.account,
        Some(&grant.session),
        auth.access_ttl_s as i64,
    );
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: auth.access_ttl_s,
        refresh_token: grant.refresh_token,
    }))
}

/// RFC 8628 errors answer 400 (RFC 6749 §5.2), with a sentence for people.
fn oauth_error(code: ErrorCode) -> HttpError {
    let message = match code {
        ErrorCode::AuthorizationPending => "waiting for the viewer to confirm the code",
        ErrorCode::SlowDown => "polling too fast; wait 5 s more between polls",
        ErrorCode::ExpiredToken => "the code expired; start the login again",
        ErrorCode::AccessDenied => "the viewer declined the login",
        _ => "the grant is not valid",
    };
    HttpError::new(StatusCode::BAD_REQUEST, code, message)
}

async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<StatusCode, HttpError> {
    let claims = super::bearer::authenticate(&state, &headers)?;
    super::blocking(state, move |_, conn| {
        super::bearer::check_session(conn, &claims)?;
        if let Some(sid) = &claims.sid {
            sessions::revoke(conn, sid)?;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
