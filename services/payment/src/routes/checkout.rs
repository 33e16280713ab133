use super::charges::ChargeView;
use super::{payer, AppState};
use crate::domain::{Charge, ChargeKind, CheckoutInput, CheckoutSession, NewCheckout};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::idempotency::IdempotentWrite;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCheckoutSessionRequest {
    /// Minor units of `currency`.
    #[schema(minimum = 1, maximum = 99_999_999)]
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    #[serde(default)]
    pub kind: ChargeKind,
    /// Required when a partner opens the page for a member; members pay for themselves.
    pub member_id: Option<Uuid>,
    /// Shown to the customer on the payment page.
    pub description: Option<String>,
    /// Where the customer lands after paying (absolute http(s) URL). `{CHECKOUT_SESSION_ID}` is
    /// replaced with the PSP's session id. Landing there proves nothing: the charge's status
    /// (set by the PSP's webhook) is what counts.
    pub success_url: String,
    /// Where the customer lands on giving up.
    pub cancel_url: Option<String>,
}

impl From<CreateCheckoutSessionRequest> for CheckoutInput {
    fn from(r: CreateCheckoutSessionRequest) -> Self {
        CheckoutInput {
            amount: r.amount,
            currency: r.currency,
            kind: r.kind,
            member_id: r.member_id,
            description: r.description,
            success_url: r.success_url,
            cancel_url: r.cancel_url,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckoutSessionView {
    pub object: &'static str,
    /// The PSP's id of the session.
    pub id: String,
    /// Send the customer here; the page is the PSP's, so card details never reach the merchant.
    pub url: String,
    pub psp: String,
    pub expires_at: DateTime<Utc>,
    pub success_url: String,
    pub cancel_url: Option<String>,
    /// The charge the page pays: `requires_action` until the PSP's webhook settles it.
    pub charge: ChargeView,
}

fn response_for(charge: &Charge, session: &CheckoutSession) -> (u16, serde_json::Value) {
    let view = CheckoutSessionView {
        object: "checkout_session",
        id: session.psp_session_id.clone(),
        url: session.url.clone(),
        psp: session.psp.clone(),
        expires_at: session.expires_at,
        success_url: session.success_url.clone(),
        cancel_url: session.cancel_url.clone(),
        charge: ChargeView::from(charge),
    };
    (201, serde_json::to_value(&view).unwrap_or_default())
}

/// Open a hosted checkout: a payment page at the PSP for one charge. Redirect the customer to
/// `url`; the charge succeeds (or is canceled when the page expires) by the PSP's webhook, and
/// publishes its event then. Retry with the same `Idempotency-Key` to get the same page back.
#[utoipa::path(
    post, path = "/api/v1/payments/checkout-sessions", tag = "charges", security(("bearer" = [])),
    request_body = CreateCheckoutSessionRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per intended charge; retries reuse it")),
    responses(
        (status = 429, description = "Too many requests from this caller this minute; retry after `Retry-After` seconds", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 201, description = "The page is open; the charge waits in `requires_action`", body = CheckoutSessionView),
        (status = 400, description = "Malformed JSON", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A request with this key is in flight", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, the key was used with another body, or no PSP offers hosted checkout for the currency", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "No PSP answered; retry with the same key", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_checkout_session", principal = %principal.subject, charge_id = tracing::field::Empty))]
pub async fn create_checkout_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .admit(
            "checkout-sessions",
            principal.rate_caller(),
            &principal.scope_key(),
        )
        .await?;
    let request: CreateCheckoutSessionRequest = platform::http::parse_json_body(&req, &body)?;
    let checkout = NewCheckout::parse(request.into(), &payer(&principal))?;
    let write = match IdempotentWrite::begin(&state.idempotency, &req, principal.scope_key(), &body)
        .await?
    {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let (charge, session) =
        crate::core::checkout::create(&state.payments, checkout, &write.claimed(), response_for)
            .await?;
    tracing::Span::current().record("charge_id", tracing::field::display(charge.id));
    write
        .finish(&state.idempotency, response_for(&charge, &session))
        .await
}
