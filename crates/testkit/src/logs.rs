//! The logs of in-process servers.
//!
//! A server running inside the test process logs through the process's global tracing
//! subscriber, so testkit installs one, once per test process: every event at `debug`
//! (or `SERVER_LOG`), formatted as the binary formats its logs (without colours), into
//! one shared buffer. Log-hygiene checks search that whole buffer: every line the
//! process logged, its servers' and everything else's.

use std::io;
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::EnvFilter;

static BUFFER: Mutex<String> = Mutex::new(String::new());
/// Whether our subscriber is the process's (another may have been installed first).
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Starts capturing, if this process does not already.
pub(crate) fn capture() {
    INSTALLED.get_or_init(|| {
        // Everything the server logs, at debug; not the test's own HTTP client's cookie
        // jar, which logs every cookie it stores (a test playing a browser is not the
        // server leaking what it set).
        let level =
            std::env::var("SERVER_LOG").unwrap_or_else(|_| "debug,cookie_store=info".into());
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(level))
            .with_ansi(false)
            .with_writer(|| Sink)
            .try_init()
            .is_ok()
    });
}

/// Everything logged in this process since capturing started.
pub(crate) fn captured() -> String {
    assert!(
        INSTALLED.get().copied().unwrap_or(false),
        "testkit could not capture the logs of in-process servers: another global tracing \
         subscriber was installed in this test process first"
    );
    BUFFER.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Appends each formatted event (one write each) to the buffer.
struct Sink;

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        BUFFER
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
