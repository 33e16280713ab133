//! Checkout Sessions: a payment page hosted by the PSP. The merchant creates a session
//! (`POST /v1/checkout/sessions`) and sends the customer to its `url`; the customer pays there
//! (3-D Secure included) and is sent back to `success_url`, while the merchant learns the result
//! from the `checkout.session.completed` event. An unpaid session ends with
//! `checkout.session.expired`, at `expires_at` or on `POST /v1/checkout/sessions/{id}/expire`.
//!
//! Each session pays through one PaymentIntent, made on the first attempt to pay: a declined
//! card leaves the session open for another card, as on Stripe's page.

use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::StripeError;
use super::ids;
use super::params::FormParams;
use super::payments::{Context, Execution, Ledger};
use super::types::{Metadata, PaymentIntent, PaymentIntentStatus};
use super::webhooks::{Delivery, Notification};

/// Stripe's defaults and limits: sessions last 24 hours unless `expires_at` says otherwise,
/// which must be 30 minutes to 24 hours away.
pub const DEFAULT_LIFETIME_SECS: i64 = 24 * 60 * 60;
pub const MIN_LIFETIME_SECS: i64 = 30 * 60;

const CREATE_PARAMS: &[&str] = &[
    "mode",
    "success_url",
    "cancel_url",
    "client_reference_id",
    "expires_at",
    "line_items[0][quantity]",
    "line_items[0][price_data][currency]",
    "line_items[0][price_data][unit_amount]",
    "line_items[0][price_data][product_data][name]",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Open,
    Complete,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub object: String,
    pub mode: String,
    pub status: SessionStatus,
    /// `unpaid` or `paid`.
    pub payment_status: String,
    pub amount_total: i64,
    pub currency: String,
    /// What the page shows the customer: the line item's name.
    pub description: String,
    pub payment_intent: Option<String>,
    /// The hosted payment page.
    pub url: Option<String>,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub client_reference_id: Option<String>,
    pub metadata: Metadata,
    pub created: i64,
    pub expires_at: i64,
    pub livemode: bool,
}

/// `POST /v1/checkout/sessions` (`mode=payment` with one `price_data` line item).
pub fn create_session(
    ledger: &mut Ledger,
    params: &FormParams,
    ctx: &Context<'_>,
) -> Result<Execution, StripeError> {
    params.allow_only(CREATE_PARAMS, true)?;
    match params.required_str("mode")? {
        "payment" => {}
        other => {
            return Err(StripeError::invalid_param(
                "mode",
                format!("Invalid mode: {other}. The sandbox supports mode=payment."),
            ))
        }
    }
    let success_url = absolute_url(params, "success_url")?
        .ok_or_else(|| StripeError::missing_param("success_url"))?;
    let cancel_url = absolute_url(params, "cancel_url")?;
    let currency = params.currency("line_items[0][price_data][currency]")?;
    let unit_amount = params
        .amount("line_items[0][price_data][unit_amount]")?
        .ok_or_else(|| StripeError::missing_param("line_items[0][price_data][unit_amount]"))?;
    let quantity = params.i64("line_items[0][quantity]")?.unwrap_or(1);
    if !(1..=999).contains(&quantity) {
        return Err(StripeError::invalid_param(
            "line_items[0][quantity]",
            "Quantity must be between 1 and 999.",
        ));
    }
    let amount_total = unit_amount
        .checked_mul(quantity)
        .filter(|total| *total <= super::params::MAX_AMOUNT)
        .ok_or_else(|| {
            StripeError::invalid_param("line_items[0][quantity]", "The total amount is too large.")
        })?;
    let description = params
        .required_str("line_items[0][price_data][product_data][name]")?
        .to_owned();
    let expires_at = match params.i64("expires_at")? {
        None => ctx.now + DEFAULT_LIFETIME_SECS,
        Some(at)
            if (ctx.now + MIN_LIFETIME_SECS..=ctx.now + DEFAULT_LIFETIME_SECS).contains(&at) =>
        {
            at
        }
        Some(_) => {
            return Err(StripeError::invalid_param(
                "expires_at",
                "The Checkout Session must expire between 30 minutes and 24 hours after creation.",
            ))
        }
    };
    let id = ids::new("cs");
    let session = CheckoutSession {
        url: Some(format!("{}/checkout/{id}", ctx.base_url)),
        id,
        object: "checkout.session".to_owned(),
        mode: "payment".to_owned(),
        status: SessionStatus::Open,
        payment_status: "unpaid".to_owned(),
        amount_total,
        currency,
        description,
        payment_intent: None,
        success_url,
        cancel_url,
        client_reference_id: params.str("client_reference_id")?.map(str::to_owned),
        metadata: params.metadata()?,
        created: ctx.now,
        expires_at,
        livemode: false,
    };
    let execution = Execution::json(StatusCode::OK, &session)?;
    tracing::info!(checkout_session = %session.id, amount_total, "checkout session created");
    ledger.checkout_sessions.insert(session.id.clone(), session);
    Ok(execution)
}

/// What an attempt to pay on the hosted page led to.
pub enum PayOutcome {
    /// Paid: send the customer to this URL (the session's `success_url`).
    Paid(String),
    /// The bank wants the customer at this URL (3-D Secure) first.
    Authenticate(String),
    /// Declined or refused: show the page again with this message.
    Retry(String),
}

/// One attempt to pay `session_id` with the test payment method `payment_method`. Also returns
/// the events to send and how long to hold the answer back (the timeout card).
pub fn pay(
    ledger: &mut Ledger,
    session_id: &str,
    payment_method: &str,
    ctx: &Context<'_>,
) -> Result<(PayOutcome, Execution), StripeError> {
    let session = open_session(ledger, session_id, ctx.now)?.clone();
    let intent_id = match &session.payment_intent {
        Some(id) => id.clone(),
        None => {
            let created = ledger.create_payment_intent(
                &form(&[
                    ("amount", session.amount_total.to_string()),
                    ("currency", session.currency.clone()),
                    ("description", session.description.clone()),
                ])?,
                ctx,
            )?;
            let intent: PaymentIntent = serde_json::from_slice(&created.response.body)
                .map_err(|_| internal("a new PaymentIntent could not be read"))?;
            set_payment_intent(ledger, session_id, &intent.id);
            intent.id
        }
    };
    let return_url = format!("{}/checkout/{session_id}/return", ctx.base_url);
    let mut execution = ledger.confirm_payment_intent(
        &intent_id,
        &form(&[
            ("payment_method", payment_method.to_owned()),
            ("return_url", return_url),
        ])?,
        ctx,
    )?;
    let outcome = settle_after_attempt(ledger, session_id, &mut execution.notifications)?;
    Ok((outcome, execution))
}

/// Looks at the session's PaymentIntent after an attempt (or after 3-D Secure) and completes
/// the session if it is paid, adding `checkout.session.completed` to `notifications`.
pub fn settle_after_attempt(
    ledger: &mut Ledger,
    session_id: &str,
    notifications: &mut Vec<Notification>,
) -> Result<PayOutcome, StripeError> {
    let session = session(ledger, session_id)?;
    if session.status == SessionStatus::Complete {
        return Ok(PayOutcome::Paid(success_redirect(session)));
    }
    let intent = session
        .payment_intent
        .as_deref()
        .and_then(|id| ledger.payment_intent(id))
        .ok_or_else(|| internal("the session has no payment attempt"))?
        .clone();
    Ok(match intent.status {
        PaymentIntentStatus::Succeeded | PaymentIntentStatus::RequiresCapture => {
            let session = ledger
                .checkout_sessions
                .get_mut(session_id)
                .ok_or_else(|| missing(session_id))?;
            session.status = SessionStatus::Complete;
            session.payment_status = "paid".to_owned();
            session.url = None;
            notifications.push(Notification::new(
                "checkout.session.completed",
                &*session,
                Delivery::default(),
            ));
            tracing::info!(checkout_session = %session.id, payment_intent = %intent.id, "checkout session completed");
            PayOutcome::Paid(success_redirect(session))
        }
        PaymentIntentStatus::RequiresAction => match intent.next_action {
            Some(action) => PayOutcome::Authenticate(action.redirect_to_url.url),
            None => PayOutcome::Retry("The payment needs authentication.".to_owned()),
        },
        _ => PayOutcome::Retry(
            intent
                .last_payment_error
                .map(|e| e.message)
                .unwrap_or_else(|| "The payment did not go through.".to_owned()),
        ),
    })
}

/// Ends an open session without payment: `checkout.session.expired`.
pub fn expire(
    ledger: &mut Ledger,
    session_id: &str,
) -> Result<(CheckoutSession, Notification), StripeError> {
    let session = ledger
        .checkout_sessions
        .get_mut(session_id)
        .ok_or_else(|| missing(session_id))?;
    if session.status != SessionStatus::Open {
        return Err(StripeError::unexpected_state(format!(
            "Only Checkout Sessions with a status of open can be expired; this one is {}.",
            status_name(session.status)
        )));
    }
    session.status = SessionStatus::Expired;
    session.url = None;
    let session = session.clone();
    let notification = Notification::new("checkout.session.expired", &session, Delivery::default());
    tracing::info!(checkout_session = %session.id, "checkout session expired");
    Ok((session, notification))
}

/// Open sessions whose `expires_at` has passed.
pub fn due_for_expiry(ledger: &Ledger, now: i64) -> Vec<String> {
    ledger
        .checkout_sessions
        .values()
        .filter(|s| s.status == SessionStatus::Open && s.expires_at <= now)
        .map(|s| s.id.clone())
        .collect()
}

pub fn session<'a>(ledger: &'a Ledger, id: &str) -> Result<&'a CheckoutSession, StripeError> {
    ledger.checkout_sessions.get(id).ok_or_else(|| missing(id))
}

/// The session if the customer may still pay it.
pub fn open_session<'a>(
    ledger: &'a Ledger,
    id: &str,
    now: i64,
) -> Result<&'a CheckoutSession, StripeError> {
    let session = session(ledger, id)?;
    if session.status != SessionStatus::Open || session.expires_at <= now {
        return Err(StripeError::unexpected_state(format!(
            "This Checkout Session is no longer open: its status is {}.",
            status_name(session.status)
        )));
    }
    Ok(session)
}

fn set_payment_intent(ledger: &mut Ledger, session_id: &str, intent_id: &str) {
    if let Some(session) = ledger.checkout_sessions.get_mut(session_id) {
        session.payment_intent = Some(intent_id.to_owned());
    }
}

/// `success_url` with Stripe's `{CHECKOUT_SESSION_ID}` template filled in.
fn success_redirect(session: &CheckoutSession) -> String {
    session
        .success_url
        .replace("{CHECKOUT_SESSION_ID}", &session.id)
}

fn status_name(status: SessionStatus) -> &'static str {
    match status {
        SessionStatus::Open => "open",
        SessionStatus::Complete => "complete",
        SessionStatus::Expired => "expired",
    }
}

fn absolute_url(params: &FormParams, name: &str) -> Result<Option<String>, StripeError> {
    let Some(url) = params.str(name)? else {
        return Ok(None);
    };
    let absolute = url.starts_with("http://") || url.starts_with("https://");
    if absolute && url.len() <= 2048 && url.chars().all(|c| c.is_ascii_graphic()) {
        Ok(Some(url.to_owned()))
    } else {
        Err(StripeError::invalid_param(
            name,
            format!("Invalid URL: {name} must be an absolute http(s) URL."),
        ))
    }
}

fn form(pairs: &[(&str, String)]) -> Result<FormParams, StripeError> {
    let encoded = serde_urlencoded::to_string(pairs)
        .map_err(|_| internal("parameters could not be encoded"))?;
    FormParams::parse(encoded.as_bytes())
}

fn missing(id: &str) -> StripeError {
    StripeError::resource_missing(StatusCode::NOT_FOUND, "checkout.session", id, "session")
}

fn internal(what: &str) -> StripeError {
    tracing::error!(what, "checkout failure");
    StripeError::api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An unknown error occurred",
    )
}
