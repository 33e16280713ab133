//! HTTP side of Checkout Sessions: the API for merchants (secret key) and the hosted payment
//! page for customers' browsers (no key: the session id in the URL is the capability).

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};

use super::auth::Authenticated;
use super::cards::TEST_CARD_NUMBERS;
use super::checkout::{self, CheckoutSession, PayOutcome};
use super::error::StripeError;
use super::params::FormParams;
use super::payments::Context;
use super::routes::execute;
use super::StripeState;
use crate::html::escape;

/// How often open sessions are checked against their `expires_at`.
const EXPIRY_SWEEP_EVERY: Duration = Duration::from_secs(1);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/checkout/sessions", web::post().to(create_session))
        .route(
            "/v1/checkout/sessions/{id}",
            web::get().to(retrieve_session),
        )
        .route(
            "/v1/checkout/sessions/{id}/expire",
            web::post().to(expire_session),
        )
        .route("/checkout/{id}", web::get().to(payment_page))
        .route("/checkout/{id}/pay", web::post().to(pay))
        .route(
            "/checkout/{id}/return",
            web::get().to(return_from_authentication),
        );
}

async fn create_session(
    _: Authenticated,
    req: HttpRequest,
    body: Bytes,
    state: web::Data<StripeState>,
) -> HttpResponse {
    start_expiry_sweeper(&state);
    execute(&req, &state, &body, checkout::create_session).await
}

/// One background task per sandbox expires sessions whose time is up, with their event.
fn start_expiry_sweeper(state: &web::Data<StripeState>) {
    if state.expiry_sweeper_started.swap(true, Ordering::SeqCst) {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(EXPIRY_SWEEP_EVERY).await;
            let now = chrono::Utc::now().timestamp();
            let mut notifications = Vec::new();
            {
                let mut ledger = state.ledger();
                for id in checkout::due_for_expiry(&ledger, now) {
                    if let Ok((_, notification)) = checkout::expire(&mut ledger, &id) {
                        notifications.push(notification);
                    }
                }
            }
            state.notify(notifications);
        }
    });
}

async fn retrieve_session(
    _: Authenticated,
    id: web::Path<String>,
    state: web::Data<StripeState>,
) -> Result<HttpResponse, StripeError> {
    let ledger = state.ledger();
    Ok(HttpResponse::Ok().json(checkout::session(&ledger, &id)?))
}

async fn expire_session(
    _: Authenticated,
    id: web::Path<String>,
    state: web::Data<StripeState>,
) -> Result<HttpResponse, StripeError> {
    let (session, notification) = checkout::expire(&mut state.ledger(), &id)?;
    state.notify(vec![notification]);
    Ok(HttpResponse::Ok().json(session))
}

fn context(state: &StripeState) -> Context<'_> {
    Context {
        base_url: &state.base_url,
        idempotency_key: None,
        now: chrono::Utc::now().timestamp(),
    }
}

async fn payment_page(
    id: web::Path<String>,
    state: web::Data<StripeState>,
) -> Result<HttpResponse, StripeError> {
    let ctx = context(&state);
    let ledger = state.ledger();
    let session = checkout::open_session(&ledger, &id, ctx.now)?;
    // The message of the last declined attempt, if any (a failed 3-D Secure comes back here).
    let error = session
        .payment_intent
        .as_deref()
        .and_then(|pi| ledger.payment_intent(pi))
        .and_then(|intent| intent.last_payment_error.as_ref())
        .map(|e| e.message.clone());
    Ok(page(StatusCode::OK, session, error.as_deref()))
}

/// The card form's submission. The card number never leaves the sandbox: it picks the test
/// payment method it stands for.
async fn pay(
    id: web::Path<String>,
    body: Bytes,
    state: web::Data<StripeState>,
) -> Result<HttpResponse, StripeError> {
    let fields = FormParams::parse(&body)?;
    let number: String = fields
        .str("card_number")?
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let card = TEST_CARD_NUMBERS.iter().find(|(n, _, _)| *n == number);
    let expiry_given = fields.str("exp_month")?.is_some() && fields.str("exp_year")?.is_some();
    let ctx = context(&state);
    let (outcome, delay, notifications) = {
        let mut ledger = state.ledger();
        match card {
            Some((_, payment_method, _)) if expiry_given => {
                let (outcome, execution) = checkout::pay(&mut ledger, &id, payment_method, &ctx)?;
                (outcome, execution.delay, execution.notifications)
            }
            Some(_) => {
                checkout::open_session(&ledger, &id, ctx.now)?;
                let retry = PayOutcome::Retry("Enter the card's expiry date.".into());
                (retry, None, Vec::new())
            }
            None => {
                checkout::open_session(&ledger, &id, ctx.now)?;
                let retry = PayOutcome::Retry(
                    "Your card number is incorrect. Use a test card number.".into(),
                );
                (retry, None, Vec::new())
            }
        }
    };
    state.notify(notifications);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    respond(&state, &id, outcome)
}

/// Where the 3-D Secure page sends the customer back to.
async fn return_from_authentication(
    id: web::Path<String>,
    state: web::Data<StripeState>,
) -> Result<HttpResponse, StripeError> {
    let mut notifications = Vec::new();
    let outcome = checkout::settle_after_attempt(&mut state.ledger(), &id, &mut notifications)?;
    state.notify(notifications);
    respond(&state, &id, outcome)
}

fn respond(
    state: &StripeState,
    id: &str,
    outcome: PayOutcome,
) -> Result<HttpResponse, StripeError> {
    Ok(match outcome {
        PayOutcome::Paid(url) | PayOutcome::Authenticate(url) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, url))
            .finish(),
        PayOutcome::Retry(message) => {
            let ledger = state.ledger();
            let session = checkout::open_session(&ledger, id, context(state).now)?;
            page(StatusCode::PAYMENT_REQUIRED, session, Some(&message))
        }
    })
}

/// The hosted payment page. Merchant-supplied text is escaped.
fn page(status: StatusCode, session: &CheckoutSession, error: Option<&str>) -> HttpResponse {
    let error = error
        .map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, escape(m)))
        .unwrap_or_default();
    let cancel = session
        .cancel_url
        .as_deref()
        .map(|url| {
            format!(
                r#"<p><a id="cancel" href="{}">Cancel and return</a></p>"#,
                escape(url)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay {amount}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}}
label{{display:block;margin:.6rem 0}}input{{width:100%;padding:.4rem;font-size:1rem}}
.error{{color:#b00020}}button{{padding:.6rem 1.2rem;font-size:1rem}}</style></head>
<body>
<h1>{description}</h1>
<p id="amount">{amount}</p>
{error}
<form method="post" action="/checkout/{id}/pay" autocomplete="off">
<label>Card number <input name="card_number" inputmode="numeric" required></label>
<label>Expiry month <input name="exp_month" inputmode="numeric" placeholder="MM" required></label>
<label>Expiry year <input name="exp_year" inputmode="numeric" placeholder="YYYY" required></label>
<label>CVC <input name="cvc" inputmode="numeric" required></label>
<button type="submit" id="pay">Pay {amount}</button>
</form>
{cancel}
<p><small>Test mode: use a test card such as 4242 4242 4242 4242.</small></p>
</body>
</html>
"#,
        id = escape(&session.id),
        description = escape(&session.description),
        amount = escape(&display_amount(session.amount_total, &session.currency)),
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// `1234 eur` as `12.34 EUR`; zero-decimal currencies as whole units.
fn display_amount(minor: i64, currency: &str) -> String {
    const ZERO_DECIMAL: &[&str] = &[
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf",
    ];
    let code = currency.to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&currency) {
        format!("{minor} {code}")
    } else {
        format!("{}.{:02} {code}", minor / 100, minor % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_shown_in_major_units() {
        assert_eq!(display_amount(1234, "eur"), "12.34 EUR");
        assert_eq!(display_amount(5, "usd"), "0.05 USD");
        assert_eq!(display_amount(500, "jpy"), "500 JPY");
    }
}
