//! The server's signing keys: created on first start, kept in the database, rotated
//! with `session-server keys rotate`. A retired key's public half stays published until
//! every token it signed has expired.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use proto::discovery::JwkSet;
use token::{KeySet, SigningKey};

use crate::seal::{SealError, Sealer};
use crate::store::{Store, StoreError};
use crate::time::Millis;

/// How often each instance re-reads the keys, to follow a rotation made elsewhere.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored signing key is unusable: {0}")]
    Bad(#[from] token::KeyError),
    #[error("no signing key in the database")]
    None,
    #[error("a stored signing key cannot be opened: {0}")]
    Sealed(#[from] SealError),
}

#[derive(Debug)]
pub struct KeyState {
    pub current: SigningKey,
    /// Every key whose tokens may still be alive: verification and the JWKS.
    pub verify: KeySet,
    pub jwks: JwkSet,
}

/// The keys in use, swapped whole when they are reloaded.
#[derive(Clone, Debug)]
pub struct Keys {
    state: Arc<RwLock<Arc<KeyState>>>,
    /// How long a retired key stays published.
    publish_after_retire: Duration,
    sealer: Sealer,
}

impl Keys {
    /// Loads the keys, creating the first one if the database has none.
    pub async fn load_or_create(
        store: &Store,
        sealer: Sealer,
        access_ttl: Duration,
    ) -> Result<Self, KeysError> {
        if store.signing_keys().await?.is_empty() {
            let key = SigningKey::generate();
            store
                .add_first_signing_key(key.kid(), &sealed_seed(&sealer, &key), Millis::now())
                .await?;
            tracing::info!(kid = key.kid(), "created the first signing key");
        }
        // A token signed just before an instance noticed the rotation lives access_ttl
        // after that: keep the old key published that long past the reload interval.
        let publish_after_retire = access_ttl + 2 * RELOAD_EVERY + Duration::from_secs(60);
        let state = load(store, &sealer, publish_after_retire).await?;
        Ok(Self {
            state: Arc::new(RwLock::new(Arc::new(state))),
            publish_after_retire,
            sealer,
        })
    }

    pub fn current(&self) -> Arc<KeyState> {
        match self.state.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub async fn reload(&self, store: &Store) -> Result<(), KeysError> {
        let fresh = load(store, &self.sealer, self.publish_after_retire).await?;
        let changed = fresh.current.kid() != self.current().current.kid();
        if changed {
            tracing::info!(kid = fresh.current.kid(), "now signing with a new key");
        }
        match self.state.write() {
            Ok(mut s) => *s = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        Ok(())
    }
}

/// What the database keeps of a key: its seed, sealed under the KEK if there is one,
/// bound to its key id.
fn sealed_seed(sealer: &Sealer, key: &SigningKey) -> Vec<u8> {
    sealer.seal(key.kid().as_bytes(), &key.secret_bytes()[..])
}

async fn load(
    store: &Store,
    sealer: &Sealer,
    publish_after_retire: Duration,
) -> Result<KeyState, KeysError> {
    let now = Millis::now();
    let stored = store.signing_keys().await?;
    let mut verify = KeySet::new();
    let mut current = None;
    for k in stored.iter().filter(|k| k.removed_at.is_none()) {
        let seed = sealer.open(k.kid.as_bytes(), &k.secret)?;
        let key = SigningKey::from_secret_bytes(&seed)?;
        if sealer.has_kek() && !Sealer::is_sealed(&k.secret) {
            // Stored before a KEK was configured: seal it now.
            store
                .reseal_signing_key(&k.kid, &sealed_seed(sealer, &key))
                .await?;
            tracing::info!(kid = %k.kid, "sealed a signing key stored in the clear");
        }
        match k.retired_at {
            None => {
                // Several unretired keys can only come from racing first starts; the
                // newest signs, all verify.
                verify.insert_signing_key(&key);
                current = Some(key);
            }
            Some(retired) if retired.plus(publish_after_retire) > now => {
                verify.insert_signing_key(&key);
            }
            Some(_) => {}
        }
    }
    let current = current.ok_or(KeysError::None)?;
    let jwks = verify.to_jwks();
    Ok(KeyState {
        current,
        verify,
        jwks,
    })
}

/// `session-server keys rotate`: a new current key; the old one retires.
pub async fn rotate(store: &Store, sealer: &Sealer) -> Result<SigningKey, KeysError> {
    let key = SigningKey::generate();
    store
        .add_signing_key(key.kid(), &sealed_seed(sealer, &key), Millis::now())
        .await?;
    Ok(key)
}

/// What removing a key did.
#[derive(Debug, Clone)]
pub struct Removal {
    /// The new current key, if the removed one was current.
    pub replacement: Option<String>,
}

/// `session-server keys retire <kid>`: a compromised key is removed at once; if it was
/// the current one, a new key replaces it. `None` if there is no such key.
pub async fn remove(
    store: &Store,
    sealer: &Sealer,
    kid: &str,
    feed_expires_at: Millis,
) -> Result<Option<Removal>, KeysError> {
    let replacement = SigningKey::generate();
    let removed = store
        .remove_signing_key(
            kid,
            (replacement.kid(), &sealed_seed(sealer, &replacement)),
            Millis::now(),
            feed_expires_at,
        )
        .await?;
    Ok(removed.map(|replaced| Removal {
        replacement: replaced.then(|| replacement.kid().to_owned()),
    }))
}
