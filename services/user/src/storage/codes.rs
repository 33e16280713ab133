//! One-time codes, stored as keyed hashes. Issuing a new code for a purpose voids the older ones.

use crate::domain::CodePurpose;
use sqlx::PgConnection;
use uuid::Uuid;

pub async fn issue(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: CodePurpose,
    code_hash: &[u8],
    ttl_secs: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE one_time_codes SET consumed_at = now()
          WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL",
        user_id,
        purpose.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO one_time_codes (id, user_id, purpose, code_hash, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        Uuid::now_v7(),
        user_id,
        purpose.as_str(),
        code_hash,
        ttl_secs as f64,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct OpenCode {
    pub id: Uuid,
    pub code_hash: Vec<u8>,
    pub attempts: i32,
}

/// The newest unexpired, unused code for `purpose`, locked so one code is used once even when
/// submitted twice at the same moment.
pub async fn lock_open(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: CodePurpose,
) -> Result<Option<OpenCode>, sqlx::Error> {
    sqlx::query_as!(
        OpenCode,
        "SELECT id, code_hash, attempts FROM one_time_codes
          WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > now()
          ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
        user_id,
        purpose.as_str(),
    )
    .fetch_optional(conn)
    .await
}

pub async fn consume(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE one_time_codes SET consumed_at = now() WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn count_wrong_guess(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_for_user(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM one_time_codes WHERE user_id = $1", user_id)
        .execute(conn)
        .await?;
    Ok(())
}
