//! Refresh tokens. A family is one login; each refresh replaces the token with a new one of the
//! same family. A token presented after it was used or revoked means it leaked: the whole family
//! is revoked, so both the thief and the member must log in again.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("rt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

async fn insert(
    conn: &mut PgConnection,
    user_id: Uuid,
    family_id: Uuid,
    ttl_secs: i64,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(family_id)
    .bind(digest(&token))
    .bind(ttl_secs as f64)
    .execute(conn)
    .await?;
    Ok(token)
}

/// Creates a refresh token for a new login (a new family) and returns it. Only its digest is stored.
pub async fn start(
    conn: &mut PgConnection,
    user_id: Uuid,
    ttl_secs: i64,
) -> Result<String, sqlx::Error> {
    insert(conn, user_id, Uuid::now_v7(), ttl_secs).await
}

pub enum Rotation {
    /// The new refresh token, for this user.
    Rotated { user_id: Uuid, token: String },
    /// Unknown or expired: just refuse.
    Invalid,
    /// A used or revoked token came back: the family has now been revoked.
    ReuseDetected { user_id: Uuid },
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    family_id: Uuid,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    used_at: Option<DateTime<Utc>>,
}

/// Exchanges a refresh token for a new one. The row lock makes two concurrent refreshes with the
/// same token end as one rotation and one reuse, never as two live tokens.
pub async fn rotate(
    pool: &PgPool,
    presented: &str,
    ttl_secs: i64,
) -> Result<Rotation, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT id, user_id, family_id, expires_at, revoked_at, used_at
           FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(digest(presented))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Rotation::Invalid);
    };
    if row.used_at.is_some() || row.revoked_at.is_some() {
        revoke_family(&mut tx, row.family_id, "reuse_detected").await?;
        tx.commit().await?;
        tracing::warn!(user_id = %row.user_id, family_id = %row.family_id, "refresh token reuse: family revoked");
        return Ok(Rotation::ReuseDetected {
            user_id: row.user_id,
        });
    }
    if row.expires_at <= Utc::now() {
        return Ok(Rotation::Invalid);
    }
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE id = $1")
        .bind(row.id)
        .execute(&mut *tx)
        .await?;
    let token = insert(&mut tx, row.user_id, row.family_id, ttl_secs).await?;
    tx.commit().await?;
    Ok(Rotation::Rotated {
        user_id: row.user_id,
        token,
    })
}

async fn revoke_family(
    conn: &mut PgConnection,
    family_id: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now(), revoke_reason = $2
          WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Logs out the session a refresh token belongs to. Returns the owner, if the token was known.
pub async fn revoke_session(pool: &PgPool, presented: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let row: Option<(Uuid, Uuid)> =
        sqlx::query_as("SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(digest(presented))
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((_, family_id)) = row {
        revoke_family(&mut tx, family_id, "logout").await?;
    }
    tx.commit().await?;
    Ok(row.map(|(user_id, _)| user_id))
}

/// Signs the user out everywhere (password change or reset, erasure).
pub async fn revoke_all(
    conn: &mut PgConnection,
    user_id: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now(), revoke_reason = $2
          WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SessionView {
    pub family_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub last_refreshed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One entry per login, for the data export.
pub async fn list(pool: &PgPool, user_id: Uuid) -> Result<Vec<SessionView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT family_id, min(created_at) AS started_at, max(created_at) AS last_refreshed_at,
                max(expires_at) AS expires_at, max(revoked_at) AS revoked_at
           FROM refresh_tokens WHERE user_id = $1
          GROUP BY family_id ORDER BY started_at",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
}
