//! A small Server-Sent Events parser, shared by every consumer of the API's streams
//! (`/v1/events`, `/v1/revocations/stream`): `event:`, `data:` over several lines,
//! `id:`, comments, any line ending. Pure: bytes in, events out.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub name: String,
    pub data: String,
    pub id: Option<String>,
}

/// Feeds bytes in, takes complete events out. Bounded: a line longer than
/// `MAX_LINE` is dropped rather than buffered forever.
#[derive(Default)]
pub struct SseParser {
    buf: Vec<u8>,
    name: String,
    data: Vec<String>,
    id: Option<String>,
    /// The last event id as of the last dispatch: what a reconnecting client sends as
    /// `Last-Event-ID`. Updated by a message that carries only an `id` too, as the
    /// standard says (a server may name a position before any event).
    last_event_id: Option<String>,
    /// The last byte seen was `\r`, so a following `\n` belongs to the same line end.
    after_cr: bool,
}

const MAX_LINE: usize = 1 << 20;

impl SseParser {
    /// Parses a chunk as it arrived; returns the events it completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.buf);
                    if let Some(ev) = self.line(&String::from_utf8_lossy(&line)) {
                        out.push(ev);
                    }
                }
                _ if self.buf.len() < MAX_LINE => self.buf.push(b),
                _ => {}
            }
        }
        out
    }

    /// The id a reconnecting client resumes from (`Last-Event-ID`), if any was sent.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            // Dispatch. The id counts even for a message without data; an event
            // without data is not an event.
            self.last_event_id.clone_from(&self.id);
            let name = std::mem::take(&mut self.name);
            let data = std::mem::take(&mut self.data);
            if data.is_empty() {
                return None;
            }
            return Some(SseEvent {
                name: if name.is_empty() {
                    "message".into()
                } else {
                    name
                },
                data: data.join("\n"),
                id: self.id.clone(),
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.name = value.to_string(),
            "data" => self.data.push(value.to_string()),
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_split_anywhere() {
        let text = ": keep-alive\r\n\r\nevent: session.revoked\r\nid: 7\r\ndata: {\"a\":\ndata: 1}\r\n\r\nevent: x\ndata: y\n\n";
        for split in 0..text.len() {
            let mut p = SseParser::default();
            let mut evs = p.feed(&text.as_bytes()[..split]);
            evs.extend(p.feed(&text.as_bytes()[split..]));
            assert_eq!(evs.len(), 2, "split at {split}");
            assert_eq!(evs[0].name, "session.revoked");
            assert_eq!(evs[0].data, "{\"a\":\n1}");
            assert_eq!(evs[0].id.as_deref(), Some("7"));
            assert_eq!(evs[1].name, "x");
        }
    }

    #[test]
    fn an_id_without_data_is_a_position_to_resume_from() {
        let mut p = SseParser::default();
        assert!(p.feed(b": connected\nid: 41\n").is_empty());
        // Not dispatched yet: a half-received message names no position.
        assert_eq!(p.last_event_id(), None);
        assert!(p.feed(b"\n").is_empty());
        assert_eq!(p.last_event_id(), Some("41"));
        let evs = p.feed(b"event: x\nid: 42\ndata: y\n\n");
        assert_eq!(evs[0].id.as_deref(), Some("42"));
        assert_eq!(p.last_event_id(), Some("42"));
    }

    #[test]
    fn garbage_never_panics() {
        let mut p = SseParser::default();
        for chunk in [
            &b"\xff\xfe:\r\r\n\n"[..],
            b"data",
            b"\n",
            b"\n",
            b"event:\n\n",
        ] {
            let _ = p.feed(chunk);
        }
    }
}
