//! Goal campaigns: admins define and run them; members enrol and follow their progress; staff
//! follow enrolments and retry failed rewards; the card processor's settlement files come in.

use super::catalog::{home_business, managed_business, may_manage};
use super::{invalid, AppState};
use crate::core::campaigns::{self as core_campaigns, Lifecycle, Progress};
use crate::core::settlements::{self, Received, SettlementReport};
use crate::domain::campaigns::{
    days_left, CampaignKind, CampaignStatus, CreateCampaign, DisqualifiedReason, Eligibility,
    EnrolmentMode, EnrolmentState, NewCampaign,
};
use crate::storage::campaigns::{Campaign, CampaignCreation, Enrolment, TransitionRow};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{Principal, Role};
use base64::Engine;
use chrono::{DateTime, Utc};
use platform::idempotency::{self, IdempotencyKey};
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Staff who follow a business's enrolments (support answers members' questions about them).
pub(super) const FOLLOWERS: &[Role] = &[Role::Support, Role::Admin, Role::SuperAdmin];
const PAGE_DEFAULT: i64 = 50;
const PAGE_MAX: i64 = 200;
/// Settlement files up to 16 MiB (about 150,000 lines).
pub const SETTLEMENT_MAX_BYTES: usize = 16 * 1024 * 1024;

pub(super) fn may_follow(principal: &Principal, business: Uuid) -> bool {
    principal.has_role_in(business, FOLLOWERS)
}

/// Members see a business's published campaigns; its staff see all of them.
pub(super) fn may_see(principal: &Principal, campaign: &Campaign) -> bool {
    may_follow(principal, campaign.business_id)
        || (campaign.published_at.is_some()
            && principal.has_role_in(campaign.business_id, &[Role::Customer]))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub id: Uuid,
    pub business_id: Uuid,
    pub kind: CampaignKind,
    pub name: String,
    pub description: Option<String>,
    pub status: CampaignStatus,
    /// load_goal: minor units of `currency`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_amount: Option<i64>,
    /// load_goal: the loads' currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reward_points: Option<i64>,
    /// bonus_window: the bonus the point service applies while the campaign runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bonus: Option<BonusView>,
    /// referral: what each side earns, what qualifies, and the caps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referral: Option<ReferralTermsView>,
    pub eligibility: Eligibility,
    pub enrolment: EnrolmentMode,
    pub enrol_from: DateTime<Utc>,
    pub enrol_until: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BonusView {
    /// 100 = 1x, 200 = double.
    pub multiplier_bp: i32,
    pub bonus_points: i64,
    pub store_id: Option<String>,
    pub category: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReferralTermsView {
    pub referrer_points: i64,
    pub referee_points: i64,
    pub min_purchase_amount: i64,
    pub currency: String,
    pub purchase_within_seconds: i64,
    pub settle_seconds: i64,
    pub max_per_referrer: i32,
    pub max_referrals: Option<i32>,
}

impl CampaignView {
    fn new(c: Campaign, now: DateTime<Utc>) -> Self {
        let bonus = c.bonus_terms().map(|b| BonusView {
            multiplier_bp: b.multiplier_bp,
            bonus_points: b.bonus_points,
            store_id: b.store_id,
            category: b.category,
        });
        let referral = c.referral_terms().map(|r| ReferralTermsView {
            referrer_points: r.referrer_points,
            referee_points: r.referee_points,
            min_purchase_amount: r.min_purchase_amount,
            currency: r.currency.code().to_owned(),
            purchase_within_seconds: r.purchase_within_seconds,
            settle_seconds: r.settle_seconds,
            max_per_referrer: r.max_per_referrer,
            max_referrals: r.max_referrals,
        });
        let load_goal = c.kind() == CampaignKind::LoadGoal;
        Self {
            status: core_campaigns::status_of(&c, now),
            kind: c.kind(),
            eligibility: c.eligibility(),
            enrolment: c.enrolment_mode(),
            id: c.id,
            business_id: c.business_id,
            name: c.name,
            description: c.description,
            target_amount: c.target_amount,
            currency: c.currency.filter(|_| load_goal),
            window_seconds: c.window_seconds,
            grace_seconds: c.grace_seconds,
            reward_points: c.reward_points,
            bonus,
            referral,
            enrol_from: c.enrol_from,
            enrol_until: c.enrol_until,
            published_at: c.published_at,
            ended_at: c.ended_at,
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignPage {
    pub items: Vec<CampaignView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One recorded move of an enrolment.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TransitionView {
    /// Absent for the enrolment itself.
    pub from: Option<EnrolmentState>,
    pub to: EnrolmentState,
    /// enrolled, first_load, goal_reached, window_ended, grace_ended, withdrawal, reward_paid,
    /// reward_retries_exhausted, admin_retry.
    pub cause: String,
    pub detail: Option<String>,
    /// Who caused it, when a person or rule did (`user:<id>`, `rule:automatic`).
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<TransitionRow> for TransitionView {
    fn from(t: TransitionRow) -> Self {
        Self {
            from: t.from_state.as_deref().and_then(EnrolmentState::parse),
            to: EnrolmentState::parse(&t.to_state).unwrap_or(EnrolmentState::Disqualified),
            cause: t.cause,
            detail: t.detail,
            actor: t.actor,
            at: t.occurred_at,
        }
    }
}

/// A member's enrolment: where it stands and the money counted so far.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProgressView {
    pub enrolment_id: Uuid,
    pub campaign_id: Uuid,
    pub campaign_name: String,
    pub member_id: Uuid,
    pub state: EnrolmentState,
    pub disqualified_reason: Option<DisqualifiedReason>,
    /// Loads seen instantly, in minor units of `currency`.
    pub instant_total: i64,
    /// Loads a settlement file has settled (instant ones it confirmed and delayed ones).
    pub settled_total: i64,
    /// What counts toward the goal: instant loads plus delayed loads known from settlement.
    pub cumulative_total: i64,
    pub target_amount: i64,
    /// What is still to load (0 once the target is reached).
    pub remaining: i64,
    pub currency: String,
    pub reward_points: i64,
    pub enrolled_at: DateTime<Utc>,
    pub window_ends_at: DateTime<Utc>,
    pub grace_ends_at: DateTime<Utc>,
    /// Whole days left in the window, rounded up.
    pub days_left: i64,
    /// Requests for the points in the current round of retries.
    pub reward_attempts: i32,
    pub reward_paid_at: Option<DateTime<Utc>>,
    /// The point service's ledger transaction that paid the points.
    pub reward_transaction_id: Option<String>,
    /// Every move, oldest first (on single enrolments; absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transitions: Option<Vec<TransitionView>>,
}

impl ProgressView {
    fn new(progress: Progress, now: DateTime<Utc>, with_history: bool) -> Self {
        let Progress {
            enrolment: e,
            facts,
            transitions,
        } = progress;
        Self {
            state: e.state(),
            disqualified_reason: e.reason(),
            remaining: e
                .target_amount
                .saturating_sub(facts.cumulative_total)
                .max(0),
            days_left: days_left(e.window_ends_at, now),
            transitions: with_history
                .then(|| transitions.into_iter().map(TransitionView::from).collect()),
            enrolment_id: e.id,
            campaign_id: e.campaign_id,
            campaign_name: e.campaign_name,
            member_id: e.member_id,
            instant_total: facts.instant_total,
            settled_total: facts.settled_total,
            cumulative_total: facts.cumulative_total,
            target_amount: e.target_amount,
            currency: e.currency,
            reward_points: e.reward_points,
            enrolled_at: e.enrolled_at,
            window_ends_at: e.window_ends_at,
            grace_ends_at: e.grace_ends_at,
            reward_attempts: e.reward_attempts,
            reward_paid_at: e.reward_paid_at,
            reward_transaction_id: e.reward_transaction_id,
        }
    }
}

/// One enrolment in a list (totals are on the enrolment's own page).
#[derive(Serialize, utoipa::ToSchema)]
pub struct EnrolmentSummary {
    pub enrolment_id: Uuid,
    pub member_id: Uuid,
    pub state: EnrolmentState,
    pub disqualified_reason: Option<DisqualifiedReason>,
    pub enrolled_at: DateTime<Utc>,
    pub window_ends_at: DateTime<Utc>,
    pub grace_ends_at: DateTime<Utc>,
    pub reward_attempts: i32,
    pub reward_paid_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<Enrolment> for EnrolmentSummary {
    fn from(e: Enrolment) -> Self {
        Self {
            state: e.state(),
            disqualified_reason: e.reason(),
            enrolment_id: e.id,
            member_id: e.member_id,
            enrolled_at: e.enrolled_at,
            window_ends_at: e.window_ends_at,
            grace_ends_at: e.grace_ends_at,
            reward_attempts: e.reward_attempts,
            reward_paid_at: e.reward_paid_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EnrolmentPage {
    pub items: Vec<EnrolmentSummary>,
    pub next_cursor: Option<String>,
}

pub(super) fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(PAGE_DEFAULT);
    if (1..=PAGE_MAX).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {PAGE_MAX}"),
        ))
    }
}

fn cursor_refused() -> ApiError {
    ApiError::validation("cursor", "is not a cursor from a previous page")
}

fn encode_campaign_cursor(c: &Campaign) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}.{}",
        c.enrol_from.timestamp_micros(),
        c.id
    ))
}

fn decode_campaign_cursor(raw: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| cursor_refused())?;
    let text = String::from_utf8(bytes).map_err(|_| cursor_refused())?;
    let (micros, id) = text.split_once('.').ok_or_else(cursor_refused)?;
    let micros: i64 = micros.parse().map_err(|_| cursor_refused())?;
    Ok((
        DateTime::from_timestamp_micros(micros).ok_or_else(cursor_refused)?,
        id.parse().map_err(|_| cursor_refused())?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CampaignQuery {
    /// The business whose campaigns to list (default: the caller's; members: the demo business).
    pub business_id: Option<Uuid>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A business's campaigns, newest enrolment start first. Members see published ones; the
/// business's staff see drafts too.
#[utoipa::path(
    get, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])),
    params(CampaignQuery),
    responses(
        (status = 200, body = CampaignPage),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not a member, nor staff of the business", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_campaigns"))]
pub async fn list_campaigns(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<CampaignQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let business = query
        .business_id
        .unwrap_or_else(|| home_business(&principal));
    let staff = may_follow(&principal, business);
    if !staff && !principal.has_role_in(business, &[Role::Customer]) {
        return Err(ApiError::Forbidden(
            "you may not see this business's campaigns".into(),
        ));
    }
    let limit = page_limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(decode_campaign_cursor)
        .transpose()?;
    let mut items = core_campaigns::list(&state.pool, business, staff, after, limit + 1).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(encode_campaign_cursor)
    } else {
        None
    };
    let now = state.campaigns.now();
    Ok(HttpResponse::Ok().json(CampaignPage {
        items: items
            .into_iter()
            .map(|c| CampaignView::new(c, now))
            .collect(),
        next_cursor,
    }))
}

/// Define a campaign (a draft unless `publish` is true). Idempotent on `Idempotency-Key`.
#[utoipa::path(
    post, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header)),
    request_body = CreateCampaign,
    responses(
        (status = 201, body = CampaignView),
        (status = 200, description = "Created before with this key", body = CampaignView),
        (status = 400, description = "The body is not JSON", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Only the business's owners and admins define campaigns", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or the key was used for another request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_campaign"))]
pub async fn create_campaign(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: CreateCampaign = platform::http::parse_json_body(&req, &body)?;
    let business = managed_business(&principal, request.business_id, "its campaigns")?;
    let key = IdempotencyKey::from_request(&req)?;
    let campaign = NewCampaign::try_from(request).map_err(invalid)?;
    let created_by = principal.scope_key();
    let fingerprint = idempotency::fingerprint(&req, &body);
    let defined = core_campaigns::define(
        &state.pool,
        &state.campaigns,
        &campaign,
        CampaignCreation {
            id: Uuid::now_v7(),
            business_id: business,
            created_by: &created_by,
            idempotency_key: key.as_str(),
            request_fingerprint: &fingerprint,
            published_at: None,
        },
    )
    .await?;
    let view = CampaignView::new(defined.campaign, state.campaigns.now());
    Ok(if defined.replayed {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Created()
            .insert_header(("Location", format!("/api/v1/campaigns/{}", view.id)))
            .json(view)
    })
}

/// One campaign.
#[utoipa::path(
    get, path = "/api/v1/campaigns/{campaign_id}", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path)),
    responses(
        (status = 200, body = CampaignView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign, or one the caller may not see", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "get_campaign", campaign_id = %*path))]
pub async fn get_campaign(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let campaign =
        core_campaigns::get(&state.pool, path.into_inner(), |c| may_see(&principal, c)).await?;
    Ok(HttpResponse::Ok().json(CampaignView::new(campaign, state.campaigns.now())))
}

async fn lifecycle(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    change: Lifecycle,
) -> Result<HttpResponse, ApiError> {
    let campaign =
        core_campaigns::change_lifecycle(&state.pool, &state.campaigns, id, change, |c| {
            may_manage(principal, c.business_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CampaignView::new(campaign, state.campaigns.now())))
}

/// Publish a draft: it is scheduled, and runs from `enrol_from`. Publishing again is harmless.
#[utoipa::path(
    post, path = "/api/v1/campaigns/{campaign_id}/publish", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path)),
    responses(
        (status = 200, body = CampaignView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign in a business the caller manages", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The campaign has ended", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "publish_campaign", campaign_id = %*path))]
pub async fn publish_campaign(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    lifecycle(&state, &principal, path.into_inner(), Lifecycle::Publish).await
}

/// End a campaign now: no new enrolments; enrolments already made run to their end.
#[utoipa::path(
    post, path = "/api/v1/campaigns/{campaign_id}/end", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path)),
    responses(
        (status = 200, body = CampaignView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign in a business the caller manages", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The campaign is still a draft", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "end_campaign", campaign_id = %*path))]
pub async fn end_campaign(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    lifecycle(&state, &principal, path.into_inner(), Lifecycle::End).await
}

/// Enrol in a running campaign (members, for themselves). Enrolling again answers 200 with the
/// enrolment the member has.
#[utoipa::path(
    post, path = "/api/v1/campaigns/{campaign_id}/enrolments", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path)),
    responses(
        (status = 201, body = ProgressView),
        (status = 200, description = "Already enrolled", body = ProgressView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Only members enrol; `not-eligible`: the campaign is for new cards", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such published campaign", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`campaign-not-running`: enrolment is not open; `campaign-has-no-enrolment`: a bonus window or referral campaign", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "enrol", campaign_id = %*path))]
pub async fn enrol(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let member = principal.subject;
    if !principal.is_member(member) {
        return Err(ApiError::Forbidden(
            "members enrol in campaigns themselves".into(),
        ));
    }
    let enrolled = core_campaigns::enrol(
        &state.pool,
        &state.campaigns,
        path.into_inner(),
        member,
        &principal.scope_key(),
        |c| may_see(&principal, c),
    )
    .await?;
    let progress = core_campaigns::progress(&state.pool, enrolled.enrolment.id, |_| true).await?;
    let view = ProgressView::new(progress, state.campaigns.now(), true);
    Ok(if enrolled.created {
        HttpResponse::Created()
            .insert_header((
                "Location",
                format!(
                    "/api/v1/campaigns/{}/enrolments/{}",
                    view.campaign_id, view.enrolment_id
                ),
            ))
            .json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProgressQuery {
    /// Staff: whose progress (members see their own).
    pub member_id: Option<Uuid>,
}

/// A member's progress in a campaign: state, instant and settled totals, days left.
#[utoipa::path(
    get, path = "/api/v1/campaigns/{campaign_id}/progress", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path), ProgressQuery),
    responses(
        (status = 200, body = ProgressView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Another member's progress", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign, or the member is not enrolled", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "campaign_progress", campaign_id = %*path))]
pub async fn progress(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    query: web::Query<ProgressQuery>,
) -> Result<HttpResponse, ApiError> {
    let campaign =
        core_campaigns::get(&state.pool, path.into_inner(), |c| may_see(&principal, c)).await?;
    let member = query.member_id.unwrap_or(principal.subject);
    principal.authorize_member_access_in(campaign.business_id, member, FOLLOWERS, None)?;
    let enrolment = core_campaigns::enrolment_of(&state.pool, campaign.id, member).await?;
    let progress = core_campaigns::progress(&state.pool, enrolment, |_| true).await?;
    Ok(HttpResponse::Ok().json(ProgressView::new(progress, state.campaigns.now(), true)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentQuery {
    /// Only enrolments in this state.
    pub state: Option<EnrolmentState>,
    /// Only enrolments disqualified for this reason (`reward_failed`: the rewards to retry).
    pub reason: Option<DisqualifiedReason>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<Uuid>,
}

/// A campaign's enrolments (staff), by state and reason.
#[utoipa::path(
    get, path = "/api/v1/campaigns/{campaign_id}/enrolments", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path), EnrolmentQuery),
    responses(
        (status = 200, body = EnrolmentPage),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign in a business the caller follows", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter or limit", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_enrolments", campaign_id = %*path))]
pub async fn list_enrolments(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    query: web::Query<EnrolmentQuery>,
) -> Result<HttpResponse, ApiError> {
    let campaign = core_campaigns::get(&state.pool, path.into_inner(), |c| {
        may_follow(&principal, c.business_id)
    })
    .await?;
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let mut items = core_campaigns::enrolments(
        &state.pool,
        campaign.id,
        query.state,
        query.reason,
        query.cursor,
        limit + 1,
    )
    .await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|e| e.id.to_string())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(EnrolmentPage {
        items: items.into_iter().map(EnrolmentSummary::from).collect(),
        next_cursor,
    }))
}

type EnrolmentPath = web::Path<(Uuid, Uuid)>;

/// One enrolment with its totals and every transition (staff, or the member).
#[utoipa::path(
    get, path = "/api/v1/campaigns/{campaign_id}/enrolments/{enrolment_id}", tag = "campaigns", security(("bearer" = [])),
    params(("campaign_id" = Uuid, Path), ("enrolment_id" = Uuid, Path)),
    responses(
        (status = 200, body = ProgressView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such enrolment the caller may see", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "get_enrolment"))]
pub async fn get_enrolment(
    state: web::Data<AppState>,
    principal: Principal,
    path: EnrolmentPath,
) -> Result<HttpResponse, ApiError> {
    let (campaign, enrolment) = path.into_inner();
    let progress = core_campaigns::progress(&state.pool, enrolment, |e| {
        e.campaign_id == campaign
            && (principal.is_member(e.member_id) || may_follow(&principal, e.business_id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProgressView::new(progress, state.campaigns.now(), true)))
}

/// Retry the reward of an enrolment disqualified `reward_failed` (admins): it waits for its
/// points again, with a fresh round of retries. The point service pays once per enrolment.
#[utoipa::path(
    post, path = "/api/v1/campaigns/{campaign_id}/enrolments/{enrolment_id}/retry-reward", tag = "campaigns", security(("bearer" = [])),
    operation_id = "retry_enrolment_reward",
    params(("campaign_id" = Uuid, Path), ("enrolment_id" = Uuid, Path)),
    responses(
        (status = 200, body = ProgressView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such enrolment in a business the caller manages", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`reward-not-failed`: only a failed reward is retried", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "retry_reward"))]
pub async fn retry_reward(
    state: web::Data<AppState>,
    principal: Principal,
    path: EnrolmentPath,
) -> Result<HttpResponse, ApiError> {
    let (campaign, enrolment) = path.into_inner();
    core_campaigns::retry_reward(
        &state.pool,
        &state.campaigns,
        enrolment,
        &principal.scope_key(),
        |e| e.campaign_id == campaign && may_manage(&principal, e.business_id),
    )
    .await?;
    let progress = core_campaigns::progress(&state.pool, enrolment, |_| true).await?;
    Ok(HttpResponse::Ok().json(ProgressView::new(progress, state.campaigns.now(), true)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SettlementQuery {
    /// The business whose card loads the file settles (default: the caller's).
    pub business_id: Option<Uuid>,
    /// The file's name, for the report (default: settlement.csv).
    pub name: Option<String>,
}

/// Upload a settlement file (`text/csv`, see docs/campaigns.md), by the business's admins or a
/// partner with `settlements:write`. The same file (by content) is applied once: sending it
/// again answers 200 with the first report.
#[utoipa::path(
    post, path = "/api/v1/campaigns/settlements", tag = "campaigns", security(("bearer" = [])),
    params(SettlementQuery),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 201, body = SettlementReport),
        (status = 200, description = "This file was ingested before", body = SettlementReport),
        (status = 400, description = "Not a CSV body", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Neither an admin of the business nor a partner with settlements:write", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Over 16 MiB", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`settlement-file-invalid`: no header, not UTF-8, or too long", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "upload_settlement"))]
pub async fn upload_settlement(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    query: web::Query<SettlementQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let business = query
        .business_id
        .unwrap_or_else(|| home_business(&principal));
    if !(may_manage(&principal, business)
        || principal.has_scope_in(business, auth::scopes::SETTLEMENTS_WRITE))
    {
        return Err(ApiError::Forbidden(
            "only the business's admins and partners with settlements:write upload settlement files"
                .into(),
        ));
    }
    let csv = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    if !csv {
        return Err(ApiError::MalformedRequest(
            "Content-Type must be text/csv".into(),
        ));
    }
    let name = match query.name.as_deref().map(str::trim) {
        None | Some("") => "settlement.csv".to_owned(),
        Some(name)
            if name.len() <= 200
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
        {
            name.to_owned()
        }
        Some(_) => {
            return Err(ApiError::validation(
                "name",
                "must be up to 200 letters, digits, '-', '_' or '.'",
            ))
        }
    };
    let received_by = principal.scope_key();
    let report = settlements::ingest(
        &state.pool,
        &state.campaigns,
        &Received {
            business_id: business,
            name: &name,
            source: "upload",
            received_by: &received_by,
        },
        &body,
    )
    .await?;
    Ok(if report.replayed {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::Created()
            .insert_header((
                "Location",
                format!("/api/v1/campaigns/settlements/{}", report.file_id),
            ))
            .json(report)
    })
}

/// The report of an ingested settlement file.
#[utoipa::path(
    get, path = "/api/v1/campaigns/settlements/{file_id}", tag = "campaigns", security(("bearer" = [])),
    params(("file_id" = Uuid, Path)),
    responses(
        (status = 200, body = SettlementReport),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such file in a business the caller follows", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "settlement_report", file_id = %*path))]
pub async fn settlement_report(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let report = settlements::report(&state.pool, path.into_inner(), |business| {
        may_follow(&principal, business)
            || principal.has_scope_in(business, auth::scopes::SETTLEMENTS_WRITE)
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}
