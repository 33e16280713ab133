//! Where each staff account works: `staff_positions`.

use crate::domain::StaffPosition;
use sqlx::PgConnection;
use uuid::Uuid;

pub async fn insert(
    conn: &mut PgConnection,
    user_id: Uuid,
    position: &StaffPosition,
    granted_by: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO staff_positions (user_id, business_id, store_ids, granted_by)
         VALUES ($1, $2, $3, $4)",
        user_id,
        position.business_id,
        &position.store_ids,
        granted_by,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<StaffPosition>, sqlx::Error> {
    sqlx::query_as!(
        StaffPosition,
        "SELECT business_id, store_ids FROM staff_positions WHERE user_id = $1",
        user_id,
    )
    .fetch_optional(conn)
    .await
}
