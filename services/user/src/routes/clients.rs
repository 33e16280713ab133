//! Partner clients: staff create them with fixed scopes; the partner exchanges its secret key
//! for a short-lived access token carrying exactly those scopes (OAuth 2.0 client credentials).

use super::business::{reachable_business, target_business};
use super::state::AppState;
use super::validation::{invalid, invalid_field};
use crate::core;
use crate::core::clients::{IssuedSecret, TokenGrant};
use crate::domain::clients::{NewClient, PartnerClient, RotationOverlap, SecretHint};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{Principal, Role};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use platform::http::Json;
use platform::pagination::PageRequest;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const MANAGERS: &[Role] = &[Role::Admin, Role::SuperAdmin];

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    pub name: String,
    /// From the fixed list: points:earn, points:read, points:redeem, stamps:issue,
    /// orders:write, payments:write, payments:read, rewards:read, members:read.
    pub scopes: Vec<String>,
    /// The business the client acts in: a business's admins create clients of their own
    /// business only (this may be left out or must name it); a super admin names any (default:
    /// the demo business).
    pub business_id: Option<Uuid>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedClient {
    pub client_id: Uuid,
    pub business_id: Uuid,
    /// Shown once: only its digest is stored.
    pub client_secret: String,
    pub name: String,
    pub scopes: Vec<String>,
}

impl From<IssuedSecret> for CreatedClient {
    fn from(issued: IssuedSecret) -> Self {
        CreatedClient {
            client_id: issued.client.id,
            business_id: issued.client.business_id,
            client_secret: issued.secret,
            name: issued.client.name,
            scopes: issued.client.scopes,
        }
    }
}

/// Create a partner client (admins). The answer is the only time the secret key is shown.
#[utoipa::path(
    post, path = "/api/v1/auth/clients", tag = "partners", security(("bearer" = [])),
    request_body = CreateClientRequest,
    responses((status = 201, body = CreatedClient), (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(created_by = %principal.subject))]
pub async fn create_client(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<CreateClientRequest>,
) -> Result<HttpResponse, ApiError> {
    let business = target_business(&principal, request.business_id, MANAGERS)?;
    let new_client = NewClient::parse(&request.name, &request.scopes).map_err(invalid)?;
    let issued =
        core::clients::create(&state.core, business, new_client, principal.subject).await?;
    Ok(HttpResponse::Created().json(CreatedClient::from(issued)))
}

// The schema keeps the name it had when clients were listed straight from storage.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ClientRecord)]
pub struct ClientSummary {
    pub id: Uuid,
    pub business_id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SecretRecord)]
pub struct SecretHintView {
    pub id: Uuid,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    /// When a superseded key stops working; absent for the current key.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientView {
    #[serde(flatten)]
    pub client: ClientSummary,
    /// The keys that work now (a superseded one until its overlap ends), as hints.
    pub secrets: Vec<SecretHintView>,
}

impl ClientView {
    fn new(client: PartnerClient, secrets: Vec<SecretHint>) -> Self {
        ClientView {
            client: ClientSummary {
                id: client.id,
                business_id: client.business_id,
                name: client.name,
                scopes: client.scopes,
                created_by: client.created_by,
                created_at: client.created_at,
                revoked_at: client.revoked_at,
            },
            secrets: secrets
                .into_iter()
                .map(|s| SecretHintView {
                    id: s.id,
                    hint: s.hint,
                    created_at: s.created_at,
                    expires_at: s.expires_at,
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Clients per page, 1 to 100 (default 100).
    pub limit: Option<i64>,
    /// `X-Next-Cursor` of the previous page.
    pub cursor: Option<String>,
    /// Whose clients: a business's admins see their own business's; a super admin names one
    /// (default: the demo business).
    pub business_id: Option<Uuid>,
}

/// Header naming where the next page of a list starts; absent on the last page.
const NEXT_CURSOR: &str = "X-Next-Cursor";

/// List partner clients and their live keys (hints only), newest first.
#[utoipa::path(
    get, path = "/api/v1/auth/clients", tag = "partners", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = [ClientView], headers(("X-Next-Cursor" = String, description = "Pass as `cursor` for the next page; absent on the last page"))))
)]
#[tracing::instrument(skip_all, fields(caller = %principal.subject))]
pub async fn list_clients(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let business = target_business(&principal, query.business_id, MANAGERS)?;
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 100, 100)?;
    let listed = core::clients::list(&state.core, business, page).await?;
    let views: Vec<ClientView> = listed
        .clients
        .into_iter()
        .map(|(client, secrets)| ClientView::new(client, secrets))
        .collect();
    let mut response = HttpResponse::Ok();
    if let Some(next) = listed.next_cursor {
        response.insert_header((NEXT_CURSOR, next));
    }
    Ok(response.json(views))
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
#[tracing::instrument(skip_all, fields(client_id = %path, caller = %principal.subject))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    body: Option<Json<RotateRequest>>,
) -> Result<HttpResponse, ApiError> {
    let within = reachable_business(&principal, MANAGERS)?;
    let request = body.map(|Json(b)| b).unwrap_or_default();
    let overlap = request
        .overlap_secs
        .map(RotationOverlap::parse)
        .transpose()
        .map_err(|e| invalid_field("overlap_secs", e))?;
    let issued =
        core::clients::rotate_secret(&state.core, within, path.into_inner(), overlap).await?;
    Ok(HttpResponse::Ok().json(CreatedClient::from(issued)))
}

/// Revoke a partner client: every key stops working at once. Tokens already issued expire
/// within their short lifetime.
#[utoipa::path(
    delete, path = "/api/v1/auth/clients/{client_id}", tag = "partners", security(("bearer" = [])),
    params(("client_id" = Uuid, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(client_id = %path, caller = %principal.subject))]
pub async fn revoke_client(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let within = reachable_business(&principal, MANAGERS)?;
    core::clients::revoke(&state.core, within, path.into_inner(), principal.subject).await?;
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

/// A well-formed client credentials request.
struct ClientCredentials {
    client_id: String,
    secret: String,
    scope: Option<String>,
}

impl ClientCredentials {
    /// Reads the body and the credentials (HTTP Basic first); a refusal is the OAuth answer.
    fn read(req: &HttpRequest, body: &[u8]) -> Result<Self, OAuthRefusal> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let parsed: Result<TokenRequest, String> = if body.is_empty() {
            Ok(TokenRequest::default())
        } else if is_json {
            serde_json::from_slice(body).map_err(|e| e.to_string())
        } else {
            serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())
        };
        let request = parsed.map_err(|e| {
            OAuthRefusal::new(
                400,
                "invalid_request",
                format!("the body could not be read: {e}"),
            )
        })?;
        if request.grant_type.as_deref() != Some("client_credentials") {
            return Err(OAuthRefusal::new(
                400,
                "unsupported_grant_type",
                "grant_type must be client_credentials",
            ));
        }
        let credentials =
            basic_credentials(req).or(match (request.client_id, request.client_secret) {
                (Some(id), Some(secret)) => Some((id, secret)),
                _ => None,
            });
        let (client_id, secret) = credentials.ok_or_else(|| {
            OAuthRefusal::new(
                401,
                "invalid_client",
                "client_id and client_secret are required",
            )
        })?;
        Ok(Self {
            client_id,
            secret,
            scope: request.scope,
        })
    }
}

/// A refused token request (RFC 6749 section 5.2).
struct OAuthRefusal {
    status: u16,
    error: &'static str,
    description: String,
}

impl OAuthRefusal {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    fn response(&self) -> HttpResponse {
        oauth_error(self.status, self.error, &self.description)
    }
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
#[tracing::instrument(skip_all, fields(flow = "client_credentials"))]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request = match ClientCredentials::read(&req, &body) {
        Ok(request) => request,
        Err(refusal) => return Ok(refusal.response()),
    };
    let grant = core::clients::issue_token(
        &state.core,
        &state.client_ip(&req),
        Uuid::parse_str(&request.client_id).ok(),
        &request.secret,
        request.scope.as_deref(),
    )
    .await?;
    Ok(match grant {
        TokenGrant::Issued(token) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(TokenResponse {
                access_token: token.access_token,
                token_type: "Bearer",
                expires_in: token.expires_in,
                scope: token.scopes.join(" "),
            }),
        TokenGrant::InvalidClient => oauth_error(
            401,
            "invalid_client",
            "unknown client, wrong or expired key, or revoked client",
        ),
        TokenGrant::InvalidScope(detail) => oauth_error(400, "invalid_scope", &detail),
    })
}
