use super::auth::LoginResponse;
use super::state::AppState;
use crate::core;
use crate::core::social::SocialProvider;
use actix_web::{web, HttpRequest, HttpResponse};
use platform::http::Json;
use platform::ApiError;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct SocialProviders {
    /// The providers members can sign in with here: `google`, `apple`.
    pub providers: Vec<String>,
}

/// The identity providers members can sign in with, as this deployment is configured.
#[utoipa::path(
    get, path = "/api/v1/auth/social", tag = "auth",
    responses((status = 200, body = SocialProviders))
)]
#[tracing::instrument(skip_all, fields(flow = "social_providers"))]
pub async fn providers(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(SocialProviders {
        providers: state
            .core
            .social
            .configured()
            .into_iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SocialStart {
    /// Send the member's browser here.
    pub authorization_url: String,
    /// The state the provider sends back with the code. Keep it with the page that started the
    /// sign-in, and call the callback only when the two match.
    pub state: String,
    /// Seconds the sign-in may take before it has to start again.
    pub expires_in: u64,
}

fn provider(path: &str) -> Result<SocialProvider, ApiError> {
    SocialProvider::parse(path)
        .ok_or_else(|| ApiError::NotFound(format!("no identity provider named {path:?}")))
}

/// Start signing in with Google or Apple (OpenID Connect, authorization code with PKCE).
#[utoipa::path(
    post, path = "/api/v1/auth/social/{provider}/start", tag = "auth",
    params(("provider" = String, Path, description = "`google` or `apple`")),
    responses(
        (status = 200, body = SocialStart),
        (status = 404, description = "No such provider, or it is not configured", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The provider cannot be reached", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "social_start", provider = %path))]
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider(&path)?;
    let started = core::social::start(&state.core, &state.client_ip(&req), provider).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(SocialStart {
            authorization_url: started.authorization_url,
            state: started.state,
            expires_in: started.expires_in,
        }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SocialCallback {
    /// The authorization code the provider sent back.
    pub code: String,
    /// The state the provider sent back with it.
    pub state: String,
}

/// Finish signing in with Google or Apple: the code and state the provider sent back are
/// exchanged and verified, and the member signed in exactly as with a password. The account is
/// the one signed in with this provider before, else the one with the address the provider
/// verified, else a new member account.
#[utoipa::path(
    post, path = "/api/v1/auth/social/{provider}/callback", tag = "auth",
    params(("provider" = String, Path, description = "`google` or `apple`")),
    request_body = SocialCallback,
    responses(
        (status = 200, body = LoginResponse),
        (status = 403, description = "The address belongs to a staff account, which signs in with its password", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such provider, or it is not configured", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The address was registered at the same moment (type social-login-conflict); sign in again", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "Refused: unknown, expired or used state (type social-login-state-invalid), a code the provider refused (social-login-code-rejected), an ID token that fails verification (social-login-token-invalid), or an address the provider has not verified (social-login-email-unverified)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The provider cannot be reached", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "social_callback", provider = %path, user_id = tracing::field::Empty))]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    Json(request): Json<SocialCallback>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider(&path)?;
    let session = core::social::callback(
        &state.core,
        &state.client_ip(&req),
        provider,
        &request.code,
        &request.state,
    )
    .await?;
    tracing::Span::current().record("user_id", tracing::field::display(session.user.id));
    Ok(HttpResponse::Ok().json(LoginResponse::from(session)))
}
