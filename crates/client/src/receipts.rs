//! Wipe receipts: after this device erased the credential of a revoked session, it
//! tells the server so (`POST /v1/sessions/{id}/wipe-receipt` with the refresh token it
//! held, which proves it held it), and the account's other devices see "Keys erased
//! from this device at 14:02".
//!
//! A receipt is sent only once the keychain entry is gone: it states a fact. One that
//! cannot be sent (no network) waits like a pending revocation: the dead token in a
//! keychain entry of its own (`wipe-receipt <session> …`), listed in the config file,
//! sent at the next start or when the network returns. The server's 404 (nothing to
//! prove: an unknown or live session, a token it does not know) ends it too.

use std::time::Duration;

use chrono::Utc;
use proto::{RefreshToken, SessionId};

use crate::config::PendingReceipt;
use crate::error::{ClientError, Result};
use crate::http::{Api, Failure};
use crate::manager::Shared;
use crate::store::{AccountKey, EntryName};

/// How long a receipt sent right after a wipe may take before it is left for later.
pub(crate) const RECEIPT_TIMEOUT: Duration = Duration::from_secs(3);

impl Shared {
    /// Sends the receipt of a wipe that just happened (the entry holding `token` is
    /// already deleted); keeps it for later if the server cannot take it now.
    pub(crate) async fn receipt_after_wipe(
        &self,
        key: &AccountKey,
        session_id: SessionId,
        token: RefreshToken,
        timeout: Duration,
    ) {
        let api = Api::new(self.http.clone(), &key.server);
        let why = match send(&api, session_id, &token, timeout).await {
            Ok(()) => return,
            Err(e) => e.to_string(),
        };
        tracing::info!(session = %session_id, error = %why, "wipe receipt kept for later");
        let record = PendingReceipt {
            server: key.server.clone(),
            email: key.email.clone(),
            session_id,
            wiped_at: Utc::now(),
            attempts: 1,
            last_error: Some(why),
        };
        let entry = EntryName::receipt(key, session_id);
        if let Err(e) = self.keychain.write(&entry, &token).await {
            // The wipe stands; only the proof of it is lost.
            tracing::warn!(session = %session_id, error = %e, "could not keep a wipe receipt");
            return;
        }
        let listed = self
            .update_config(|c| {
                c.pending_receipts.retain(|p| p.session_id != session_id);
                c.pending_receipts.push(record);
            })
            .await;
        if let Err(e) = listed {
            tracing::warn!(error = %e, "could not list a pending wipe receipt");
            let _ = self.keychain.delete(&entry).await;
            return;
        }
        // A running program's worker takes it from here.
        self.pending_wake.notify_one();
    }

    /// One pass over the receipts still waiting; returns how many still wait.
    pub(crate) async fn retry_receipts(&self, timeout: Duration) -> usize {
        let _one_pass_at_a_time = self.receipts_lock.lock().await;
        let pending = match self.config.load() {
            Ok(c) => c.pending_receipts,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read pending wipe receipts");
                return 0;
            }
        };
        if pending.is_empty() {
            return 0;
        }
        let mut done: Vec<SessionId> = Vec::new();
        let mut failed: Vec<(SessionId, String)> = Vec::new();
        let mut unreachable: Vec<String> = Vec::new();
        for p in &pending {
            if unreachable.contains(&p.server) {
                failed.push((p.session_id, "server unreachable".into()));
                continue;
            }
            match self.send_pending(p, timeout).await {
                Ok(()) => done.push(p.session_id),
                Err(e) => {
                    if matches!(e, ClientError::Unreachable { .. }) {
                        unreachable.push(p.server.clone());
                    }
                    failed.push((p.session_id, e.to_string()));
                }
            }
        }
        let updated = self
            .update_config(|c| {
                c.pending_receipts.retain(|p| !done.contains(&p.session_id));
                for p in c.pending_receipts.iter_mut() {
                    if let Some((_, why)) = failed.iter().find(|(sid, _)| *sid == p.session_id) {
                        p.attempts = p.attempts.saturating_add(1);
                        p.last_error = Some(why.clone());
                    }
                }
                c.pending_receipts.len()
            })
            .await;
        match updated {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "cannot record pending wipe receipts");
                pending.len().saturating_sub(done.len())
            }
        }
    }

    async fn send_pending(&self, p: &PendingReceipt, timeout: Duration) -> Result<()> {
        let entry = EntryName::receipt(&p.key(), p.session_id);
        let Some(token) = self.keychain.read(&entry).await? else {
            // Nothing left to prove with (removed by hand): nothing to send.
            return Ok(());
        };
        let api = Api::new(self.http.clone(), &p.server);
        send(&api, p.session_id, &token, timeout).await?;
        self.keychain.delete(&entry).await?;
        Ok(())
    }
}

/// One receipt. Done on 204, and on 404: the server has nothing this token could
/// prove, and asking again would not change that (nor for a request it refuses as
/// malformed).
async fn send(
    api: &Api,
    session_id: SessionId,
    token: &RefreshToken,
    timeout: Duration,
) -> Result<()> {
    match api.wipe_receipt(session_id, token, timeout).await {
        Ok(()) => {
            tracing::info!(session = %session_id, "wipe receipt delivered");
            Ok(())
        }
        Err(Failure::Client(ClientError::NotFound)) => {
            tracing::info!(session = %session_id, "wipe receipt: nothing to prove");
            Ok(())
        }
        // Refused as malformed: sending the same again cannot succeed either.
        Err(Failure::Client(e @ ClientError::Validation { .. })) => {
            tracing::warn!(session = %session_id, error = %e, "wipe receipt refused; given up");
            Ok(())
        }
        Err(f) => Err(f.into_client()),
    }
}
