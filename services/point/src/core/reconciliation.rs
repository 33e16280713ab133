//! The consumer's side of reconciliation: which events this service has applied, so the
//! reconciler can find an event a producer published and this service never applied.

use sqlx::PgPool;
use uuid::Uuid;

/// Which of `event_ids` this service's consumer has applied.
pub async fn applied(pool: &PgPool, event_ids: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    events::inbox::applied(&mut conn, crate::SERVICE, event_ids).await
}
