//! Redeeming rewards, following and cancelling redemptions, and using their codes.

use super::AppState;
use crate::core;
use crate::core::redemptions::{Canceller, CodeUse, RedeemRequest};
use crate::domain::catalog::Fulfilment;
use crate::domain::codes::Code;
use crate::domain::redemptions::RedemptionStatus;
use crate::storage::redemptions::Redemption;
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{Principal, Role};
use chrono::{DateTime, Utc};
use platform::idempotency::{self, IdempotencyKey};
use platform::pagination::{Cursor, PageRequest};
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Staff who see a business's redemptions (its admins also cancel them).
const REDEMPTION_STAFF: &[Role] = &[Role::Support, Role::Admin, Role::SuperAdmin];
/// Staff who may take a code at a store (business-level roles at any of its stores).
const CODE_TAKERS: &[Role] = &[
    Role::Cashier,
    Role::StoreManager,
    Role::Support,
    Role::Admin,
    Role::SuperAdmin,
];

#[derive(Serialize, utoipa::ToSchema)]
pub struct RedemptionStep {
    pub status: String,
    pub cause: String,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RedemptionView {
    pub id: Uuid,
    pub business_id: Uuid,
    pub reward_id: Uuid,
    pub reward_name: String,
    pub fulfilment: Fulfilment,
    pub points: i64,
    pub status: RedemptionStatus,
    /// Why a failed redemption failed: insufficient_points, tier_too_low, no_account, ...
    pub failure_reason: Option<String>,
    pub failure_detail: Option<String>,
    /// The code to show or type, in groups (`XXXX-XXXX-XXXX-XXXX-XXXX`), once issued.
    pub code: Option<String>,
    pub code_expires_at: Option<DateTime<Utc>>,
    /// Until when the member may cancel it (absent: not cancellable).
    pub cancel_until: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_store_id: Option<Uuid>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The saga's steps (on the single redemption only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<RedemptionStep>>,
}

impl From<Redemption> for RedemptionView {
    fn from(r: Redemption) -> Self {
        Self {
            status: r.status(),
            fulfilment: Fulfilment::parse(&r.fulfilment).unwrap_or_default(),
            code: r.code.map(|c| Code::from_stored(c).to_string()),
            id: r.id,
            business_id: r.business_id,
            reward_id: r.reward_id,
            reward_name: r.reward_name,
            points: r.points,
            failure_reason: r.failure_reason,
            failure_detail: r.failure_detail,
            code_expires_at: r.code_expires_at,
            cancel_until: r.cancel_until,
            used_at: r.used_at,
            used_store_id: r.used_store_id,
            cancelled_at: r.cancelled_at,
            created_at: r.created_at,
            steps: None,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RedemptionPage {
    /// Newest first.
    pub items: Vec<RedemptionView>,
    pub next_cursor: Option<String>,
}

fn location(id: Uuid) -> (&'static str, String) {
    ("Location", format!("/api/v1/rewards/redemptions/{id}"))
}

/// A failed redemption as the member's answer: the reason as a problem.
fn refusal(redemption: &Redemption) -> ApiError {
    let detail = redemption
        .failure_detail
        .clone()
        .unwrap_or_else(|| "the redemption failed".into());
    match redemption.failure_reason.as_deref() {
        Some("insufficient_points") => ApiError::Unprocessable {
            slug: "insufficient-points",
            detail,
        },
        Some("tier_too_low") => ApiError::Denied {
            slug: "tier-too-low",
            detail,
        },
        Some("no_account") => ApiError::Unprocessable {
            slug: "no-points-account",
            detail,
        },
        _ => ApiError::Conflict {
            slug: "redemption-failed",
            detail,
        },
    }
}

/// Staff of `business` with one of `roles`, acting at `store`: store staff only at their own
/// stores (and only when they name one), business-level staff anywhere.
fn staff_at(principal: &Principal, business: Uuid, store: Option<Uuid>, roles: &[Role]) -> bool {
    match store {
        Some(store) => principal.has_role_at_store(business, store, roles),
        None => {
            principal.has_role_in(business, roles)
                && !principal.role.is_some_and(|r| r.is_store_level())
        }
    }
}

/// Who a redemption is for, when staff redeem at the counter.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRewardBody {
    /// The member (staff only, e.g. after identifying them at the counter); a member redeems for
    /// themselves and may leave it out.
    pub member_id: Option<Uuid>,
    /// The store where staff redeem (required of store staff).
    pub store_id: Option<Uuid>,
}

/// Staff who may redeem for a member: store staff at their store, the business's admins anywhere.
const COUNTER_STAFF: &[Role] = &[
    Role::Cashier,
    Role::StoreManager,
    Role::Admin,
    Role::SuperAdmin,
];

/// Whether the caller may redeem `reward` for the member the body names. Another business's
/// reward is not found for its staff.
fn authorize_redeem(
    principal: &Principal,
    body: &RedeemRewardBody,
    reward: &crate::storage::catalog::CatalogItem,
) -> Result<(), ApiError> {
    if principal.is_member(principal.subject) {
        return Ok(());
    }
    let business = reward.business_id;
    let allowed = staff_at(principal, business, body.store_id, COUNTER_STAFF);
    match (allowed, principal.acts_in(business)) {
        (true, _) => Ok(()),
        (false, true) => Err(ApiError::Forbidden(match body.store_id {
            Some(_) => "you do not redeem rewards at this store".into(),
            None => "store staff name the store where they redeem".into(),
        })),
        (false, false) => Err(ApiError::NotFound("no such reward".into())),
    }
}

/// Redeem a reward: a member for themselves, or staff at the counter for a member they
/// identified (`member_id`, and `store_id` for store staff). Idempotent on the `Idempotency-Key`
/// header: a retry gets the same redemption as it now stands.
///
/// Answers with the finished redemption when it completes within a short wait (about 2 s):
/// 201 with its code, or the reason it failed as a problem; otherwise 202 with its URL to follow.
#[utoipa::path(
    post, path = "/api/v1/rewards/{reward_id}/redemptions", tag = "redemptions", security(("bearer" = [])),
    operation_id = "redeem_reward",
    params(("reward_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body(content = Option<RedeemRewardBody>, description = "Optional for members"),
    responses(
        (status = 201, description = "Redeemed: the code is the member's", body = RedemptionView),
        (status = 200, description = "Redeemed before with this key", body = RedemptionView),
        (status = 202, description = "Still in progress: follow the Location", body = RedemptionView),
        (status = 400, description = "The body is not JSON", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "`tier-too-low` (names the tier needed), or the caller may not redeem for this member here", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such reward (in the caller's business, for staff)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`reward-inactive`, `reward-not-in-window`, `reward-out-of-stock`, `redemption-limit-reached`", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`insufficient-points` (names the shortfall), `no-points-account`, a bad body, or the key was used for another request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "redeem_reward", reward_id = %*path))]
pub async fn redeem(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: RedeemRewardBody = if body.is_empty() {
        RedeemRewardBody::default()
    } else {
        platform::http::parse_json_body(&req, &body)?
    };
    let member_id = if principal.is_member(principal.subject) {
        match request.member_id {
            Some(other) if other != principal.subject => {
                return Err(ApiError::Forbidden(
                    "members redeem rewards for themselves only".into(),
                ))
            }
            _ => principal.subject,
        }
    } else if principal.is_staff() {
        request.member_id.ok_or_else(|| {
            ApiError::validation("member_id", "staff name the member they redeem for")
        })?
    } else {
        return Err(ApiError::Forbidden(
            "only members and the business's staff redeem rewards".into(),
        ));
    };
    let key = IdempotencyKey::from_request(&req)?;
    let requested_by = principal.scope_key();
    let fingerprint = idempotency::fingerprint(&req, &body);
    let outcome = core::redemptions::request(
        &state.pool,
        &RedeemRequest {
            reward_id: path.into_inner(),
            member_id,
            requested_by: &requested_by,
            idempotency_key: key.as_str(),
            fingerprint: &fingerprint,
        },
        |reward| authorize_redeem(&principal, &request, reward),
    )
    .await?;
    let redemption =
        core::redemptions::wait_settled(&state.pool, outcome.redemption.id, state.redemption_wait)
            .await?;
    let id = redemption.id;
    match redemption.status() {
        RedemptionStatus::Pending => Ok(HttpResponse::Accepted()
            .insert_header(location(id))
            .json(RedemptionView::from(redemption))),
        RedemptionStatus::Failed => Err(refusal(&redemption)),
        _ if outcome.replayed => Ok(HttpResponse::Ok()
            .insert_header(location(id))
            .json(RedemptionView::from(redemption))),
        _ => Ok(HttpResponse::Created()
            .insert_header(location(id))
            .json(RedemptionView::from(redemption))),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The signed-in member's redemptions, newest first.
#[utoipa::path(
    get, path = "/api/v1/rewards/redemptions", tag = "redemptions", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = RedemptionPage),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not a member", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_redemptions"))]
pub async fn list_mine(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    if !principal.is_member(principal.subject) {
        return Err(ApiError::Forbidden("only members have redemptions".into()));
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 20, 100)?;
    let after = page.after.as_ref().map(|c| (c.created_at, c.id));
    let rows = core::redemptions::list_for_member(
        &state.pool,
        principal.subject,
        after,
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_cursor) = page.finish(rows, |r| Cursor {
        created_at: r.created_at,
        id: r.id,
    });
    Ok(HttpResponse::Ok().json(RedemptionPage {
        items: rows.into_iter().map(RedemptionView::from).collect(),
        next_cursor,
    }))
}

/// Whether the caller may see a redemption: its member, whoever redeemed it for them (a
/// cashier), or staff of its business.
fn may_see(principal: &Principal, redemption: &Redemption) -> bool {
    redemption
        .member_id
        .is_some_and(|member| principal.is_member(member))
        || redemption.requested_by == principal.scope_key()
        || (principal.is_staff() && principal.has_role_in(redemption.business_id, REDEMPTION_STAFF))
}

/// One redemption with the saga's steps: its member, or staff of its business.
#[utoipa::path(
    get, path = "/api/v1/rewards/redemptions/{redemption_id}", tag = "redemptions", security(("bearer" = [])),
    params(("redemption_id" = Uuid, Path)),
    responses(
        (status = 200, body = RedemptionView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such redemption, or another member's", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "get_redemption", redemption_id = %*path))]
pub async fn get_redemption(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (redemption, steps) =
        core::redemptions::get(&state.pool, path.into_inner(), |r| may_see(&principal, r)).await?;
    let mut view = RedemptionView::from(redemption);
    view.steps = Some(
        steps
            .into_iter()
            .map(|(status, cause, at)| RedemptionStep { status, cause, at })
            .collect(),
    );
    Ok(HttpResponse::Ok().json(view))
}

/// Cancel an unused redemption: the member within the reward's cancel window, or staff of the
/// business at any time. The points and the stock come back. Cancelling twice is harmless.
#[utoipa::path(
    post, path = "/api/v1/rewards/redemptions/{redemption_id}/cancel", tag = "redemptions", security(("bearer" = [])),
    params(("redemption_id" = Uuid, Path)),
    responses(
        (status = 200, body = RedemptionView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such redemption, or another member's", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`cancel-window-closed`, or `redemption-not-cancellable` (used, failed or still pending)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "cancel_redemption", redemption_id = %*path))]
pub async fn cancel(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let canceller = if principal.is_member(principal.subject) {
        Canceller::Member(principal.subject)
    } else if principal.is_staff() {
        Canceller::Staff
    } else {
        return Err(ApiError::Forbidden(
            "only the member or the business's staff cancel a redemption".into(),
        ));
    };
    let redemption = core::redemptions::cancel(&state.pool, path.into_inner(), canceller, |r| {
        principal.has_role_in(r.business_id, &[Role::Admin, Role::SuperAdmin])
    })
    .await?;
    Ok(HttpResponse::Ok().json(RedemptionView::from(redemption)))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UseCodeBody {
    /// The store where the code is taken (required of store staff, and for `store_code` rewards).
    pub store_id: Option<Uuid>,
}

/// Who may use a code of this redemption: store staff of its business at their store, its
/// business-level staff, or its partners with `rewards:fulfil`; what the reward's fulfilment
/// asks decides among them. Another business's code is not found.
fn authorize_use(
    principal: &Principal,
    redemption: &Redemption,
    store: Option<Uuid>,
) -> Result<(), ApiError> {
    let business = redemption.business_id;
    let partner = principal.has_scope_in(business, auth::scopes::REWARDS_FULFIL);
    let staff = staff_at(principal, business, store, CODE_TAKERS);
    if !partner && !staff {
        if principal.acts_in(business) {
            return Err(ApiError::Forbidden(match store {
                Some(_) => "you do not take codes at this store".into(),
                None => "store staff name the store where they take the code".into(),
            }));
        }
        return Err(ApiError::NotFound("no redemption has this code".into()));
    }
    match Fulfilment::parse(&redemption.fulfilment).unwrap_or_default() {
        Fulfilment::StoreCode if store.is_none() => Err(ApiError::validation(
            "store_id",
            "this reward is taken at a store: name it",
        )),
        Fulfilment::Partner if !partner => Err(ApiError::Forbidden(
            "this reward is fulfilled by a partner".into(),
        )),
        _ => Ok(()),
    }
}

/// Use a redemption's code, once: store staff at the counter, or a partner with `rewards:fulfil`.
/// A second use is refused with when and where the code was used; the retry of the request
/// that used it (same `Idempotency-Key`) gets the same answer.
#[utoipa::path(
    post, path = "/api/v1/rewards/codes/{code}/use", tag = "redemptions", security(("bearer" = [])),
    params(("code" = String, Path, description = "The code as shown or typed (case, dashes and spaces do not matter)"), ("Idempotency-Key" = String, Header)),
    request_body = UseCodeBody,
    responses(
        (status = 200, body = RedemptionView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff at this store, nor a partner with rewards:fulfil", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No redemption has this code (in the caller's business)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`code-already-used` (says when and where), `code-expired`, `redemption-cancelled`, `code-not-issued`", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`code-mistyped`: the code's check symbol does not match (a typo), or a bad body", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "use_code"))]
pub async fn use_code(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let code = Code::parse(&path).map_err(|e| ApiError::Unprocessable {
        slug: "code-mistyped",
        detail: e.to_string(),
    })?;
    let body: UseCodeBody = if body.is_empty() {
        UseCodeBody::default()
    } else {
        platform::http::parse_json_body(&req, &body)?
    };
    let key = IdempotencyKey::from_request(&req)?;
    let used_by = principal.scope_key();
    let redemption = core::redemptions::use_code(
        &state.pool,
        &code,
        &CodeUse {
            used_by: &used_by,
            store: body.store_id,
            idempotency_key: key.as_str(),
        },
        |r| authorize_use(&principal, r, body.store_id),
    )
    .await?;
    Ok(HttpResponse::Ok().json(RedemptionView::from(redemption)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::redemptions::HoldRefusal;
    use kernel::DEMO_BUSINESS_ID;

    fn redemption(fulfilment: Fulfilment) -> Redemption {
        Redemption {
            id: Uuid::now_v7(),
            business_id: DEMO_BUSINESS_ID,
            reward_id: Uuid::now_v7(),
            reward_name: "Mug".into(),
            fulfilment: fulfilment.as_str().into(),
            member_id: Some(Uuid::now_v7()),
            points: 10,
            status: "issued".into(),
            failure_reason: None,
            failure_detail: None,
            hold_id: None,
            code: None,
            code_expires_at: None,
            cancel_until: None,
            used_at: None,
            used_by: None,
            used_store_id: None,
            used_idempotency_key: None,
            cancelled_at: None,
            requested_by: String::new(),
            request_fingerprint: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn who_may_use_a_code() {
        let store = Uuid::now_v7();
        let other_store = Uuid::now_v7();
        let cashier = Principal::staff_in(Some(DEMO_BUSINESS_ID), Role::Cashier, vec![store]);
        let voucher = redemption(Fulfilment::ShowCode);
        assert!(authorize_use(&cashier, &voucher, Some(store)).is_ok());
        assert!(matches!(
            authorize_use(&cashier, &voucher, Some(other_store)),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(
            authorize_use(&cashier, &voucher, None),
            Err(ApiError::Forbidden(_))
        ));
        assert!(authorize_use(&Principal::staff(Role::Admin), &voucher, None).is_ok());
        let partner = Principal::partner(&["rewards:fulfil"]);
        assert!(authorize_use(&partner, &voucher, None).is_ok());
        assert!(matches!(
            authorize_use(&Principal::partner(&["rewards:read"]), &voucher, None),
            Err(ApiError::Forbidden(_))
        ));
        let stranger = Principal::staff_in(Some(Uuid::now_v7()), Role::Admin, vec![]);
        assert!(matches!(
            authorize_use(&stranger, &voucher, None),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            authorize_use(&Principal::member(Uuid::now_v7()), &voucher, None),
            Err(ApiError::NotFound(_))
        ));
        let at_counter = redemption(Fulfilment::StoreCode);
        assert!(matches!(
            authorize_use(&Principal::staff(Role::Admin), &at_counter, None),
            Err(ApiError::Validation(_))
        ));
        let by_partner = redemption(Fulfilment::Partner);
        assert!(matches!(
            authorize_use(&cashier, &by_partner, Some(store)),
            Err(ApiError::Forbidden(_))
        ));
        assert!(authorize_use(&partner, &by_partner, None).is_ok());
    }

    #[test]
    fn failures_answer_with_their_reason() {
        let mut failed = redemption(Fulfilment::ShowCode);
        failed.status = "failed".into();
        for (reason, slug) in [
            ("insufficient_points", "insufficient-points"),
            ("tier_too_low", "tier-too-low"),
            ("no_account", "no-points-account"),
            ("anything_else", "redemption-failed"),
        ] {
            failed.failure_reason = Some(reason.into());
            assert_eq!(refusal(&failed).slug(), slug);
        }
        let short = HoldRefusal::InsufficientPoints {
            needed: 10,
            available: 4,
        };
        failed.failure_reason = Some(short.reason().into());
        failed.failure_detail = Some(short.detail());
        assert!(refusal(&failed).to_string().contains("6 short"));
    }
}
