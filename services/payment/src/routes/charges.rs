use super::{payer, AppState, STAFF};
use crate::domain::{
    read_card, CardDetails, Charge, ChargeFilter, ChargeInput, ChargeKind, ChargeStatus, NewCharge,
    Visibility,
};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{Principal, PrincipalKind};
use chrono::{DateTime, Utc};
use platform::idempotency::IdempotentWrite;
use platform::pagination::PageRequest;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChargeRequest {
    /// Minor units of `currency`: 12345 is 123.45 AUD.
    #[schema(minimum = 1, maximum = 99_999_999)]
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// A payment method token from client-side tokenisation, e.g. `pm_card_visa`.
    pub payment_method: String,
    #[serde(default)]
    pub kind: ChargeKind,
    /// Required when a partner charges on a member's behalf; members charge themselves.
    pub member_id: Option<Uuid>,
    pub description: Option<String>,
    /// Where the customer's browser comes back to if the card needs the bank's challenge
    /// (3-D Secure): an absolute http(s) URL, usually the page that started the payment.
    pub return_url: Option<String>,
}

impl From<CreateChargeRequest> for ChargeInput {
    fn from(r: CreateChargeRequest) -> Self {
        ChargeInput {
            amount: r.amount,
            currency: r.currency,
            payment_method: r.payment_method,
            kind: r.kind,
            member_id: r.member_id,
            description: r.description,
            return_url: r.return_url,
        }
    }
}

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

impl From<&Charge> for ChargeView {
    fn from(c: &Charge) -> Self {
        ChargeView {
            id: c.id,
            object: "charge",
            status: c.status,
            amount: c.amount,
            amount_refunded: c.amount_refunded,
            currency: c.currency.clone(),
            kind: c.kind,
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
fn response_for(charge: &Charge) -> (u16, serde_json::Value) {
    let view = ChargeView::from(charge);
    let status = if view.status.is_final() { 201 } else { 202 };
    (status, serde_json::to_value(&view).unwrap_or_default())
}

/// Whether `principal` may see the charge: its member, the partner that created it, or staff.
pub(super) fn visible(principal: &Principal, charge: &Charge) -> bool {
    principal.is_member(charge.member_id)
        || principal.has_role(STAFF)
        || charge.created_by == principal.scope_key()
}

/// Create a charge. Retry with the same `Idempotency-Key` to get the same charge back.
#[utoipa::path(
    post, path = "/api/v1/payments/charges", tag = "charges", security(("bearer" = [])),
    request_body = CreateChargeRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per intended charge; retries reuse it")),
    responses(
        (status = 429, description = "Too many requests from this caller this minute; retry after `Retry-After` seconds", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 201, description = "The charge succeeded or was declined (see `status`)", body = ChargeView),
        (status = 202, description = "The PSP's answer is pending; poll the charge", body = ChargeView),
        (status = 400, description = "Malformed JSON", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A request with this key is in flight", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or the key was used with another body", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_charge", principal = %principal.subject, charge_id = tracing::field::Empty))]
pub async fn create_charge(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .admit("charges", principal.rate_caller(), &principal.scope_key())
        .await?;
    let request: CreateChargeRequest = platform::http::parse_json_body(&req, &body)?;
    let charge = NewCharge::parse(request.into(), &payer(&principal))?;
    let write = match IdempotentWrite::begin(&state.idempotency, &req, principal.scope_key(), &body)
        .await?
    {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let charge =
        crate::core::charges::create(&state.payments, charge, &write.claimed(), response_for)
            .await?;
    tracing::Span::current().record("charge_id", tracing::field::display(charge.id));
    write
        .finish(&state.idempotency, response_for(&charge))
        .await
}

/// Placeholder until the PSP's token replaces it; never stored.
const PENDING_TOKEN: &str = "pm_pending_card";

/// A card charge request, split: the charge, the card, and the request with the card replaced
/// by its last four digits (what the idempotency record fingerprints).
struct CardChargeRequest {
    charge: NewCharge,
    card: CardDetails,
    redacted_body: Vec<u8>,
}

/// Reads a card charge request. Parse errors from serde may quote the offending value, so none
/// of them is reported.
fn parse_card_charge(
    body: &[u8],
    principal: &Principal,
    today: chrono::NaiveDate,
) -> Result<CardChargeRequest, ApiError> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::MalformedRequest("the body is not valid JSON".into()))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| ApiError::MalformedRequest("the body must be a JSON object".into()))?;
    let card = object
        .remove("card")
        .ok_or_else(|| ApiError::validation("card", "is required"))?;
    if object.contains_key("payment_method") {
        return Err(ApiError::validation(
            "payment_method",
            "send either card details here or a payment method token to /charges",
        ));
    }
    let card = read_card(&card, today)?;
    object.insert("payment_method".into(), Value::String(PENDING_TOKEN.into()));
    let request: CreateChargeRequest = platform::http::parse_json(value.to_string().as_bytes())?;
    let charge = NewCharge::parse(request.into(), &payer(principal))?;
    if let Some(object) = value.as_object_mut() {
        object.remove("payment_method");
        object.insert(
            "card".into(),
            serde_json::json!({ "last4": card.last4(), "exp_month": card.exp_month, "exp_year": card.exp_year }),
        );
    }
    Ok(CardChargeRequest {
        charge,
        card,
        redacted_body: value.to_string().into_bytes(),
    })
}

/// Charge a card whose details a merchant's server sends (`card: {number, exp_month, exp_year,
/// cvc}`). For partners only. The card goes to the PSP's vault and is forgotten: only the PSP's
/// token and the brand and last four digits are kept, and it never appears in logs.
#[utoipa::path(
    post, path = "/api/v1/payments/charges/card", tag = "charges", security(("bearer" = [])),
    request_body(content = String, content_type = "application/json",
        description = "The fields of a charge without `payment_method`, plus `card: {number, exp_month, exp_year, cvc}`"),
    params(("Idempotency-Key" = String, Header, description = "Unique per intended charge; retries reuse it")),
    responses(
        (status = 429, description = "Too many requests from this caller this minute; retry after `Retry-After` seconds", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 201, description = "The charge succeeded or was declined (see `status`)", body = ChargeView),
        (status = 202, description = "The PSP's answer is pending; poll the charge", body = ChargeView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or the PSP refused the card", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The PSP's vault could not be reached; retry with the same key", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_card_charge", principal = %principal.subject, charge_id = tracing::field::Empty))]
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
    if principal.kind != PrincipalKind::Partner {
        return Err(ApiError::Forbidden(
            "card details are accepted from merchant servers only; apps use a payment method token"
                .into(),
        ));
    }
    state
        .limits
        .admit("charges", principal.rate_caller(), &principal.scope_key())
        .await?;
    let CardChargeRequest {
        charge,
        card,
        redacted_body,
    } = parse_card_charge(&body, &principal, Utc::now().date_naive())?;
    let write = match IdempotentWrite::begin(
        &state.idempotency,
        &req,
        principal.scope_key(),
        &redacted_body,
    )
    .await?
    {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let charge = crate::core::charges::create_with_card(
        &state.payments,
        charge,
        card,
        &write.claimed(),
        response_for,
    )
    .await?;
    tracing::Span::current().record("charge_id", tracing::field::display(charge.id));
    write
        .finish(&state.idempotency, response_for(&charge))
        .await
}

/// A charge, for its member, the partner that created it, or staff.
#[utoipa::path(
    get, path = "/api/v1/payments/charges/{charge_id}", tag = "charges", security(("bearer" = [])),
    params(("charge_id" = Uuid, Path)),
    responses((status = 200, body = ChargeView), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(flow = "get_charge", charge_id = %path))]
pub async fn get_charge(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let charge = crate::core::charges::get(&state.payments, path.into_inner(), |charge| {
        visible(&principal, charge)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ChargeView::from(&charge)))
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
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

impl ChargeQuery {
    fn into_filter(self, visibility: Visibility) -> Result<ChargeFilter, ApiError> {
        let status = match self.status.as_deref() {
            Some(raw) => Some(ChargeStatus::parse(raw).ok_or_else(|| {
                ApiError::validation(
                    "status",
                    "must be created, processing, requires_action, succeeded, failed or canceled",
                )
            })?),
            None => None,
        };
        let kind = match self.kind.as_deref() {
            Some(raw) => Some(
                ChargeKind::parse(raw)
                    .ok_or_else(|| ApiError::validation("kind", "must be purchase or load"))?,
            ),
            None => None,
        };
        Ok(ChargeFilter {
            visibility,
            member_id: self.member_id,
            status,
            kind,
            created_from: self.from,
            created_to: self.to,
        })
    }
}

/// Which charges `principal` may list: staff all, a partner those it created, a member theirs.
fn list_visibility(principal: &Principal) -> Result<Visibility, ApiError> {
    if principal.has_role(STAFF) {
        Ok(Visibility::All)
    } else if principal.has_scope(auth::scopes::PAYMENTS_READ)
        || principal.has_scope(auth::scopes::PAYMENTS_WRITE)
    {
        Ok(Visibility::CreatedBy(principal.scope_key()))
    } else if principal.is_member(principal.subject) {
        Ok(Visibility::Member(principal.subject))
    } else {
        Err(ApiError::Forbidden(
            "this account cannot list charges".into(),
        ))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChargePage {
    pub items: Vec<ChargeView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Charges, newest first: a member sees their own, a partner those it created, staff all.
#[utoipa::path(
    get, path = "/api/v1/payments/charges", tag = "charges", security(("bearer" = [])),
    params(ChargeQuery),
    responses(
        (status = 200, body = ChargePage),
        (status = 422, description = "An unknown status or kind, a bad limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_charges", principal = %principal.subject))]
pub async fn list_charges(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ChargeQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let visibility = list_visibility(&principal)?;
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 20, 100)?;
    let filter = query.into_filter(visibility)?;
    let (found, next_cursor) = crate::core::charges::list(&state.payments, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(ChargePage {
        items: found.iter().map(ChargeView::from).collect(),
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn a_card_request_is_redacted_for_the_idempotency_record() {
        let body = json!({
            "amount": 100, "currency": "AUD", "member_id": Uuid::new_v4(),
            "card": {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
        });
        let partner = Principal::partner(&[auth::scopes::PAYMENTS_WRITE]);
        let parsed = parse_card_charge(body.to_string().as_bytes(), &partner, today()).unwrap();
        let redacted = String::from_utf8(parsed.redacted_body).unwrap();
        assert!(!redacted.contains("42424242"), "{redacted}");
        assert!(!redacted.contains("123\""), "{redacted}");
        assert!(redacted.contains("\"last4\":\"4242\""));
        assert!(!format!("{:?}", parsed.card).contains("42424242"));
    }
}
