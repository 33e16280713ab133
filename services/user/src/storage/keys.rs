//! Token signing keys. The newest key whose `not_before` has passed signs; every key not yet
//! retired is published in the JWKS, so verifiers learn a new key before it is used and keep
//! the old one until the tokens it signed have expired.

use anyhow::Context;
use auth::SigningKey;
use sqlx::PgPool;

/// How long a replaced key stays published after the new one starts signing: longer than any
/// access token lives.
const RETIRED_KEY_GRACE_SECS: i64 = 24 * 3600;

pub struct LoadedKeys {
    /// Signs new tokens.
    pub signer: SigningKey,
    /// Everything to publish, the signer included.
    pub published: Vec<SigningKey>,
}

/// Loads the keys; creates the first one on first start.
pub async fn load_or_create(pool: &PgPool) -> anyhow::Result<LoadedKeys> {
    if let Some(keys) = load(pool).await? {
        return Ok(keys);
    }
    let key = SigningKey::generate()?;
    // Two instances starting together may both generate one; both are kept and published.
    sqlx::query("INSERT INTO signing_keys (kid, private_key) VALUES ($1, $2)")
        .bind(&key.kid)
        .bind(key.pkcs8())
        .execute(pool)
        .await
        .context("storing the first signing key")?;
    load(pool)
        .await?
        .context("the signing key just stored is not there")
}

pub async fn load(pool: &PgPool) -> anyhow::Result<Option<LoadedKeys>> {
    let rows: Vec<(String, Vec<u8>, bool)> = sqlx::query_as(
        "SELECT kid, private_key, not_before <= now() AS active FROM signing_keys
          WHERE retired_at IS NULL OR retired_at > now()
          ORDER BY not_before DESC, created_at DESC",
    )
    .fetch_all(pool)
    .await
    .context("loading signing keys")?;
    let mut published = Vec::with_capacity(rows.len());
    let mut signer = None;
    for (kid, pkcs8, active) in &rows {
        if *active && signer.is_none() {
            signer = Some(SigningKey::from_pkcs8(kid, pkcs8)?);
        }
        published.push(SigningKey::from_pkcs8(kid, pkcs8)?);
    }
    Ok(signer.map(|signer| LoadedKeys { signer, published }))
}

/// Adds a key that starts signing after `activate_after_secs` and schedules the retirement of
/// the keys it replaces. Returns the new key id.
pub async fn rotate(pool: &PgPool, activate_after_secs: i64) -> anyhow::Result<String> {
    let key = SigningKey::generate()?;
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE signing_keys SET retired_at = now() + make_interval(secs => $1)
          WHERE retired_at IS NULL",
    )
    .bind((activate_after_secs + RETIRED_KEY_GRACE_SECS) as f64)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO signing_keys (kid, private_key, not_before)
         VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(&key.kid)
    .bind(key.pkcs8())
    .bind(activate_after_secs as f64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(key.kid.clone())
}
