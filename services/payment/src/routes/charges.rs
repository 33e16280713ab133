use platform::idempotency::IdempotentWrite;
use super::{AppState, STAFF};
use crate::connectors::ConnectorError;
use crate::domain::{
    CardCharge, CardSummary, ChargeKind, ChargeStatus, CreateChargeRequest, NewCharge,
};
use crate::storage::charges::{self, ChargeFilter, ChargeRecord, Visibility};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChargeView {
    pub id: Uuid,
    pub object: &'static str,
    pub status: ChargeStatus,
    /// Minor units of `currency`.
    pub amount: i64,
    /// Minor units refunded or being refunded.
    pub amount_refunded: i64,
    pub currency: String,
    pub kind: ChargeKind,
    pub member_id: Uuid,
    pub payment_method: String,
    pub description: Option<String>,
    pub psp: String,
    pub psp_reference: Option<String>,
    /// While `requires_action`: where the customer completes the bank's challenge.
    pub next_action_url: Option<String>,
    /// For card details sent server to server: what a receipt shows.
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
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
            amount_refunded: c.amount_refunded,
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
            next_action_url: c.next_action_url.clone(),
            card_brand: c.card_brand.clone(),
            card_last4: c.card_last4.clone(),
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
    let request: CreateChargeRequest = platform::http::parse_json_body(&req, &body)?;
    let charge = NewCharge::parse(request, &principal)?;
    let write = match IdempotentWrite::begin(&state.idempotency, &req, principal.scope_key(), &body).await? {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let record = crate::core::create_charge(
        &state.pool,
        &state.processor,
        charge,
        &write.claimed(),
        response_for,
    )
    .await?;
    write.finish(&state.idempotency, response_for(&record)).await
}

/// The PSP whose vault takes card details sent server to server.
const CARD_VAULT: &str = "stripe";

/// Charge a card whose details a merchant's server sends (`card: {number, exp_month, exp_year,
/// cvc}`). For partners only. The card goes to the PSP's vault and is forgotten: only the PSP's
/// token and the brand and last four digits are kept, and it never appears in logs.
#[utoipa::path(
    post, path = "/api/v1/payments/charges/card", tag = "charges", security(("bearer" = [])),
    request_body(content = String, content_type = "application/json",
        description = "The fields of a charge without `payment_method`, plus `card: {number, exp_month, exp_year, cvc}`"),
    params(("Idempotency-Key" = String, Header, description = "Unique per intended charge; retries reuse it")),
    responses(
        (status = 201, description = "The charge succeeded or was declined (see `status`)", body = ChargeView),
        (status = 202, description = "The PSP's answer is pending; poll the charge", body = ChargeView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or the PSP refused the card", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The PSP's vault could not be reached; retry with the same key", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_card_charge"))]
pub async fn create_card_charge(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !platform::http::is_json_content_type(&req) {
        return Err(ApiError::MalformedRequest(
            "Content-Type must be application/json".into(),
        ));
    }
    let CardCharge {
        mut charge,
        card,
        redacted_body,
    } = CardCharge::parse(&body, &principal, Utc::now().date_naive())?;
    let write =
        match IdempotentWrite::begin(&state.idempotency, &req, principal.scope_key(), &redacted_body).await? {
            Ok(write) => write,
            Err(replay) => return Ok(replay),
        };
    let vault = state
        .processor
        .connectors()
        .get(CARD_VAULT)
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no PSP takes card details")))?;
    let token = match vault.tokenize_card(&card).await {
        Ok(token) => token,
        Err(e) => {
            write.release(&state.idempotency).await;
            return Err(match e {
                ConnectorError::Refused(why) => ApiError::Unprocessable {
                    slug: "card-refused",
                    detail: why,
                },
                other => ApiError::Unavailable(other.to_string()),
            });
        }
    };
    drop(card);
    charge.payment_method = token.payment_method;
    charge.card = Some(CardSummary {
        brand: token.brand,
        last4: token.last4,
    });
    charge.pinned_psp = Some(CARD_VAULT);
    let record = crate::core::create_charge(
        &state.pool,
        &state.processor,
        charge,
        &write.claimed(),
        response_for,
    )
    .await?;
    write.finish(&state.idempotency, response_for(&record)).await
}

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
    let charge = visible_charge(&state, &principal, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ChargeView::from(&charge)))
}

/// The charge if `principal` may see it: its member, the partner that created it, or staff.
/// Someone else's charge looks exactly like a missing one, so ids cannot be probed.
pub(super) async fn visible_charge(
    state: &AppState,
    principal: &Principal,
    charge_id: Uuid,
) -> Result<ChargeRecord, ApiError> {
    let not_found = || ApiError::NotFound("no such charge".into());
    let charge = charges::find(&state.pool, charge_id)
        .await?
        .ok_or_else(not_found)?;
    let allowed = principal.is_member(charge.member_id)
        || principal.has_role(STAFF)
        || charge.created_by == principal.scope_key();
    if allowed {
        Ok(charge)
    } else {
        Err(not_found())
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChargeQuery {
    /// Only this member's charges (staff and partners).
    pub member_id: Option<Uuid>,
    /// created, processing, requires_action, succeeded, failed or canceled.
    pub status: Option<String>,
    /// purchase or load.
    pub kind: Option<String>,
    /// Created at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChargePage {
    pub items: Vec<ChargeView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<Uuid>,
}

/// Charges, newest first: a member sees their own, a partner those it created, staff all.
#[utoipa::path(
    get, path = "/api/v1/payments/charges", tag = "charges", security(("bearer" = [])),
    params(ChargeQuery),
    responses(
        (status = 200, body = ChargePage),
        (status = 422, description = "An unknown status or kind, or a bad limit", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn list_charges(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ChargeQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let visibility = if principal.has_role(STAFF) {
        Visibility::All
    } else if principal.has_scope(auth::scopes::PAYMENTS_READ)
        || principal.has_scope(auth::scopes::PAYMENTS_WRITE)
    {
        Visibility::CreatedBy(principal.scope_key())
    } else if principal.is_member(principal.subject) {
        Visibility::Member(principal.subject)
    } else {
        return Err(ApiError::Forbidden(
            "this account cannot list charges".into(),
        ));
    };
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100"));
    }
    let status = match query.status.as_deref() {
        Some(raw) => Some(ChargeStatus::parse(raw).ok_or_else(|| {
            ApiError::validation(
                "status",
                "must be created, processing, requires_action, succeeded, failed or canceled",
            )
        })?),
        None => None,
    };
    if query
        .kind
        .as_deref()
        .is_some_and(|k| k != "purchase" && k != "load")
    {
        return Err(ApiError::validation("kind", "must be purchase or load"));
    }
    let filter = ChargeFilter {
        visibility,
        member_id: query.member_id,
        status,
        kind: query.kind,
        created_from: query.from,
        created_to: query.to,
        before: query.cursor,
        limit: limit + 1,
    };
    let mut found = charges::list(&state.pool, &filter).await?;
    let next_cursor = if found.len() as i64 > limit {
        found.truncate(limit as usize);
        found.last().map(|c| c.id)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(ChargePage {
        items: found.iter().map(ChargeView::from).collect(),
        next_cursor,
    }))
}
