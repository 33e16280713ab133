use super::AppState;
use crate::domain::Multiplier;
use crate::storage::accounts;
use actix_web::{web, HttpResponse};
use auth::{Principal, Role};
use platform::ApiError;
use serde::Serialize;
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct BalanceView {
    pub user_id: Uuid,
    /// Points the member can spend.
    pub total_points: i64,
    /// Points still waiting out a return window.
    pub pending_points: i64,
    pub tier: String,
    /// The tier's earn multiplier, e.g. 1.25.
    pub tier_multiplier: f64,
    pub lifetime_points: i64,
}

/// Roles that may read any member's balance.
const STAFF: &[Role] = &[Role::Support, Role::Admin, Role::SuperAdmin];

/// A member's points balance and tier.
#[utoipa::path(
    get, path = "/api/v1/points/{user_id}/balance", tag = "points", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The member")),
    responses(
        (status = 200, body = BalanceView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Another member's balance", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "get_balance"))]
pub async fn get_balance(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    principal.authorize_member_access(member_id, STAFF, Some("points:read"))?;
    let mut conn = state.pool.acquire().await?;
    let account = accounts::find(&mut conn, member_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("this member has no points account".into()))?;
    Ok(HttpResponse::Ok().json(BalanceView {
        user_id: member_id,
        total_points: account.balance,
        pending_points: account.pending,
        tier: account.tier,
        tier_multiplier: Multiplier::from_basis_points(account.multiplier_bp).as_decimal(),
        lifetime_points: account.lifetime_earned,
    }))
}
