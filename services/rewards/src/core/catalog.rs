//! Managing and browsing the catalog.

use crate::domain::NewReward;
use crate::storage::catalog::{self, CatalogItem};
use platform::ApiError;
use sqlx::PgPool;
use uuid::Uuid;

/// The active rewards, cheapest first.
pub async fn list_active(pool: &PgPool) -> Result<Vec<CatalogItem>, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(catalog::list_active(&mut conn).await?)
}

/// Adds a reward that passed the catalog rules.
pub async fn add_reward(pool: &PgPool, reward: &NewReward) -> Result<CatalogItem, ApiError> {
    let mut conn = pool.acquire().await?;
    let item = catalog::insert(&mut conn, Uuid::now_v7(), reward).await?;
    tracing::info!(reward_id = %item.id, points_cost = item.points_cost, "reward added to the catalog");
    Ok(item)
}
