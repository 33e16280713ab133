//! Refresh tokens, stored as digests. See `domain::sessions` for the rules.

use crate::domain::sessions::{RevokeReason, SessionSummary};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub async fn insert(
    conn: &mut PgConnection,
    user_id: Uuid,
    family_id: Uuid,
    token_digest: &str,
    ttl_secs: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        Uuid::now_v7(),
        user_id,
        family_id,
        token_digest,
        ttl_secs as f64,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct TokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
}

/// The token with this digest, locked until the transaction ends, so two concurrent refreshes
/// with one token end as one rotation and one reuse, never as two live tokens.
pub async fn lock(
    conn: &mut PgConnection,
    token_digest: &str,
) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as!(
        TokenRow,
        "SELECT id, user_id, family_id, expires_at, revoked_at, used_at
           FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        token_digest,
    )
    .fetch_optional(conn)
    .await
}

pub async fn mark_used(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE refresh_tokens SET used_at = now() WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The login (family) a token belongs to, if the token is known.
pub async fn family_of(
    conn: &mut PgConnection,
    token_digest: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT family_id FROM refresh_tokens WHERE token_hash = $1",
        token_digest,
    )
    .fetch_optional(conn)
    .await
}

pub async fn revoke_family(
    conn: &mut PgConnection,
    family_id: Uuid,
    reason: RevokeReason,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now(), revoke_reason = $2
          WHERE family_id = $1 AND revoked_at IS NULL",
        family_id,
        reason.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Signs the user out everywhere (password change or reset, erasure); returns the logins
/// (families) that were still live.
pub async fn revoke_all(
    conn: &mut PgConnection,
    user_id: Uuid,
    reason: RevokeReason,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut families = sqlx::query_scalar!(
        "UPDATE refresh_tokens SET revoked_at = now(), revoke_reason = $2
          WHERE user_id = $1 AND revoked_at IS NULL
          RETURNING family_id",
        user_id,
        reason.as_str(),
    )
    .fetch_all(conn)
    .await?;
    families.sort_unstable();
    families.dedup();
    Ok(families)
}

/// One entry per login, oldest first, for the data export.
pub async fn summaries(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<SessionSummary>, sqlx::Error> {
    sqlx::query_as!(
        SessionSummary,
        r#"SELECT family_id, min(created_at) AS "started_at!", max(created_at) AS "last_refreshed_at!",
                  max(expires_at) AS "expires_at!", max(revoked_at) AS revoked_at
             FROM refresh_tokens WHERE user_id = $1
            GROUP BY family_id ORDER BY min(created_at)"#,
        user_id,
    )
    .fetch_all(conn)
    .await
}
