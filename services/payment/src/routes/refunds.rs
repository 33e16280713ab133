use super::charges::visible;
use super::{AppState, MONEY_STAFF};
use crate::domain::{Charge, NewRefund, Refund};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::idempotency::IdempotentWrite;
use platform::pagination::PageRequest;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefundRequest {
    /// Minor units; leave out to refund everything not yet refunded.
    pub amount: Option<i64>,
    pub reason: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RefundView {
    pub id: Uuid,
    pub object: &'static str,
    pub charge_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    /// pending, succeeded or failed.
    pub status: String,
    pub psp_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Refund> for RefundView {
    fn from(r: &Refund) -> Self {
        RefundView {
            id: r.id,
            object: "refund",
            charge_id: r.charge_id,
            amount: r.amount,
            currency: r.currency.clone(),
            reason: r.reason.clone(),
            status: r.status.as_str().to_owned(),
            psp_reference: r.psp_reference.clone(),
            failure_reason: r.failure_reason.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// 201 once the PSP has answered, 202 while the refund waits for a retry.
fn response_for(refund: &Refund) -> (u16, serde_json::Value) {
    let status = if refund.status == crate::domain::RefundStatus::Pending {
        202
    } else {
        201
    };
    (
        status,
        serde_json::to_value(RefundView::from(refund)).unwrap_or_default(),
    )
}

/// Whether `principal` may refund the charge: admins, or the merchant that took the payment.
/// Someone who cannot see the charge learns nothing about it.
fn may_refund(principal: &Principal, charge: &Charge) -> Result<(), ApiError> {
    if !visible(principal, charge) {
        return Err(ApiError::NotFound("no such charge".into()));
    }
    let created_it = charge.created_by == principal.scope_key();
    if principal.has_role(MONEY_STAFF)
        || (created_it && principal.has_scope(auth::scopes::PAYMENTS_WRITE))
    {
        Ok(())
    } else {
        Err(refused())
    }
}

fn refused() -> ApiError {
    ApiError::Forbidden("refunds are made by admins or the merchant that took the payment".into())
}

/// Refund a succeeded charge, in full or in part. Partial refunds add up to at most the charge.
/// For admins and the partner that created the charge.
#[utoipa::path(
    post, path = "/api/v1/payments/charges/{charge_id}/refunds", tag = "refunds", security(("bearer" = [])),
    params(("charge_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "Unique per intended refund")),
    request_body = CreateRefundRequest,
    responses(
        (status = 429, description = "Too many requests from this caller this minute; retry after `Retry-After` seconds", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 201, description = "The PSP answered (see `status`)", body = RefundView),
        (status = 202, description = "The PSP's answer is pending", body = RefundView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "More than is left to refund, a charge that did not succeed, or a bad field", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_refund", charge_id = %path, refund_id = tracing::field::Empty))]
pub async fn create_refund(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // Nobody else refunds anything; the charge itself is checked by `may_refund`.
    if !(principal.has_role(MONEY_STAFF) || principal.has_scope(auth::scopes::PAYMENTS_WRITE)) {
        return Err(refused());
    }
    state
        .limits
        .admit("refunds", principal.rate_caller(), &principal.scope_key())
        .await?;
    let request: CreateRefundRequest = platform::http::parse_json_body(&req, &body)?;
    let refund = NewRefund::parse(request.amount, request.reason.as_deref())?;
    let write = match IdempotentWrite::begin(&state.idempotency, &req, principal.scope_key(), &body)
        .await?
    {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let refund = crate::core::refunds::create(
        &state.payments,
        path.into_inner(),
        refund,
        |charge| may_refund(&principal, charge),
        &write.claimed(),
        response_for,
    )
    .await?;
    tracing::Span::current().record("refund_id", tracing::field::display(refund.id));
    write
        .finish(&state.idempotency, response_for(&refund))
        .await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RefundQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RefundPage {
    pub items: Vec<RefundView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A charge's refunds, newest first, for whoever may see the charge.
#[utoipa::path(
    get, path = "/api/v1/payments/charges/{charge_id}/refunds", tag = "refunds", security(("bearer" = [])),
    params(("charge_id" = Uuid, Path), RefundQuery),
    responses(
        (status = 200, body = RefundPage),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_refunds", charge_id = %path))]
pub async fn list_refunds(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    query: web::Query<RefundQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 20, 100)?;
    let (found, next_cursor) = crate::core::refunds::list(
        &state.payments,
        path.into_inner(),
        |charge| visible(&principal, charge),
        &page,
    )
    .await?;
    Ok(HttpResponse::Ok().json(RefundPage {
        items: found.iter().map(RefundView::from).collect(),
        next_cursor,
    }))
}
