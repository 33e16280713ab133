use super::AppState;
use crate::core;
use crate::domain::{self, CreateReward, InvalidField, NewReward};
use crate::storage::catalog::CatalogItem;
use actix_web::{web, HttpResponse};
use auth::{Principal, Role};
use platform::http::Json;
use platform::{ApiError, FieldError};
use serde::Serialize;
use uuid::Uuid;

/// Users who may browse the catalog: members and staff.
const BROWSER_ROLES: &[Role] = &[Role::Customer, Role::Support, Role::Admin, Role::SuperAdmin];
/// The partner scope that allows browsing the catalog.
const BROWSE_SCOPE: &str = "rewards:read";
/// Roles that may change the catalog.
const CATALOG_MANAGERS: &[Role] = &[Role::Admin, Role::SuperAdmin];

#[derive(Serialize, utoipa::ToSchema)]
pub struct RewardView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub points_cost: i64,
    /// Whether there is stock left to redeem (items without an inventory never run out).
    pub available: bool,
}

impl From<CatalogItem> for RewardView {
    fn from(item: CatalogItem) -> Self {
        Self {
            id: item.id,
            name: item.name,
            description: item.description,
            points_cost: item.points_cost,
            available: domain::is_available(item.inventory),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CatalogView {
    /// Active items, cheapest first.
    pub items: Vec<RewardView>,
}

fn invalid(fields: Vec<InvalidField>) -> ApiError {
    ApiError::Validation(
        fields
            .into_iter()
            .map(|f| FieldError::new(f.field, f.message))
            .collect(),
    )
}

fn authorize_browse(principal: &Principal) -> Result<(), ApiError> {
    if principal.has_role(BROWSER_ROLES) || principal.has_scope(BROWSE_SCOPE) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "you may not browse the reward catalog".into(),
        ))
    }
}

/// The active rewards, cheapest first.
#[utoipa::path(
    get, path = "/api/v1/rewards", tag = "rewards", security(("bearer" = [])),
    responses(
        (status = 200, body = CatalogView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "A partner without the rewards:read scope", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_rewards"))]
pub async fn list_rewards(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    authorize_browse(&principal)?;
    let items = core::catalog::list_active(&state.pool).await?;
    Ok(HttpResponse::Ok().json(CatalogView {
        items: items.into_iter().map(RewardView::from).collect(),
    }))
}

/// Add a reward to the catalog.
#[utoipa::path(
    post, path = "/api/v1/rewards", tag = "rewards", security(("bearer" = [])),
    request_body = CreateReward,
    responses(
        (status = 201, body = RewardView),
        (status = 400, description = "The body is not JSON", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Only admins manage the catalog", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_reward"))]
pub async fn create_reward(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<CreateReward>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(CATALOG_MANAGERS)?;
    let reward = NewReward::try_from(request).map_err(invalid)?;
    let item = core::catalog::add_reward(&state.pool, &reward).await?;
    Ok(HttpResponse::Created().json(RewardView::from(item)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_staff_and_scoped_partners_may_browse() {
        for role in [Role::Support, Role::Admin, Role::SuperAdmin] {
            assert!(
                authorize_browse(&Principal::staff(role)).is_ok(),
                "{role:?}"
            );
        }
        assert!(authorize_browse(&Principal::member(Uuid::now_v7())).is_ok());
        assert!(authorize_browse(&Principal::partner(&["rewards:read"])).is_ok());
        assert!(authorize_browse(&Principal::partner(&["points:read"])).is_err());
        assert!(authorize_browse(&Principal::without_role()).is_err());
    }

    #[test]
    fn only_admins_manage_the_catalog() {
        assert!(Principal::staff(Role::Admin)
            .require_role(CATALOG_MANAGERS)
            .is_ok());
        assert!(Principal::staff(Role::SuperAdmin)
            .require_role(CATALOG_MANAGERS)
            .is_ok());
        for refused in [
            Principal::staff(Role::Support),
            Principal::member(Uuid::now_v7()),
            Principal::partner(&["rewards:write"]),
        ] {
            assert!(
                refused.require_role(CATALOG_MANAGERS).is_err(),
                "{refused:?}"
            );
        }
    }
}
