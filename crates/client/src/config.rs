//! The small non-secret config file: which servers and accounts this device is signed
//! in to, their session ids and device names, and which logouts still wait for the
//! server. Never a token: those live only in the keychain.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use proto::SessionId;
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};
use crate::store::AccountKey;

/// One signed-in account on one server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub server: String,
    pub email: String,
    pub session_id: SessionId,
    pub device_name: String,
    pub signed_in_at: DateTime<Utc>,
}

impl AccountRecord {
    pub fn key(&self) -> AccountKey {
        AccountKey::new(&self.server, &self.email)
    }
}

/// A logout whose refresh token still waits in the keychain for the server to
/// confirm its revocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRevocation {
    pub server: String,
    pub email: String,
    pub session_id: SessionId,
    pub since: DateTime<Utc>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl PendingRevocation {
    pub fn key(&self) -> AccountKey {
        AccountKey::new(&self.server, &self.email)
    }
}

/// A revoked session whose keychain entry this device erased, and whose wipe receipt
/// (`POST /v1/sessions/{id}/wipe-receipt`) has not reached the server yet. The dead
/// refresh token it proves with waits in the keychain, never here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReceipt {
    pub server: String,
    pub email: String,
    pub session_id: SessionId,
    /// When the entry was erased.
    pub wiped_at: DateTime<Utc>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl PendingReceipt {
    pub fn key(&self) -> AccountKey {
        AccountKey::new(&self.server, &self.email)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigData {
    /// The account commands use when none is named: the last one signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<AccountKey>,
    /// The server last used, remembered across sign-outs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_email: Option<String>,
    #[serde(default)]
    pub accounts: Vec<AccountRecord>,
    #[serde(default)]
    pub pending_revocations: Vec<PendingRevocation>,
    /// Absent from files written before wipe receipts existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_receipts: Vec<PendingReceipt>,
}

impl ConfigData {
    pub fn account(&self, key: &AccountKey) -> Option<&AccountRecord> {
        self.accounts
            .iter()
            .find(|a| a.server == key.server && a.email == key.email)
    }

    pub fn upsert_account(&mut self, record: AccountRecord) {
        let key = record.key();
        self.accounts.retain(|a| a.key() != key);
        self.last_server = Some(record.server.clone());
        self.last_email = Some(record.email.clone());
        self.accounts.push(record);
        self.current = Some(key);
    }

    pub fn remove_account(&mut self, key: &AccountKey) {
        self.accounts.retain(|a| &a.key() != key);
        if self.current.as_ref() == Some(key) {
            self.current = self.accounts.last().map(AccountRecord::key);
        }
    }

    /// The account to use on `server` (or on the current server): the current one if
    /// it matches, else the last signed in there.
    pub fn pick(&self, server: Option<&str>) -> Option<&AccountRecord> {
        if let Some(cur) = &self.current
            && server.is_none_or(|s| s == cur.server)
            && let Some(a) = self.account(cur)
        {
            return Some(a);
        }
        self.accounts
            .iter()
            .rev()
            .find(|a| server.is_none_or(|s| s == a.server))
    }
}

/// The config file on disk. Written atomically (temp file + rename), owner-only.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    pub const FILE_NAME: &'static str = "config.json";

    /// `<dir>/config.json`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            path: dir.into().join(Self::FILE_NAME),
        }
    }

    /// The user's config dir: `$XDG_CONFIG_HOME/session-manager` (or `~/.config/...`) on
    /// Linux, `~/Library/Application Support/session-manager` on macOS, `%APPDATA%` on Windows.
    pub fn default_dir() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("session-manager"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, message: impl ToString) -> ClientError {
        ClientError::Config {
            path: self.path.display().to_string(),
            message: message.to_string(),
        }
    }

    pub fn load(&self) -> Result<ConfigData> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| self.err(e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigData::default()),
            Err(e) => Err(self.err(e)),
        }
    }

    pub fn save(&self, data: &ConfigData) -> Result<()> {
        let dir = self
            .path
            .parent()
            .ok_or_else(|| self.err("no parent directory"))?;
        std::fs::create_dir_all(dir).map_err(|e| self.err(e))?;
        let json = serde_json::to_vec_pretty(data).map_err(|e| self.err(e))?;
        let tmp = self
            .path
            .with_extension(format!("json.{}.tmp", std::process::id()));
        write_private(&tmp, &json).map_err(|e| self.err(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.err(e))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(server: &str, email: &str) -> AccountRecord {
        AccountRecord {
            server: server.into(),
            email: email.into(),
            session_id: SessionId::new(),
            device_name: "laptop".into(),
            signed_in_at: Utc::now(),
        }
    }

    #[test]
    fn several_accounts_and_servers_side_by_side() {
        let mut c = ConfigData::default();
        c.upsert_account(record("https://a", "x@a"));
        c.upsert_account(record("https://b", "y@b"));
        c.upsert_account(record("https://a", "z@a"));
        assert_eq!(c.pick(None).unwrap().email, "z@a");
        assert_eq!(c.pick(Some("https://b")).unwrap().email, "y@b");
        c.remove_account(&AccountKey::new("https://a", "z@a"));
        assert_eq!(c.pick(Some("https://a")).unwrap().email, "x@a");
        assert!(c.pick(Some("https://c")).is_none());
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = ConfigFile::in_dir(dir.path().join("session-manager"));
        assert_eq!(f.load().unwrap(), ConfigData::default());
        let mut c = ConfigData::default();
        c.upsert_account(record("https://a", "x@a"));
        f.save(&c).unwrap();
        assert_eq!(f.load().unwrap(), c);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(f.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
    }

    #[test]
    fn a_broken_file_is_a_clear_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let f = ConfigFile::in_dir(dir.path());
        std::fs::write(f.path(), b"{not json").unwrap();
        assert_eq!(f.load().unwrap_err().code(), "config_error");
    }
}
