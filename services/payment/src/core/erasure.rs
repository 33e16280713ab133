//! A member's erasure (`user.erased`).

use crate::storage::charges;
use sqlx::PgConnection;
use uuid::Uuid;

/// Erased members keep their payment records (the law requires them) without the free text
/// they wrote. Runs in the consumer's transaction, with the event's inbox record.
pub async fn erase_member(conn: &mut PgConnection, member_id: Uuid) -> Result<u64, sqlx::Error> {
    let erased = charges::erase_member(conn, member_id).await?;
    tracing::info!(%member_id, charges = erased, "member's payment descriptions erased");
    Ok(erased)
}
