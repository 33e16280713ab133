//! Staff-facing user management: creating staff accounts, reading and erasing members.

use super::{AppState, UserView};
use crate::accounts;
use crate::domain::{self, NewUser, RegistrationRequest};
use crate::storage::{self, users::InsertUserError};
use actix_web::{web, HttpResponse};
use auth::{Principal, Role};
use platform::http::Json;
use platform::{ApiError, FieldError};
use secrecy::SecretString;
use serde::Deserialize;
use uuid::Uuid;

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
pub async fn create_staff(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<NewStaff>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin, Role::SuperAdmin])?;
    if !request.role.is_staff() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "role",
            "must be support, admin or super_admin; members register themselves",
        )]));
    }
    if matches!(request.role, Role::Admin | Role::SuperAdmin) {
        principal.require_role(&[Role::SuperAdmin])?;
    }
    let new_user = NewUser::try_from(RegistrationRequest {
        email: request.email,
        password: request.password,
        first_name: request.first_name,
        last_name: request.last_name,
        phone_number: None,
        marketing_consent: false,
    })
    .map_err(ApiError::Validation)?;
    let hash =
        domain::hash_password(SecretString::from(new_user.password.expose().to_owned())).await?;
    let id = Uuid::now_v7();
    let mut tx = state.pool.begin().await?;
    storage::users::insert(
        &mut tx,
        &state.pii,
        id,
        &new_user,
        &hash,
        request.role,
        Some(principal.subject),
    )
    .await
    .map_err(|e| match e {
        InsertUserError::DuplicateEmail => ApiError::Conflict {
            slug: "email-taken",
            detail: "an account with this email already exists".into(),
        },
        InsertUserError::Database(e) => e.into(),
        InsertUserError::Encryption(e) => e.into(),
    })?;
    events::outbox::enqueue(
        &mut tx,
        &crate::events::user_registered(id, request.role, false),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %id, role = request.role.as_str(), created_by = %principal.subject, "staff account created");
    let user = storage::users::find_by_id(&state.pool, &state.pii, id)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("the staff account just created is missing"))
        })?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

/// Read a user: staff read any member; a member reads only themselves.
#[utoipa::path(
    get, path = "/api/v1/users/{user_id}", tag = "staff", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
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
    let user = storage::users::find_by_id(&state.pool, &state.pii, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

/// Erase a member on their behalf (a request received by support, a legal obligation). Admins
/// erase members; erasing a staff account takes a super admin.
#[utoipa::path(
    delete, path = "/api/v1/users/{user_id}", tag = "staff", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 204, description = "Erased"), (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn erase_user(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin, Role::SuperAdmin])?;
    let user_id = path.into_inner();
    let user = storage::users::find_by_id(&state.pool, &state.pii, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such user, or already erased".into()))?;
    if user.role.is_staff() {
        principal.require_role(&[Role::SuperAdmin])?;
    }
    accounts::erase(&state, user_id, principal.subject).await?;
    Ok(HttpResponse::NoContent().finish())
}
