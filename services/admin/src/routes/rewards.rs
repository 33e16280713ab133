use super::{AppState, STAFF};
use crate::core;
use actix_web::{web, HttpResponse};
use auth::Principal;
use chrono::NaiveDate;
use kernel::DEMO_BUSINESS_ID;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TopRewardView {
    pub reward_id: Uuid,
    pub reward_name: String,
    pub redeemed: i64,
    pub used: i64,
    pub cancelled: i64,
    /// Points spent on it, net of cancellations.
    pub points: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RewardDayView {
    pub day: NaiveDate,
    pub redeemed: i64,
    pub used: i64,
    pub cancelled: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RewardStatsView {
    pub business_id: Uuid,
    pub days: i64,
    /// Most redeemed first (net of cancellations).
    pub top_rewards: Vec<TopRewardView>,
    /// Oldest first; days without redemptions are absent.
    pub per_day: Vec<RewardDayView>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RewardStatsQuery {
    /// Default: the caller's business (platform operators: the demo business).
    pub business_id: Option<Uuid>,
    /// 1 to 366, default 30 (today included).
    pub days: Option<i64>,
    /// 1 to 100, default 10.
    pub top: Option<i64>,
}

/// A business's redemptions: its top rewards and redemptions per day.
#[utoipa::path(
    get, path = "/api/v1/admin/rewards/stats", tag = "admin", security(("bearer" = [])),
    params(RewardStatsQuery),
    responses(
        (status = 200, body = RewardStatsView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff of the business", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "days or top out of range", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_reward_stats"))]
pub async fn get_reward_stats(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<RewardStatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let business = query
        .business_id
        .or(principal.business)
        .unwrap_or(DEMO_BUSINESS_ID);
    principal.require_role_in(business, STAFF)?;
    let days = query.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ApiError::validation("days", "must be between 1 and 366"));
    }
    let top = query.top.unwrap_or(10);
    if !(1..=100).contains(&top) {
        return Err(ApiError::validation("top", "must be between 1 and 100"));
    }
    let stats = core::rewards::stats(&state.pool, business, days, top).await?;
    Ok(HttpResponse::Ok().json(RewardStatsView {
        business_id: business,
        days,
        top_rewards: stats
            .top
            .into_iter()
            .map(|t| TopRewardView {
                reward_id: t.reward_id,
                reward_name: t.reward_name,
                redeemed: t.redeemed,
                used: t.used,
                cancelled: t.cancelled,
                points: t.points,
            })
            .collect(),
        per_day: stats
            .per_day
            .into_iter()
            .map(|d| RewardDayView {
                day: d.day,
                redeemed: d.redeemed,
                used: d.used,
                cancelled: d.cancelled,
            })
            .collect(),
    }))
}
