//! Managing and browsing the catalog.

use crate::domain::NewReward;
use crate::storage::catalog::{self, CatalogFilter, CatalogItem, Creation};
use platform::ApiError;
use sqlx::PgPool;
use uuid::Uuid;

/// A page of the catalog (one more row than asked, for the caller to know a next page exists).
pub async fn list(pool: &PgPool, filter: &CatalogFilter<'_>) -> Result<Vec<CatalogItem>, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(catalog::list(&mut conn, filter).await?)
}

/// One reward, if `visible` to the caller.
pub async fn get(
    pool: &PgPool,
    id: Uuid,
    visible: impl FnOnce(&CatalogItem) -> bool,
) -> Result<CatalogItem, ApiError> {
    let mut conn = pool.acquire().await?;
    catalog::get(&mut conn, id)
        .await?
        .filter(visible)
        .ok_or_else(|| ApiError::NotFound("no such reward".into()))
}

/// A created reward, and whether the caller's key had created it before.
pub struct Added {
    pub item: CatalogItem,
    pub replayed: bool,
}

/// Adds a reward that passed the catalog rules, once per caller and idempotency key.
pub async fn add_reward(
    pool: &PgPool,
    reward: &NewReward,
    creation: &Creation<'_>,
) -> Result<Added, ApiError> {
    let mut conn = pool.acquire().await?;
    if let Some(item) = catalog::insert(&mut conn, Uuid::now_v7(), reward, creation).await? {
        tracing::info!(reward_id = %item.id, points_cost = item.points_cost, "reward added to the catalog");
        return Ok(Added {
            item,
            replayed: false,
        });
    }
    let item = catalog::find_by_key(&mut conn, creation.created_by, creation.idempotency_key)
        .await?
        .filter(|item| item.request_fingerprint.as_deref() == Some(creation.request_fingerprint))
        .ok_or_else(|| ApiError::Unprocessable {
            slug: "idempotency-key-reused",
            detail: "this Idempotency-Key was used for a different request".into(),
        })?;
    Ok(Added {
        item,
        replayed: true,
    })
}

/// Replaces a reward's rules, if the caller `may_manage` its business.
pub async fn replace(
    pool: &PgPool,
    id: Uuid,
    reward: &NewReward,
    may_manage: impl FnOnce(&CatalogItem) -> bool,
) -> Result<CatalogItem, ApiError> {
    let mut tx = pool.begin().await?;
    catalog::lock(&mut tx, id)
        .await?
        .filter(may_manage)
        .ok_or_else(|| ApiError::NotFound("no such reward".into()))?;
    let item = catalog::replace(&mut tx, id, reward).await?;
    tx.commit().await?;
    Ok(item)
}

/// Withdraws a reward from the catalog; redemptions already made keep their codes.
pub async fn archive(
    pool: &PgPool,
    id: Uuid,
    may_manage: impl FnOnce(&CatalogItem) -> bool,
) -> Result<CatalogItem, ApiError> {
    let mut tx = pool.begin().await?;
    catalog::lock(&mut tx, id)
        .await?
        .filter(may_manage)
        .ok_or_else(|| ApiError::NotFound("no such reward".into()))?;
    let item = catalog::archive(&mut tx, id).await?;
    tx.commit().await?;
    Ok(item)
}
