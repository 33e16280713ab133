//! The rewards read model: what each reward event adds, and the figures staff read.

use crate::storage::rewards::{self, RewardCounts, RewardDay, TopReward};
use chrono::{Duration, Utc};
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Applies one reward event, in the consumer's transaction.
pub async fn record(conn: &mut PgConnection, counts: &RewardCounts) -> Result<(), sqlx::Error> {
    rewards::add(conn, counts).await
}

pub struct RewardStats {
    pub top: Vec<TopReward>,
    pub per_day: Vec<RewardDay>,
}

/// A business's top rewards and redemptions per day over the last `days` days (today included).
pub async fn stats(
    pool: &PgPool,
    business_id: Uuid,
    days: i64,
    top: i64,
) -> Result<RewardStats, ApiError> {
    let since = (Utc::now() - Duration::days(days - 1)).date_naive();
    let mut conn = pool.acquire().await?;
    Ok(RewardStats {
        top: rewards::top(&mut conn, business_id, since, top).await?,
        per_day: rewards::per_day(&mut conn, business_id, since).await?,
    })
}
