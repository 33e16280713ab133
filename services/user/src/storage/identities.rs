//! The `external_identities` table: which account an identity provider's member is.

use sqlx::PgConnection;
use uuid::Uuid;

/// The account tied to the provider's `subject`, if any.
pub async fn find_user(
    conn: &mut PgConnection,
    issuer: &str,
    subject: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT user_id FROM external_identities WHERE issuer = $1 AND subject = $2",
        issuer,
        subject,
    )
    .fetch_optional(conn)
    .await
}

/// Ties the provider's `subject` to `user_id`; a pair already tied stays as it is.
pub async fn link(
    conn: &mut PgConnection,
    issuer: &str,
    subject: &str,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO external_identities (issuer, subject, user_id) VALUES ($1, $2, $3)
         ON CONFLICT (issuer, subject) DO NOTHING",
        issuer,
        subject,
        user_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_for_user(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM external_identities WHERE user_id = $1",
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
