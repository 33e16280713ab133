//! Staff-facing user management: creating staff accounts, reading and erasing members.

use super::auth::UserView;
use super::business::target_business;
use super::state::AppState;
use super::validation::invalid;
use crate::core;
use crate::domain::{NewUser, Registration, StaffPosition, StaffRole};
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
    /// Business level: `owner`, `admin`, `support`; store level: `store_manager`, `cashier`;
    /// or `super_admin` (the platform's operators, of no business).
    pub role: Role,
    /// The business the account works for: a business's owners and admins create staff of their
    /// own business only (leave it out or name it); a super admin names any (default: the demo
    /// business).
    pub business_id: Option<Uuid>,
    /// Store-level roles: the stores of the business they work at (1 to 50).
    #[serde(default)]
    pub store_ids: Vec<Uuid>,
}

/// Create a staff account. A business's admins create its support and store staff; its owners
/// also its admins and owners; super admins create anyone, and are created only by super
/// admins. Staff accounts never come from self-registration.
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
    let role = StaffRole::parse(request.role).map_err(|e| invalid(vec![e]))?;
    let position = if role.role() == Role::SuperAdmin {
        if !principal.is_super_admin() {
            return Err(ApiError::Forbidden("your role does not allow this".into()));
        }
        if request.business_id.is_some() || !request.store_ids.is_empty() {
            return Err(invalid(vec![crate::domain::InvalidField::new(
                "business_id",
                "super admins work for the platform, not for a business or store",
            )]));
        }
        None
    } else {
        let business = target_business(&principal, request.business_id, role.creator_roles())?;
        let position = StaffPosition::parse(role, business, &request.store_ids)
            .map_err(|e| invalid(vec![e]))?;
        Some(position)
    };
    let new_user = NewUser::parse(Registration {
        email: &request.email,
        password: &request.password,
        first_name: &request.first_name,
        last_name: &request.last_name,
        phone_number: None,
        marketing_consent: false,
    })
    .map_err(invalid)?;
    let user =
        core::staff::create(&state.core, new_user, role, position, principal.subject).await?;
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
