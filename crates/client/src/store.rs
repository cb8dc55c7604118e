//! Where refresh tokens live: the OS keychain, and nowhere else.
//!
//! [`TokenStore`] is the synchronous seam to a keychain; [`Keychain`] wraps one so that
//! every call runs off the async runtime with a deadline. A locked keychain that waits
//! on an invisible unlock prompt therefore yields [`KeychainError::TimedOut`] instead
//! of hanging the program.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proto::{RefreshToken, SessionId};
use serde::{Deserialize, Serialize};

use crate::error::KeychainError;

/// The keychain service name every entry is filed under.
pub const SERVICE: &str = "session-manager";

/// How long one keychain call may take before it is reported as locked/hung.
pub const DEFAULT_KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(4);

/// One signed-in identity: an account on a server. Several can live side by side.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountKey {
    /// Normalized server URL (`scheme://host[:port][/path]`, no trailing slash).
    pub server: String,
    pub email: String,
}

impl AccountKey {
    pub fn new(server: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            email: email.into(),
        }
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.email, self.server)
    }
}

/// Which keychain entry: the usable credential of an account, a refresh token that
/// was logged out and still waits for the server to confirm its revocation, or the
/// dead refresh token of a revoked session whose wipe receipt still waits to be sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    Active,
    PendingRevocation(SessionId),
    /// Only ever a token the server already refuses: it proves to the server, in a
    /// wipe receipt, that this device held it and erased the usable credential.
    PendingReceipt(SessionId),
}

/// The full name of one keychain entry (service + user, as every OS store has them).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EntryName {
    pub account: AccountKey,
    pub kind: EntryKind,
}

impl EntryName {
    pub fn active(account: &AccountKey) -> Self {
        Self {
            account: account.clone(),
            kind: EntryKind::Active,
        }
    }

    pub fn pending(account: &AccountKey, session: SessionId) -> Self {
        Self {
            account: account.clone(),
            kind: EntryKind::PendingRevocation(session),
        }
    }

    pub fn receipt(account: &AccountKey, session: SessionId) -> Self {
        Self {
            account: account.clone(),
            kind: EntryKind::PendingReceipt(session),
        }
    }

    pub fn service(&self) -> &'static str {
        SERVICE
    }

    /// The keychain "user"/"account" field: readable in the OS keychain UI.
    pub fn user(&self) -> String {
        match &self.kind {
            EntryKind::Active => format!("{} @ {}", self.account.email, self.account.server),
            EntryKind::PendingRevocation(sid) => format!(
                "pending-revocation {sid} {} @ {}",
                self.account.email, self.account.server
            ),
            EntryKind::PendingReceipt(sid) => format!(
                "wipe-receipt {sid} {} @ {}",
                self.account.email, self.account.server
            ),
        }
    }
}

/// A keychain. Implementations block; callers go through [`Keychain`].
pub trait TokenStore: Send + Sync + 'static {
    /// A name for people: "Secret Service", "macOS Keychain", ...
    fn backend(&self) -> &str;
    /// `Ok(None)` when there is no such entry.
    fn read(&self, entry: &EntryName) -> Result<Option<RefreshToken>, KeychainError>;
    /// Creates or replaces the entry.
    fn write(&self, entry: &EntryName, token: &RefreshToken) -> Result<(), KeychainError>;
    /// Deleting an absent entry succeeds.
    fn delete(&self, entry: &EntryName) -> Result<(), KeychainError>;
}

/// Async, deadline-bound access to a [`TokenStore`].
#[derive(Clone)]
pub struct Keychain {
    store: Arc<dyn TokenStore>,
    timeout: Duration,
}

impl fmt::Debug for Keychain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keychain")
            .field("backend", &self.store.backend())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Keychain {
    /// The OS keychain of this platform.
    pub fn native() -> Self {
        Self::with_store(Arc::new(crate::native::NativeStore::new()))
    }

    pub fn with_store(store: Arc<dyn TokenStore>) -> Self {
        Self {
            store,
            timeout: DEFAULT_KEYCHAIN_TIMEOUT,
        }
    }

    /// Overrides the per-call deadline (kept below 5 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn backend(&self) -> String {
        self.store.backend().to_string()
    }

    pub async fn read(&self, entry: &EntryName) -> Result<Option<RefreshToken>, KeychainError> {
        let entry = entry.clone();
        self.run(move |s| s.read(&entry)).await
    }

    pub async fn write(
        &self,
        entry: &EntryName,
        token: &RefreshToken,
    ) -> Result<(), KeychainError> {
        let entry = entry.clone();
        let token = token.clone();
        self.run(move |s| s.write(&entry, &token)).await
    }

    pub async fn delete(&self, entry: &EntryName) -> Result<(), KeychainError> {
        let entry = entry.clone();
        self.run(move |s| s.delete(&entry)).await
    }

    /// Runs one blocking keychain call on the blocking pool with a deadline. On timeout
    /// the thread is left to finish on its own (it cannot be interrupted), and the caller
    /// gets an error at once.
    async fn run<T, F>(&self, f: F) -> Result<T, KeychainError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn TokenStore) -> Result<T, KeychainError> + Send + 'static,
    {
        let store = self.store.clone();
        let task = tokio::task::spawn_blocking(move || f(store.as_ref()));
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(KeychainError::Failed {
                backend: self.backend(),
                detail: format!("keychain call aborted: {join}"),
            }),
            Err(_) => {
                tracing::warn!(backend = %self.backend(), "keychain call timed out");
                Err(KeychainError::TimedOut {
                    backend: self.backend(),
                    after: self.timeout,
                })
            }
        }
    }
}

/// A keychain in memory, for unit tests only: it is compiled into test builds and
/// nowhere else, so no release build can ever keep a token outside the OS keychain.
#[cfg(test)]
pub(crate) mod memory {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    pub struct MemoryStore {
        entries: Mutex<HashMap<(String, String), String>>,
        /// When set, every call fails with this error.
        pub fail_with: Mutex<Option<KeychainError>>,
        /// When set, every call sleeps this long first (to simulate a hung keychain).
        pub delay: Mutex<Option<Duration>>,
    }

    impl MemoryStore {
        fn check(&self) -> Result<(), KeychainError> {
            let delay = *self.delay.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(d) = delay {
                std::thread::sleep(d);
            }
            match self
                .fail_with
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
            {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }

        pub fn get(&self, entry: &EntryName) -> Option<String> {
            self.entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&(entry.service().to_string(), entry.user()))
                .cloned()
        }
    }

    impl TokenStore for MemoryStore {
        fn backend(&self) -> &str {
            "memory (tests)"
        }
        fn read(&self, entry: &EntryName) -> Result<Option<RefreshToken>, KeychainError> {
            self.check()?;
            Ok(self.get(entry).map(RefreshToken::new))
        }
        fn write(&self, entry: &EntryName, token: &RefreshToken) -> Result<(), KeychainError> {
            self.check()?;
            self.entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(
                    (entry.service().to_string(), entry.user()),
                    token.expose().to_string(),
                );
            Ok(())
        }
        fn delete(&self, entry: &EntryName) -> Result<(), KeychainError> {
            self.check()?;
            self.entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&(entry.service().to_string(), entry.user()));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryStore;
    use super::*;

    #[tokio::test]
    async fn a_hung_keychain_is_reported_within_the_deadline() {
        let store = Arc::new(MemoryStore::default());
        *store.delay.lock().unwrap() = Some(Duration::from_secs(3));
        let kc = Keychain::with_store(store).with_timeout(Duration::from_millis(200));
        let start = std::time::Instant::now();
        let err = kc
            .read(&EntryName::active(&AccountKey::new("http://x", "a@x")))
            .await
            .unwrap_err();
        assert!(matches!(err, KeychainError::TimedOut { .. }));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn entries_of_different_accounts_and_servers_never_collide() {
        let a = EntryName::active(&AccountKey::new("https://one", "a@x"));
        let b = EntryName::active(&AccountKey::new("https://two", "a@x"));
        let c = EntryName::active(&AccountKey::new("https://one", "b@x"));
        let sid = SessionId::new();
        let p = EntryName::pending(&AccountKey::new("https://one", "a@x"), sid);
        let r = EntryName::receipt(&AccountKey::new("https://one", "a@x"), sid);
        let users = [a.user(), b.user(), c.user(), p.user(), r.user()];
        for (i, u) in users.iter().enumerate() {
            for v in &users[i + 1..] {
                assert_ne!(u, v);
            }
        }
        assert_eq!(a.service(), "session-manager");
    }
}
