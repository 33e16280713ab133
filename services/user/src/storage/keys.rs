use anyhow::Context;
use auth::SigningKey;
use sqlx::PgPool;

/// Retired keys stay published this long, longer than any access token lives.
const RETIRED_KEY_GRACE: &str = "1 day";

/// The published keys, newest first; the first one signs. Creates a key on first start.
pub async fn load_or_create(pool: &PgPool) -> anyhow::Result<Vec<SigningKey>> {
    let mut keys = load(pool).await?;
    if keys.is_empty() {
        let key = SigningKey::generate()?;
        // Two instances starting together may both generate one; both are kept and published.
        sqlx::query("INSERT INTO signing_keys (kid, private_key) VALUES ($1, $2)")
            .bind(&key.kid)
            .bind(key.pkcs8())
            .execute(pool)
            .await
            .context("storing the first signing key")?;
        keys = load(pool).await?;
    }
    Ok(keys)
}

async fn load(pool: &PgPool) -> anyhow::Result<Vec<SigningKey>> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(&format!(
        "SELECT kid, private_key FROM signing_keys
          WHERE retired_at IS NULL OR retired_at > now() - interval '{RETIRED_KEY_GRACE}'
          ORDER BY retired_at IS NULL DESC, created_at DESC"
    ))
    .fetch_all(pool)
    .await
    .context("loading signing keys")?;
    rows.iter()
        .map(|(kid, pkcs8)| SigningKey::from_pkcs8(kid, pkcs8))
        .collect()
}
