//! `audit_log`: staff actions on the program.

use sqlx::PgConnection;
use uuid::Uuid;

pub async fn record(
    conn: &mut PgConnection,
    actor: &str,
    action: &str,
    member_id: Option<Uuid>,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO audit_log (id, actor, action, member_id, detail) VALUES ($1, $2, $3, $4, $5)",
        Uuid::now_v7(),
        actor,
        action,
        member_id,
        detail,
    )
    .execute(conn)
    .await?;
    Ok(())
}
