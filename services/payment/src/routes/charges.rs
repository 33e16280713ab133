use super::AppState;
use crate::domain::{ChargeKind, ChargeStatus, CreateChargeRequest, NewCharge};
use crate::storage::charges::{self, ChargeRecord};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{Principal, Role};
use chrono::{DateTime, Utc};
use platform::idempotency::{self, IdempotencyKey, Outcome};
use platform::ApiError;
use serde::Serialize;
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChargeView {
    pub id: Uuid,
    pub object: &'static str,
    pub status: ChargeStatus,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub kind: ChargeKind,
    pub member_id: Uuid,
    pub payment_method: String,
    pub description: Option<String>,
    pub psp: String,
    pub psp_reference: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ChargeRecord> for ChargeView {
    fn from(c: &ChargeRecord) -> Self {
        ChargeView {
            id: c.id,
            object: "charge",
            status: ChargeStatus::parse(&c.status).unwrap_or(ChargeStatus::Processing),
            amount: c.amount,
            currency: c.currency.clone(),
            kind: if c.kind == "load" {
                ChargeKind::Load
            } else {
                ChargeKind::Purchase
            },
            member_id: c.member_id,
            payment_method: c.payment_method.clone(),
            description: c.description.clone(),
            psp: c.psp.clone(),
            psp_reference: c.psp_reference.clone(),
            failure_code: c.failure_code.clone(),
            failure_message: c.failure_message.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// 201 for a charge with an outcome (succeeded or failed), 202 while the outcome is pending.
fn response_for(charge: &ChargeRecord) -> (u16, serde_json::Value) {
    let view = ChargeView::from(charge);
    let status = if view.status.is_final() { 201 } else { 202 };
    (status, serde_json::to_value(&view).unwrap_or_default())
}

/// Create a charge. Retry with the same `Idempotency-Key` to get the same charge back.
#[utoipa::path(
    post, path = "/api/v1/payments/charges", tag = "charges", security(("bearer" = [])),
    request_body = CreateChargeRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per intended charge; retries reuse it")),
    responses(
        (status = 201, description = "The charge succeeded or was declined (see `status`)", body = ChargeView),
        (status = 202, description = "The PSP's answer is pending; poll the charge", body = ChargeView),
        (status = 400, description = "Malformed JSON", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A request with this key is in flight", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or the key was used with another body", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_charge"))]
pub async fn create_charge(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let key = IdempotencyKey::from_request(&req)?;
    let request: CreateChargeRequest = platform::http::parse_json_body(&req, &body)?;
    let charge = NewCharge::parse(request, &principal)?;
    let scope = principal.scope_key();
    if let Outcome::Replay { status, body } = idempotency::claim(
        &state.pool,
        &scope,
        &key,
        &idempotency::fingerprint(&req, &body),
    )
    .await?
    {
        let status = StatusCode::from_u16(status).map_err(|e| ApiError::Internal(e.into()))?;
        return Ok(HttpResponse::build(status)
            .insert_header(("Idempotent-Replayed", "true"))
            .json(body));
    }
    let record = crate::core::create_charge(
        &state.pool,
        state.connector.as_ref(),
        charge,
        &scope,
        &key,
        response_for,
    )
    .await?;
    let (status, body) = response_for(&record);
    let status = StatusCode::from_u16(status).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::build(status).json(body))
}

const STAFF: &[Role] = &[Role::Support, Role::Admin, Role::SuperAdmin];

/// A charge, for its member, the partner that created it, or staff.
#[utoipa::path(
    get, path = "/api/v1/payments/charges/{charge_id}", tag = "charges", security(("bearer" = [])),
    params(("charge_id" = Uuid, Path)),
    responses((status = 200, body = ChargeView), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn get_charge(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound("no such charge".into());
    let charge = charges::find(&state.pool, path.into_inner())
        .await?
        .ok_or_else(not_found)?;
    let allowed = principal.is_member(charge.member_id)
        || principal.has_role(STAFF)
        || charge.created_by == principal.scope_key();
    // Someone else's charge looks exactly like a missing one: ids are not probed.
    if !allowed {
        return Err(not_found());
    }
    Ok(HttpResponse::Ok().json(ChargeView::from(&charge)))
}
