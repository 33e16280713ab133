use super::AppState;
use crate::accounts;
use crate::domain::{self, Channel, CodePurpose, Email, NewUser, Password, RegistrationRequest};
use crate::storage::codes::CodeCheck;
use crate::storage::sessions::Rotation;
use crate::storage::{self, users::InsertUserError, users::UserRecord};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{Jwks, Role};
use platform::http::Json;
use platform::ApiError;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
        (status = 201, body = RegisterResponse),
        (status = 409, description = "The email is already registered", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "register"))]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<RegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    state.limits.admit(&state.client_ip(&req), None).await?;
    let new_user = NewUser::try_from(request).map_err(ApiError::Validation)?;
    let hash =
        domain::hash_password(SecretString::from(new_user.password.expose().to_owned())).await?;
    let user_id = Uuid::now_v7();
    let mut tx = state.pool.begin().await?;
    storage::users::insert(
        &mut tx,
        &state.pii,
        user_id,
        &new_user,
        &hash,
        Role::Customer,
        None,
    )
    .await
    .map_err(|e| match e {
        InsertUserError::DuplicateEmail => ApiError::Conflict {
            slug: "email-taken",
            detail: "an account with this email already exists; log in or reset the password"
                .into(),
        },
        InsertUserError::Database(e) => e.into(),
        InsertUserError::Encryption(e) => e.into(),
    })?;
    accounts::send_code(
        &mut tx,
        &state,
        user_id,
        CodePurpose::VerifyEmail,
        new_user.email.as_str(),
    )
    .await?;
    if let Some(phone) = &new_user.phone_number {
        accounts::send_code(
            &mut tx,
            &state,
            user_id,
            CodePurpose::VerifyPhone,
            phone.as_str(),
        )
        .await?;
    }
    let event = crate::events::user_registered(user_id, Role::Customer, new_user.marketing_consent);
    events::outbox::enqueue(&mut tx, &event).await?;
    tx.commit().await?;
    tracing::info!(%user_id, "member registered");
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

impl From<UserRecord> for UserView {
    fn from(u: UserRecord) -> Self {
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
#[tracing::instrument(skip_all, fields(flow = "login"))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let account = state.admit_for_account(&req, &request.email).await?;
    state.limits.check_lockout(&account).await?;
    // A malformed email cannot belong to an account; still spend the hashing time.
    let user = match Email::parse(&request.email) {
        Ok(email) => storage::users::find_by_email(&state.pool, &state.pii, &email).await?,
        Err(_) => None,
    };
    let password = SecretString::from(request.password);
    let matches =
        domain::verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match (matches, user) {
        (true, Some(user)) => user,
        _ => {
            state.limits.record_failure(&account).await;
            return Err(ApiError::Unauthorized("invalid email or password".into()));
        }
    };
    state.limits.record_success(&account).await;
    Ok(HttpResponse::Ok().json(accounts::start_session(&state, user).await?))
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
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    state.limits.admit(&state.client_ip(&req), None).await?;
    match storage::sessions::rotate(
        &state.pool,
        &request.refresh_token,
        state.settings.refresh_token_ttl_secs,
    )
    .await?
    {
        Rotation::Rotated { user_id, token } => {
            let user = storage::users::find_by_id(&state.pool, &state.pii, user_id)
                .await?
                .ok_or_else(|| ApiError::Unauthorized("this account no longer exists".into()))?;
            Ok(HttpResponse::Ok().json(accounts::session_response(&state, user, token)?))
        }
        Rotation::Invalid => Err(ApiError::Unauthorized(
            "the refresh token is unknown or expired; log in again".into(),
        )),
        Rotation::ReuseDetected { .. } => Err(ApiError::Unauthorized(
            "this refresh token was already used; every session of this login has been signed out"
                .into(),
        )),
    }
}

/// Log out: the session's refresh tokens stop working. Access tokens already issued expire on
/// their own within minutes.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out (also when the token was already invalid)"))
)]
pub async fn logout(
    state: web::Data<AppState>,
    Json(request): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    storage::sessions::revoke_session(&state.pool, &request.refresh_token).await?;
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

fn code_refused() -> ApiError {
    ApiError::Unprocessable {
        slug: "code-invalid",
        detail: "the code is wrong, expired or already used; request a new one".into(),
    }
}

/// Spends a one-time code and returns the open transaction to finish the change in, so the code
/// is used up only if the change commits. A wrong guess is committed (it counts against the
/// code) and refused.
async fn spend_code(
    state: &AppState,
    user_id: Uuid,
    purpose: CodePurpose,
    code: &str,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let check = storage::codes::consume(
        &mut tx,
        &state.pii,
        user_id,
        purpose,
        code.trim(),
        state.settings.code_max_attempts,
    )
    .await?;
    if check != CodeCheck::Accepted {
        tx.commit().await?;
        return Err(code_refused());
    }
    Ok(tx)
}

/// Finds the account an email names; `None` for malformed or unknown emails, which callers
/// answer exactly like wrong codes so the endpoint does not reveal who has an account.
async fn account_by_email(state: &AppState, email: &str) -> Result<Option<UserRecord>, ApiError> {
    match Email::parse(email) {
        Ok(email) => Ok(storage::users::find_by_email(&state.pool, &state.pii, &email).await?),
        Err(_) => Ok(None),
    }
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
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    state.admit_for_account(&req, &request.email).await?;
    if !domain::looks_like_code(request.code.trim()) {
        return Err(ApiError::validation(
            "code",
            "must be the 6 digits that were sent",
        ));
    }
    let user = account_by_email(&state, &request.email)
        .await?
        .ok_or_else(code_refused)?;
    let purpose = CodePurpose::verifying(request.channel);
    let mut tx = spend_code(&state, user.id, purpose, &request.code).await?;
    storage::users::mark_verified(&mut tx, user.id, request.channel).await?;
    tx.commit().await?;
    let user = storage::users::find_by_id(&state.pool, &state.pii, user.id)
        .await?
        .ok_or_else(code_refused)?;
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
pub async fn resend_verification(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<ResendRequest>,
) -> Result<HttpResponse, ApiError> {
    state.admit_for_account(&req, &request.email).await?;
    if let Some(user) = account_by_email(&state, &request.email).await? {
        let mut tx = state.pool.begin().await?;
        accounts::send_pending_verifications(&mut tx, &state, &user, request.channel).await?;
        tx.commit().await?;
    }
    Ok(HttpResponse::Accepted().finish())
}

/// Ask for a password reset code by email. Always 202, whether or not the account exists.
#[utoipa::path(
    post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses((status = 202, description = "A code is on its way if the account exists"))
)]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    state.admit_for_account(&req, &request.email).await?;
    if let Some(user) = account_by_email(&state, &request.email).await? {
        let mut tx = state.pool.begin().await?;
        accounts::send_code(
            &mut tx,
            &state,
            user.id,
            CodePurpose::PasswordReset,
            &user.email,
        )
        .await?;
        tx.commit().await?;
    }
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
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<PasswordResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    let account = state.admit_for_account(&req, &request.email).await?;
    let password = Password::parse(&request.new_password)
        .map_err(|message| ApiError::validation("new_password", message))?;
    if !domain::looks_like_code(request.code.trim()) {
        return Err(ApiError::validation(
            "code",
            "must be the 6 digits that were sent",
        ));
    }
    let user = account_by_email(&state, &request.email)
        .await?
        .ok_or_else(code_refused)?;
    let hash = domain::hash_password(SecretString::from(password.expose().to_owned())).await?;
    let mut tx = spend_code(&state, user.id, CodePurpose::PasswordReset, &request.code).await?;
    storage::users::set_password(&mut tx, user.id, &hash).await?;
    storage::sessions::revoke_all(&mut tx, user.id, "password_reset").await?;
    tx.commit().await?;
    state.limits.record_success(&account).await;
    Ok(HttpResponse::NoContent().finish())
}

/// The public keys access tokens are signed with (RFC 7517): the current key, a key about to
/// take over, and a replaced key until the tokens it signed have expired.
#[utoipa::path(get, path = "/api/v1/auth/jwks.json", tag = "auth", responses((status = 200, body = Jwks)))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.keys.jwks())
}
