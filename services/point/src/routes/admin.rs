//! Staff actions on a member: adjustments and tier overrides.

use super::views::TransactionView;
use super::{actor, created_once, to_json, AppState, FieldErrors, ADMINS, STAFF};
use crate::core;
use crate::core::adjust::Adjustment;
use crate::core::balance::TransactionRecord;
use crate::domain::program::{TierOverride, REASON};
use crate::domain::AdjustmentPoints;
use actix_web::{web, HttpRequest, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::http::Json;
use platform::idempotency::IdempotentWrite;
use platform::{text, ApiError};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    /// Positive to credit, negative to debit; never zero.
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub points: i64,
    pub reason: String,
}

fn transaction_json(record: &TransactionRecord) -> serde_json::Value {
    to_json(&TransactionView::from(record.clone()))
}

/// Correct a member's points (support staff and above), audited and published as
/// `points.adjusted`. Idempotent on the `Idempotency-Key` header.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/adjustments", tag = "program", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = AdjustBody,
    responses(
        (status = 201, body = TransactionView),
        (status = 200, description = "Made before with this key", body = TransactionView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A request with this key is still in flight", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A zero or absurd amount, no reason, or a debit larger than the available points", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "adjust", member_id = %*path))]
pub async fn adjust(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(STAFF)?;
    let member_id = path.into_inner();
    let request: AdjustBody = platform::http::parse_json_body(&req, &body)?;
    let mut errors = FieldErrors::default();
    let points = errors.field("points", AdjustmentPoints::parse(request.points));
    let reason = errors.checked(text::required("reason", REASON, &request.reason))?;
    let (Some(points), Some(reason)) = (points, reason) else {
        return Err(errors.into_error());
    };
    let write = match IdempotentWrite::begin(&state.idempotency, &req, principal.scope_key(), &body)
        .await?
    {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let actor = actor(&principal);
    let adjusted = core::adjust::adjust(
        &state.pool,
        &Adjustment {
            member_id,
            points,
            reason: &reason,
            actor: &actor,
        },
        &write.claimed(),
        transaction_json,
    )
    .await?;
    state.balance_changed(member_id);
    created_once(
        write,
        &state.idempotency,
        adjusted.replayed,
        transaction_json(&adjusted.transaction),
    )
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierOverrideBody {
    /// The tier to hold, or null to end the override.
    pub tier: Option<String>,
    pub reason: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Put a member on a tier regardless of spend, with a reason and an expiry (admins).
#[utoipa::path(
    put, path = "/api/v1/points/{user_id}/tier-override", tag = "program", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    request_body = TierOverrideBody,
    responses((status = 204, description = "Saved"), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(flow = "override_tier", member_id = %*path))]
pub async fn override_tier(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    Json(body): Json<TierOverrideBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let member_id = path.into_inner();
    let tier_override = match &body.tier {
        None => None,
        Some(tier) => {
            let mut errors = FieldErrors::default();
            let reason = errors.checked(text::required(
                "reason",
                REASON,
                body.reason.as_deref().unwrap_or(""),
            ))?;
            let expires_at = body.expires_at.filter(|t| *t > Utc::now());
            if expires_at.is_none() {
                errors.push("expires_at", "must be a time in the future");
            }
            let (Some(reason), Some(expires_at)) = (reason, expires_at) else {
                return Err(errors.into_error());
            };
            Some(TierOverride {
                tier: tier.clone(),
                reason,
                expires_at,
            })
        }
    };
    core::tiers::set_override(
        &state.pool,
        member_id,
        tier_override.as_ref(),
        &actor(&principal),
    )
    .await?;
    state.balance_changed(member_id);
    Ok(HttpResponse::NoContent().finish())
}
