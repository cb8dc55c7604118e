//! JSON and form request bodies, parsed exactly as the server's extractors parse them
//! (`server::http::extract::parse_json` / `parse_form`), for every request type.
//!
//! Input: `MARKER \0 TEMPLATE`, or just `TEMPLATE`. The template is used as a body as
//! it is, and again with every `$` replaced by the marker (as a JSON string in JSON
//! bodies, url-encoded in forms), so the fuzzer can put a value of its choosing in any
//! field, of any type, at any depth. Then:
//! - nothing panics, and every error is a 400 or a 415 with a known code;
//! - no error text contains the marker, raw or escaped (errors never quote submitted
//!   values, which may be passwords). The marker must be at least 6 characters and
//!   hold one character that our messages never use (they are plain English with
//!   field names), so that a hit can only be an echo.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto::error::ErrorCode;
use proto::sessions::{RenameRequest, RevokeRequest};
use proto::tokens::SignInRequest;
use serde::de::DeserializeOwned;
use server::http::extract::{parse_form, parse_json};
use server::http::{ApiError, TokenForm, TokenParam};

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// Characters the extraction errors are written with.
fn ours(c: char) -> bool {
    c.is_ascii_alphanumeric() || " `.,:;()_[]-/…".contains(c)
}

struct Marker<'a> {
    raw: &'a str,
    /// As `{:?}` would show it (serde's messages quote values that way).
    escaped: String,
}

impl Marker<'_> {
    fn check(&self, e: &ApiError, what: &str) {
        let text = &e.description;
        assert!(
            !text.contains(self.raw) && !text.contains(&self.escaped),
            "{what}: the error quotes the submitted value: {text:?}"
        );
    }
}

fn check_error(e: &ApiError, what: &str, marker: Option<&Marker<'_>>) {
    let expected = matches!(
        (e.status.as_u16(), &e.code),
        (400, ErrorCode::InvalidJson | ErrorCode::InvalidRequest)
            | (
                415,
                ErrorCode::UnsupportedMediaType | ErrorCode::InvalidRequest
            )
    );
    assert!(expected, "{what}: unexpected error {e:?}");
    if let Some(m) = marker {
        m.check(e, what);
    }
}

fn json<T: DeserializeOwned>(what: &str, ct: Option<&str>, body: &[u8], m: Option<&Marker<'_>>) {
    if let Err(e) = parse_json::<T>(ct, body) {
        check_error(&e, what, m);
    }
}

fn form<T: DeserializeOwned>(what: &str, ct: Option<&str>, body: &[u8], m: Option<&Marker<'_>>) {
    if let Err(e) = parse_form::<T>(ct, body) {
        check_error(&e, what, m);
    }
}

fn every_json_type(ct: Option<&str>, body: &[u8], m: Option<&Marker<'_>>) {
    json::<proto::CreateAccountRequest>("create account", ct, body, m);
    json::<SignInRequest>("sign in", ct, body, m);
    json::<RenameRequest>("rename", ct, body, m);
    json::<RevokeRequest>("revoke scope", ct, body, m);
}

fn every_form_type(ct: Option<&str>, body: &[u8], m: Option<&Marker<'_>>) {
    form::<TokenForm>("token form", ct, body, m);
    form::<TokenParam>("revoke/introspect form", ct, body, m);
}

fuzz_target!(|data: &[u8]| {
    let (marker, template) = match data.iter().position(|&b| b == 0) {
        Some(at) => (std::str::from_utf8(&data[..at]).ok(), &data[at + 1..]),
        None => (None, data),
    };

    // The template as the body, verbatim.
    every_json_type(Some(JSON), template, None);
    every_json_type(Some("Application/JSON; charset=utf-8"), template, None);
    every_form_type(Some(FORM), template, None);
    // Wrong or missing content types: 415 whatever the body.
    for ct in [None, Some("text/plain"), Some(FORM)] {
        if let Err(e) = parse_json::<SignInRequest>(ct, template) {
            assert_eq!(e.status.as_u16(), 415);
        } else {
            panic!("JSON accepted with content type {ct:?}");
        }
    }
    for ct in [None, Some(JSON)] {
        let e = parse_form::<TokenForm>(ct, template).err();
        assert_eq!(e.map(|e| e.status.as_u16()), Some(415));
    }

    let Some(raw) = marker.filter(|m| m.chars().count() >= 6 && m.chars().any(|c| !ours(c))) else {
        return;
    };
    let escaped = format!("{raw:?}");
    let m = Marker {
        raw,
        escaped: escaped[1..escaped.len() - 1].to_owned(),
    };
    let Ok(template) = std::str::from_utf8(template) else {
        return;
    };

    let as_json = serde_json::to_string(raw).expect("a string serializes");
    let json_body = template.replace('$', &as_json);
    every_json_type(Some(JSON), json_body.as_bytes(), Some(&m));

    let as_form: String = form_urlencoded::byte_serialize(raw.as_bytes()).collect();
    let form_body = template.replace('$', &as_form);
    every_form_type(Some(FORM), form_body.as_bytes(), Some(&m));

    // The marker as the content type.
    for e in [
        parse_json::<SignInRequest>(Some(raw), json_body.as_bytes()).err(),
        parse_form::<TokenForm>(Some(raw), form_body.as_bytes()).err(),
    ]
    .into_iter()
    .flatten()
    {
        check_error(&e, "content type", Some(&m));
    }
});
