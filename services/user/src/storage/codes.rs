//! One-time codes, stored as keyed hashes. Issuing a new code for a purpose voids the older ones.

use crate::domain::{CodePurpose, PiiCipher};
use sqlx::PgConnection;
use uuid::Uuid;

pub async fn issue(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    user_id: Uuid,
    purpose: CodePurpose,
    code: &str,
    ttl_secs: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE one_time_codes SET consumed_at = now()
          WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO one_time_codes (id, user_id, purpose, code_hash, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(pii.code_hash(user_id, purpose.as_str(), code))
    .bind(ttl_secs as f64)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    Wrong,
    /// Expired, used, never issued, or out of guesses.
    Unusable,
}

/// Checks a code and, if it is right, consumes it, all under a row lock so one code is used
/// once even when submitted twice at the same moment. A wrong guess counts against the code.
pub async fn consume(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    user_id: Uuid,
    purpose: CodePurpose,
    code: &str,
    max_attempts: i32,
) -> Result<CodeCheck, sqlx::Error> {
    let row: Option<(Uuid, Vec<u8>, i32)> = sqlx::query_as(
        "SELECT id, code_hash, attempts FROM one_time_codes
          WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > now()
          ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, expected, attempts)) = row else {
        return Ok(CodeCheck::Unusable);
    };
    if attempts >= max_attempts {
        return Ok(CodeCheck::Unusable);
    }
    let presented = pii.code_hash(user_id, purpose.as_str(), code);
    if same_digest(&presented, &expected) {
        sqlx::query("UPDATE one_time_codes SET consumed_at = now() WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await?;
        Ok(CodeCheck::Accepted)
    } else {
        sqlx::query("UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await?;
        Ok(CodeCheck::Wrong)
    }
}

/// Compares two digests in time that does not depend on where they differ.
fn same_digest(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
