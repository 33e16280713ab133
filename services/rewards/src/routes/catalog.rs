use super::{invalid, AppState};
use crate::core;
use crate::domain::catalog::{self, Fulfilment, LimitPeriod};
use crate::domain::{CreateReward, NewReward};
use crate::storage::catalog::{CatalogFilter, CatalogItem, Creation};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{Principal, Role};
use base64::Engine;
use chrono::{DateTime, Utc};
use kernel::DEMO_BUSINESS_ID;
use platform::idempotency::{self, IdempotencyKey};
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Staff who may browse a business's catalog (all of its staff: cashiers show it at the counter).
const BROWSER_ROLES: &[Role] = &[
    Role::Customer,
    Role::Support,
    Role::Admin,
    Role::SuperAdmin,
    Role::StoreManager,
    Role::Cashier,
];
/// Roles that may change a business's catalog (owners count as admins).
const CATALOG_MANAGERS: &[Role] = &[Role::Admin, Role::SuperAdmin];
const PAGE_DEFAULT: i64 = 50;
const PAGE_MAX: i64 = 200;

#[derive(Serialize, utoipa::ToSchema)]
pub struct RewardView {
    pub id: Uuid,
    pub business_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub image_url: Option<String>,
    pub points_cost: i64,
    /// Whether there is stock left to redeem (items without an inventory never run out).
    pub available: bool,
    /// Units left; absent: unlimited.
    pub inventory: Option<i32>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    /// The lowest tier that may redeem; absent: every tier.
    pub min_tier: Option<String>,
    pub member_limit: Option<i32>,
    pub member_limit_period: LimitPeriod,
    pub fulfilment: Fulfilment,
    pub code_valid_days: i32,
    pub cancel_window_secs: i32,
    /// False once archived.
    pub active: bool,
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<CatalogItem> for RewardView {
    fn from(item: CatalogItem) -> Self {
        Self {
            available: catalog::is_available(item.inventory),
            member_limit_period: item.limit_period(),
            fulfilment: item.fulfilment(),
            id: item.id,
            business_id: item.business_id,
            name: item.name,
            description: item.description,
            category: item.category,
            image_url: item.image_url,
            points_cost: item.points_cost,
            inventory: item.inventory,
            valid_from: item.valid_from,
            valid_until: item.valid_until,
            min_tier: item.min_tier,
            member_limit: item.member_limit,
            code_valid_days: item.code_valid_days,
            cancel_window_secs: item.cancel_window_secs,
            active: item.active,
            archived_at: item.archived_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CatalogView {
    /// Active items, cheapest first.
    pub items: Vec<RewardView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    /// The business whose catalog to browse (default: the caller's business; for members and
    /// platform operators the demo business).
    pub business_id: Option<Uuid>,
    /// Only this category.
    pub category: Option<String>,
    /// Only rewards costing at most this many points.
    pub max_points: Option<i64>,
    /// Members: only rewards they have the points for now.
    pub affordable: Option<bool>,
    /// Members: only rewards open to their tier.
    pub for_my_tier: Option<bool>,
    /// Archived rewards too (managers of the business only).
    pub include_archived: Option<bool>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The business a caller acts in by default.
pub(super) fn home_business(principal: &Principal) -> Uuid {
    principal.business.unwrap_or(DEMO_BUSINESS_ID)
}

fn may_browse(principal: &Principal, business: Uuid) -> bool {
    principal.has_role_in(business, BROWSER_ROLES)
        || principal.has_scope_in(business, auth::scopes::REWARDS_READ)
}

pub(super) fn may_manage(principal: &Principal, business: Uuid) -> bool {
    principal.has_role_in(business, CATALOG_MANAGERS)
}

/// The business a create acts in: the one `named`, else the caller's own; platform operators
/// must name it. Only its owners and admins manage `what`.
pub(super) fn managed_business(
    principal: &Principal,
    named: Option<Uuid>,
    what: &str,
) -> Result<Uuid, ApiError> {
    let business = match (named, principal.business) {
        (Some(business), _) => business,
        (None, Some(business)) => business,
        (None, None) if principal.is_super_admin() => {
            return Err(ApiError::validation(
                "business_id",
                "platform operators name the business",
            ))
        }
        (None, None) => DEMO_BUSINESS_ID,
    };
    if may_manage(principal, business) {
        Ok(business)
    } else {
        Err(ApiError::Forbidden(format!(
            "only the business's owners and admins manage {what}"
        )))
    }
}

/// The request's bearer token (the extractor has verified it), to read as the member.
fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::Unauthorized("a bearer token is required".into()))
}

/// The catalog's cursor: the last item's (points_cost, id).
fn encode_cursor(item: &CatalogItem) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}.{}", item.points_cost, item.id))
}

fn decode_cursor(raw: &str) -> Result<(i64, Uuid), ApiError> {
    let refused = || ApiError::validation("cursor", "is not a cursor from a previous page");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| refused())?;
    let text = String::from_utf8(bytes).map_err(|_| refused())?;
    let (cost, id) = text.split_once('.').ok_or_else(refused)?;
    Ok((
        cost.parse().map_err(|_| refused())?,
        id.parse().map_err(|_| refused())?,
    ))
}

/// Browse a business's catalog, cheapest first, with filters and cursor paging.
#[utoipa::path(
    get, path = "/api/v1/rewards", tag = "rewards", security(("bearer" = [])),
    params(CatalogQuery),
    responses(
        (status = 200, body = CatalogView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not a member, nor staff or a partner (rewards:read) of the business", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter, limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_rewards"))]
pub async fn list_rewards(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    query: web::Query<CatalogQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let business = query
        .business_id
        .unwrap_or_else(|| home_business(&principal));
    if !may_browse(&principal, business) {
        return Err(ApiError::Forbidden(
            "you may not browse this business's reward catalog".into(),
        ));
    }
    let include_archived = query.include_archived.unwrap_or(false);
    if include_archived && !may_manage(&principal, business) {
        return Err(ApiError::Forbidden(
            "only the business's admins see archived rewards".into(),
        ));
    }
    let category = query
        .category
        .as_deref()
        .map(catalog::parse_category)
        .transpose()
        .map_err(|m| ApiError::validation("category", m))?
        .flatten();
    if query.max_points.is_some_and(|p| p < 0) {
        return Err(ApiError::validation("max_points", "must not be negative"));
    }
    let limit = query.limit.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {PAGE_MAX}"),
        ));
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let (affordable, for_my_tier) = (
        query.affordable.unwrap_or(false),
        query.for_my_tier.unwrap_or(false),
    );
    let standing = if affordable || for_my_tier {
        if !principal.is_member(principal.subject) {
            return Err(ApiError::validation(
                if affordable {
                    "affordable"
                } else {
                    "for_my_tier"
                },
                "only members filter by their own points and tier",
            ));
        }
        Some(
            state
                .points
                .standing(principal.subject, bearer(&req)?)
                .await?,
        )
    } else {
        None
    };
    let max_points_cost = match (&standing, affordable) {
        (Some(standing), true) => Some(query.max_points.map_or(standing.available_points, |m| {
            m.min(standing.available_points)
        })),
        _ => query.max_points,
    };
    let tiers = standing
        .as_ref()
        .filter(|_| for_my_tier)
        .map(|s| s.tiers_reached.as_slice());
    let mut items = core::catalog::list(
        &state.pool,
        &CatalogFilter {
            business_id: business,
            category: category.as_deref(),
            max_points_cost,
            tiers,
            include_archived,
            after,
            limit: limit + 1,
        },
    )
    .await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(encode_cursor)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(CatalogView {
        items: items.into_iter().map(RewardView::from).collect(),
        next_cursor,
    }))
}

/// One reward of the catalog.
#[utoipa::path(
    get, path = "/api/v1/rewards/{reward_id}", tag = "rewards", security(("bearer" = [])),
    params(("reward_id" = Uuid, Path)),
    responses(
        (status = 200, body = RewardView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such reward, or one the caller may not see", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "get_reward", reward_id = %*path))]
pub async fn get_reward(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let item = core::catalog::get(&state.pool, path.into_inner(), |item| {
        may_browse(&principal, item.business_id)
            && (item.active || may_manage(&principal, item.business_id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(RewardView::from(item)))
}

/// Add a reward to a business's catalog. Idempotent on the `Idempotency-Key` header.
#[utoipa::path(
    post, path = "/api/v1/rewards", tag = "rewards", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header)),
    request_body = CreateReward,
    responses(
        (status = 201, body = RewardView),
        (status = 200, description = "Created before with this key", body = RewardView),
        (status = 400, description = "The body is not JSON", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Only the business's owners and admins manage its catalog", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or the key was used for another request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_reward"))]
pub async fn create_reward(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: CreateReward = platform::http::parse_json_body(&req, &body)?;
    let business = managed_business(&principal, request.business_id, "its catalog")?;
    let key = IdempotencyKey::from_request(&req)?;
    let reward = NewReward::try_from(request).map_err(invalid)?;
    let created_by = principal.scope_key();
    let fingerprint = idempotency::fingerprint(&req, &body);
    let added = core::catalog::add_reward(
        &state.pool,
        &reward,
        &Creation {
            business_id: business,
            created_by: &created_by,
            idempotency_key: key.as_str(),
            request_fingerprint: &fingerprint,
        },
    )
    .await?;
    let view = RewardView::from(added.item);
    Ok(if added.replayed {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Created()
            .insert_header(("Location", format!("/api/v1/rewards/{}", view.id)))
            .json(view)
    })
}

/// Replace a reward's rules (the whole reward, as on create; `business_id` cannot change).
/// Redemptions already made keep the terms they were made under.
#[utoipa::path(
    put, path = "/api/v1/rewards/{reward_id}", tag = "rewards", security(("bearer" = [])),
    params(("reward_id" = Uuid, Path)),
    request_body = CreateReward,
    responses(
        (status = 200, body = RewardView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such reward in a business the caller manages", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "update_reward", reward_id = %*path))]
pub async fn update_reward(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: CreateReward = platform::http::parse_json_body(&req, &body)?;
    let moved = request.business_id;
    let reward = NewReward::try_from(request).map_err(invalid)?;
    let item = core::catalog::replace(&state.pool, path.into_inner(), &reward, |item| {
        may_manage(&principal, item.business_id) && moved.is_none_or(|b| b == item.business_id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(RewardView::from(item)))
}

/// Withdraw a reward from the catalog. Codes already issued stay usable. Archiving twice is
/// harmless.
#[utoipa::path(
    post, path = "/api/v1/rewards/{reward_id}/archive", tag = "rewards", security(("bearer" = [])),
    params(("reward_id" = Uuid, Path)),
    responses(
        (status = 200, body = RewardView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such reward in a business the caller manages", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "archive_reward", reward_id = %*path))]
pub async fn archive_reward(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let item = core::catalog::archive(&state.pool, path.into_inner(), |item| {
        may_manage(&principal, item.business_id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(RewardView::from(item)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_staff_and_scoped_partners_may_browse() {
        let demo = DEMO_BUSINESS_ID;
        for role in [Role::Support, Role::Admin, Role::SuperAdmin] {
            assert!(may_browse(&Principal::staff(role), demo), "{role:?}");
        }
        assert!(may_browse(&Principal::member(Uuid::now_v7()), demo));
        assert!(may_browse(&Principal::partner(&["rewards:read"]), demo));
        assert!(!may_browse(&Principal::partner(&["points:read"]), demo));
        assert!(!may_browse(&Principal::without_role(), demo));
        let elsewhere = Uuid::now_v7();
        assert!(!may_browse(&Principal::staff(Role::Admin), elsewhere));
        assert!(may_browse(&Principal::member(Uuid::now_v7()), elsewhere));
    }

    #[test]
    fn only_admins_of_the_business_manage_its_catalog() {
        let demo = DEMO_BUSINESS_ID;
        assert!(may_manage(&Principal::staff(Role::Admin), demo));
        assert!(may_manage(&Principal::staff(Role::SuperAdmin), demo));
        assert!(may_manage(&Principal::staff(Role::Owner), demo));
        assert!(!may_manage(&Principal::staff(Role::Admin), Uuid::now_v7()));
        for refused in [
            Principal::staff(Role::Support),
            Principal::staff(Role::Cashier),
            Principal::member(Uuid::now_v7()),
            Principal::partner(&["rewards:read"]),
        ] {
            assert!(!may_manage(&refused, demo), "{refused:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("250.{id}"));
        assert_eq!(decode_cursor(&raw).unwrap(), (250, id));
        for bad in ["", "!!", "bm9wZQ"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
