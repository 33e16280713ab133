use super::{AppState, STAFF};
use crate::core;
use crate::storage::activity::{CurrencyVolume, MemberActivity};
use actix_web::{web, HttpResponse};
use auth::{Principal, Role};
use chrono::{DateTime, Utc};
use platform::ApiError;
use serde::Serialize;
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChargeVolumeView {
    /// ISO 4217 code.
    pub currency: String,
    /// Total of the member's successful charges, in minor units of `currency`.
    pub amount: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberActivityView {
    pub member_id: Uuid,
    /// Null until the member's registration has been seen.
    pub role: Option<Role>,
    pub registered_at: Option<DateTime<Utc>>,
    pub points_earned_total: i64,
    /// How many times the member earned points.
    pub points_events: i32,
    pub charges_succeeded: i32,
    /// One entry per currency the member paid in, ordered by currency.
    pub charge_volume: Vec<ChargeVolumeView>,
    /// When the latest event about the member happened.
    pub last_event_at: DateTime<Utc>,
}

impl From<MemberActivity> for MemberActivityView {
    fn from(a: MemberActivity) -> Self {
        Self {
            member_id: a.member_id,
            role: a.role.as_deref().and_then(Role::parse),
            registered_at: a.registered_at,
            points_earned_total: a.points_earned_total,
            points_events: a.points_events,
            charges_succeeded: a.charges_succeeded,
            charge_volume: a
                .charge_volume
                .into_iter()
                .map(|CurrencyVolume { currency, amount }| ChargeVolumeView { currency, amount })
                .collect(),
            last_event_at: a.last_event_at,
        }
    }
}

/// A member's activity, as projected from the platform's events.
#[utoipa::path(
    get, path = "/api/v1/admin/members/{member_id}", tag = "admin", security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member")),
    responses(
        (status = 200, body = MemberActivityView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No activity known for this member", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_get_member", member_id = %path))]
pub async fn get_member(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(STAFF)?;
    let member_id = path.into_inner();
    let found = core::members::member_activity(&state.pool, member_id).await?;
    Ok(HttpResponse::Ok().json(MemberActivityView::from(found)))
}
