//! Holds and redemptions.

use super::views::HoldView;
use super::{actor, created_once, to_json, AppState, FieldErrors, ADMINS};
use crate::core;
use crate::core::holds::Hold;
use crate::core::holds::HoldRequest;
use crate::domain::program::{DESCRIPTION, REFERENCE};
use crate::domain::{HoldTtl, Points, MAX_POINTS};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::Principal;
use platform::idempotency::{self, IdempotentWrite};
use platform::{text, ApiError};
use serde::Deserialize;
use uuid::Uuid;

/// Holds and redemptions: the member themselves, partners with `points:redeem`, admins.
fn authorize(principal: &Principal, member_id: Uuid) -> Result<(), ApiError> {
    principal.authorize_member_access(member_id, ADMINS, Some(auth::scopes::POINTS_REDEEM))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub points: i64,
    /// What the points are for (a redemption id).
    pub reference_id: Option<String>,
    pub description: Option<String>,
    /// Seconds until the hold releases itself (default 900, at most 86400).
    pub expires_in: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub points: i64,
    pub reference_id: Option<String>,
    pub description: Option<String>,
}

/// A hold or redemption request in domain terms.
struct Parsed {
    points: Points,
    ttl: HoldTtl,
    reference_id: Option<String>,
    description: Option<String>,
}

fn parse(
    points: i64,
    ttl: Option<Result<HoldTtl, crate::domain::holds::HoldTtlError>>,
    reference_id: Option<&str>,
    description: Option<&str>,
) -> Result<Parsed, ApiError> {
    let mut errors = FieldErrors::default();
    let points = errors.field("points", Points::parse(points));
    let reference_id = errors.checked(text::optional("reference_id", REFERENCE, reference_id))?;
    let description = errors.checked(text::optional("description", DESCRIPTION, description))?;
    let ttl = match ttl {
        Some(ttl) => errors.field("expires_in", ttl),
        None => Some(HoldTtl::redemption()),
    };
    let (Some(points), Some(ttl), Some(reference_id), Some(description)) =
        (points, ttl, reference_id, description)
    else {
        return Err(errors.into_error());
    };
    Ok(Parsed {
        points,
        ttl,
        reference_id,
        description,
    })
}

fn hold_json(hold: &Hold) -> serde_json::Value {
    to_json(&HoldView::from(hold))
}

/// Reserve points for a redemption (idempotent on the `Idempotency-Key` header). A hold larger
/// than the available points is refused with 422, naming the available amount.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/holds", tag = "holds", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = HoldBody,
    responses(
        (status = 429, description = "Too many requests from this caller this minute; retry after `Retry-After` seconds", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 201, body = HoldView),
        (status = 200, description = "The hold this key created before", body = HoldView),
        (status = 409, description = "A request with this key is still in flight", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "insufficient-points (with the available amount), or the key was used for another request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_hold", member_id = %*path))]
pub async fn create_hold(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    authorize(&principal, member_id)?;
    state
        .limits
        .admit("holds", principal.rate_caller(), &principal.scope_key())
        .await?;
    let request: HoldBody = platform::http::parse_json_body(&req, &body)?;
    let parsed = parse(
        request.points,
        Some(HoldTtl::parse(request.expires_in)),
        request.reference_id.as_deref(),
        request.description.as_deref(),
    )?;
    place(&state, &principal, &req, &body, member_id, parsed, false).await
}

/// Spend points in one step (seed 003): a hold captured at once. Idempotent on the
/// `Idempotency-Key` header.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/redeem", tag = "holds", security(("bearer" = [])),
    operation_id = "redeem_points",
    params(("user_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = RedeemBody,
    responses(
        (status = 429, description = "Too many requests from this caller this minute; retry after `Retry-After` seconds", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 201, body = HoldView),
        (status = 200, description = "Redeemed before with this key", body = HoldView),
        (status = 409, description = "A request with this key is still in flight", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "redeem", member_id = %*path))]
pub async fn redeem(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    authorize(&principal, member_id)?;
    state
        .limits
        .admit(
            "redemptions",
            principal.rate_caller(),
            &principal.scope_key(),
        )
        .await?;
    let request: RedeemBody = platform::http::parse_json_body(&req, &body)?;
    let parsed = parse(
        request.points,
        None,
        request.reference_id.as_deref(),
        request.description.as_deref(),
    )?;
    place(&state, &principal, &req, &body, member_id, parsed, true).await
}

/// Claims the request's key, then places the hold (and captures it, for a redemption).
async fn place(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    body: &[u8],
    member_id: Uuid,
    parsed: Parsed,
    capture: bool,
) -> Result<HttpResponse, ApiError> {
    let write =
        match IdempotentWrite::begin(&state.idempotency, req, principal.scope_key(), body).await? {
            Ok(write) => write,
            Err(replay) => return Ok(replay),
        };
    let created_by = actor(principal);
    let fingerprint = idempotency::fingerprint(req, body);
    let request = HoldRequest {
        member_id,
        points: parsed.points,
        ttl: parsed.ttl,
        reference_id: parsed.reference_id.as_deref(),
        description: parsed.description.as_deref(),
        created_by: &created_by,
        fingerprint: &fingerprint,
    };
    let placed = if capture {
        core::holds::redeem(&state.pool, &request, &write.claimed(), hold_json).await?
    } else {
        core::holds::place(&state.pool, &request, &write.claimed(), hold_json).await?
    };
    state.balance_changed(member_id);
    created_once(
        write,
        &state.idempotency,
        placed.replayed,
        hold_json(&placed.hold),
    )
    .await
}

/// Spend a hold's points. Capturing twice is harmless; a released or expired hold is 409.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/holds/{hold_id}/capture", tag = "holds", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), ("hold_id" = Uuid, Path)),
    responses((status = 200, body = HoldView), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 409, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(flow = "capture_hold", member_id = %path.0, hold_id = %path.1))]
pub async fn capture_hold(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (member_id, hold_id) = path.into_inner();
    authorize(&principal, member_id)?;
    let hold = core::holds::capture(&state.pool, member_id, hold_id).await?;
    state.balance_changed(member_id);
    Ok(HttpResponse::Ok().json(HoldView::from(&hold)))
}

/// Give a hold's points back. Releasing twice is harmless; a captured hold is 409.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/holds/{hold_id}/release", tag = "holds", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), ("hold_id" = Uuid, Path)),
    responses((status = 200, body = HoldView), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 409, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(flow = "release_hold", member_id = %path.0, hold_id = %path.1))]
pub async fn release_hold(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (member_id, hold_id) = path.into_inner();
    authorize(&principal, member_id)?;
    let hold = core::holds::release(&state.pool, member_id, hold_id).await?;
    state.balance_changed(member_id);
    Ok(HttpResponse::Ok().json(HoldView::from(&hold)))
}

const _: () = assert!(
    MAX_POINTS == 1_000_000_000,
    "the schema bounds above say so"
);
