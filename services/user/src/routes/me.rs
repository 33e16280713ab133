use super::{AppState, LoginResponse, UserView};
use crate::accounts;
use crate::domain::{self, Channel, Password, PersonName, PhoneNumber};
use crate::storage::{self, sessions::SessionView, users::ProfileChange, users::UserRecord};
use actix_web::{web, HttpResponse};
use auth::{Principal, PrincipalKind};
use chrono::{DateTime, Utc};
use platform::http::Json;
use platform::{ApiError, FieldError};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

async fn current_user(state: &AppState, principal: &Principal) -> Result<UserRecord, ApiError> {
    if principal.kind != PrincipalKind::User {
        return Err(ApiError::Forbidden(
            "partner clients have no profile".into(),
        ));
    }
    storage::users::find_by_id(&state.pool, &state.pii, principal.subject)
        .await?
        .ok_or_else(|| ApiError::NotFound("this account no longer exists".into()))
}

/// The signed-in user's profile.
#[utoipa::path(
    get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn get_me(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let user = current_user(&state, &principal).await?;
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
pub async fn update_me(
    state: web::Data<AppState>,
    principal: Principal,
    Json(update): Json<ProfileUpdate>,
) -> Result<HttpResponse, ApiError> {
    let user = current_user(&state, &principal).await?;
    let mut errors = Vec::new();
    let mut change = ProfileChange {
        marketing_consent: update.marketing_consent,
        ..ProfileChange::default()
    };
    for (field, value, slot) in [
        ("first_name", &update.first_name, &mut change.first_name),
        ("last_name", &update.last_name, &mut change.last_name),
    ] {
        if let Some(raw) = value {
            match PersonName::parse(raw) {
                Ok(name) => *slot = Some(name.as_str().to_owned()),
                Err(message) => errors.push(FieldError::new(field, message)),
            }
        }
    }
    match &update.phone_number {
        Some(Some(raw)) => match PhoneNumber::parse(raw) {
            Ok(phone) => change.phone_number = Some(Some(phone)),
            Err(message) => errors.push(FieldError::new("phone_number", message)),
        },
        Some(None) => change.phone_number = Some(None),
        None => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut tx = state.pool.begin().await?;
    storage::users::update_profile(&mut tx, &state.pii, user.id, &change).await?;
    tx.commit().await?;
    let updated = current_user(&state, &principal).await?;
    if change.phone_number.as_ref().is_some_and(Option::is_some) {
        let mut tx = state.pool.begin().await?;
        accounts::send_pending_verifications(&mut tx, &state, &updated, Channel::Phone).await?;
        tx.commit().await?;
    }
    Ok(HttpResponse::Ok().json(UserView::from(updated)))
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
pub async fn change_password(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let user = current_user(&state, &principal).await?;
    let password = Password::parse(&request.new_password)
        .map_err(|message| ApiError::validation("new_password", message))?;
    confirm_password(&state, &user, request.current_password).await?;
    let hash = domain::hash_password(SecretString::from(password.expose().to_owned())).await?;
    let mut tx = state.pool.begin().await?;
    storage::users::set_password(&mut tx, user.id, &hash).await?;
    storage::sessions::revoke_all(&mut tx, user.id, "password_changed").await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(accounts::start_session(&state, user).await?))
}

async fn confirm_password(
    state: &AppState,
    user: &UserRecord,
    password: String,
) -> Result<(), ApiError> {
    let account = state.account_key(&user.email);
    state.limits.check_lockout(&account).await?;
    let ok = domain::verify_password(
        SecretString::from(password),
        Some(user.password_hash.clone()),
    )
    .await?;
    if ok {
        Ok(())
    } else {
        state.limits.record_failure(&account).await;
        Err(ApiError::Unauthorized(
            "the current password is wrong".into(),
        ))
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
    /// Where the rest of the member's data can be exported from, with the same access token.
    pub other_services: Vec<String>,
}

/// Everything the user service holds about the signed-in user, as JSON (data portability).
#[utoipa::path(
    get, path = "/api/v1/users/me/export", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Export))
)]
pub async fn export(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let user = current_user(&state, &principal).await?;
    let sessions = storage::sessions::list(&state.pool, user.id).await?;
    let id = user.id;
    let export = Export {
        exported_at: Utc::now(),
        registered_at: user.created_at,
        email_verified_at: user.email_verified_at,
        phone_verified_at: user.phone_verified_at,
        marketing_consent: user.marketing_consent,
        marketing_consent_updated_at: user.marketing_consent_updated_at,
        profile: UserView::from(user),
        sessions,
        other_services: vec![
            format!("/api/v1/points/{id}/balance"),
            format!("/api/v1/points/{id}/transactions"),
            "/api/v1/payments/charges".to_owned(),
        ],
    };
    Ok(HttpResponse::Ok()
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"tessera-export.json\"",
        ))
        .json(export))
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
pub async fn erase_me(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<EraseRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = current_user(&state, &principal).await?;
    if user.role.is_staff() {
        return Err(ApiError::Forbidden(
            "staff accounts are closed by an administrator, not erased by themselves".into(),
        ));
    }
    confirm_password(&state, &user, request.password).await?;
    accounts::erase(&state, user.id, user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}
