use super::state::AppState;
use super::validation::{invalid, invalid_field};
use crate::core;
use crate::domain::{Channel, Code, NewUser, Password, Registration, User};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{Jwks, Role};
use platform::http::Json;
use platform::ApiError;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    #[serde(default)]
    pub marketing_consent: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegisterResponse {
    pub user_id: Uuid,
    /// The email address still has to be confirmed with the one-time code just sent to it.
    pub verification_required: bool,
}

/// Register a member account. A confirmation code goes to the email (and phone, if given).
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegistrationRequest,
    responses(
        (status = 201, description = "Registered; a confirmation code is on its way. An email that already has an account gets the same answer (with an id that names no account) and its owner is told by email, so registration does not reveal who has an account.", body = RegisterResponse),
        (status = 422, description = "A field is invalid", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "register", user_id = tracing::field::Empty))]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<RegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let new_user = NewUser::parse(Registration {
        email: &request.email,
        password: &request.password,
        first_name: &request.first_name,
        last_name: &request.last_name,
        phone_number: request.phone_number.as_deref(),
        marketing_consent: request.marketing_consent,
    })
    .map_err(invalid)?;
    let user_id =
        core::registration::register(&state.core, &state.client_ip(&req), new_user).await?;
    tracing::Span::current().record("user_id", tracing::field::display(user_id));
    Ok(HttpResponse::Created().json(RegisterResponse {
        user_id,
        verification_required: true,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    pub role: Role,
    pub email_verified: bool,
    pub phone_verified: bool,
    pub marketing_consent: bool,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            phone_number: u.phone_number,
            role: u.role,
            email_verified: u.email_verified_at.is_some(),
            phone_verified: u.phone_verified_at.is_some(),
            marketing_consent: u.marketing_consent,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: UserView,
}

impl From<core::sessions::Session> for LoginResponse {
    fn from(session: core::sessions::Session) -> Self {
        LoginResponse {
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            token_type: "Bearer",
            expires_in: session.expires_in,
            user: UserView::from(session.user),
        }
    }
}

/// Log in with email and password.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "Wrong email or password (never says which)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts; see Retry-After", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "login", user_id = tracing::field::Empty))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let password = SecretString::from(request.password);
    let session = core::sessions::login(
        &state.core,
        &state.client_ip(&req),
        &request.email,
        password,
    )
    .await?;
    tracing::Span::current().record("user_id", tracing::field::display(session.user.id));
    Ok(HttpResponse::Ok().json(LoginResponse::from(session)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for a new access token and a new refresh token. The old refresh
/// token is spent: presenting it again signs out every session of that login.
#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "refresh"))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let session =
        core::sessions::refresh(&state.core, &state.client_ip(&req), &request.refresh_token)
            .await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(session)))
}

/// Log out: the session's refresh tokens stop working. Access tokens already issued expire on
/// their own within minutes.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out (also when the token was already invalid)"))
)]
#[tracing::instrument(skip_all, fields(flow = "logout"))]
pub async fn logout(
    state: web::Data<AppState>,
    Json(request): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    core::sessions::logout(&state.core, &request.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The account's email address.
    pub email: String,
    /// What the code confirms: `email` (default) or `phone`.
    #[serde(default = "default_channel")]
    pub channel: Channel,
    pub code: String,
}

fn default_channel() -> Channel {
    Channel::Email
}

/// Confirm an email address or phone number with the one-time code sent to it.
#[utoipa::path(
    post, path = "/api/v1/auth/verify", tag = "auth",
    request_body = VerifyRequest,
    responses(
        (status = 200, body = UserView),
        (status = 422, description = "Wrong, expired or used code (type code-invalid)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "verify", channel = ?request.channel))]
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = Code::parse(&request.code).map_err(|e| invalid_field("code", e))?;
    let user = core::codes::verify_contact(
        &state.core,
        &state.client_ip(&req),
        &request.email,
        request.channel,
        &code,
    )
    .await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendRequest {
    pub email: String,
    /// Which confirmation to send again: `email` (default) or `phone`.
    #[serde(default = "default_channel")]
    pub channel: Channel,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

/// Send a new confirmation code. Always 202, whether or not the account exists.
#[utoipa::path(
    post, path = "/api/v1/auth/verify/resend", tag = "auth",
    request_body = ResendRequest,
    responses((status = 202, description = "A code is on its way if there is anything to confirm"))
)]
#[tracing::instrument(skip_all, fields(flow = "resend_verification", channel = ?request.channel))]
pub async fn resend_verification(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<ResendRequest>,
) -> Result<HttpResponse, ApiError> {
    core::codes::resend_verification(
        &state.core,
        &state.client_ip(&req),
        &request.email,
        request.channel,
    )
    .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Ask for a password reset code by email. Always 202, whether or not the account exists.
#[utoipa::path(
    post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses((status = 202, description = "A code is on its way if the account exists"))
)]
#[tracing::instrument(skip_all, fields(flow = "request_password_reset"))]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    core::codes::request_password_reset(&state.core, &state.client_ip(&req), &request.email)
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    pub email: String,
    pub code: String,
    pub new_password: String,
}

/// Set a new password with the emailed code. Every session of the account is signed out.
#[utoipa::path(
    post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password changed"),
        (status = 422, description = "Weak password or a wrong, expired or used code", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "confirm_password_reset"))]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<PasswordResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    let new_password =
        Password::parse(&request.new_password).map_err(|e| invalid_field("new_password", e))?;
    let code = Code::parse(&request.code).map_err(|e| invalid_field("code", e))?;
    core::codes::reset_password(
        &state.core,
        &state.client_ip(&req),
        &request.email,
        &code,
        &new_password,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The public keys access tokens are signed with (RFC 7517): the current key, a key about to
/// take over, and a replaced key until the tokens it signed have expired.
#[utoipa::path(get, path = "/api/v1/auth/jwks.json", tag = "auth", responses((status = 200, body = Jwks)))]
#[tracing::instrument(skip_all, fields(flow = "jwks"))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.core.keys.jwks())
}
