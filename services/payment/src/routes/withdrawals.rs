use platform::idempotency::IdempotentWrite;
use super::{AppState, MONEY_STAFF, STAFF};
use crate::storage::withdrawals::{self, WithdrawalRecord};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use kernel::money::{Currency, Money};
use platform::{ApiError, FieldError};
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

impl From<&WithdrawalRecord> for WithdrawalView {
    fn from(w: &WithdrawalRecord) -> Self {
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
pub async fn record_withdrawal(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_scope(auth::scopes::PAYMENTS_WRITE, MONEY_STAFF)?;
    let request: RecordWithdrawalRequest = platform::http::parse_json_body(&req, &body)?;
    let currency = Currency::parse(&request.currency)
        .map_err(|e| ApiError::Validation(vec![FieldError::new("currency", e)]))?;
    let amount = Money::positive(request.amount, currency)
        .map_err(|e| ApiError::Validation(vec![FieldError::new("amount", e)]))?;
    let reference = request
        .reference
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reference.as_ref().is_some_and(|r| r.len() > 200) {
        return Err(ApiError::validation(
            "reference",
            "must be at most 200 characters",
        ));
    }
    let write = match IdempotentWrite::begin(&state.idempotency, &req, principal.scope_key(), &body).await? {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let recorded = async {
        let mut tx = state.pool.begin().await?;
        let withdrawal = withdrawals::insert(
            &mut tx,
            request.member_id,
            amount.amount_minor,
            amount.currency.code(),
            reference.as_deref(),
            write.claimed().scope,
        )
        .await?;
        events::outbox::enqueue(&mut tx, &crate::events::withdrawal_recorded(&withdrawal)).await?;
        let body = serde_json::to_value(WithdrawalView::from(&withdrawal)).unwrap_or_default();
        write.claimed().complete(&mut tx, 201, &body).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(body)
    }
    .await;
    match recorded {
        Ok(body) => write.finish(&state.idempotency, (201, body)).await,
        Err(e) => {
            write.release(&state.idempotency).await;
            Err(e)
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalQuery {
    pub member_id: Uuid,
}

/// A member's withdrawals, newest first: for the member and staff.
#[utoipa::path(
    get, path = "/api/v1/payments/withdrawals", tag = "withdrawals", security(("bearer" = [])),
    params(WithdrawalQuery),
    responses((status = 200, body = [WithdrawalView]), (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn list_withdrawals(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<WithdrawalQuery>,
) -> Result<HttpResponse, ApiError> {
    if !(principal.is_member(query.member_id) || principal.has_role(STAFF)) {
        return Err(ApiError::Forbidden("not your withdrawals".into()));
    }
    let found = withdrawals::for_member(&state.pool, query.member_id, 100).await?;
    Ok(HttpResponse::Ok().json(found.iter().map(WithdrawalView::from).collect::<Vec<_>>()))
}
