//! Token signing keys. See `core::keys` for which key signs and which are published.

use sqlx::PgConnection;

pub struct KeyRow {
    pub kid: String,
    pub private_key: Vec<u8>,
    /// Its `not_before` has passed: it may sign.
    pub active: bool,
}

/// Every key not yet retired, the one that should sign first.
pub async fn unretired(conn: &mut PgConnection) -> Result<Vec<KeyRow>, sqlx::Error> {
    sqlx::query_as!(
        KeyRow,
        r#"SELECT kid, private_key, not_before <= now() AS "active!" FROM signing_keys
            WHERE retired_at IS NULL OR retired_at > now()
            ORDER BY not_before DESC, created_at DESC"#,
    )
    .fetch_all(conn)
    .await
}

/// Stores a key that may sign after `activate_after_secs`.
pub async fn insert(
    conn: &mut PgConnection,
    kid: &str,
    pkcs8: &[u8],
    activate_after_secs: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO signing_keys (kid, private_key, not_before)
         VALUES ($1, $2, now() + make_interval(secs => $3))",
        kid,
        pkcs8,
        activate_after_secs as f64,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Schedules the retirement of every key not yet scheduled, `after_secs` from now.
pub async fn retire_current(conn: &mut PgConnection, after_secs: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE signing_keys SET retired_at = now() + make_interval(secs => $1)
          WHERE retired_at IS NULL",
        after_secs as f64,
    )
    .execute(conn)
    .await?;
    Ok(())
}
