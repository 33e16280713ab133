//! The demo program for local runs. Only the fleet runner calls this; no production path does.

use sqlx::PgPool;

/// Partner shop orders stay pending for a 14-day return window; everything else is active at once.
pub async fn demo_program(pool: &PgPool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    crate::storage::program::set_pending_days(&mut conn, "order", 14).await?;
    Ok(())
}
