use super::{actor, AppState, ADMINS};
use crate::domain::MAX_POINTS;
use crate::ledger::{self, HoldRequest};
use crate::storage::holds::Hold;
use actix_web::{web, HttpRequest, HttpResponse};
use auth::Principal;
use platform::http::Json;
use platform::idempotency::IdempotencyKey;
use platform::{ApiError, FieldError};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long a hold lives if nobody captures or releases it, by default and at most.
const DEFAULT_HOLD_SECS: i64 = 15 * 60;
const MAX_HOLD_SECS: i64 = 24 * 3600;

/// Holds and redemptions: the member themselves, partners with `points:redeem`, admins.
fn authorize(principal: &Principal, member_id: Uuid) -> Result<(), ApiError> {
    principal.authorize_member_access(member_id, ADMINS, Some(auth::scopes::POINTS_REDEEM))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    pub points: i64,
    /// What the points are for (a redemption id).
    pub reference_id: Option<String>,
    pub description: Option<String>,
    /// Seconds until the hold releases itself (default 900, at most 86400).
    pub expires_in: Option<i64>,
}

fn validate(
    points: i64,
    reference_id: Option<&str>,
    description: Option<&str>,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if !(1..=MAX_POINTS).contains(&points) {
        errors.push(FieldError::new(
            "points",
            format!("must be between 1 and {MAX_POINTS}"),
        ));
    }
    for (field, value, max) in [
        ("reference_id", reference_id, 200),
        ("description", description, 500),
    ] {
        if value.is_some_and(|v| v.trim().is_empty() || v.chars().count() > max) {
            errors.push(FieldError::new(
                field,
                format!("must be 1 to {max} characters"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn fingerprint(member_id: Uuid, kind: &str, body: &impl serde::Serialize) -> String {
    let json = serde_json::to_vec(body).unwrap_or_default();
    hex::encode(
        Sha256::new()
            .chain_update(member_id.as_bytes())
            .chain_update(kind)
            .chain_update(json)
            .finalize(),
    )
}

/// Reserve points for a redemption (idempotent on the `Idempotency-Key` header). A hold larger
/// than the available points is refused with 422, naming the available amount.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/holds", tag = "holds", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = HoldBody,
    responses(
        (status = 201, body = Hold),
        (status = 200, description = "The hold this key created before", body = Hold),
        (status = 422, description = "insufficient-points (with the available amount), or the key was used for another request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn create_hold(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<Uuid>,
    Json(body): Json<HoldBody>,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    authorize(&principal, member_id)?;
    let key = IdempotencyKey::from_request(&req)?;
    validate(
        body.points,
        body.reference_id.as_deref(),
        body.description.as_deref(),
    )?;
    let ttl = body.expires_in.unwrap_or(DEFAULT_HOLD_SECS);
    if !(1..=MAX_HOLD_SECS).contains(&ttl) {
        return Err(ApiError::validation(
            "expires_in",
            format!("must be between 1 and {MAX_HOLD_SECS} seconds"),
        ));
    }
    let fingerprint = fingerprint(
        member_id,
        "hold",
        &(body.points, &body.reference_id, &body.description, ttl),
    );
    let created_by = actor(&principal);
    let mut tx = state.pool.begin().await?;
    let (hold, replayed) = ledger::hold(
        &mut tx,
        &HoldRequest {
            member_id,
            points: body.points,
            ttl_secs: ttl,
            reference_id: body.reference_id.as_deref(),
            description: body.description.as_deref(),
            created_by: &created_by,
            idempotency_key: key.as_str(),
            fingerprint: &fingerprint,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(if replayed {
        HttpResponse::Ok().json(hold)
    } else {
        HttpResponse::Created().json(hold)
    })
}

/// Spend a hold's points. Capturing twice is harmless; a released or expired hold is 409.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/holds/{hold_id}/capture", tag = "holds", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), ("hold_id" = Uuid, Path)),
    responses((status = 200, body = Hold), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 409, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn capture_hold(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (member_id, hold_id) = path.into_inner();
    authorize(&principal, member_id)?;
    let mut tx = state.pool.begin().await?;
    let hold = ledger::capture(&mut tx, member_id, hold_id).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(hold))
}

/// Give a hold's points back. Releasing twice is harmless; a captured hold is 409.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/holds/{hold_id}/release", tag = "holds", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), ("hold_id" = Uuid, Path)),
    responses((status = 200, body = Hold), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 409, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn release_hold(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (member_id, hold_id) = path.into_inner();
    authorize(&principal, member_id)?;
    let mut tx = state.pool.begin().await?;
    let hold = ledger::release(&mut tx, member_id, hold_id, "released").await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(hold))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    pub points: i64,
    pub reference_id: Option<String>,
    pub description: Option<String>,
}

/// Spend points in one step (seed 003): a hold captured at once. Idempotent on the
/// `Idempotency-Key` header.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/redeem", tag = "holds", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = RedeemBody,
    responses(
        (status = 201, body = Hold),
        (status = 200, description = "Redeemed before with this key", body = Hold),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn redeem(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<Uuid>,
    Json(body): Json<RedeemBody>,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    authorize(&principal, member_id)?;
    let key = IdempotencyKey::from_request(&req)?;
    validate(
        body.points,
        body.reference_id.as_deref(),
        body.description.as_deref(),
    )?;
    let fingerprint = fingerprint(
        member_id,
        "redeem",
        &(body.points, &body.reference_id, &body.description),
    );
    let created_by = actor(&principal);
    let mut tx = state.pool.begin().await?;
    let (hold, replayed) = ledger::hold(
        &mut tx,
        &HoldRequest {
            member_id,
            points: body.points,
            ttl_secs: 60,
            reference_id: body.reference_id.as_deref(),
            description: body.description.as_deref(),
            created_by: &created_by,
            idempotency_key: key.as_str(),
            fingerprint: &fingerprint,
        },
    )
    .await?;
    let hold = ledger::capture(&mut tx, member_id, hold.id).await?;
    tx.commit().await?;
    Ok(if replayed {
        HttpResponse::Ok().json(hold)
    } else {
        HttpResponse::Created().json(hold)
    })
}
