//! The OS keychain through the `keyring-core` family, one store crate per target,
//! chosen at compile time: Secret Service (D-Bus, via zbus, pure Rust) on Linux and
//! the BSDs, Keychain Services on macOS, Credential Manager on Windows.

use std::sync::{Arc, Mutex};

use keyring_core::{CredentialStore, Entry, Error as KrError};
use proto::RefreshToken;

use crate::error::KeychainError;
use crate::store::{EntryName, TokenStore};

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
const BACKEND: &str = "Secret Service keyring";
#[cfg(target_os = "macos")]
const BACKEND: &str = "macOS Keychain";
#[cfg(target_os = "windows")]
const BACKEND: &str = "Windows Credential Manager";
#[cfg(not(any(unix, windows)))]
const BACKEND: &str = "OS keychain";

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn open_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn open_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "windows")]
fn open_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(
    all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ),
    target_os = "macos",
    target_os = "windows"
)))]
fn open_store() -> keyring_core::Result<Arc<CredentialStore>> {
    // No secure store on this target, and a plain-text one is never an option.
    Err(KrError::NotSupportedByStore(
        "no OS keychain on this platform".into(),
    ))
}

/// The platform keychain. The connection is opened on first use (inside the blocking
/// pool, under the caller's deadline) and reopened after a failure, so a keyring
/// daemon that starts later, or restarts, is picked up.
pub struct NativeStore {
    store: Mutex<Option<Arc<CredentialStore>>>,
}

impl NativeStore {
    pub fn new() -> Self {
        Self {
            store: Mutex::new(None),
        }
    }

    fn entry(&self, name: &EntryName) -> Result<Entry, KeychainError> {
        let store = {
            let mut guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
            match guard.as_ref() {
                Some(s) => s.clone(),
                None => {
                    let s = open_store().map_err(|e| KeychainError::Unavailable {
                        backend: BACKEND.into(),
                        detail: describe(&e),
                    })?;
                    *guard = Some(s.clone());
                    s
                }
            }
        };
        Entry::new_in_store(&store, name.service(), &name.user()).map_err(|e| self.map(e))
    }

    /// Classifies an error, and drops the connection when it looks broken.
    fn map(&self, e: KrError) -> KeychainError {
        let detail = describe(&e);
        match e {
            KrError::NoStorageAccess(_) => KeychainError::Locked {
                backend: BACKEND.into(),
                detail,
            },
            KrError::PlatformFailure(_) | KrError::NoDefaultStore => {
                *self.store.lock().unwrap_or_else(|p| p.into_inner()) = None;
                if looks_absent(&detail) {
                    KeychainError::Unavailable {
                        backend: BACKEND.into(),
                        detail,
                    }
                } else {
                    KeychainError::Failed {
                        backend: BACKEND.into(),
                        detail,
                    }
                }
            }
            _ => KeychainError::Failed {
                backend: BACKEND.into(),
                detail,
            },
        }
    }
}

impl Default for NativeStore {
    fn default() -> Self {
        Self::new()
    }
}

/// The error text of the store, which never contains the secret itself.
fn describe(e: &KrError) -> String {
    match e {
        // Ambiguous lists entries; keep it short.
        KrError::Ambiguous(v) => format!("{} matching entries", v.len()),
        other => other.to_string(),
    }
}

/// D-Bus answers for "nobody provides org.freedesktop.secrets" and "no bus at all".
fn looks_absent(detail: &str) -> bool {
    [
        "ServiceUnknown",
        "NameHasNoOwner",
        "not provided by any",
        "DBUS_SESSION_BUS_ADDRESS",
        "No such file or directory",
        "Connection refused",
        "Address",
    ]
    .iter()
    .any(|needle| detail.contains(needle))
}

impl TokenStore for NativeStore {
    fn backend(&self) -> &str {
        BACKEND
    }

    fn read(&self, name: &EntryName) -> Result<Option<RefreshToken>, KeychainError> {
        let entry = self.entry(name)?;
        match entry.get_password() {
            Ok(s) => Ok(Some(RefreshToken::new(s))),
            Err(KrError::NoEntry) => Ok(None),
            Err(e) => Err(self.map(e)),
        }
    }

    fn write(&self, name: &EntryName, token: &RefreshToken) -> Result<(), KeychainError> {
        let entry = self.entry(name)?;
        entry.set_password(token.expose()).map_err(|e| self.map(e))
    }

    fn delete(&self, name: &EntryName) -> Result<(), KeychainError> {
        let entry = self.entry(name)?;
        match entry.delete_credential() {
            Ok(()) | Err(KrError::NoEntry) => Ok(()),
            Err(e) => Err(self.map(e)),
        }
    }
}
