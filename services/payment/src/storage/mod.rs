//! The payment service's tables.

pub mod charges;
pub mod checkout_sessions;
pub mod jobs;
pub mod refunds;
pub mod withdrawals;

use sqlx::PgConnection;

/// Records a PSP webhook event as handled; `false` if it already was (a replay).
pub async fn record_webhook_event(
    conn: &mut PgConnection,
    psp: &str,
    event_id: &str,
    event_type: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO webhook_events (psp, event_id, event_type) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(psp)
    .bind(event_id)
    .bind(event_type)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}
