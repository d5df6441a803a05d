//! The origin: packaged titles over HTTP, under `/origin/`.
//!
//! tower-http's `ServeDir` does the file serving (byte ranges, HEAD,
//! `Last-Modified`, path traversal protection). Around it, [`decorate`] adds
//! what a CDN in front of an origin needs:
//!
//! - the right MIME type for streaming files (`mime_guess` would call `.ts`
//!   TypeScript);
//! - `Cache-Control`: segments are immutable (a re-ingest publishes a new
//!   directory), manifests short-lived;
//! - a strong `ETag` from size and modification time, and `304` answers to
//!   `If-None-Match`.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use ottbox_protocol::ErrorCode;
use tower_http::services::ServeDir;

use super::AppState;
use super::error::HttpError;

/// Manifests change when a title is re-published; edges may keep them this long.
const MANIFEST_MAX_AGE: &str = "public, max-age=2";
/// Segments never change under the same name.
const SEGMENT_CACHE: &str = "public, max-age=31536000, immutable";

/// The origin routes, serving `root`.
pub fn routes(root: PathBuf) -> Router<Arc<AppState>> {
    Router::new()
        .fallback_service(ServeDir::new(&root).append_index_html_on_directories(false))
        .layer(from_fn_with_state(Arc::new(root), decorate))
}

/// How a file is served, by extension.
fn kind(path: &str) -> Option<(&'static str, &'static str)> {
    let ext = path.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "m3u8" => ("application/vnd.apple.mpegurl", MANIFEST_MAX_AGE),
        "mpd" => ("application/dash+xml", MANIFEST_MAX_AGE),
        "m4s" => ("video/iso.segment", SEGMENT_CACHE),
        "mp4" => ("video/mp4", SEGMENT_CACHE),
        "m4v" => ("video/mp4", SEGMENT_CACHE),
        "m4a" => ("audio/mp4", SEGMENT_CACHE),
        "ts" => ("video/mp2t", SEGMENT_CACHE),
        "aac" => ("audio/aac", SEGMENT_CACHE),
        "vtt" => ("text/vtt; charset=utf-8", SEGMENT_CACHE),
        "key" => ("application/octet-stream", "private, no-store"),
        "png" => ("image/png", SEGMENT_CACHE),
        "jpg" | "jpeg" => ("image/jpeg", SEGMENT_CACHE),
        _ => return None,
    })
}

/// The file a request path names, if it stays inside `root`.
fn resolve(root: &Path, uri_path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(uri_path)
        .decode_utf8()
        .ok()?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return None;
    }
    let rel = Path::new(decoded.trim_start_matches('/'));
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(rel))
}

async fn decorate(State(root): State<Arc<PathBuf>>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::InvalidRequest,
            "the origin serves GET and HEAD only",
        )
        .into_response();
    }
    let path = req.uri().path().to_owned();
    let Some(file) = resolve(&root, &path) else {
        return HttpError::from_code(ErrorCode::InvalidRequest, "path is not allowed")
            .into_response();
    };
    let Some((mime, cache)) = kind(&path) else {
        return HttpError::from_code(ErrorCode::NotFound, "no such file").into_response();
    };
    let Ok(meta) = tokio::fs::metadata(&file).await else {
        return HttpError::from_code(ErrorCode::NotFound, "no such file").into_response();
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{:x}-{:x}\"", meta.len(), mtime);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        next.run(req).await
    };
    if resp.status().is_success() || resp.status() == StatusCode::NOT_MODIFIED {
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused() {
        let root = Path::new("/srv/origin");
        assert_eq!(
            resolve(root, "/a/b.m4s"),
            Some(PathBuf::from("/srv/origin/a/b.m4s"))
        );
        for bad in [
            "/../x",
            "/a/../../x",
            "/%2e%2e/x",
            "/a/%2e%2e%2fx",
            "/a\\b",
            "/a/%00",
            "/./x",
        ] {
            assert_eq!(resolve(root, bad), None, "{bad}");
        }
    }

    #[test]
    fn streaming_mime_types() {
        assert_eq!(
            kind("/t/master.m3u8").map(|k| k.0),
            Some("application/vnd.apple.mpegurl")
        );
        assert_eq!(
            kind("/t/manifest.mpd").map(|k| k.0),
            Some("application/dash+xml")
        );
        assert_eq!(kind("/t/v/seg_1.ts").map(|k| k.0), Some("video/mp2t"));
        assert_eq!(kind("/t/x.db"), None);
    }
}
