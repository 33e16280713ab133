//! Reading the back office's view of members and the program.

use crate::storage::activity::{self, MemberActivity, ProgramTotals};
use platform::ApiError;
use sqlx::PgPool;
use uuid::Uuid;

/// A member's activity; 404 if no event about them has been seen.
pub async fn member_activity(pool: &PgPool, member_id: Uuid) -> Result<MemberActivity, ApiError> {
    let mut conn = pool.acquire().await?;
    activity::find(&mut conn, member_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no activity is known for this member".into()))
}

pub async fn program_totals(pool: &PgPool) -> Result<ProgramTotals, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(activity::program_totals(&mut conn).await?)
}
