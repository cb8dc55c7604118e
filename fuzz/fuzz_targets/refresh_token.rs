//! The refresh-token format (`server::secrets`): recognising a token, hashing it, and
//! opening the sealed successor of a spent one.
//!
//! - `looks_like_refresh_token` never panics (any UTF-8, multi-byte characters where the
//!   prefix ends included) and accepts exactly `rt_` + 43 base64url characters;
//! - `hash_refresh_token` is SHA-256 of the token's bytes;
//! - `open_successor` never panics and opens nothing the fuzzer made: arbitrary sealed
//!   bytes under any parent, and a real sealed successor damaged anywhere, are `None`;
//!   only the intact one, with its own parent, opens, to exactly its successor.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use server::secrets::{
    hash_refresh_token, looks_like_refresh_token, new_refresh_token, open_successor, seal_successor,
};
use sha2::{Digest, Sha256};

/// A real spent token, its real successor and the successor sealed under it.
static SEALED: LazyLock<(String, String, Vec<u8>)> = LazyLock::new(|| {
    let parent = new_refresh_token().expose().to_owned();
    let child = new_refresh_token().expose().to_owned();
    let sealed = seal_successor(&parent, &child);
    (parent, child, sealed)
});

/// The format, said differently from the code under test.
fn is_token_shaped(s: &str) -> bool {
    s.strip_prefix("rt_").is_some_and(|rest| {
        rest.chars().count() == 43
            && rest
                .chars()
                .all(|c| matches!(c, 'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_'))
    })
}

fuzz_target!(|data: &[u8]| {
    let (parent, child, sealed) = &*SEALED;
    let text = String::from_utf8_lossy(data);

    assert_eq!(
        looks_like_refresh_token(&text),
        is_token_shaped(&text),
        "{text:?}"
    );
    let hash = hash_refresh_token(&text);
    assert_eq!(hash[..], Sha256::digest(text.as_bytes())[..]);

    // Arbitrary bytes as a sealed successor, under a real parent and under the input.
    assert_eq!(open_successor(parent, data), None);
    assert_eq!(open_successor(&text, data), None);
    if *text != **parent {
        assert_eq!(open_successor(&text, sealed), None);
    }

    // The real sealed successor, damaged where the input says: XORed with the input,
    // cut to a length the input picks, or both.
    let mut damaged = sealed.clone();
    for (b, d) in damaged.iter_mut().zip(data) {
        *b ^= d;
    }
    let cut = data
        .first()
        .map_or(sealed.len(), |b| usize::from(*b) % (sealed.len() + 1));
    let intact = data.iter().take(sealed.len()).all(|&b| b == 0);
    for (bytes, unchanged) in [
        (&damaged[..], intact),
        (&sealed[..cut], cut == sealed.len()),
        (&damaged[..cut], intact && cut == sealed.len()),
    ] {
        let opened = open_successor(parent, bytes);
        if unchanged {
            assert_eq!(opened.as_ref().map(|t| t.expose()), Some(child.as_str()));
        } else {
            assert_eq!(opened, None, "damaged sealed bytes opened");
        }
    }
});
