//! What a consumer has applied, as its inbox records it: the answer a reconciliation needs to
//! find events a producer published and a consumer never applied.

use sqlx::PgConnection;
use uuid::Uuid;

/// Which of `event_ids` the consumer `consumer` has applied (or dropped on purpose, e.g. about
/// an erased member: the inbox records those too).
pub async fn applied(
    conn: &mut PgConnection,
    consumer: &str,
    event_ids: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT event_id FROM inbox WHERE consumer = $1 AND event_id = ANY($2)")
        .bind(consumer)
        .bind(event_ids)
        .fetch_all(conn)
        .await
}
