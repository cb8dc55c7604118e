//! The OpenAPI 3.1 document of this server, served at `/openapi.json`.
//! A test checks that every route of the router is described here.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::App;

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

fn ok_json(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn json_body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn form_body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn bearer_errors() -> Value {
    json!({
        "401": err("Missing, malformed, expired or revoked access token (WWW-Authenticate: Bearer error=\"invalid_token\")."),
    })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

pub fn build(issuer: &str) -> Value {
    let body_errors = json!({
        "400": err("Malformed JSON or a missing field (invalid_json, invalid_request)."),
        "413": err("Body larger than 64 KiB (payload_too_large)."),
        "415": err("Content-Type is not application/json (unsupported_media_type)."),
    });
    let form_errors = json!({
        "400": err("Missing parameter (invalid_request)."),
        "413": err("Body larger than 64 KiB."),
        "415": err("Content-Type is not application/x-www-form-urlencoded (invalid_request)."),
    });
    let id_param = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}]);
    let bearer = json!([{"bearer": []}]);
    let basic = json!([{"resourceServer": []}]);

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Session Manager API",
            "version": "1",
            "description": "Signs devices in, rotates refresh tokens, lists and revokes sessions; revocations take effect at once. Every error is {\"error\", \"error_description\"}. Times are RFC 3339 UTC, ids UUIDv7."
        },
        "servers": [{"url": issuer}],
        "paths": {
            "/.well-known/oauth-authorization-server": {"get": {
                "summary": "Authorization server metadata (RFC 8414)",
                "responses": {"200": ok_json("Metadata", "ServerMetadata")}
            }},
            "/.well-known/jwks.json": {"get": {
                "summary": "Public keys that sign access tokens (RFC 7517); retired keys stay until their tokens expired",
                "responses": {"200": ok_json("Key set", "JwkSet")}
            }},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI document"}}}},
            "/healthz": {"get": {"summary": "Liveness: the process answers (no database call)", "responses": {
                "200": {"description": "Alive"}
            }}},
            "/readyz": {"get": {"summary": "Readiness: the database answers within a second and the feed follower is current", "responses": {
                "200": {"description": "Ready: {\"status\":\"ready\",\"database\":true,\"feed_current\":true}"},
                "503": {"description": "Not ready (Retry-After); the body says which check failed"}
            }}},
            "/v1/accounts": {"post": {
                "summary": "Create an account (when open sign-up is on)",
                "requestBody": json_body("CreateAccountRequest"),
                "responses": merge(json!({
                    "201": ok_json("Created", "CreateAccountResponse"),
                    "403": err("Sign-up is closed (signup_disabled)"),
                    "409": err("Email already registered (email_taken)"),
                    "422": err("Weak password (weak_password) or invalid email (validation_failed)"),
                }), body_errors.clone())
            }},
            "/v1/sessions": {
                "post": {
                    "summary": "Sign a device in: one device, one session",
                    "requestBody": json_body("SignInRequest"),
                    "responses": merge(json!({
                        "201": ok_json("Signed in", "TokenResponse"),
                        "401": err("Wrong email or password (invalid_credentials), indistinguishable"),
                        "422": err("Invalid device fields (validation_failed)"),
                        "429": err("Too many failed attempts for the account or address; see Retry-After (too_many_attempts)"),
                    }), body_errors.clone())
                },
                "get": {
                    "summary": "The caller's live sessions: the caller's own first, then by last_seen_at descending",
                    "security": bearer,
                    "responses": merge(json!({"200": ok_json("Sessions", "SessionList")}), bearer_errors())
                }
            },
            "/v1/sessions/{id}": {
                "patch": {
                    "summary": "Rename a device",
                    "security": bearer, "parameters": id_param,
                    "requestBody": json_body("RenameRequest"),
                    "responses": merge(merge(json!({
                        "200": ok_json("Renamed", "SessionInfo"),
                        "404": err("Unknown session, or another account's (not_found)"),
                        "422": err("Empty or too long name (validation_failed)"),
                    }), bearer_errors()), body_errors.clone())
                },
                "delete": {
                    "summary": "Sign a device out (the caller's own included); its tokens are refused at once",
                    "security": bearer, "parameters": id_param,
                    "responses": merge(json!({
                        "204": {"description": "Signed out"},
                        "404": err("Unknown session, or another account's (not_found)"),
                    }), bearer_errors())
                }
            },
            "/v1/sessions/revoke": {"post": {
                "summary": "Sign out all other devices (others) or every device and stamp the account's not-before (all)",
                "security": bearer,
                "requestBody": json_body("RevokeRequest"),
                "responses": merge(merge(json!({"200": ok_json("How many sessions ended", "RevokeResponse")}), bearer_errors()), body_errors)
            }},
            "/v1/events": {"get": {
                "summary": "The calling device's event stream (text/event-stream): session.revoked, session.created, session.renamed, security.alert. Resumable with Last-Event-ID. A revoked device's stream closes after its session.revoked. A comment at least every 15 s.",
                "security": bearer,
                "parameters": [{"name": "Last-Event-ID", "in": "header", "required": false, "schema": {"type": "string"}}],
                "responses": merge(json!({"200": {"description": "Server-Sent Events", "content": {"text/event-stream": {"schema": {"type": "string"}}}}}), bearer_errors())
            }},
            "/v1/activity": {"get": {
                "summary": "The account's security history, newest first (refreshed is sampled: at most hourly per session)",
                "security": bearer,
                "responses": merge(json!({"200": ok_json("History", "ActivityList")}), bearer_errors())
            }},
            "/oauth/token": {"post": {
                "summary": "Refresh (RFC 6749 §6) with rotation. A spent token presented again revokes the session (invalid_grant); the same refresh retried within the grace window gets the same successor.",
                "requestBody": form_body("RefreshForm"),
                "responses": merge(json!({
                    "200": ok_json("New access and refresh tokens", "TokenResponse"),
                    "400": err("invalid_grant (dead, spent or unknown token), unsupported_grant_type, invalid_request"),
                }), form_errors.clone())
            }},
            "/oauth/revoke": {"post": {
                "summary": "Revoke a token (RFC 7009). A refresh token ends its session; an access token is refused from then on. 200 for unknown tokens too.",
                "requestBody": form_body("TokenForm"),
                "responses": merge(json!({"200": {"description": "Revoked (or nothing to revoke)"}}), form_errors.clone())
            }},
            "/v1/revocations": {"get": {
                "summary": "Revocations that can still matter, after a cursor (resource servers only). Call again with the returned cursor while has_more is true.",
                "security": basic,
                "parameters": [{"name": "after", "in": "query", "required": false, "schema": {"type": "string"}}],
                "responses": {
                    "200": ok_json("A page of revocations", "RevocationsPage"),
                    "400": err("A cursor this server did not give out (invalid_request)"),
                    "401": err("Missing or wrong resource-server credentials (invalid_client)"),
                }
            }},
            "/v1/revocations/stream": {"get": {
                "summary": "The revocation feed as Server-Sent Events (resource servers only): `revocation` events (data: RevocationEvent, id: cursor) and a `heartbeat` event every few seconds. Resumable with Last-Event-ID (or ?after=).",
                "security": basic,
                "parameters": [
                    {"name": "Last-Event-ID", "in": "header", "required": false, "schema": {"type": "string"}},
                    {"name": "after", "in": "query", "required": false, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "Server-Sent Events", "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/RevocationEvent"}}}},
                    "401": err("Missing or wrong resource-server credentials (invalid_client)"),
                }
            }},
            "/oauth/introspect": {"post": {
                "summary": "Introspect a token (RFC 7662); resource servers only",
                "security": basic,
                "requestBody": form_body("TokenForm"),
                "responses": merge(json!({
                    "200": ok_json("{active:false} or the claims", "Introspection"),
                    "401": err("Missing or wrong resource-server credentials (invalid_client)"),
                }), form_errors)
            }}
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"},
                "resourceServer": {"type": "http", "scheme": "basic", "description": "--resource-server NAME:SECRET"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error", "error_description"], "properties": {
                    "error": {"type": "string", "description": "Stable snake_case code"},
                    "error_description": {"type": "string"}}},
                "Device": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string", "maxLength": 100}, "platform": {"type": "string"},
                    "os_version": {"type": "string"}, "app_version": {"type": "string"}}},
                "CreateAccountRequest": {"type": "object", "required": ["email", "password"], "properties": {
                    "email": {"type": "string", "format": "email"}, "password": {"type": "string", "minLength": 8}}},
                "CreateAccountResponse": {"type": "object", "required": ["user_id"], "properties": {"user_id": {"type": "string", "format": "uuid"}}},
                "SignInRequest": {"type": "object", "required": ["email", "password", "device"], "properties": {
                    "email": {"type": "string"}, "password": {"type": "string"}, "device": {"$ref": "#/components/schemas/Device"}}},
                "TokenResponse": {"type": "object", "required": ["access_token", "token_type", "expires_in", "refresh_token", "session_id"], "properties": {
                    "access_token": {"type": "string"}, "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer"},
                    "refresh_token": {"type": "string", "pattern": "^rt_[A-Za-z0-9_-]{43}$"}, "session_id": {"type": "string", "format": "uuid"}}},
                "SessionInfo": {"type": "object", "required": ["id", "device", "created_at", "last_seen_at", "last_ip", "current"], "properties": {
                    "id": {"type": "string", "format": "uuid"}, "device": {"$ref": "#/components/schemas/Device"},
                    "created_at": {"type": "string", "format": "date-time"}, "last_seen_at": {"type": "string", "format": "date-time"},
                    "last_ip": {"type": ["string", "null"]}, "current": {"type": "boolean"}}},
                "SessionList": {"type": "object", "required": ["sessions"], "properties": {"sessions": {"type": "array", "items": {"$ref": "#/components/schemas/SessionInfo"}}}},
                "RenameRequest": {"type": "object", "required": ["device"], "properties": {"device": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}},
                "RevokeRequest": {"type": "object", "required": ["scope"], "properties": {"scope": {"enum": ["others", "all"]}}},
                "RevokeResponse": {"type": "object", "required": ["revoked"], "properties": {"revoked": {"type": "integer"}}},
                "ActivityList": {"type": "object", "required": ["events"], "properties": {"events": {"type": "array", "items": {"type": "object", "properties": {
                    "at": {"type": "string", "format": "date-time"},
                    "kind": {"enum": ["signed_in", "refreshed", "renamed", "revoked", "signed_out_everywhere", "refresh_token_reuse"]},
                    "session_id": {"type": ["string", "null"]}, "device": {"oneOf": [{"$ref": "#/components/schemas/Device"}, {"type": "null"}]},
                    "ip": {"type": ["string", "null"]}, "by_session_id": {"type": ["string", "null"]},
                    "reason": {"enum": ["logout", "revoked", "revoked_others", "signed_out_everywhere", "refresh_token_reuse", "admin"]}}}}}},
                "RefreshForm": {"type": "object", "required": ["grant_type", "refresh_token"], "properties": {
                    "grant_type": {"const": "refresh_token"}, "refresh_token": {"type": "string"}}},
                "TokenForm": {"type": "object", "required": ["token"], "properties": {
                    "token": {"type": "string"}, "token_type_hint": {"enum": ["access_token", "refresh_token"]}}},
                "Introspection": {"type": "object", "required": ["active"], "properties": {
                    "active": {"type": "boolean"}, "sub": {"type": "string"}, "sid": {"type": "string"}, "jti": {"type": "string"},
                    "exp": {"type": "integer"}, "iat": {"type": "integer"}, "iss": {"type": "string"}, "aud": {"type": "string"},
                    "token_type": {"enum": ["access_token", "refresh_token"]}}},
                "RevocationsPage": {"type": "object", "required": ["cursor", "sessions", "tokens", "accounts"], "properties": {
                    "cursor": {"type": "string"}, "has_more": {"type": "boolean"},
                    "sessions": {"type": "array", "items": {"type": "object", "required": ["sid", "at"], "properties": {"sid": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}},
                    "tokens": {"type": "array", "items": {"type": "object", "required": ["jti", "exp"], "properties": {"jti": {"type": "string"}, "exp": {"type": "string", "format": "date-time"}}}},
                    "accounts": {"type": "array", "items": {"type": "object", "required": ["sub", "not_before"], "properties": {"sub": {"type": "string"}, "not_before": {"type": "string", "format": "date-time"}}}}}},
                "RevocationEvent": {"type": "object", "required": ["kind"], "description": "kind session: sid, at; kind token: jti, exp; kind account: sub, not_before", "properties": {
                    "kind": {"enum": ["session", "token", "account"]}, "sid": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                    "jti": {"type": "string"}, "exp": {"type": "string", "format": "date-time"},
                    "sub": {"type": "string"}, "not_before": {"type": "string", "format": "date-time"}}},
                "ServerMetadata": {"type": "object", "required": ["issuer", "token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri"]},
                "JwkSet": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {"type": "object", "required": ["kty", "crv", "alg", "kid", "x"], "properties": {
                    "kty": {"const": "OKP"}, "crv": {"const": "Ed25519"}, "alg": {"const": "EdDSA"}, "kid": {"type": "string"}, "x": {"type": "string"}}}}}}
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
