//! The business directory's tables. Every query of a brand or a store names its business.

use crate::domain::directory::{BusinessStatus, NewBrand, NewBusiness, NewStore};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Business {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// ISO 4217 code.
    pub currency: String,
    pub status: BusinessStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Brand {
    pub id: Uuid,
    pub business_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Store {
    pub id: Uuid,
    pub business_id: Uuid,
    pub brand_id: Option<Uuid>,
    pub name: String,
    pub address: Option<String>,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
}

struct BusinessRow {
    id: Uuid,
    name: String,
    slug: String,
    currency: String,
    status: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<BusinessRow> for Business {
    type Error = sqlx::Error;

    fn try_from(row: BusinessRow) -> Result<Self, Self::Error> {
        let status = BusinessStatus::parse(&row.status).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown business status {:?}", row.status).into())
        })?;
        Ok(Business {
            id: row.id,
            name: row.name,
            slug: row.slug,
            currency: row.currency,
            status,
            created_at: row.created_at,
        })
    }
}

/// Stores a new business; `None` if its slug is taken.
pub async fn insert_business(
    conn: &mut PgConnection,
    id: Uuid,
    business: &NewBusiness,
    created_by: &str,
) -> Result<Option<Business>, sqlx::Error> {
    sqlx::query_as!(
        BusinessRow,
        "INSERT INTO businesses (id, name, slug, currency, created_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (slug) DO NOTHING
         RETURNING id, name, slug, currency, status, created_at",
        id,
        business.name,
        business.slug.as_str(),
        business.currency.code(),
        created_by,
    )
    .fetch_optional(conn)
    .await?
    .map(Business::try_from)
    .transpose()
}

pub async fn find_business(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Business>, sqlx::Error> {
    sqlx::query_as!(
        BusinessRow,
        "SELECT id, name, slug, currency, status, created_at FROM businesses WHERE id = $1",
        id,
    )
    .fetch_optional(conn)
    .await?
    .map(Business::try_from)
    .transpose()
}

/// The business's status, its row share-locked until the transaction ends so that it cannot
/// change while a brand or store is added; `None` if there is no such business.
pub async fn lock_business_status(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<BusinessStatus>, sqlx::Error> {
    let status = sqlx::query_scalar!("SELECT status FROM businesses WHERE id = $1 FOR SHARE", id)
        .fetch_optional(conn)
        .await?;
    status
        .map(|s| {
            BusinessStatus::parse(&s)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown business status {s:?}").into()))
        })
        .transpose()
}

/// Up to `limit` businesses created before the position (`after_time`, `after_id`), newest
/// first.
pub async fn page_businesses(
    conn: &mut PgConnection,
    after_time: DateTime<Utc>,
    after_id: Uuid,
    limit: i64,
) -> Result<Vec<Business>, sqlx::Error> {
    sqlx::query_as!(
        BusinessRow,
        "SELECT id, name, slug, currency, status, created_at
           FROM businesses
          WHERE (created_at, id) < ($1::timestamptz, $2::uuid)
          ORDER BY created_at DESC, id DESC
          LIMIT $3",
        after_time,
        after_id,
        limit,
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(Business::try_from)
    .collect()
}

/// Stores a new brand of `business_id`; `None` if the business has a brand of that name.
pub async fn insert_brand(
    conn: &mut PgConnection,
    id: Uuid,
    business_id: Uuid,
    brand: &NewBrand,
    created_by: &str,
) -> Result<Option<Brand>, sqlx::Error> {
    sqlx::query_as!(
        Brand,
        "INSERT INTO brands (id, business_id, name, created_by)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (business_id, lower(name)) DO NOTHING
         RETURNING id, business_id, name, created_at",
        id,
        business_id,
        brand.name,
        created_by,
    )
    .fetch_optional(conn)
    .await
}

/// Whether `brand_id` is a brand of `business_id`.
pub async fn brand_in_business(
    conn: &mut PgConnection,
    business_id: Uuid,
    brand_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM brands WHERE business_id = $1 AND id = $2) AS "found!""#,
        business_id,
        brand_id,
    )
    .fetch_one(conn)
    .await?;
    Ok(found)
}

/// Up to `limit` brands of `business_id` created before the position, newest first.
pub async fn page_brands(
    conn: &mut PgConnection,
    business_id: Uuid,
    after_time: DateTime<Utc>,
    after_id: Uuid,
    limit: i64,
) -> Result<Vec<Brand>, sqlx::Error> {
    sqlx::query_as!(
        Brand,
        "SELECT id, business_id, name, created_at
           FROM brands
          WHERE business_id = $1 AND (created_at, id) < ($2::timestamptz, $3::uuid)
          ORDER BY created_at DESC, id DESC
          LIMIT $4",
        business_id,
        after_time,
        after_id,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Stores a new store of `business_id` (its brand already checked to be the business's).
pub async fn insert_store(
    conn: &mut PgConnection,
    id: Uuid,
    business_id: Uuid,
    store: &NewStore,
    created_by: &str,
) -> Result<Store, sqlx::Error> {
    sqlx::query_as!(
        Store,
        "INSERT INTO stores (id, business_id, brand_id, name, address, timezone, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, business_id, brand_id, name, address, timezone, created_at",
        id,
        business_id,
        store.brand_id,
        store.name,
        store.address,
        store.timezone.as_str(),
        created_by,
    )
    .fetch_one(conn)
    .await
}

/// A store of `business_id`.
pub async fn find_store(
    conn: &mut PgConnection,
    business_id: Uuid,
    store_id: Uuid,
) -> Result<Option<Store>, sqlx::Error> {
    sqlx::query_as!(
        Store,
        "SELECT id, business_id, brand_id, name, address, timezone, created_at
           FROM stores WHERE business_id = $1 AND id = $2",
        business_id,
        store_id,
    )
    .fetch_optional(conn)
    .await
}

/// Up to `limit` stores of `business_id` created before the position, newest first; only those
/// in `only` when it is given.
pub async fn page_stores(
    conn: &mut PgConnection,
    business_id: Uuid,
    only: Option<&[Uuid]>,
    after_time: DateTime<Utc>,
    after_id: Uuid,
    limit: i64,
) -> Result<Vec<Store>, sqlx::Error> {
    sqlx::query_as!(
        Store,
        "SELECT id, business_id, brand_id, name, address, timezone, created_at
           FROM stores
          WHERE business_id = $1
            AND ($2::uuid[] IS NULL OR id = ANY($2))
            AND (created_at, id) < ($3::timestamptz, $4::uuid)
          ORDER BY created_at DESC, id DESC
          LIMIT $5",
        business_id,
        only,
        after_time,
        after_id,
        limit,
    )
    .fetch_all(conn)
    .await
}
