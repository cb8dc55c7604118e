//! The real OS keychain (Secret Service over D-Bus) in tests.
//!
//! Keychain tests run inside `scripts/with-secret-service`: a private D-Bus session with
//! an unlocked, throwaway gnome-keyring, which says so with
//! `SESSION_TEST_SECRET_SERVICE=1`. Outside it they fail, saying how to run them, rather
//! than skip silently or touch the user's own keyring. The other half of their story,
//! that no token went into a file instead, is [`files_containing`].

use std::path::PathBuf;
use std::time::SystemTime;

/// Whether this process runs inside `scripts/with-secret-service`.
pub fn private_secret_service() -> bool {
    std::env::var("SESSION_TEST_SECRET_SERVICE").as_deref() == Ok("1")
}

/// Fails the test, saying how to run it, unless the private Secret Service is there.
pub fn require_secret_service() {
    if !private_secret_service() {
        // Cargo sets the package name for the tests it runs.
        let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "<package>".into());
        panic!(
            "\n\nThis test uses the real OS keychain (Secret Service over D-Bus).\n\
             Run it inside a private, unlocked gnome-keyring:\n\n    \
             scripts/with-secret-service cargo test -p {package}\n\n\
             (needs the apt packages dbus dbus-x11 gnome-keyring; CI always runs it this way)\n"
        );
    }
}

/// Every file under `roots`, written since `since`, whose bytes contain one of `secrets`
/// (links are not followed; files of 64 MiB or more, and past 200,000 entries, are not read).
pub fn files_containing(roots: &[PathBuf], secrets: &[String], since: SystemTime) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    let mut visited = 0usize;
    while let Some(p) = stack.pop() {
        visited += 1;
        if visited > 200_000 {
            break;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if meta.is_file()
            && meta.len() < 64 << 20
            && meta.modified().is_ok_and(|m| m >= since)
            && let Ok(bytes) = std::fs::read(&p)
        {
            let text = String::from_utf8_lossy(&bytes);
            if secrets
                .iter()
                .any(|s| !s.is_empty() && text.contains(s.as_str()))
            {
                hits.push(p);
            }
        }
    }
    hits
}

/// Reads a keychain entry straight from the Secret Service, bypassing the client
/// library: what any program of the user could read.
#[cfg(all(feature = "keychain", target_os = "linux"))]
pub fn read(service: &str, user: &str) -> Option<String> {
    use std::sync::{Arc, OnceLock};
    static STORE: OnceLock<Arc<keyring_core::CredentialStore>> = OnceLock::new();
    let store = STORE.get_or_init(|| {
        zbus_secret_service_keyring_store::Store::new().expect("Secret Service store")
    });
    let entry = keyring_core::Entry::new_in_store(store, service, user).expect("entry");
    // A read can race the client deleting the same item (found by the search, gone
    // before its secret is fetched); only an error that persists is a failure.
    let mut attempts = 0;
    loop {
        match entry.get_password() {
            Ok(p) => return Some(p),
            Err(keyring_core::Error::NoEntry) => return None,
            Err(e) if attempts >= 3 => panic!("reading the keychain: {e}"),
            Err(_) => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}
