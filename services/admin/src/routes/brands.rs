//! A business's brands: added by its owners and admins, read by all its staff.

use super::businesses::{begin_write, created, enter_business, manage_business, ListQuery};
use super::AppState;
use crate::core::directory::{self as core, Response};
use crate::domain::directory::NewBrand;
use crate::storage::directory::Brand;
use actix_web::{web, HttpRequest, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBrandBody {
    /// 1 to 120 characters; unique in the business, whatever the case.
    pub name: String,
}

// Published under the schema name `Brand`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Brand)]
pub struct BrandView {
    pub id: Uuid,
    pub business_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<&Brand> for BrandView {
    fn from(b: &Brand) -> Self {
        Self {
            id: b.id,
            business_id: b.business_id,
            name: b.name.clone(),
            created_at: b.created_at,
        }
    }
}

// Published under the schema name `BrandPage`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = BrandPage)]
pub struct BrandPageView {
    pub items: Vec<BrandView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn brand_response(brand: &Brand) -> Response {
    created(&BrandView::from(brand))
}

/// Add a brand to a business (its owners and admins, platform operators). Idempotent on the
/// `Idempotency-Key` header.
#[utoipa::path(
    post, path = "/api/v1/admin/businesses/{business_id}/brands", tag = "businesses", security(("bearer" = [])),
    params(("business_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "Unique per brand added")),
    request_body = NewBrandBody,
    responses(
        (status = 201, body = BrandView),
        (status = 400, description = "Not JSON", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Staff of the business who may not add brands, or not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not the caller's", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A brand of this name exists (`brand-name-taken`), the business is suspended (`business-suspended`), or a request with this key is in flight", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad field or key, or the key was used with another request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_create_brand", principal = %principal.subject, business_id = %path))]
pub async fn create_brand(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let business_id = path.into_inner();
    manage_business(&principal, business_id)?;
    let request: NewBrandBody = platform::http::parse_json_body(&req, &body)?;
    let brand = NewBrand::parse(&request.name).map_err(ApiError::Validation)?;
    let write = match begin_write(&state, &req, &principal, &body).await? {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let created = core::create_brand(
        &state.pool,
        business_id,
        &brand,
        &principal.scope_key(),
        &write.claimed(),
        brand_response,
    )
    .await?;
    write
        .finish(&state.idempotency, brand_response(&created))
        .await
}

/// A business's brands, newest first, for all its staff and platform operators.
#[utoipa::path(
    get, path = "/api/v1/admin/businesses/{business_id}/brands", tag = "businesses", security(("bearer" = [])),
    params(("business_id" = Uuid, Path), ListQuery),
    responses(
        (status = 200, body = BrandPageView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not the caller's", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_list_brands", business_id = %path))]
pub async fn list_brands(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let business_id = path.into_inner();
    enter_business(&principal, business_id)?;
    let page = query.page()?;
    let (brands, next_cursor) = core::list_brands(&state.pool, business_id, &page).await?;
    Ok(HttpResponse::Ok().json(BrandPageView {
        items: brands.iter().map(BrandView::from).collect(),
        next_cursor,
    }))
}
