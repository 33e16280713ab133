use crate::domain::catalog::{Fulfilment, LimitPeriod};
use crate::domain::NewReward;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A row of `catalog_items`.
#[derive(Debug, Clone)]
pub struct CatalogItem {
    pub id: Uuid,
    pub business_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub image_url: Option<String>,
    pub points_cost: i64,
    /// `None` is unlimited.
    pub inventory: Option<i32>,
    pub active: bool,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub min_tier: Option<String>,
    pub member_limit: Option<i32>,
    pub member_limit_period: String,
    pub fulfilment: String,
    pub code_valid_days: i32,
    pub cancel_window_secs: i32,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub request_fingerprint: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CatalogItem {
    pub fn limit_period(&self) -> LimitPeriod {
        LimitPeriod::parse(&self.member_limit_period).unwrap_or_default()
    }

    pub fn fulfilment(&self) -> Fulfilment {
        Fulfilment::parse(&self.fulfilment).unwrap_or_default()
    }
}

/// What members filter the catalog by.
#[derive(Debug, Clone, Default)]
pub struct CatalogFilter<'a> {
    pub business_id: Uuid,
    pub category: Option<&'a str>,
    /// Only rewards costing at most this many points.
    pub max_points_cost: Option<i64>,
    /// Only rewards open to these tiers (or to every tier).
    pub tiers: Option<&'a [String]>,
    /// Archived rewards too (staff).
    pub include_archived: bool,
    /// After this (points_cost, id): the cursor.
    pub after: Option<(i64, Uuid)>,
    pub limit: i64,
}

/// A page of the catalog, cheapest first (then by id, so the order is stable).
pub async fn list(
    conn: &mut PgConnection,
    filter: &CatalogFilter<'_>,
) -> Result<Vec<CatalogItem>, sqlx::Error> {
    let (after_cost, after_id) = filter.after.unwrap_or((i64::MIN, Uuid::nil()));
    sqlx::query_as!(
        CatalogItem,
        r#"SELECT id, business_id, name, description, category, image_url, points_cost, inventory,
                  active, valid_from, valid_until, min_tier, member_limit, member_limit_period,
                  fulfilment, code_valid_days, cancel_window_secs, archived_at, created_by,
                  request_fingerprint, created_at, updated_at
             FROM catalog_items
            WHERE business_id = $1
              AND (active OR $2)
              AND ($3::text IS NULL OR category = $3)
              AND ($4::bigint IS NULL OR points_cost <= $4)
              AND ($5::text[] IS NULL OR min_tier IS NULL OR min_tier = ANY($5))
              AND (points_cost, id) > ($6, $7)
            ORDER BY points_cost, id
            LIMIT $8"#,
        filter.business_id,
        filter.include_archived,
        filter.category,
        filter.max_points_cost,
        filter.tiers,
        after_cost,
        after_id,
        filter.limit,
    )
    .fetch_all(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<CatalogItem>, sqlx::Error> {
    sqlx::query_as!(
        CatalogItem,
        r#"SELECT id, business_id, name, description, category, image_url, points_cost, inventory,
                  active, valid_from, valid_until, min_tier, member_limit, member_limit_period,
                  fulfilment, code_valid_days, cancel_window_secs, archived_at, created_by,
                  request_fingerprint, created_at, updated_at
             FROM catalog_items WHERE id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The reward, locked until the transaction ends: redemptions of one reward take turns, so stock
/// and per-member limits hold under concurrency.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<CatalogItem>, sqlx::Error> {
    sqlx::query_as!(
        CatalogItem,
        r#"SELECT id, business_id, name, description, category, image_url, points_cost, inventory,
                  active, valid_from, valid_until, min_tier, member_limit, member_limit_period,
                  fulfilment, code_valid_days, cancel_window_secs, archived_at, created_by,
                  request_fingerprint, created_at, updated_at
             FROM catalog_items WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// Who created a reward and under which idempotency key.
pub struct Creation<'a> {
    pub business_id: Uuid,
    pub created_by: &'a str,
    pub idempotency_key: &'a str,
    pub request_fingerprint: &'a str,
}

/// Inserts the reward, or returns `None` when this caller's key already created one.
pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    reward: &NewReward,
    creation: &Creation<'_>,
) -> Result<Option<CatalogItem>, sqlx::Error> {
    sqlx::query_as!(
        CatalogItem,
        r#"INSERT INTO catalog_items (id, business_id, name, description, category, image_url,
                  points_cost, inventory, valid_from, valid_until, min_tier, member_limit,
                  member_limit_period, fulfilment, code_valid_days, cancel_window_secs,
                  created_by, idempotency_key, request_fingerprint)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
           ON CONFLICT (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
           RETURNING id, business_id, name, description, category, image_url, points_cost,
                  inventory, active, valid_from, valid_until, min_tier, member_limit,
                  member_limit_period, fulfilment, code_valid_days, cancel_window_secs,
                  archived_at, created_by, request_fingerprint, created_at, updated_at"#,
        id,
        creation.business_id,
        reward.name,
        reward.description,
        reward.category,
        reward.image_url,
        reward.points_cost,
        reward.inventory,
        reward.valid_from,
        reward.valid_until,
        reward.min_tier,
        reward.member_limit,
        reward.member_limit_period.as_str(),
        reward.fulfilment.as_str(),
        reward.code_valid_days,
        reward.cancel_window_secs,
        creation.created_by,
        creation.idempotency_key,
        creation.request_fingerprint,
    )
    .fetch_optional(conn)
    .await
}

pub async fn find_by_key(
    conn: &mut PgConnection,
    created_by: &str,
    idempotency_key: &str,
) -> Result<Option<CatalogItem>, sqlx::Error> {
    sqlx::query_as!(
        CatalogItem,
        r#"SELECT id, business_id, name, description, category, image_url, points_cost, inventory,
                  active, valid_from, valid_until, min_tier, member_limit, member_limit_period,
                  fulfilment, code_valid_days, cancel_window_secs, archived_at, created_by,
                  request_fingerprint, created_at, updated_at
             FROM catalog_items WHERE created_by = $1 AND idempotency_key = $2"#,
        created_by,
        idempotency_key
    )
    .fetch_optional(conn)
    .await
}

/// Replaces every rule of a reward (its business, creator and history stay).
pub async fn replace(
    conn: &mut PgConnection,
    id: Uuid,
    reward: &NewReward,
) -> Result<CatalogItem, sqlx::Error> {
    sqlx::query_as!(
        CatalogItem,
        r#"UPDATE catalog_items
              SET name = $2, description = $3, category = $4, image_url = $5, points_cost = $6,
                  inventory = $7, valid_from = $8, valid_until = $9, min_tier = $10,
                  member_limit = $11, member_limit_period = $12, fulfilment = $13,
                  code_valid_days = $14, cancel_window_secs = $15, updated_at = now()
            WHERE id = $1
        RETURNING id, business_id, name, description, category, image_url, points_cost,
                  inventory, active, valid_from, valid_until, min_tier, member_limit,
                  member_limit_period, fulfilment, code_valid_days, cancel_window_secs,
                  archived_at, created_by, request_fingerprint, created_at, updated_at"#,
        id,
        reward.name,
        reward.description,
        reward.category,
        reward.image_url,
        reward.points_cost,
        reward.inventory,
        reward.valid_from,
        reward.valid_until,
        reward.min_tier,
        reward.member_limit,
        reward.member_limit_period.as_str(),
        reward.fulfilment.as_str(),
        reward.code_valid_days,
        reward.cancel_window_secs,
    )
    .fetch_one(conn)
    .await
}

/// Withdraws a reward from the catalog; archiving twice keeps the first moment.
pub async fn archive(conn: &mut PgConnection, id: Uuid) -> Result<CatalogItem, sqlx::Error> {
    sqlx::query_as!(
        CatalogItem,
        r#"UPDATE catalog_items
              SET active = false, archived_at = coalesce(archived_at, now()), updated_at = now()
            WHERE id = $1
        RETURNING id, business_id, name, description, category, image_url, points_cost,
                  inventory, active, valid_from, valid_until, min_tier, member_limit,
                  member_limit_period, fulfilment, code_valid_days, cancel_window_secs,
                  archived_at, created_by, request_fingerprint, created_at, updated_at"#,
        id
    )
    .fetch_one(conn)
    .await
}

/// Takes one unit of a locked reward's stock (unlimited stock stays unlimited).
pub async fn take_unit(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE catalog_items SET inventory = inventory - 1
          WHERE id = $1 AND inventory IS NOT NULL",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts one unit back (a failed or cancelled redemption).
pub async fn return_unit(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE catalog_items SET inventory = inventory + 1
          WHERE id = $1 AND inventory IS NOT NULL",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}
