//! The business directory: businesses (this file), their brands and stores (`brands.rs`,
//! `stores.rs`), and who may see and change what.
//!
//! Who is refused how, the same on every route: callers who never use the directory (members,
//! partner clients) get 403 whatever the business. Staff of another business get 404, the answer
//! for a business that does not exist, so a business's existence is never told across
//! businesses; a store outside a store-level role's stores is likewise 404. Staff of the
//! business whose role does not allow a change (support, store managers, cashiers adding a
//! store) get 403: they know the business exists.

use super::AppState;
use crate::core::directory::{self as core, Response};
use crate::domain::directory::{BusinessStatus, NewBusiness, StoreScope};
use crate::storage::directory::Business;
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{Principal, Role};
use chrono::{DateTime, Utc};
use platform::idempotency::IdempotentWrite;
use platform::pagination::PageRequest;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every role that works in a business (super admins work in any).
pub const BUSINESS_STAFF: &[Role] = &[
    Role::Owner,
    Role::Admin,
    Role::Support,
    Role::StoreManager,
    Role::Cashier,
    Role::SuperAdmin,
];
/// Roles that add brands and stores to a business (an owner may do what an admin may).
pub const BUSINESS_ADMINS: &[Role] = &[Role::Admin, Role::SuperAdmin];

/// Lets staff of `business` (and platform operators) in, and says which of its stores they see.
pub fn enter_business(principal: &Principal, business: Uuid) -> Result<StoreScope, ApiError> {
    if !principal.is_staff() {
        return Err(ApiError::Forbidden(
            "the business directory is for staff".into(),
        ));
    }
    if !principal.has_role_in(business, BUSINESS_STAFF) {
        return Err(core::no_such_business());
    }
    let store_level = principal.role.is_some_and(|r| r.is_store_level());
    Ok(if store_level {
        StoreScope::Only(principal.stores.clone())
    } else {
        StoreScope::All
    })
}

/// Lets owners and admins of `business` (and platform operators) change its directory.
pub fn manage_business(principal: &Principal, business: Uuid) -> Result<(), ApiError> {
    enter_business(principal, business)?;
    principal.require_role_in(business, BUSINESS_ADMINS)
}

/// Claims the request's idempotency key for the caller, or gives the response to send instead
/// (the stored one for a retry, a problem for a reused or busy key).
pub async fn begin_write(
    state: &AppState,
    req: &HttpRequest,
    principal: &Principal,
    body: &[u8],
) -> Result<Result<IdempotentWrite, HttpResponse>, ApiError> {
    IdempotentWrite::begin(&state.idempotency, req, principal.scope_key(), body).await
}

/// A created resource's response, as sent and as stored for replays.
pub fn created(view: &impl Serialize) -> Response {
    (201, serde_json::to_value(view).unwrap_or_default())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

impl ListQuery {
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        PageRequest::parse(self.limit, self.cursor.as_deref(), 20, 100)
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBusinessBody {
    /// 1 to 200 characters.
    pub name: String,
    /// Lower-case letters, digits and inner hyphens, 2 to 63 characters; unique.
    pub slug: String,
    /// ISO 4217, the currency the business's program counts money in.
    pub currency: String,
}

// Published under the schema name `Business`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Business)]
pub struct BusinessView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// ISO 4217 code.
    pub currency: String,
    pub status: BusinessStatus,
    pub created_at: DateTime<Utc>,
}

impl From<&Business> for BusinessView {
    fn from(b: &Business) -> Self {
        Self {
            id: b.id,
            name: b.name.clone(),
            slug: b.slug.clone(),
            currency: b.currency.clone(),
            status: b.status,
            created_at: b.created_at,
        }
    }
}

// Published under the schema name `BusinessPage`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = BusinessPage)]
pub struct BusinessPageView {
    pub items: Vec<BusinessView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn business_response(business: &Business) -> Response {
    created(&BusinessView::from(business))
}

/// Open a business on the platform (platform operators only) and announce it as
/// `business.created`. Idempotent on the `Idempotency-Key` header: the same key and body answer
/// the first response again (header `Idempotent-Replayed: true`); the same key with another body
/// is refused.
#[utoipa::path(
    post, path = "/api/v1/admin/businesses", tag = "businesses", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per business opened")),
    request_body = NewBusinessBody,
    responses(
        (status = 201, body = BusinessView),
        (status = 400, description = "Not JSON", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not a super admin", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken (`slug-taken`), or a request with this key is in flight", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad field or key, or the key was used with another request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_create_business", principal = %principal.subject, business_id = tracing::field::Empty))]
pub async fn create_business(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !principal.is_super_admin() {
        return Err(ApiError::Forbidden(
            "only platform operators open businesses".into(),
        ));
    }
    let request: NewBusinessBody = platform::http::parse_json_body(&req, &body)?;
    let business = NewBusiness::parse(&request.name, &request.slug, &request.currency)
        .map_err(ApiError::Validation)?;
    let write = match begin_write(&state, &req, &principal, &body).await? {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let created = core::create_business(
        &state.pool,
        &business,
        &principal.scope_key(),
        &write.claimed(),
        business_response,
    )
    .await?;
    tracing::Span::current().record("business_id", tracing::field::display(created.id));
    write
        .finish(&state.idempotency, business_response(&created))
        .await
}

/// Businesses, newest first: every one for platform operators, their own for staff.
#[utoipa::path(
    get, path = "/api/v1/admin/businesses", tag = "businesses", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = BusinessPageView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_list_businesses"))]
pub async fn list_businesses(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    if !principal.is_staff() {
        return Err(ApiError::Forbidden(
            "the business directory is for staff".into(),
        ));
    }
    let page = query.page()?;
    let (businesses, next_cursor) = if principal.is_super_admin() {
        core::list_businesses(&state.pool, &page).await?
    } else {
        let own = match principal.business {
            Some(business) => core::business(&state.pool, business).await?,
            None => None,
        };
        (own.into_iter().collect(), None)
    };
    Ok(HttpResponse::Ok().json(BusinessPageView {
        items: businesses.iter().map(BusinessView::from).collect(),
        next_cursor,
    }))
}

/// One business, for its staff (any role, store-level included) and platform operators.
#[utoipa::path(
    get, path = "/api/v1/admin/businesses/{business_id}", tag = "businesses", security(("bearer" = [])),
    params(("business_id" = Uuid, Path)),
    responses(
        (status = 200, body = BusinessView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not the caller's", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_get_business", business_id = %path))]
pub async fn get_business(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business_id = path.into_inner();
    enter_business(&principal, business_id)?;
    let business = core::business(&state.pool, business_id)
        .await?
        .ok_or_else(core::no_such_business)?;
    Ok(HttpResponse::Ok().json(BusinessView::from(&business)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;

    fn status(result: Result<impl Sized, ApiError>) -> u16 {
        match result {
            Ok(_) => 200,
            Err(e) => e.status_code().as_u16(),
        }
    }

    #[test]
    fn outsiders_are_refused_and_other_businesses_are_not_told_of() {
        let (ours, theirs) = (Uuid::now_v7(), Uuid::now_v7());
        for role in [Role::Owner, Role::Admin, Role::Support] {
            let staff = Principal::staff_in(Some(ours), role, Vec::new());
            assert_eq!(enter_business(&staff, ours).unwrap(), StoreScope::All);
            assert_eq!(status(enter_business(&staff, theirs)), 404, "{role:?}");
            assert_eq!(status(manage_business(&staff, theirs)), 404, "{role:?}");
        }
        let operator = Principal::staff_in(None, Role::SuperAdmin, Vec::new());
        assert_eq!(enter_business(&operator, theirs).unwrap(), StoreScope::All);
        assert_eq!(status(manage_business(&operator, theirs)), 200);
        for outsider in [
            Principal::member(Uuid::now_v7()),
            Principal::partner_in(ours, &["points:earn"]),
            Principal::without_role(),
        ] {
            assert_eq!(status(enter_business(&outsider, ours)), 403);
            assert_eq!(status(manage_business(&outsider, theirs)), 403);
        }
    }

    #[test]
    fn owners_and_admins_manage_and_other_staff_only_read() {
        let business = Uuid::now_v7();
        for role in [Role::Owner, Role::Admin] {
            let staff = Principal::staff_in(Some(business), role, Vec::new());
            assert_eq!(status(manage_business(&staff, business)), 200, "{role:?}");
        }
        let store = Uuid::now_v7();
        for role in [Role::Support, Role::StoreManager, Role::Cashier] {
            let staff = Principal::staff_in(Some(business), role, vec![store]);
            assert!(enter_business(&staff, business).is_ok(), "{role:?}");
            assert_eq!(status(manage_business(&staff, business)), 403, "{role:?}");
        }
        let cashier = Principal::staff_in(Some(business), Role::Cashier, vec![store]);
        assert_eq!(
            enter_business(&cashier, business).unwrap(),
            StoreScope::Only(vec![store])
        );
    }
}
