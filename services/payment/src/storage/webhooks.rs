use sqlx::PgConnection;

/// Records a PSP webhook event as handled; `false` if it already was (a replay). The primary
/// key `(psp, event_id)` decides.
pub async fn record_event(
    conn: &mut PgConnection,
    psp: &str,
    event_id: &str,
    event_type: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO webhook_events (psp, event_id, event_type) VALUES ($1, $2, $3)
         ON CONFLICT (psp, event_id) DO NOTHING",
        psp,
        event_id,
        event_type,
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}
