//! The OpenAPI description of the account routes (password, two-step sign-in, wipe
//! receipts, signed-out sessions), merged into the document `openapi::build` makes.

use serde_json::{Value, json};

fn err(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

/// Adds the account routes and their schemas to `doc`.
pub fn extend(doc: &mut Value) {
    let bearer = json!([{"bearer": []}]);
    let password = json!({"type": "string", "minLength": 8, "maxLength": 1024});
    let code = json!({"type": "string", "minLength": 1, "maxLength": 64, "description": "A 6-digit code from the authenticator app (or, where allowed, a recovery code)"});
    let common = json!({
        "400": err("Malformed JSON or a missing field (invalid_json, invalid_request)"),
        "401": err("Missing, expired or revoked access token (invalid_token)"),
        "413": err("Body larger than 64 KiB (payload_too_large)"),
        "415": err("Content-Type is not application/json (unsupported_media_type)"),
        "429": err("Too many attempts (too_many_attempts), with Retry-After"),
    });
    let with = |extra: Value| {
        let mut m = common.as_object().cloned().unwrap_or_default();
        if let Some(e) = extra.as_object() {
            m.extend(e.clone());
        }
        Value::Object(m)
    };
    let paths = json!({
        "/v1/account": {"get": {
            "summary": "The caller's account",
            "security": bearer,
            "responses": {
                "200": ok("The account", json!({"$ref": "#/components/schemas/Account"})),
                "401": err("Missing, expired or revoked access token (invalid_token)"),
            }
        }},
        "/v1/account/password": {"post": {
            "summary": "Change the password. By default every other session ends (reason password_changed) and every device gets a security.alert.",
            "security": bearer,
            "requestBody": body(json!({"type": "object", "required": ["current_password", "new_password"], "properties": {
                "current_password": password, "new_password": password,
                "sign_out_other_devices": {"type": "boolean", "default": true}}})),
            "responses": with(json!({
                "200": ok("How many other sessions ended", json!({"type": "object", "required": ["revoked"], "properties": {"revoked": {"type": "integer", "minimum": 0}}})),
                "403": err("The current password is wrong (invalid_credentials); counted like a failed sign-in"),
                "422": err("The new password is refused (weak_password)"),
                "503": err("Every password hasher is busy (temporarily_unavailable), with Retry-After"),
            }))
        }},
        "/v1/account/two-step": {
            "post": {
                "summary": "Start enrolling two-step sign-in (TOTP, RFC 6238: SHA-1, 6 digits, 30 s): a secret, its otpauth URI and a QR code. Not on until confirmed.",
                "security": bearer,
                "requestBody": body(json!({"type": "object", "required": ["password"], "properties": {"password": password}})),
                "responses": with(json!({
                    "200": ok("The secret to enrol", json!({"type": "object", "required": ["secret", "otpauth_uri", "qr_svg"], "properties": {
                        "secret": {"type": "string", "description": "base32"}, "otpauth_uri": {"type": "string"}, "qr_svg": {"type": "string", "description": "An SVG document"}}})),
                    "403": err("The password is wrong (invalid_credentials)"),
                    "409": err("Two-step sign-in is on already: turn it off first (conflict)"),
                    "503": err("Every password hasher is busy (temporarily_unavailable)"),
                }))
            },
            "delete": {
                "summary": "Turn two-step sign-in off: the password and a code (or a recovery code). Every device gets a security.alert.",
                "security": bearer,
                "requestBody": body(json!({"type": "object", "required": ["password", "code"], "properties": {"password": password, "code": code}})),
                "responses": with(json!({
                    "204": {"description": "Off"},
                    "403": err("The password is wrong (invalid_credentials)"),
                    "422": err("The code is wrong or was used (invalid_code)"),
                    "503": err("Every password hasher is busy (temporarily_unavailable)"),
                }))
            }
        },
        "/v1/account/two-step/confirm": {"post": {
            "summary": "Confirm enrolment with a first code: two-step sign-in is on. The answer holds ten recovery codes, shown this once.",
            "security": bearer,
            "requestBody": body(json!({"type": "object", "required": ["code"], "properties": {"code": code}})),
            "responses": with(json!({
                "200": ok("The recovery codes", json!({"type": "object", "required": ["recovery_codes"], "properties": {
                    "recovery_codes": {"type": "array", "minItems": 10, "maxItems": 10, "items": {"type": "string"}}}})),
                "409": err("Nothing is being enrolled: start first (conflict)"),
                "422": err("The code is wrong (invalid_code)"),
            }))
        }},
        "/v1/sessions/two-step": {"post": {
            "summary": "The second step of a sign-in on an account with two-step sign-in: the challenge of the mfa_required answer and a code, or a recovery code.",
            "requestBody": body(json!({"type": "object", "required": ["challenge"], "properties": {
                "challenge": {"type": "string", "minLength": 1},
                "code": code, "recovery_code": {"type": "string", "minLength": 1, "maxLength": 64}}})),
            "responses": with(json!({
                "201": ok("Signed in", json!({"$ref": "#/components/schemas/TokenResponse"})),
                "401": err("A wrong or reused code (invalid_code), or an unknown, expired or used challenge (invalid_challenge)"),
                "422": err("Neither or both of code and recovery_code (validation_failed)"),
            }))
        }},
        "/v1/sessions/{id}/wipe-receipt": {"post": {
            "summary": "A signed-out device proves it held the revoked session's refresh token and says it erased it. No bearer: the session is revoked.",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": body(json!({"type": "object", "required": ["refresh_token"], "properties": {"refresh_token": {"type": "string", "minLength": 1}}})),
            "responses": with(json!({
                "204": {"description": "Recorded (or recorded before)"},
                "404": err("No revoked session with that id and token (not_found); nothing changed"),
            }))
        }},
    });
    if let (Some(target), Some(add)) = (
        doc.get_mut("paths").and_then(Value::as_object_mut),
        paths.as_object(),
    ) {
        target.extend(add.clone());
    }
    let schemas = json!({
        "Account": {"type": "object", "required": ["user_id", "email", "created_at", "two_step"], "properties": {
            "user_id": {"type": "string"}, "email": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"}, "two_step": {"type": "boolean"}}},
    });
    if let (Some(target), Some(add)) = (
        doc.pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut),
        schemas.as_object(),
    ) {
        target.extend(add.clone());
    }
}
