//! The OpenAPI 3.1 document of this server, served at `/openapi.json`.
//! A test checks that every route of the router is described here.

use std::sync::{Arc, LazyLock};

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::App;
use crate::password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};

pub async fn document(State(app): State<Arc<App>>) -> Json<Value> {
    Json(full(&app.settings().issuer))
}

/// The whole document: this file's routes and the account routes.
fn full(issuer: &str) -> Value {
    let mut doc = build(issuer);
    super::openapi_account::extend(&mut doc);
    doc
}

fn err(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// An error answer that says when to try again.
fn err_retry(description: &str) -> Value {
    merge(
        err(description),
        json!({"headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}}}),
    )
}

fn ok_json(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn json_body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn form_body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// Answers every route but the event streams can give: the request timeout.
fn any_route() -> Value {
    json!({"503": err_retry("The server could not answer in time (temporarily_unavailable)")})
}

fn bearer_errors() -> Value {
    json!({
        "401": err("Missing, malformed, expired or revoked access token (invalid_token), with WWW-Authenticate: Bearer error=\"invalid_token\""),
    })
}

fn resource_server_errors() -> Value {
    json!({
        "401": err("Missing or wrong resource-server credentials (invalid_client), with WWW-Authenticate: Basic"),
        "429": err_retry("Too many failed authentications from this address (too_many_attempts)"),
    })
}

/// The errors of reading a JSON body.
fn json_body_errors() -> Value {
    json!({
        "400": err("Malformed JSON (invalid_json), a missing field or a value of the wrong type (invalid_request); device fields with invisible or direction-changing characters (validation_failed)"),
        "408": err("The body did not arrive within 10 s (request_timeout)"),
        "413": err("Body larger than 64 KiB (payload_too_large)"),
        "415": err("Content-Type is not application/json (unsupported_media_type)"),
    })
}

/// The errors of reading a form body (OAuth endpoints: RFC 6749 codes).
fn form_body_errors() -> Value {
    json!({
        "400": err("A missing or empty parameter, or a form that cannot be read (invalid_request)"),
        "408": err("The body did not arrive within 10 s (request_timeout)"),
        "413": err("Body larger than 64 KiB (invalid_request)"),
        "415": err("Content-Type is not application/x-www-form-urlencoded (invalid_request)"),
    })
}

fn responses(parts: impl IntoIterator<Item = Value>) -> Value {
    parts.into_iter().fold(json!({}), merge)
}

/// Every character a device field may hold (the server refuses the others, see
/// [`proto::text::is_deceptive`]), but spaces, as the body of a regex class.
static VISIBLE: LazyLock<String> =
    LazyLock::new(|| class_of(|c| !proto::text::is_deceptive(c) && !is_space(c)));

/// Every kind of space, which the server trims and collapses to one.
static SPACE: LazyLock<String> = LazyLock::new(|| class_of(is_space));

/// A space as [`proto::text::normalize_spaces`] sees one: alone, it trims to nothing.
fn is_space(c: char) -> bool {
    !proto::text::is_deceptive(c)
        && proto::text::normalize_spaces(c.encode_utf8(&mut [0; 4])).is_empty()
}

/// The code points for which `member` holds, as ranges in a regex character class.
/// Characters are written as themselves (JSON Schema regexes are Unicode-aware), with
/// the class's own metacharacters escaped.
fn class_of(member: impl Fn(char) -> bool) -> String {
    fn push(out: &mut String, c: char) {
        if matches!(c, '\\' | ']' | '[' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    let mut out = String::new();
    let mut run: Option<(char, char)> = None;
    for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
        run = match run {
            Some((first, last)) if member(c) && u32::from(last) + 1 == u32::from(c) => {
                Some((first, c))
            }
            other => {
                if let Some((first, last)) = other {
                    push(&mut out, first);
                    if first != last {
                        out.push('-');
                        push(&mut out, last);
                    }
                }
                member(c).then_some((c, c))
            }
        };
    }
    if let Some((first, last)) = run {
        push(&mut out, first);
        if first != last {
            out.push('-');
            push(&mut out, last);
        }
    }
    out
}

/// A device field as the server takes it: no invisible or direction-changing
/// character, and at most `max` characters once spaces are trimmed and collapsed
/// (at least one if `required`). `(?![\s\S])` ends the match: `$` would also match
/// before a final newline in some regex dialects.
fn device_field_pattern(max: usize, required: bool) -> String {
    let (n, z) = (&*VISIBLE, &*SPACE);
    // The first visible character, then up to max - 1 more characters of the collapsed
    // text: a visible one, or a run of spaces that a visible one follows (one space).
    let text = format!("[{n}](?:[{n}]|[{z}]+(?=[{n}])){{0,{}}}", max - 1);
    let text = if required {
        text
    } else {
        format!("(?:{text})?")
    };
    format!("^[{z}]*{text}[{z}]*(?![\\s\\S])")
}

pub fn build(issuer: &str) -> Value {
    let id_param = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}]);
    // A cursor is opaque to clients; this server gives out decimal feed positions.
    let cursor = json!({"type": "string", "pattern": "^[0-9]{0,18}(?![\\s\\S])"});
    let bearer = json!([{"bearer": []}]);
    let basic = json!([{"resourceServer": []}]);
    let device_name = json!({
        "type": "string", "pattern": device_field_pattern(100, true),
        "description": "1 to 100 characters once spaces are trimmed and runs of spaces collapsed; no control, format (bidi, zero-width), private-use or unassigned characters, nor line or paragraph separators (400 validation_failed)"
    });
    let device_field = json!({
        "type": "string", "pattern": device_field_pattern(64, false),
        "description": "At most 64 characters once spaces are trimmed and collapsed; the same characters as the name"
    });

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Session Manager API",
            "version": "1",
            "description": "Signs devices in, rotates refresh tokens, lists and revokes sessions; revocations take effect at once. Every error is {\"error\", \"error_description\"}; an error never quotes a submitted value. Times are RFC 3339 UTC, ids UUIDv7."
        },
        "servers": [{"url": issuer}],
        "paths": {
            "/.well-known/oauth-authorization-server": {"get": {
                "summary": "Authorization server metadata (RFC 8414)",
                "responses": responses([json!({"200": ok_json("Metadata", "ServerMetadata")}), any_route()])
            }},
            "/.well-known/jwks.json": {"get": {
                "summary": "Public keys that sign access tokens (RFC 7517); retired keys stay until their tokens expired",
                "responses": responses([json!({"200": ok_json("Key set", "JwkSet")}), any_route()])
            }},
            "/openapi.json": {"get": {
                "summary": "This document",
                "responses": responses([json!({"200": {"description": "OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}}), any_route()])
            }},
            "/healthz": {"get": {"summary": "Liveness: the process answers (no database call)", "responses": responses([json!({
                "200": {"description": "Alive", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}}}}
            }), any_route()])}},
            "/readyz": {"get": {"summary": "Readiness: the database answers within a second and the feed follower is current", "responses": responses([json!({
                "200": {"description": "Ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}},
                "503": {"description": "Not ready, with Retry-After; the body says which check failed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}}
            })])}},
            "/v1/accounts": {"post": {
                "summary": "Create an account (when open sign-up is on)",
                "requestBody": json_body("CreateAccountRequest"),
                "responses": responses([json!({
                    "201": ok_json("Created", "CreateAccountResponse"),
                    "403": err("Sign-up is closed (signup_disabled)"),
                    "409": err("Email already registered (email_taken)"),
                    "422": err("Weak password (weak_password) or invalid email (validation_failed)"),
                    "429": err_retry("Too many sign-ups from this address (too_many_attempts)"),
                    "503": err_retry("Too many password checks waiting, or no answer in time (temporarily_unavailable)"),
                }), json_body_errors()])
            }},
            "/v1/sessions": {
                "post": {
                    "summary": "Sign a device in: one device, one session",
                    "requestBody": json_body("SignInRequest"),
                    "responses": responses([json!({
                        "201": ok_json("Signed in", "TokenResponse"),
                        "401": err("Wrong email or password (invalid_credentials), indistinguishable"),
                        "422": err("Device fields too long or an empty name (validation_failed)"),
                        "429": err_retry("Too many failed attempts for the account or address (too_many_attempts)"),
                        "503": err_retry("Too many password checks waiting, or no answer in time (temporarily_unavailable)"),
                    }), json_body_errors()])
                },
                "get": {
                    "summary": "The caller's live sessions: the caller's own first, then by last_seen_at descending",
                    "security": bearer,
                    "responses": responses([json!({"200": ok_json("Sessions", "SessionList")}), bearer_errors(), any_route()])
                }
            },
            "/v1/sessions/{id}": {
                "patch": {
                    "summary": "Rename a device",
                    "security": bearer, "parameters": id_param,
                    "requestBody": json_body("RenameRequest"),
                    "responses": responses([json!({
                        "200": ok_json("Renamed", "SessionInfo"),
                        "404": err("Unknown session, or another account's (not_found)"),
                        "422": err("Empty or too long name (validation_failed)"),
                    }), bearer_errors(), json_body_errors(), any_route()])
                },
                "delete": {
                    "summary": "Sign a device out (the caller's own included); its tokens are refused at once",
                    "security": bearer, "parameters": id_param,
                    "responses": responses([json!({
                        "204": {"description": "Signed out"},
                        "404": err("Unknown session, or another account's (not_found)"),
                    }), bearer_errors(), any_route()])
                }
            },
            "/v1/sessions/revoke": {"post": {
                "summary": "Sign out all other devices (others) or every device and stamp the account's not-before (all)",
                "security": bearer,
                "requestBody": json_body("RevokeRequest"),
                "responses": responses([json!({"200": ok_json("How many sessions ended", "RevokeResponse")}), bearer_errors(), json_body_errors(), any_route()])
            }},
            "/v1/events": {"get": {
                "summary": "The calling device's event stream (text/event-stream): session.revoked, session.created, session.renamed, security.alert. Resumable with Last-Event-ID. Closes when its access token expires or is revoked, or its session or account is signed out. A comment at least every 15 s.",
                "security": bearer,
                "parameters": [{"name": "Last-Event-ID", "in": "header", "required": false, "schema": {"type": "string"}}],
                "responses": responses([json!({"200": {"description": "Server-Sent Events", "content": {"text/event-stream": {"schema": {"type": "string"}}}}}), bearer_errors()])
            }},
            "/v1/activity": {"get": {
                "summary": "The account's security history, newest first (refreshed is sampled: at most hourly per session)",
                "security": bearer,
                "responses": responses([json!({"200": ok_json("History", "ActivityList")}), bearer_errors(), any_route()])
            }},
            "/oauth/token": {"post": {
                "summary": "Refresh (RFC 6749 §6) with rotation. A spent token presented again revokes the session (invalid_grant); a retry of the same refresh from the same address, while its successor is unused, gets the same successor.",
                "requestBody": form_body("RefreshForm"),
                "responses": responses([json!({
                    "200": ok_json("New access and refresh tokens", "TokenResponse"),
                    "400": err("invalid_grant (dead, spent or unknown token), unsupported_grant_type, invalid_request (a missing or empty parameter)"),
                    "429": err_retry("Too many failed refreshes from this address (too_many_attempts)"),
                }), json!({"408": form_body_errors()["408"], "413": form_body_errors()["413"], "415": form_body_errors()["415"]}), any_route()])
            }},
            "/oauth/revoke": {"post": {
                "summary": "Revoke a token (RFC 7009). A refresh token ends its session (a spent one is reuse: the session is revoked as stolen); an access token is refused from then on. 200 for unknown tokens too. token_type_hint is optional and ignored: the token's form tells its type.",
                "requestBody": form_body("TokenForm"),
                "responses": responses([json!({"200": {"description": "Revoked (or nothing to revoke)", "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}}}}), form_body_errors(), any_route()])
            }},
            "/v1/revocations": {"get": {
                "summary": "Revocations that can still matter, after a cursor (resource servers only). Call again with the returned cursor while has_more is true.",
                "security": basic,
                "parameters": [{"name": "after", "in": "query", "required": false, "schema": cursor}],
                "responses": responses([json!({
                    "200": ok_json("A page of revocations", "RevocationsPage"),
                    "400": err("A cursor this server did not give out (invalid_request)"),
                }), resource_server_errors(), any_route()])
            }},
            "/v1/revocations/stream": {"get": {
                "summary": "The revocation feed as Server-Sent Events (resource servers only): `revocation` events (data: RevocationEvent, id: cursor) and a `heartbeat` event every few seconds. Resumable with Last-Event-ID (or ?after=).",
                "security": basic,
                "parameters": [
                    {"name": "Last-Event-ID", "in": "header", "required": false, "schema": cursor},
                    {"name": "after", "in": "query", "required": false, "schema": cursor}
                ],
                "responses": responses([json!({
                    "200": {"description": "Server-Sent Events", "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/RevocationEvent"}}}},
                    "400": err("A cursor this server did not give out (invalid_request)"),
                }), resource_server_errors()])
            }},
            "/oauth/introspect": {"post": {
                "summary": "Introspect a token (RFC 7662); resource servers only. token_type_hint is optional and ignored.",
                "security": basic,
                "requestBody": form_body("TokenForm"),
                "responses": responses([json!({
                    "200": ok_json("{active:false} or the claims", "Introspection"),
                }), form_body_errors(), resource_server_errors(), any_route()])
            }}
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"},
                "resourceServer": {"type": "http", "scheme": "basic", "description": "--resource-server NAME:SECRET"}
            },
            "schemas": {
                "Readiness": {"type": "object", "required": ["status", "database", "feed_current"], "properties": {
                    "status": {"enum": ["ready", "unavailable"]}, "database": {"type": "boolean"}, "feed_current": {"type": "boolean"}}},
                "Error": {"type": "object", "required": ["error", "error_description"], "properties": {
                    "error": {"type": "string", "description": "Stable snake_case code"},
                    "error_description": {"type": "string"}}},
                "Device": {"type": "object", "required": ["name", "platform", "os_version", "app_version"], "properties": {
                    "name": {"type": "string"}, "platform": {"type": "string"},
                    "os_version": {"type": "string"}, "app_version": {"type": "string"}}},
                "DeviceInput": {"type": "object", "required": ["name"], "properties": {
                    "name": device_name, "platform": device_field,
                    "os_version": device_field, "app_version": device_field}},
                "CreateAccountRequest": {"type": "object", "required": ["email", "password"], "properties": {
                    "email": {"type": "string", "format": "email", "maxLength": 254, "description": "Trimmed and lower-cased; at most 254 bytes, 64 before the @"},
                    "password": {
                        "type": "string", "minLength": MIN_PASSWORD_CHARS, "maxLength": MAX_PASSWORD_BYTES,
                        "description": "At least 8 characters and at most 1024 bytes (UTF-8); not one character repeated, not the email or the part before its @, not one of the most common passwords (otherwise 422 weak_password)"
                    }}},
                "CreateAccountResponse": {"type": "object", "required": ["user_id"], "properties": {"user_id": {"type": "string", "format": "uuid"}}},
                "SignInRequest": {"type": "object", "required": ["email", "password", "device"], "properties": {
                    "email": {"type": "string"}, "password": {"type": "string"}, "device": {"$ref": "#/components/schemas/DeviceInput"}}},
                "TokenResponse": {"type": "object", "required": ["access_token", "token_type", "expires_in", "refresh_token", "session_id"], "properties": {
                    "access_token": {"type": "string"}, "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer", "minimum": 0},
                    "refresh_token": {"type": "string", "pattern": "^rt_[A-Za-z0-9_-]{43}$"}, "session_id": {"type": "string", "format": "uuid"}}},
                "SessionInfo": {"type": "object", "required": ["id", "device", "created_at", "last_seen_at", "last_ip", "current"], "properties": {
                    "id": {"type": "string", "format": "uuid"}, "device": {"$ref": "#/components/schemas/Device"},
                    "created_at": {"type": "string", "format": "date-time"}, "last_seen_at": {"type": "string", "format": "date-time"},
                    "last_ip": {"type": ["string", "null"]}, "current": {"type": "boolean"}}},
                "SessionList": {"type": "object", "required": ["sessions"], "properties": {"sessions": {"type": "array", "items": {"$ref": "#/components/schemas/SessionInfo"}}}},
                "RenameRequest": {"type": "object", "required": ["device"], "properties": {"device": {"type": "object", "required": ["name"], "properties": {"name": device_name}}}},
                "RevokeRequest": {"type": "object", "required": ["scope"], "properties": {"scope": {"enum": ["others", "all"]}}},
                "RevokeResponse": {"type": "object", "required": ["revoked"], "properties": {"revoked": {"type": "integer", "minimum": 0}}},
                "ActivityList": {"type": "object", "required": ["events"], "properties": {"events": {"type": "array", "items": {"type": "object", "required": ["at", "kind"], "properties": {
                    "at": {"type": "string", "format": "date-time"},
                    "kind": {"enum": ["signed_in", "refreshed", "refresh_retried", "renamed", "revoked", "signed_out_everywhere", "refresh_token_reuse", "password_changed", "two_step_enabled", "two_step_disabled", "wiped"]},
                    "session_id": {"type": ["string", "null"]}, "device": {"oneOf": [{"$ref": "#/components/schemas/Device"}, {"type": "null"}]},
                    "ip": {"type": ["string", "null"]}, "by_session_id": {"type": ["string", "null"]},
                    "reason": {"enum": ["logout", "revoked", "revoked_others", "signed_out_everywhere", "refresh_token_reuse", "admin", null]}}}}}},
                "RefreshForm": {"type": "object", "required": ["grant_type", "refresh_token"], "properties": {
                    "grant_type": {"const": "refresh_token", "description": "Any other value: 400 unsupported_grant_type"},
                    "refresh_token": {"type": "string", "pattern": "^rt_[A-Za-z0-9_-]{43}(?![\\s\\S])", "description": "Anything but a live refresh token: 400 invalid_grant"}}},
                "TokenForm": {"type": "object", "required": ["token"], "properties": {
                    "token": {"type": "string", "minLength": 1},
                    "token_type_hint": {"type": "string", "description": "access_token or refresh_token (RFC 7009 §2.1); optional, and ignored whatever it says: the token's own form tells its type"}}},
                "Introspection": {"type": "object", "required": ["active"], "properties": {
                    "active": {"type": "boolean"}, "sub": {"type": "string"}, "sid": {"type": "string"}, "jti": {"type": "string"},
                    "exp": {"type": "integer"}, "iat": {"type": "integer"}, "iss": {"type": "string"}, "aud": {"type": "string"},
                    "token_type": {"enum": ["access_token", "refresh_token"]}}},
                "RevocationsPage": {"type": "object", "required": ["cursor", "sessions", "tokens", "accounts"], "properties": {
                    "cursor": {"type": "string"}, "has_more": {"type": "boolean"},
                    "sessions": {"type": "array", "items": {"type": "object", "required": ["sid", "at"], "properties": {"sid": {"type": "string"}, "at": {"type": "string", "format": "date-time"}, "until": {"type": "string", "format": "date-time"}}}},
                    "tokens": {"type": "array", "items": {"type": "object", "required": ["jti", "exp"], "properties": {"jti": {"type": "string"}, "exp": {"type": "string", "format": "date-time"}}}},
                    "accounts": {"type": "array", "items": {"type": "object", "required": ["sub", "not_before"], "properties": {"sub": {"type": "string"}, "not_before": {"type": "string", "format": "date-time"}, "until": {"type": "string", "format": "date-time"}}}},
                    "keys": {"type": "array", "items": {"type": "object", "required": ["kid", "at"], "properties": {"kid": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}}}},
                "RevocationEvent": {"type": "object", "required": ["kind"], "description": "kind session: sid, at, until; kind token: jti, exp; kind account: sub, not_before, until; kind key: kid, at", "properties": {
                    "kind": {"enum": ["session", "token", "account", "key"]}, "sid": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                    "until": {"type": "string", "format": "date-time"}, "jti": {"type": "string"}, "exp": {"type": "string", "format": "date-time"},
                    "sub": {"type": "string"}, "not_before": {"type": "string", "format": "date-time"}, "kid": {"type": "string"}}},
                "ServerMetadata": {"type": "object", "required": ["issuer", "token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri"], "properties": {
                    "issuer": {"type": "string"}, "token_endpoint": {"type": "string"}, "revocation_endpoint": {"type": "string"},
                    "introspection_endpoint": {"type": "string"}, "jwks_uri": {"type": "string"}, "openapi_uri": {"type": "string"},
                    "access_token_audience": {"type": "string"}, "access_token_lifetime": {"type": "integer", "minimum": 0}}},
                "JwkSet": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {"type": "object", "required": ["kty", "crv", "alg", "kid", "x"], "properties": {
                    "kty": {"const": "OKP"}, "crv": {"const": "Ed25519"}, "alg": {"const": "EdDSA"}, "use": {"const": "sig"}, "kid": {"type": "string"}, "x": {"type": "string"}}}}}}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_methods() {
        let doc = full("http://localhost");
        let routes: &[(&str, &[&str])] = &[
            ("/.well-known/oauth-authorization-server", &["get"]),
            ("/.well-known/jwks.json", &["get"]),
            ("/openapi.json", &["get"]),
            ("/healthz", &["get"]),
            ("/readyz", &["get"]),
            ("/v1/accounts", &["post"]),
            ("/v1/sessions", &["post", "get"]),
            ("/v1/sessions/{id}", &["patch", "delete"]),
            ("/v1/sessions/revoke", &["post"]),
            ("/v1/events", &["get"]),
            ("/v1/activity", &["get"]),
            ("/oauth/token", &["post"]),
            ("/oauth/revoke", &["post"]),
            ("/oauth/introspect", &["post"]),
            ("/v1/revocations", &["get"]),
            ("/v1/revocations/stream", &["get"]),
            ("/v1/account", &["get"]),
            ("/v1/account/password", &["post"]),
            ("/v1/account/two-step", &["post", "delete"]),
            ("/v1/account/two-step/confirm", &["post"]),
            ("/v1/sessions/two-step", &["post"]),
            ("/v1/sessions/{id}/wipe-receipt", &["post"]),
        ];
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(
            paths.len(),
            routes.len(),
            "documented paths: {:?}",
            paths.keys()
        );
        for (path, methods) in routes {
            for m in *methods {
                assert!(
                    doc["paths"][path][m].is_object(),
                    "{m} {path} is not documented"
                );
            }
        }
        // Every schema reference resolves.
        let text = doc.to_string();
        for r in text.split("#/components/schemas/").skip(1) {
            let name: String = r.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(
                doc["components"]["schemas"][&name].is_object(),
                "missing schema {name}"
            );
        }
    }
}

#[cfg(test)]
mod pattern_tests {
    use super::*;

    #[test]
    fn character_classes_are_ranges_with_metacharacters_escaped() {
        assert_eq!(class_of(|c| c.is_ascii_digit()), "0-9");
        assert_eq!(
            class_of(|c| matches!(c, 'a' | 'c' | 'd' | '-' | ']')),
            "\\-\\]ac-d"
        );
        assert_eq!(
            &*SPACE,
            " \u{a0}\u{1680}\u{2000}-\u{200a}\u{202f}\u{205f}\u{3000}"
        );
        assert!(!VISIBLE.contains('\u{202e}') && !VISIBLE.contains('\u{e000}'));
    }

    #[test]
    fn a_device_field_pattern_counts_the_collapsed_text() {
        let p = device_field_pattern(100, true);
        assert!(p.starts_with("^[") && p.ends_with("(?![\\s\\S])"));
        assert!(p.contains("{0,99}"));
        assert!(device_field_pattern(64, false).contains(")?["));
    }
}
