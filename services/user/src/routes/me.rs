use super::{AppState, UserView};
use actix_web::{web, HttpResponse};
use auth::{Principal, PrincipalKind};
use platform::ApiError;

/// The signed-in user's profile.
#[utoipa::path(
    get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn get_me(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    if principal.kind != PrincipalKind::User {
        return Err(ApiError::Forbidden(
            "partner clients have no profile".into(),
        ));
    }
    let user = crate::storage::users::find_by_id(&state.pool, principal.subject)
        .await?
        .ok_or_else(|| ApiError::NotFound("this account no longer exists".into()))?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}
