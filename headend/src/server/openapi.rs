//! `GET /api/v1/openapi.json`: the API described for client generators and
//! API fuzzers (schemathesis). Written by hand beside the routes it
//! describes; a test checks every route is in it.

use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

use super::AppState;

/// The OpenAPI route.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/api/v1/openapi.json",
        get(|| async { Json(document().clone()) }),
    )
}

fn error_responses(codes: &[u16]) -> Value {
    let mut map = serde_json::Map::new();
    for code in codes {
        map.insert(
            code.to_string(),
            json!({"description": "refused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    Value::Object(map)
}

fn with_ok(ok: Value, errors: &[u16]) -> Value {
    let mut responses = error_responses(errors);
    if let (Value::Object(map), Value::Object(ok)) = (&mut responses, ok) {
        map.extend(ok);
    }
    responses
}

fn ok_json(schema: &str) -> Value {
    json!({"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}}})
}

/// The document, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let bearer = json!([{"bearer": []}]);
        let form = |fields: Value, required: Value| {
            json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": fields, "required": required}}}})
        };
        let path_param = |name: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "maxLength": 128}});
        json!({
            "openapi": "3.0.3",
            "info": {"title": "ottbox headend API", "version": "1"},
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                "schemas": {
                    "Error": {"type": "object", "required": ["error", "message"], "properties": {
                        "error": {"type": "string", "enum": ["invalid_token", "not_entitled", "region_blocked", "unknown_key", "invalid_request", "payload_too_large", "not_found", "server_error", "authorization_pending", "slow_down", "expired_token", "access_denied", "invalid_grant", "unsupported_grant_type", "invalid_credentials", "device_certificate_required", "device_revoked"]},
                        "message": {"type": "string"}}},
                    "EnrollRequest": {"type": "object", "required": ["serial", "csr_pem"], "properties": {
                        "serial": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
                        "csr_pem": {"type": "string", "description": "PKCS#10 certificate signing request, PEM, signed with the box's own key"}}},
                    "EnrollResponse": {"type": "object", "required": ["serial", "certificate_chain_pem", "fingerprint"], "properties": {
                        "serial": {"type": "string"},
                        "certificate_chain_pem": {"type": "string", "description": "client certificate then device CA, PEM"},
                        "fingerprint": {"type": "string", "description": "SHA-256 of the certificate (DER), hex"}}},
                    "LicenseRequest": {"type": "object", "required": ["kids"], "properties": {
                        "kids": {"type": "array", "minItems": 1, "maxItems": 32, "items": {"type": "string", "description": "16-byte key id, base64url"}},
                        "type": {"type": "string", "enum": ["temporary"]}}},
                    "LicenseResponse": {"type": "object", "required": ["keys", "type"], "properties": {
                        "keys": {"type": "array", "items": {"type": "object", "properties": {"kty": {"type": "string"}, "kid": {"type": "string"}, "k": {"type": "string"}}}},
                        "type": {"type": "string"}}},
                    "DeviceAuthorization": {"type": "object", "properties": {
                        "device_code": {"type": "string"}, "user_code": {"type": "string"}, "verification_uri": {"type": "string"},
                        "verification_uri_complete": {"type": "string"}, "expires_in": {"type": "integer"}, "interval": {"type": "integer"}}},
                    "TokenResponse": {"type": "object", "properties": {
                        "access_token": {"type": "string"}, "token_type": {"type": "string"}, "expires_in": {"type": "integer"}, "refresh_token": {"type": "string"}}},
                    "TitleSummary": {"type": "object", "required": ["id", "name", "genres"], "properties": {
                        "id": {"type": "string"}, "name": {"type": "string"}, "year": {"type": "integer", "nullable": true},
                        "genres": {"type": "array", "items": {"type": "string"}},
                        "poster": {"type": "string"}}},
                    "TitleDetails": {"allOf": [{"$ref": "#/components/schemas/TitleSummary"}, {"type": "object", "properties": {
                        "synopsis": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
                        "cast": {"type": "array", "items": {"type": "string"}, "description": "In billing order; absent without credits"},
                        "asset_id": {"type": "string", "nullable": true}, "duration_s": {"type": "number", "nullable": true},
                        "age_rating": {"type": "string", "enum": ["All", "12", "16"]}}}]},
                    "TitleList": {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/TitleSummary"}}}},
                    "Row": {"type": "object", "properties": {
                        "id": {"type": "string"}, "title": {"type": "string"}, "next_offset": {"type": "integer", "nullable": true},
                        "items": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/TitleSummary"}, {"type": "object", "properties": {
                            "progress": {"type": "number"}, "resume_s": {"type": "number"}}}]}}}},
                    "Home": {"type": "object", "properties": {"rows": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}}}},
                    "PlaybackSession": {"type": "object", "properties": {
                        "title_id": {"type": "string"}, "asset_id": {"type": "string"}, "scheme": {"type": "string"},
                        "duration_s": {"type": "number"}, "license_url": {"type": "string"}, "resume_s": {"type": "number"},
                        "ad_plan_url": {"type": "string", "nullable": true},
                        "edges": {"type": "array", "items": {"type": "object", "properties": {
                            "name": {"type": "string"}, "hls_url": {"type": "string"}, "dash_url": {"type": "string", "nullable": true}}}}}},
                    "EventBatch": {"type": "object", "required": ["events"], "properties": {"events": {"type": "array", "maxItems": 500, "items": {
                        "type": "object", "required": ["id", "kind", "at"], "properties": {
                            "id": {"type": "string", "minLength": 1, "maxLength": 64},
                            "kind": {"type": "string", "enum": ["play", "progress", "complete", "search"]},
                            "at": {"type": "integer"}, "title_id": {"type": "string"},
                            "position_s": {"type": "number", "minimum": 0}, "query": {"type": "string", "maxLength": 256}}}}}},
                    "EventReceipt": {"type": "object", "properties": {"accepted": {"type": "integer"}, "duplicates": {"type": "integer"}}}
                }
            },
            "paths": {
                "/api/v1/license": {"post": {"summary": "W3C ClearKey license", "security": bearer,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LicenseRequest"}}}},
                    "responses": with_ok(ok_json("LicenseResponse"), &[400, 401, 403, 404, 413])}},
                "/api/v1/license/hls/{kid}": {"get": {"summary": "raw AES-128 key for legacy HLS", "security": bearer,
                    "parameters": [path_param("kid")],
                    "responses": with_ok(json!({"200": {"description": "16 key bytes", "content": {"application/octet-stream": {}}}}), &[400, 401, 403, 404])}},
                "/api/v1/device/code": {"post": {"summary": "start a device login (RFC 8628)",
                    "requestBody": form(json!({"client_id": {"type": "string", "maxLength": 128}}), json!(["client_id"])),
                    "responses": with_ok(ok_json("DeviceAuthorization"), &[400])}},
                "/api/v1/token": {"post": {"summary": "device-code and refresh-token grants",
                    "requestBody": form(json!({"grant_type": {"type": "string"}, "device_code": {"type": "string"}, "client_id": {"type": "string"}, "refresh_token": {"type": "string"}}), json!(["grant_type"])),
                    "responses": with_ok(ok_json("TokenResponse"), &[400])}},
                "/api/v1/logout": {"post": {"summary": "revoke the session", "security": bearer,
                    "responses": with_ok(json!({"204": {"description": "logged out"}}), &[401])}},
                "/api/v1/search": {"get": {"summary": "full-text search with prefixes and typo tolerance",
                    "parameters": [{"name": "q", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 256}},
                                   {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                    "responses": with_ok(ok_json("TitleList"), &[400])}},
                "/api/v1/titles/{id}": {"get": {"summary": "title details", "parameters": [path_param("id")],
                    "responses": with_ok(ok_json("TitleDetails"), &[404])}},
                "/api/v1/titles/{id}/similar": {"get": {"summary": "similar titles", "parameters": [path_param("id"),
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                    "responses": with_ok(ok_json("TitleList"), &[404])}},
                "/api/v1/titles/{id}/poster.png": {"get": {"summary": "the title's generated poster", "parameters": [path_param("id")],
                    "responses": with_ok(json!({"200": {"description": "PNG", "content": {"image/png": {}}}}), &[404])}},
                "/api/v1/home": {"get": {"summary": "home rows", "security": bearer,
                    "parameters": [{"name": "items", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                    "responses": with_ok(ok_json("Home"), &[401])}},
                "/api/v1/home/rows/{id}": {"get": {"summary": "a page of one home row", "security": bearer,
                    "parameters": [path_param("id"),
                        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                    "responses": with_ok(ok_json("Row"), &[401, 404])}},
                "/api/v1/playback/{title}": {"post": {"summary": "start a playback session", "security": bearer,
                    "parameters": [path_param("title")],
                    "responses": with_ok(ok_json("PlaybackSession"), &[401, 403, 404])}},
                "/api/v1/ads/vmap/{session}": {"get": {"summary": "the VMAP 1.0 ad plan of a playback session (VAST 4 inline ads)",
                    "parameters": [path_param("session")],
                    "responses": with_ok(json!({"200": {"description": "VMAP", "content": {"application/xml": {}}}}), &[404])}},
                "/api/v1/ads/track": {"get": {"summary": "an ad tracking beacon",
                    "parameters": [
                        {"name": "s", "in": "query", "required": true, "schema": {"type": "string"}},
                        {"name": "b", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 32}},
                        {"name": "ad", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 64}},
                        {"name": "e", "in": "query", "required": true, "schema": {"type": "string", "enum": ["impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete", "error"]}},
                        {"name": "code", "in": "query", "schema": {"type": "string", "maxLength": 16}}],
                    "responses": with_ok(json!({"204": {"description": "recorded"}}), &[400, 404])}},
                "/api/v1/ads/events/{session}": {"get": {"summary": "beacons received for an ad session, in order",
                    "parameters": [path_param("session")],
                    "responses": {"200": {"description": "beacons", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}}}},
                "/api/v1/devices/enroll": {"post": {"summary": "enroll a box: CSR in, client certificate from the device CA out (for mutual TLS on license and playback calls when [tls] require_client_cert is on)", "security": bearer,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EnrollRequest"}}}},
                    "responses": with_ok(ok_json("EnrollResponse"), &[400, 401, 403])}},
                "/api/v1/devices/{serial}/revoke": {"post": {"summary": "revoke one of the account's boxes; its certificate is refused with device_revoked from then on", "security": bearer,
                    "parameters": [path_param("serial")],
                    "responses": with_ok(json!({"204": {"description": "revoked"}}), &[401, 404])}},
                "/api/v1/events": {"post": {"summary": "viewing events, idempotent by id", "security": bearer,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventBatch"}}}},
                    "responses": with_ok(ok_json("EventReceipt"), &[400, 401, 404])}}
            }
        })
    })
}
