//! Partner clients: staff create them with fixed scopes; the partner exchanges its secret key
//! for a short-lived access token carrying exactly those scopes (OAuth 2.0 client credentials).

use super::AppState;
use crate::domain::clients::{generate_secret, secret_digest, secret_hint, validate_client};
use crate::storage::{self, clients::ClientRecord, clients::SecretRecord};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{Principal, PrincipalKind, Role};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use platform::http::Json;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const MANAGERS: &[Role] = &[Role::Admin, Role::SuperAdmin];

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    pub name: String,
    /// From the fixed list: points:earn, points:read, points:redeem, orders:write,
    /// payments:write, payments:read, rewards:read, members:read.
    pub scopes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedClient {
    pub client_id: Uuid,
    /// Shown once: only its digest is stored.
    pub client_secret: String,
    pub name: String,
    pub scopes: Vec<String>,
}

/// Create a partner client (admins). The answer is the only time the secret key is shown.
#[utoipa::path(
    post, path = "/api/v1/auth/clients", tag = "partners", security(("bearer" = [])),
    request_body = CreateClientRequest,
    responses((status = 201, body = CreatedClient), (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn create_client(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<CreateClientRequest>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(MANAGERS)?;
    let (name, scopes) =
        validate_client(&request.name, &request.scopes).map_err(ApiError::Validation)?;
    let client_id = Uuid::now_v7();
    let secret = generate_secret();
    let mut tx = state.pool.begin().await?;
    storage::clients::insert(&mut tx, client_id, &name, &scopes, principal.subject).await?;
    storage::clients::add_secret(
        &mut tx,
        client_id,
        &secret_digest(&secret),
        &secret_hint(&secret),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%client_id, created_by = %principal.subject, "partner client created");
    Ok(HttpResponse::Created().json(CreatedClient {
        client_id,
        client_secret: secret,
        name,
        scopes,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientView {
    #[serde(flatten)]
    pub client: ClientRecord,
    /// The keys that work now (a superseded one until its overlap ends), as hints.
    pub secrets: Vec<SecretRecord>,
}

/// List partner clients and their live keys (hints only).
#[utoipa::path(
    get, path = "/api/v1/auth/clients", tag = "partners", security(("bearer" = [])),
    responses((status = 200, body = [ClientView]))
)]
pub async fn list_clients(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(MANAGERS)?;
    let mut views = Vec::new();
    for client in storage::clients::list(&state.pool).await? {
        let secrets = storage::clients::live_secrets(&state.pool, client.id).await?;
        views.push(ClientView { client, secrets });
    }
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the current key keeps working, seconds (default a day; 0 ends it now).
    pub overlap_secs: Option<i64>,
}

/// Issue a new secret key; the current one keeps working for the overlap period.
#[utoipa::path(
    post, path = "/api/v1/auth/clients/{client_id}/rotate", tag = "partners", security(("bearer" = [])),
    params(("client_id" = Uuid, Path)),
    request_body = RotateRequest,
    responses((status = 200, body = CreatedClient), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    body: Option<Json<RotateRequest>>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(MANAGERS)?;
    let request = body.map(|Json(b)| b).unwrap_or_default();
    let overlap = request
        .overlap_secs
        .unwrap_or(state.settings.secret_rotation_overlap_secs);
    if !(0..=30 * 24 * 3600).contains(&overlap) {
        return Err(ApiError::validation(
            "overlap_secs",
            "must be between 0 and 2592000 (30 days)",
        ));
    }
    let mut tx = state.pool.begin().await?;
    let client = storage::clients::lock(&mut tx, path.into_inner())
        .await?
        .filter(|c| c.revoked_at.is_none())
        .ok_or_else(|| ApiError::NotFound("no such active partner client".into()))?;
    storage::clients::expire_current_secrets(&mut tx, client.id, overlap).await?;
    let secret = generate_secret();
    storage::clients::add_secret(
        &mut tx,
        client.id,
        &secret_digest(&secret),
        &secret_hint(&secret),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(client_id = %client.id, overlap_secs = overlap, "partner key rotated");
    Ok(HttpResponse::Ok().json(CreatedClient {
        client_id: client.id,
        client_secret: secret,
        name: client.name,
        scopes: client.scopes,
    }))
}

/// Revoke a partner client: every key stops working at once. Tokens already issued expire
/// within their short lifetime.
#[utoipa::path(
    delete, path = "/api/v1/auth/clients/{client_id}", tag = "partners", security(("bearer" = [])),
    params(("client_id" = Uuid, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn revoke_client(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(MANAGERS)?;
    let mut tx = state.pool.begin().await?;
    let client = storage::clients::lock(&mut tx, path.into_inner())
        .await?
        .ok_or_else(|| ApiError::NotFound("no such partner client".into()))?;
    storage::clients::revoke(&mut tx, client.id).await?;
    tx.commit().await?;
    tracing::info!(client_id = %client.id, revoked_by = %principal.subject, "partner client revoked");
    Ok(HttpResponse::NoContent().finish())
}

/// The token request's fields (RFC 6749 section 4.4), form-encoded or JSON.
#[derive(Deserialize, Default)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// An OAuth 2.0 error (RFC 6749 section 5.2) in a problem+json body: `error` for OAuth clients,
/// `type` for everyone else.
fn oauth_error(status: u16, error: &'static str, description: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    let mut response = HttpResponse::build(status);
    response.content_type("application/problem+json");
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"tessera\""));
    }
    response.json(serde_json::json!({
        "type": format!("{}{}", platform::problem::TYPE_PREFIX, error.replace('_', "-")),
        "title": "Token request refused",
        "status": status.as_u16(),
        "detail": description,
        "error": error,
        "error_description": description,
    }))
}

fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Exchange a partner's client id and secret key for an access token with its scopes
/// (OAuth 2.0 client credentials). Credentials by HTTP Basic or in the body; `scope` may
/// narrow the granted scopes.
#[utoipa::path(
    post, path = "/api/v1/auth/token", tag = "partners",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "grant_type=client_credentials&client_id=..&client_secret=..[&scope=..]"),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "invalid_request, unsupported_grant_type or invalid_scope", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "invalid_client", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    state.limits.admit(&state.client_ip(&req), None).await?;
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let parsed: Result<TokenRequest, String> = if body.is_empty() {
        Ok(TokenRequest::default())
    } else if is_json {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    } else {
        serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())
    };
    let request = match parsed {
        Ok(r) => r,
        Err(e) => {
            return Ok(oauth_error(
                400,
                "invalid_request",
                &format!("the body could not be read: {e}"),
            ))
        }
    };
    if request.grant_type.as_deref() != Some("client_credentials") {
        return Ok(oauth_error(
            400,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    let credentials =
        basic_credentials(&req).or(match (request.client_id, request.client_secret) {
            (Some(id), Some(secret)) => Some((id, secret)),
            _ => None,
        });
    let Some((client_id, secret)) = credentials else {
        return Ok(oauth_error(
            401,
            "invalid_client",
            "client_id and client_secret are required",
        ));
    };
    let client = match Uuid::parse_str(&client_id) {
        Ok(id) => storage::clients::authenticate(&state.pool, id, &secret_digest(&secret)).await?,
        Err(_) => None,
    };
    let Some(client) = client else {
        return Ok(oauth_error(
            401,
            "invalid_client",
            "unknown client, wrong or expired key, or revoked client",
        ));
    };
    let scopes: Vec<String> = match request
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => client.scopes.clone(),
        Some(asked) => {
            let asked: Vec<String> = asked.split_whitespace().map(str::to_owned).collect();
            if let Some(extra) = asked.iter().find(|s| !client.scopes.contains(s)) {
                return Ok(oauth_error(
                    400,
                    "invalid_scope",
                    &format!("this client may not have `{extra}`"),
                ));
            }
            asked
        }
    };
    let ttl = state.settings.client_token_ttl_secs;
    let access_token =
        state
            .keys
            .signer()
            .issue(client.id, PrincipalKind::Partner, None, scopes.clone(), ttl)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            scope: scopes.join(" "),
        }))
}
