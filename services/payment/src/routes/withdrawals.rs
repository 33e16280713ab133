use super::{AppState, MONEY_STAFF, STAFF};
use crate::domain::{NewWithdrawal, Withdrawal, WithdrawalInput};
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
pub struct RecordWithdrawalRequest {
    pub member_id: Uuid,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    /// The card processor's reference for the withdrawal.
    pub reference: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WithdrawalView {
    pub id: Uuid,
    pub object: &'static str,
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&Withdrawal> for WithdrawalView {
    fn from(w: &Withdrawal) -> Self {
        WithdrawalView {
            id: w.id,
            object: "withdrawal",
            member_id: w.member_id,
            amount: w.amount,
            currency: w.currency.clone(),
            reference: w.reference.clone(),
            created_at: w.created_at,
        }
    }
}

fn response_for(withdrawal: &Withdrawal) -> (u16, serde_json::Value) {
    (
        201,
        serde_json::to_value(WithdrawalView::from(withdrawal)).unwrap_or_default(),
    )
}

/// Records money taken off a member's card (an ATM or cash withdrawal reported by the card
/// processor) and publishes `withdrawal.recorded`, which disqualifies the member from campaigns
/// that forbid withdrawals.
#[utoipa::path(
    post, path = "/api/v1/payments/withdrawals", tag = "withdrawals", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per withdrawal")),
    request_body = RecordWithdrawalRequest,
    responses(
        (status = 201, body = WithdrawalView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "record_withdrawal", principal = %principal.subject, withdrawal_id = tracing::field::Empty))]
pub async fn record_withdrawal(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_scope(auth::scopes::PAYMENTS_WRITE, MONEY_STAFF)?;
    let request: RecordWithdrawalRequest = platform::http::parse_json_body(&req, &body)?;
    let withdrawal = NewWithdrawal::parse(WithdrawalInput {
        member_id: request.member_id,
        amount: request.amount,
        currency: request.currency,
        reference: request.reference,
    })?;
    let write = match IdempotentWrite::begin(&state.idempotency, &req, principal.scope_key(), &body)
        .await?
    {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let recorded = crate::core::withdrawals::record(
        &state.payments,
        &withdrawal,
        &write.claimed(),
        response_for,
    )
    .await?;
    tracing::Span::current().record("withdrawal_id", tracing::field::display(recorded.id));
    write
        .finish(&state.idempotency, response_for(&recorded))
        .await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalQuery {
    pub member_id: Uuid,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WithdrawalPage {
    pub items: Vec<WithdrawalView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A member's withdrawals, newest first: for the member and staff.
#[utoipa::path(
    get, path = "/api/v1/payments/withdrawals", tag = "withdrawals", security(("bearer" = [])),
    params(WithdrawalQuery),
    responses(
        (status = 200, body = WithdrawalPage),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_withdrawals", member_id = %query.member_id))]
pub async fn list_withdrawals(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<WithdrawalQuery>,
) -> Result<HttpResponse, ApiError> {
    if !(principal.is_member(query.member_id) || principal.has_role(STAFF)) {
        return Err(ApiError::Forbidden("not your withdrawals".into()));
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 20, 100)?;
    let (found, next_cursor) =
        crate::core::withdrawals::for_member(&state.payments, query.member_id, &page).await?;
    Ok(HttpResponse::Ok().json(WithdrawalPage {
        items: found.iter().map(WithdrawalView::from).collect(),
        next_cursor,
    }))
}
