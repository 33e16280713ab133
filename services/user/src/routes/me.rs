use super::auth::{LoginResponse, UserView};
use super::state::AppState;
use super::validation::{invalid, invalid_field};
use crate::core;
use crate::domain::sessions::SessionSummary;
use crate::domain::{Password, ProfileChange};
use actix_web::{web, HttpResponse};
use auth::{Principal, PrincipalKind};
use chrono::{DateTime, Utc};
use platform::http::Json;
use platform::ApiError;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The signed-in user's id; partner clients have no account here.
pub(super) fn own_account(principal: &Principal) -> Result<Uuid, ApiError> {
    if principal.kind != PrincipalKind::User {
        return Err(ApiError::Forbidden(
            "partner clients have no profile".into(),
        ));
    }
    Ok(principal.subject)
}

/// The signed-in user's profile.
#[utoipa::path(
    get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject))]
pub async fn get_me(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let user_id = own_account(&principal)?;
    let user = core::profile::own(&state.core, user_id).await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// A new number must be confirmed again; `null` removes it. Omit the field to keep it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone_number: Option<Option<String>>,
    /// Marketing consent; the time of each change is recorded.
    pub marketing_consent: Option<bool>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// Update the signed-in user's profile.
#[utoipa::path(
    patch, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    request_body = ProfileUpdate,
    responses((status = 200, body = UserView), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject))]
pub async fn update_me(
    state: web::Data<AppState>,
    principal: Principal,
    Json(update): Json<ProfileUpdate>,
) -> Result<HttpResponse, ApiError> {
    let user_id = own_account(&principal)?;
    let change = ProfileChange::parse(
        update.first_name.as_deref(),
        update.last_name.as_deref(),
        update.phone_number.as_ref().map(Option::as_deref),
        update.marketing_consent,
    )
    .map_err(invalid)?;
    let user = core::profile::update(&state.core, user_id, change).await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change the password. Every other session is signed out; the answer carries a fresh session
/// for the device that made the change.
#[utoipa::path(
    post, path = "/api/v1/users/me/password", tag = "users", security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "The current password is wrong", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "The new password is too weak", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject))]
pub async fn change_password(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let user_id = own_account(&principal)?;
    let new_password =
        Password::parse(&request.new_password).map_err(|e| invalid_field("new_password", e))?;
    let current = SecretString::from(request.current_password);
    let session =
        core::profile::change_password(&state.core, user_id, current, &new_password).await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(session)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub family_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub last_refreshed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<SessionSummary> for SessionView {
    fn from(s: SessionSummary) -> Self {
        SessionView {
            family_id: s.family_id,
            started_at: s.started_at,
            last_refreshed_at: s.last_refreshed_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Export {
    pub exported_at: DateTime<Utc>,
    pub profile: UserView,
    pub registered_at: DateTime<Utc>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub phone_verified_at: Option<DateTime<Utc>>,
    pub marketing_consent: bool,
    pub marketing_consent_updated_at: Option<DateTime<Utc>>,
    /// Every login, with when it was last refreshed and whether it was signed out.
    pub sessions: Vec<SessionView>,
    pub notification_preferences: super::notifications::NotificationPreferencesView,
    /// The devices registered for push notifications.
    pub devices: Vec<super::notifications::DeviceView>,
    /// Where the rest of the member's data can be exported from, with the same access token.
    pub other_services: Vec<String>,
}

impl From<core::profile::Export> for Export {
    fn from(export: core::profile::Export) -> Self {
        let user = export.user;
        let id = user.id;
        Export {
            exported_at: Utc::now(),
            registered_at: user.created_at,
            email_verified_at: user.email_verified_at,
            phone_verified_at: user.phone_verified_at,
            marketing_consent: user.marketing_consent,
            marketing_consent_updated_at: user.marketing_consent_updated_at,
            profile: UserView::from(user),
            sessions: export.sessions.into_iter().map(SessionView::from).collect(),
            notification_preferences: export.notifications.into(),
            devices: export.devices.into_iter().map(Into::into).collect(),
            other_services: vec![
                format!("/api/v1/points/{id}/balance"),
                format!("/api/v1/points/{id}/transactions"),
                "/api/v1/payments/charges".to_owned(),
            ],
        }
    }
}

/// Everything the user service holds about the signed-in user, as JSON (data portability).
#[utoipa::path(
    get, path = "/api/v1/users/me/export", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Export))
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject))]
pub async fn export(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let user_id = own_account(&principal)?;
    let export = core::profile::export(&state.core, user_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"tessera-export.json\"",
        ))
        .json(Export::from(export)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// The account's password, so a stolen access token alone cannot erase an account.
    pub password: String,
}

/// Erase the signed-in member's account. Personal data is removed here and `user.erased` tells
/// every other service to anonymise what it holds. Cannot be undone.
#[utoipa::path(
    delete, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    request_body = EraseRequest,
    responses(
        (status = 204, description = "Erased"),
        (status = 401, description = "Wrong password", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject))]
pub async fn erase_me(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<EraseRequest>,
) -> Result<HttpResponse, ApiError> {
    let user_id = own_account(&principal)?;
    let password = SecretString::from(request.password);
    core::erasure::erase_own_account(&state.core, user_id, password).await?;
    Ok(HttpResponse::NoContent().finish())
}
