use crate::domain::NewReward;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A row of `catalog_items`.
#[derive(Debug, Clone)]
pub struct CatalogItem {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub points_cost: i64,
    /// `None` is unlimited.
    pub inventory: Option<i32>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Active items, cheapest first (then by id, so the order is stable).
pub async fn list_active(conn: &mut PgConnection) -> Result<Vec<CatalogItem>, sqlx::Error> {
    sqlx::query_as!(
        CatalogItem,
        "SELECT id, name, description, points_cost, inventory, active, created_at, updated_at
           FROM catalog_items WHERE active ORDER BY points_cost, id"
    )
    .fetch_all(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    reward: &NewReward,
) -> Result<CatalogItem, sqlx::Error> {
    sqlx::query_as!(
        CatalogItem,
        "INSERT INTO catalog_items (id, name, description, points_cost, inventory)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, name, description, points_cost, inventory, active, created_at, updated_at",
        id,
        reward.name,
        reward.description,
        reward.points_cost,
        reward.inventory,
    )
    .fetch_one(conn)
    .await
}
