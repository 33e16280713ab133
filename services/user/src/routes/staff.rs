//! Staff-facing user management: creating staff accounts, reading and erasing members.

use super::auth::UserView;
use super::state::AppState;
use super::validation::invalid;
use crate::core;
use crate::domain::{NewUser, Registration, StaffRole};
use actix_web::{web, HttpResponse};
use auth::{Principal, Role};
use platform::http::Json;
use platform::ApiError;
use serde::Deserialize;
use uuid::Uuid;

const ADMINS: &[Role] = &[Role::Admin, Role::SuperAdmin];

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    /// `support`, `admin` or `super_admin`.
    pub role: Role,
}

/// Create a staff account. Admins create support staff; only a super admin creates admins and
/// super admins. Staff accounts never come from self-registration.
#[utoipa::path(
    post, path = "/api/v1/users/staff", tag = "staff", security(("bearer" = [])),
    request_body = NewStaff,
    responses(
        (status = 201, body = UserView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(created_by = %principal.subject))]
pub async fn create_staff(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<NewStaff>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let role = StaffRole::parse(request.role).map_err(|e| invalid(vec![e]))?;
    if role.needs_super_admin() {
        principal.require_role(&[Role::SuperAdmin])?;
    }
    let new_user = NewUser::parse(Registration {
        email: &request.email,
        password: &request.password,
        first_name: &request.first_name,
        last_name: &request.last_name,
        phone_number: None,
        marketing_consent: false,
    })
    .map_err(invalid)?;
    let user = core::staff::create(&state.core, new_user, role, principal.subject).await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

/// Read a user: staff read any member; a member reads only themselves.
#[utoipa::path(
    get, path = "/api/v1/users/{user_id}", tag = "staff", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(user_id = %path, caller = %principal.subject))]
pub async fn get_user(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner();
    principal.authorize_member_access(
        user_id,
        &[Role::Support, Role::Admin, Role::SuperAdmin],
        None,
    )?;
    let user = core::profile::by_id(&state.core, user_id).await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

/// Erase a member on their behalf (a request received by support, a legal obligation). Admins
/// erase members; erasing a staff account takes a super admin.
#[utoipa::path(
    delete, path = "/api/v1/users/{user_id}", tag = "staff", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 204, description = "Erased"), (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(user_id = %path, requested_by = %principal.subject))]
pub async fn erase_user(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let may_erase_staff = principal.has_role(&[Role::SuperAdmin]);
    core::erasure::erase_on_request(
        &state.core,
        path.into_inner(),
        principal.subject,
        may_erase_staff,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
