//! A business's stores: opened by its owners and admins, read by its staff; store-level staff
//! (store managers, cashiers) see only the stores they work at.

use super::businesses::{begin_write, created, enter_business, manage_business, ListQuery};
use super::AppState;
use crate::core::directory::{self as core, Response};
use crate::domain::directory::NewStore;
use crate::storage::directory::Store;
use actix_web::{web, HttpRequest, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStoreBody {
    /// 1 to 200 characters.
    pub name: String,
    /// A brand of the same business, or none.
    pub brand_id: Option<Uuid>,
    /// Up to 500 characters, lines allowed.
    pub address: Option<String>,
    /// An IANA time zone name: `Australia/Sydney`, `UTC`.
    pub timezone: String,
}

// Published under the schema name `Store`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Store)]
pub struct StoreView {
    pub id: Uuid,
    pub business_id: Uuid,
    pub brand_id: Option<Uuid>,
    pub name: String,
    pub address: Option<String>,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
}

impl From<&Store> for StoreView {
    fn from(s: &Store) -> Self {
        Self {
            id: s.id,
            business_id: s.business_id,
            brand_id: s.brand_id,
            name: s.name.clone(),
            address: s.address.clone(),
            timezone: s.timezone.clone(),
            created_at: s.created_at,
        }
    }
}

// Published under the schema name `StorePage`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StorePage)]
pub struct StorePageView {
    pub items: Vec<StoreView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn store_response(store: &Store) -> Response {
    created(&StoreView::from(store))
}

/// Open a store of a business (its owners and admins, platform operators) and announce it as
/// `store.created`. Idempotent on the `Idempotency-Key` header.
#[utoipa::path(
    post, path = "/api/v1/admin/businesses/{business_id}/stores", tag = "businesses", security(("bearer" = [])),
    params(("business_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "Unique per store opened")),
    request_body = NewStoreBody,
    responses(
        (status = 201, body = StoreView),
        (status = 400, description = "Not JSON", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Staff of the business who may not open stores, or not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not the caller's", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The business is suspended (`business-suspended`), or a request with this key is in flight", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad field or key, a brand that is not the business's (`brand-not-in-business`), or the key was used with another request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_create_store", principal = %principal.subject, business_id = %path, store_id = tracing::field::Empty))]
pub async fn create_store(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let business_id = path.into_inner();
    manage_business(&principal, business_id)?;
    let request: NewStoreBody = platform::http::parse_json_body(&req, &body)?;
    let store = NewStore::parse(
        &request.name,
        request.brand_id,
        request.address.as_deref(),
        &request.timezone,
    )
    .map_err(ApiError::Validation)?;
    let write = match begin_write(&state, &req, &principal, &body).await? {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let created = core::create_store(
        &state.pool,
        business_id,
        &store,
        &principal.scope_key(),
        &write.claimed(),
        store_response,
    )
    .await?;
    tracing::Span::current().record("store_id", tracing::field::display(created.id));
    write
        .finish(&state.idempotency, store_response(&created))
        .await
}

/// A business's stores, newest first: every one for its business-level staff and platform
/// operators, their own for store managers and cashiers.
#[utoipa::path(
    get, path = "/api/v1/admin/businesses/{business_id}/stores", tag = "businesses", security(("bearer" = [])),
    params(("business_id" = Uuid, Path), ListQuery),
    responses(
        (status = 200, body = StorePageView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not the caller's", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_list_stores", business_id = %path))]
pub async fn list_stores(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let business_id = path.into_inner();
    let scope = enter_business(&principal, business_id)?;
    let page = query.page()?;
    let (stores, next_cursor) = core::list_stores(&state.pool, business_id, &scope, &page).await?;
    Ok(HttpResponse::Ok().json(StorePageView {
        items: stores.iter().map(StoreView::from).collect(),
        next_cursor,
    }))
}

/// One store of a business, for the staff who see it (see the list) and platform operators.
#[utoipa::path(
    get, path = "/api/v1/admin/businesses/{business_id}/stores/{store_id}", tag = "businesses", security(("bearer" = [])),
    params(("business_id" = Uuid, Path), ("store_id" = Uuid, Path)),
    responses(
        (status = 200, body = StoreView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such store in this business, or not one the caller sees", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_get_store", business_id = %path.0, store_id = %path.1))]
pub async fn get_store(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (business_id, store_id) = path.into_inner();
    let scope = enter_business(&principal, business_id)?;
    let store = core::store(&state.pool, business_id, store_id, &scope).await?;
    Ok(HttpResponse::Ok().json(StoreView::from(&store)))
}
