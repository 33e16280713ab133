use super::AppState;
use crate::domain::{self, Email, NewUser, RegistrationRequest};
use crate::storage::{self, users::InsertUserError};
use actix_web::{web, HttpResponse};
use auth::{Jwks, PrincipalKind, Role};
use platform::http::Json;
use platform::ApiError;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegisterResponse {
    pub user_id: Uuid,
    /// The email address still has to be confirmed with a one-time code.
    pub verification_required: bool,
}

/// Register a member account.
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegistrationRequest,
    responses(
        (status = 201, body = RegisterResponse),
        (status = 409, description = "The email is already registered", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "register"))]
pub async fn register(
    state: web::Data<AppState>,
    Json(request): Json<RegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let new_user = NewUser::try_from(request).map_err(ApiError::Validation)?;
    let hash =
        domain::hash_password(SecretString::from(new_user.password.expose().to_owned())).await?;
    let user_id = Uuid::now_v7();
    let mut tx = state.pool.begin().await?;
    storage::users::insert(&mut tx, user_id, &new_user, &hash, Role::Customer)
        .await
        .map_err(|e| match e {
            InsertUserError::DuplicateEmail => ApiError::Conflict {
                slug: "email-taken",
                detail: "an account with this email already exists; log in or reset the password"
                    .into(),
            },
            InsertUserError::Database(e) => e.into(),
        })?;
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
}

impl From<storage::users::UserRecord> for UserView {
    fn from(u: storage::users::UserRecord) -> Self {
        let role = u.role();
        UserView {
            id: u.id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            phone_number: u.phone_number,
            role,
            email_verified: u.email_verified_at.is_some(),
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
    )
)]
#[tracing::instrument(skip_all, fields(flow = "login"))]
pub async fn login(
    state: web::Data<AppState>,
    Json(request): Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let refused = || ApiError::Unauthorized("invalid email or password".into());
    // A malformed email cannot belong to an account; still spend the hashing time.
    let user = match Email::parse(&request.email) {
        Ok(email) => storage::users::find_by_email(&state.pool, email.as_str()).await?,
        Err(_) => None,
    };
    let password = SecretString::from(request.password);
    let matches =
        domain::verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match (matches, user) {
        (true, Some(user)) => user,
        _ => return Err(refused()),
    };
    let ttl = state.settings.access_token_ttl_secs;
    let access_token = state.keys.signer().issue(
        user.id,
        PrincipalKind::User,
        Some(user.role()),
        Vec::new(),
        ttl,
    )?;
    let refresh_token =
        storage::sessions::start(&state.pool, user.id, state.settings.refresh_token_ttl_secs)
            .await?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ttl,
        user: user.into(),
    }))
}

/// The public keys access tokens are signed with (RFC 7517).
#[utoipa::path(get, path = "/api/v1/auth/jwks.json", tag = "auth", responses((status = 200, body = Jwks)))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.keys.jwks())
}
