//! The business directory's use cases: opening businesses, adding brands and stores, reading
//! them. A write stores its row, its event in the outbox and the response a retry with the same
//! idempotency key gets, in one transaction; when it fails, the key is given back.
//!
//! Who may call which is decided before (routes); here a business or store that does not exist
//! is a 404, as is a store outside the caller's [`StoreScope`].

use crate::domain::directory::{NewBrand, NewBusiness, NewStore, StoreScope};
use crate::events::publishes;
use crate::storage::directory::{self, Brand, Business, Store};
use platform::idempotency::ClaimedKey;
use platform::pagination::{Cursor, PageRequest};
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The response stored for replays beside the work: status and body.
pub type Response = (u16, serde_json::Value);

/// Opens a business and announces it (`business.created`); 409 if its slug is taken.
pub async fn create_business(
    pool: &PgPool,
    business: &NewBusiness,
    actor: &str,
    claimed: &ClaimedKey<'_>,
    respond: impl FnOnce(&Business) -> Response,
) -> Result<Business, ApiError> {
    let outcome = async {
        let mut tx = pool.begin().await?;
        let created = directory::insert_business(&mut tx, Uuid::now_v7(), business, actor)
            .await?
            .ok_or_else(|| ApiError::Conflict {
                slug: "slug-taken",
                detail: format!(
                    "a business with the slug {:?} exists",
                    business.slug.as_str()
                ),
            })?;
        events::outbox::enqueue(&mut tx, &publishes::business_created(&created)).await?;
        let (status, body) = respond(&created);
        claimed.complete(&mut tx, status, &body).await?;
        tx.commit().await?;
        Ok(created)
    }
    .await;
    claimed.release_on_error(pool, outcome).await
}

/// A business, if there is one.
pub async fn business(pool: &PgPool, business_id: Uuid) -> Result<Option<Business>, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(directory::find_business(&mut conn, business_id).await?)
}

/// One page of every business, newest first, and the cursor of the next.
pub async fn list_businesses(
    pool: &PgPool,
    page: &PageRequest,
) -> Result<(Vec<Business>, Option<String>), ApiError> {
    let mut conn = pool.acquire().await?;
    let found = directory::page_businesses(
        &mut conn,
        page.after_time(),
        page.after_id(),
        page.fetch_limit(),
    )
    .await?;
    Ok(page.finish(found, |b| Cursor {
        created_at: b.created_at,
        id: b.id,
    }))
}

/// Adds a brand to an active business; 409 if it has a brand of that name.
pub async fn create_brand(
    pool: &PgPool,
    business_id: Uuid,
    brand: &NewBrand,
    actor: &str,
    claimed: &ClaimedKey<'_>,
    respond: impl FnOnce(&Brand) -> Response,
) -> Result<Brand, ApiError> {
    let outcome = async {
        let mut tx = pool.begin().await?;
        lock_open_business(&mut tx, business_id).await?;
        let created = directory::insert_brand(&mut tx, Uuid::now_v7(), business_id, brand, actor)
            .await?
            .ok_or_else(|| ApiError::Conflict {
                slug: "brand-name-taken",
                detail: format!("this business has a brand named {:?}", brand.name),
            })?;
        let (status, body) = respond(&created);
        claimed.complete(&mut tx, status, &body).await?;
        tx.commit().await?;
        Ok(created)
    }
    .await;
    claimed.release_on_error(pool, outcome).await
}

/// One page of a business's brands, newest first; 404 if there is no such business.
pub async fn list_brands(
    pool: &PgPool,
    business_id: Uuid,
    page: &PageRequest,
) -> Result<(Vec<Brand>, Option<String>), ApiError> {
    let mut conn = pool.acquire().await?;
    find_business(&mut conn, business_id).await?;
    let found = directory::page_brands(
        &mut conn,
        business_id,
        page.after_time(),
        page.after_id(),
        page.fetch_limit(),
    )
    .await?;
    Ok(page.finish(found, |b| Cursor {
        created_at: b.created_at,
        id: b.id,
    }))
}

/// Opens a store of an active business and announces it (`store.created`); 422 if its brand
/// is not one of the business's (whether it belongs to another business or to none is not
/// said).
pub async fn create_store(
    pool: &PgPool,
    business_id: Uuid,
    store: &NewStore,
    actor: &str,
    claimed: &ClaimedKey<'_>,
    respond: impl FnOnce(&Store) -> Response,
) -> Result<Store, ApiError> {
    let outcome = async {
        let mut tx = pool.begin().await?;
        lock_open_business(&mut tx, business_id).await?;
        if let Some(brand_id) = store.brand_id {
            if !directory::brand_in_business(&mut tx, business_id, brand_id).await? {
                return Err(ApiError::Unprocessable {
                    slug: "brand-not-in-business",
                    detail: format!("{brand_id} is not a brand of this business"),
                });
            }
        }
        let created =
            directory::insert_store(&mut tx, Uuid::now_v7(), business_id, store, actor).await?;
        events::outbox::enqueue(&mut tx, &publishes::store_created(&created)).await?;
        let (status, body) = respond(&created);
        claimed.complete(&mut tx, status, &body).await?;
        tx.commit().await?;
        Ok(created)
    }
    .await;
    claimed.release_on_error(pool, outcome).await
}

/// One page of the stores of a business the caller sees, newest first; 404 if there is no such
/// business.
pub async fn list_stores(
    pool: &PgPool,
    business_id: Uuid,
    scope: &StoreScope,
    page: &PageRequest,
) -> Result<(Vec<Store>, Option<String>), ApiError> {
    let mut conn = pool.acquire().await?;
    find_business(&mut conn, business_id).await?;
    let found = directory::page_stores(
        &mut conn,
        business_id,
        scope.restriction(),
        page.after_time(),
        page.after_id(),
        page.fetch_limit(),
    )
    .await?;
    Ok(page.finish(found, |s| Cursor {
        created_at: s.created_at,
        id: s.id,
    }))
}

/// A store of a business, if the caller sees it; 404 otherwise.
pub async fn store(
    pool: &PgPool,
    business_id: Uuid,
    store_id: Uuid,
    scope: &StoreScope,
) -> Result<Store, ApiError> {
    let not_found = || ApiError::NotFound("no such store in this business".into());
    if !scope.includes(store_id) {
        return Err(not_found());
    }
    let mut conn = pool.acquire().await?;
    directory::find_store(&mut conn, business_id, store_id)
        .await?
        .ok_or_else(not_found)
}

async fn find_business(conn: &mut PgConnection, business_id: Uuid) -> Result<Business, ApiError> {
    directory::find_business(conn, business_id)
        .await?
        .ok_or_else(no_such_business)
}

/// Locks the business against a change of status for the rest of the transaction; 404 if there
/// is none, 409 if it is suspended.
async fn lock_open_business(conn: &mut PgConnection, business_id: Uuid) -> Result<(), ApiError> {
    let status = directory::lock_business_status(conn, business_id)
        .await?
        .ok_or_else(no_such_business)?;
    if status.accepts_new_places() {
        Ok(())
    } else {
        Err(ApiError::Conflict {
            slug: "business-suspended",
            detail: "this business is suspended: its brands and stores cannot change".into(),
        })
    }
}

pub fn no_such_business() -> ApiError {
    ApiError::NotFound("no such business".into())
}
