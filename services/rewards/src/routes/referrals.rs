//! Referral campaigns: a member takes a code to share; a new member claims it; both follow the
//! referral; staff follow every referral and retry failed rewards.

use super::campaigns::{may_follow, may_see, page_limit, FOLLOWERS};
use super::catalog::may_manage;
use super::AppState;
use crate::core::campaigns as core_campaigns;
use crate::core::referrals::{self as core_referrals, ReferralProgress};
use crate::domain::referrals::ReferralState;
use crate::storage::referrals::{Referral, ReferralTransition};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A member's code to share.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReferralCodeView {
    pub campaign_id: Uuid,
    /// 20 letters and digits; typed in any case, with or without dashes.
    pub code: String,
}

/// One recorded move of a referral.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReferralTransitionView {
    /// Absent for the claim itself.
    pub from: Option<ReferralState>,
    pub to: ReferralState,
    /// claimed, purchase, purchase_refunded, no_purchase, settled, reward_paid,
    /// reward_retries_exhausted, admin_retry.
    pub cause: String,
    pub detail: Option<String>,
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<ReferralTransition> for ReferralTransitionView {
    fn from(t: ReferralTransition) -> Self {
        Self {
            from: t.from_state.as_deref().and_then(ReferralState::parse),
            to: ReferralState::parse(&t.to_state).unwrap_or(ReferralState::Expired),
            cause: t.cause,
            detail: t.detail,
            actor: t.actor,
            at: t.occurred_at,
        }
    }
}

/// A referral as its two members and staff see it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReferralView {
    pub referral_id: Uuid,
    pub campaign_id: Uuid,
    pub campaign_name: String,
    pub referrer_id: Uuid,
    pub referee_id: Uuid,
    pub state: ReferralState,
    pub claimed_at: DateTime<Utc>,
    /// The new member's first qualifying purchase must come before this.
    pub purchase_by: DateTime<Utc>,
    /// The qualifying purchase (a charge id), while settling and after.
    pub charge_id: Option<String>,
    pub purchased_at: Option<DateTime<Utc>>,
    /// Both earn once the purchase has stood unrefunded until then.
    pub settles_at: Option<DateTime<Utc>>,
    pub referrer_points: i64,
    pub referee_points: i64,
    pub referrer_paid_at: Option<DateTime<Utc>>,
    pub referee_paid_at: Option<DateTime<Utc>>,
    /// Requests for the points in the current round of retries.
    pub reward_attempts: i32,
    /// Every move, oldest first (on single referrals; absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transitions: Option<Vec<ReferralTransitionView>>,
}

impl ReferralView {
    fn new(r: Referral, transitions: Option<Vec<ReferralTransition>>) -> Self {
        Self {
            state: r.state(),
            referral_id: r.id,
            campaign_id: r.campaign_id,
            campaign_name: r.campaign_name,
            referrer_id: r.referrer_id,
            referee_id: r.referee_id,
            claimed_at: r.claimed_at,
            purchase_by: r.purchase_by,
            charge_id: r.charge_id,
            purchased_at: r.purchased_at,
            settles_at: r.settles_at,
            referrer_points: r.referrer_points,
            referee_points: r.referee_points,
            referrer_paid_at: r.referrer_paid_at,
            referee_paid_at: r.referee_paid_at,
            reward_attempts: r.reward_attempts,
            transitions: transitions
                .map(|ts| ts.into_iter().map(ReferralTransitionView::from).collect()),
        }
    }

    fn of(progress: ReferralProgress) -> Self {
        Self::new(progress.referral, Some(progress.transitions))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReferralPage {
    pub items: Vec<ReferralView>,
    pub next_cursor: Option<String>,
}

fn members_only(principal: &auth::Principal, what: &str) -> Result<Uuid, ApiError> {
    let member = principal.subject;
    if principal.is_member(member) {
        Ok(member)
    } else {
        Err(ApiError::Forbidden(format!("members {what} themselves")))
    }
}

fn may_see_referral(principal: &auth::Principal, r: &Referral) -> bool {
    principal.is_member(r.referrer_id)
        || principal.is_member(r.referee_id)
        || may_follow(principal, r.business_id)
}

/// The caller's code to share in a running referral campaign (made on first asking; the same
/// code after that).
#[utoipa::path(
    post, path = "/api/v1/campaigns/{campaign_id}/referral-code", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path)),
    responses(
        (status = 200, body = ReferralCodeView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Only members share codes", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such published campaign", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`not-a-referral-campaign`, or `campaign-not-running`", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "referral_code", campaign_id = %*path))]
pub async fn referral_code(
    state: web::Data<AppState>,
    principal: auth::Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let member = members_only(&principal, "share their codes")?;
    let campaign_id = path.into_inner();
    let code = core_referrals::code_for(&state.pool, &state.campaigns, campaign_id, member, |c| {
        may_see(&principal, c)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ReferralCodeView { campaign_id, code }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimReferral {
    /// The code another member shared.
    pub code: String,
}

/// Claim another member's code (a new member, for themselves). Claiming the same code again
/// answers 200 with the referral.
#[utoipa::path(
    post, path = "/api/v1/campaigns/{campaign_id}/referrals", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path)),
    request_body = ClaimReferral,
    responses(
        (status = 201, body = ReferralView),
        (status = 200, description = "Claimed before", body = ReferralView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Only members claim; `not-eligible`: the member joined before the campaign opened", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such published campaign", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`already-referred`, `referral-cap-reached`, `referral-campaign-full`, `campaign-not-running`, `not-a-referral-campaign`", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`self-referral`, `unknown-referral-code`, or a code that is not one", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "claim_referral", campaign_id = %*path))]
pub async fn claim(
    state: web::Data<AppState>,
    principal: auth::Principal,
    path: web::Path<Uuid>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: ClaimReferral = platform::http::parse_json_body(&req, &body)?;
    let member = members_only(&principal, "claim codes")?;
    let claimed = core_referrals::claim(
        &state.pool,
        &state.campaigns,
        path.into_inner(),
        member,
        &request.code,
        |c| may_see(&principal, c),
    )
    .await?;
    let progress = core_referrals::progress(&state.pool, claimed.referral.id, |_| true).await?;
    let view = ReferralView::of(progress);
    Ok(if claimed.created {
        HttpResponse::Created()
            .insert_header((
                "Location",
                format!(
                    "/api/v1/campaigns/{}/referrals/{}",
                    view.campaign_id, view.referral_id
                ),
            ))
            .json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReferralQuery {
    /// Staff: only the referrals this member is part of (members always see only theirs).
    pub member_id: Option<Uuid>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<Uuid>,
}

/// A campaign's referrals: members see those they made or were brought by; staff see all.
#[utoipa::path(
    get, path = "/api/v1/campaigns/{campaign_id}/referrals", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path), ReferralQuery),
    responses(
        (status = 200, body = ReferralPage),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Another member's referrals", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign the caller may see", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_referrals", campaign_id = %*path))]
pub async fn list(
    state: web::Data<AppState>,
    principal: auth::Principal,
    path: web::Path<Uuid>,
    query: web::Query<ReferralQuery>,
) -> Result<HttpResponse, ApiError> {
    let campaign =
        core_campaigns::get(&state.pool, path.into_inner(), |c| may_see(&principal, c)).await?;
    let query = query.into_inner();
    let member = if may_follow(&principal, campaign.business_id) {
        query.member_id
    } else {
        let me = principal.subject;
        principal.authorize_member_access_in(
            campaign.business_id,
            query.member_id.unwrap_or(me),
            FOLLOWERS,
            None,
        )?;
        Some(me)
    };
    let limit = page_limit(query.limit)?;
    let mut items =
        core_referrals::list(&state.pool, campaign.id, member, query.cursor, limit + 1).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|r| r.id.to_string())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(ReferralPage {
        items: items
            .into_iter()
            .map(|r| ReferralView::new(r, None))
            .collect(),
        next_cursor,
    }))
}

type ReferralPath = web::Path<(Uuid, Uuid)>;

/// One referral with every move (its two members, or staff).
#[utoipa::path(
    get, path = "/api/v1/campaigns/{campaign_id}/referrals/{referral_id}", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path), ("referral_id" = Uuid, Path)),
    responses(
        (status = 200, body = ReferralView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such referral the caller may see", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "get_referral"))]
pub async fn get(
    state: web::Data<AppState>,
    principal: auth::Principal,
    path: ReferralPath,
) -> Result<HttpResponse, ApiError> {
    let (campaign, referral) = path.into_inner();
    let progress = core_referrals::progress(&state.pool, referral, |r| {
        r.campaign_id == campaign && may_see_referral(&principal, r)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ReferralView::of(progress)))
}

/// Retry the reward of a referral whose payment failed (admins): a fresh round of requests for
/// each side not yet paid. The point service pays once per referral and member.
#[utoipa::path(
    post, path = "/api/v1/campaigns/{campaign_id}/referrals/{referral_id}/retry-reward", tag = "campaigns", security(("bearer" = [])),
    operation_id = "retry_referral_reward",
    params(("campaign_id" = Uuid, Path), ("referral_id" = Uuid, Path)),
    responses(
        (status = 200, body = ReferralView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such referral in a business the caller manages", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`reward-not-failed`: only a failed reward is retried", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "retry_referral_reward"))]
pub async fn retry_reward(
    state: web::Data<AppState>,
    principal: auth::Principal,
    path: ReferralPath,
) -> Result<HttpResponse, ApiError> {
    let (campaign, referral) = path.into_inner();
    let r = core_referrals::retry_reward(
        &state.pool,
        &state.campaigns,
        referral,
        &principal.scope_key(),
        |r| r.campaign_id == campaign && may_manage(&principal, r.business_id),
    )
    .await?;
    let progress = core_referrals::progress(&state.pool, r.id, |_| true).await?;
    Ok(HttpResponse::Ok().json(ReferralView::of(progress)))
}
