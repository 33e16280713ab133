use super::{AppState, STAFF};
use crate::core;
use actix_web::{web, HttpResponse};
use auth::Principal;
use platform::ApiError;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProgramStatsView {
    /// Members known to the back office (staff accounts are not counted).
    pub members: i64,
    pub points_earned_total: i64,
    pub charges_succeeded: i64,
}

/// Program totals.
#[utoipa::path(
    get, path = "/api/v1/admin/stats", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, body = ProgramStatsView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_get_stats"))]
pub async fn get_stats(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(STAFF)?;
    let totals = core::members::program_totals(&state.pool).await?;
    Ok(HttpResponse::Ok().json(ProgramStatsView {
        members: totals.members,
        points_earned_total: totals.points_earned_total,
        charges_succeeded: totals.charges_succeeded,
    }))
}
