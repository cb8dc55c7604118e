//! The SSE parser (`proto::sse::SseParser`) on arbitrary bytes.
//!
//! A stream arrives in whatever pieces the network makes, so the events must not depend
//! on them: the input fed whole, one byte at a time, in fixed-size chunks and in
//! chunks whose sizes the input itself picks must all give the same events. Byte by
//! byte splits the stream at every position at once. The events must also be what
//! they claim to be (no line breaks inside a line's value, no NUL in an id), and
//! writing them back out as SSE must parse to the same events.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto::sse::{SseEvent, SseParser};

fn parse_in_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<SseEvent> {
    let mut parser = SseParser::default();
    chunks.into_iter().flat_map(|c| parser.feed(c)).collect()
}

/// Chunk sizes taken from the input's own bytes (1..=16), cycling.
fn input_chosen_chunks(data: &[u8]) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let size = (usize::from(data[i % data.len()]) % 16 + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        chunks.push(chunk);
        rest = tail;
        i += 1;
    }
    chunks
}

/// The events written back out as a stream.
fn write_out(events: &[SseEvent]) -> String {
    let mut out = String::new();
    for e in events {
        out.push_str(&format!("event: {}\n", e.name));
        if let Some(id) = &e.id {
            out.push_str(&format!("id: {id}\n"));
        }
        for line in e.data.split('\n') {
            out.push_str(&format!("data: {line}\n"));
        }
        out.push('\n');
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let whole = parse_in_chunks([data]);

    assert_eq!(parse_in_chunks(data.chunks(1)), whole, "byte by byte");
    for size in [2, 3, 7, 64] {
        assert_eq!(
            parse_in_chunks(data.chunks(size)),
            whole,
            "chunks of {size}"
        );
    }
    assert_eq!(
        parse_in_chunks(input_chosen_chunks(data)),
        whole,
        "chosen chunks"
    );
    // Empty chunks between the bytes change nothing either.
    let with_empties = data.chunks(5).flat_map(|c| [c, &[][..]]);
    assert_eq!(parse_in_chunks(with_empties), whole, "with empty chunks");

    for e in &whole {
        assert!(!e.name.is_empty(), "an event always has a name");
        assert!(!e.name.contains(['\n', '\r']), "{e:?}");
        assert!(!e.data.contains('\r'), "{e:?}");
        if let Some(id) = &e.id {
            assert!(!id.contains(['\n', '\r', '\0']), "{e:?}");
        }
    }

    let again = parse_in_chunks([write_out(&whole).as_bytes()]);
    assert_eq!(again, whole, "written out and parsed again");
});
