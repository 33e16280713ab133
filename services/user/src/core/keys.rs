//! Token signing keys. The newest key whose `not_before` has passed signs; every key not yet
//! retired is published in the JWKS, so verifiers learn a new key before it is used and keep
//! the old one until the tokens it signed have expired.

use crate::storage;
use anyhow::Context as _;
use auth::{Jwks, SigningKey};
use sqlx::PgPool;
use std::sync::{Arc, RwLock};

/// How long a replaced key stays published after the new one starts signing: longer than any
/// access token lives.
const RETIRED_KEY_GRACE_SECS: i64 = 24 * 3600;

pub struct LoadedKeys {
    /// Signs new tokens.
    pub signer: SigningKey,
    /// Everything to publish, the signer included.
    pub published: Vec<SigningKey>,
}

/// The keys this instance signs with and publishes, reloaded from the database periodically.
pub struct KeyRing {
    current: RwLock<Arc<LoadedKeys>>,
}

impl KeyRing {
    pub fn new(keys: LoadedKeys) -> Self {
        Self {
            current: RwLock::new(Arc::new(keys)),
        }
    }

    /// Loads the keys; creates the first one on first start.
    pub async fn load_or_create(pool: &PgPool) -> anyhow::Result<Self> {
        if let Some(keys) = load(pool).await? {
            return Ok(Self::new(keys));
        }
        let key = SigningKey::generate()?;
        // Two instances starting together may both generate one; both are kept and published.
        let mut conn = pool.acquire().await?;
        storage::keys::insert(&mut conn, &key.kid, key.pkcs8(), 0)
            .await
            .context("storing the first signing key")?;
        let keys = load(pool)
            .await?
            .context("the signing key just stored is not there")?;
        Ok(Self::new(keys))
    }

    fn snapshot(&self) -> Arc<LoadedKeys> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn signer(&self) -> Signer {
        Signer(self.snapshot())
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .snapshot()
                .published
                .iter()
                .map(SigningKey::jwk)
                .collect(),
        }
    }

    /// Reloads the keys; returns the new JWKS.
    pub async fn reload(&self, pool: &PgPool) -> anyhow::Result<Jwks> {
        if let Some(keys) = load(pool).await? {
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
        }
        Ok(self.jwks())
    }
}

/// The key that signs right now (kept alive while a token is being signed).
pub struct Signer(Arc<LoadedKeys>);

impl std::ops::Deref for Signer {
    type Target = SigningKey;
    fn deref(&self) -> &SigningKey {
        &self.0.signer
    }
}

async fn load(pool: &PgPool) -> anyhow::Result<Option<LoadedKeys>> {
    let mut conn = pool.acquire().await?;
    let rows = storage::keys::unretired(&mut conn)
        .await
        .context("loading signing keys")?;
    let mut published = Vec::with_capacity(rows.len());
    let mut signer = None;
    for row in &rows {
        if row.active && signer.is_none() {
            signer = Some(SigningKey::from_pkcs8(&row.kid, &row.private_key)?);
        }
        published.push(SigningKey::from_pkcs8(&row.kid, &row.private_key)?);
    }
    Ok(signer.map(|signer| LoadedKeys { signer, published }))
}

/// Adds a key that starts signing after `activate_after_secs` and schedules the retirement of
/// the keys it replaces. Returns the new key id.
pub async fn rotate(pool: &PgPool, activate_after_secs: i64) -> anyhow::Result<String> {
    let key = SigningKey::generate()?;
    let mut tx = pool.begin().await?;
    storage::keys::retire_current(&mut tx, activate_after_secs + RETIRED_KEY_GRACE_SECS).await?;
    storage::keys::insert(&mut tx, &key.kid, key.pkcs8(), activate_after_secs).await?;
    tx.commit().await?;
    Ok(key.kid.clone())
}
