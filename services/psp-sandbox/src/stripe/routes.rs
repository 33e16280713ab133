//! HTTP handlers for the Stripe API v1 subset.

use actix_web::http::{header, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};

use super::auth::{Authenticated, PublishableOrSecret};
use super::error::StripeError;
use super::idempotency::{self, Begin};
use super::params::FormParams;
use super::payments::{Context, Execution, Ledger};
use super::search::Query;
use super::types::{PaymentIntentStatus, SearchResult};
use super::StripeState;

const SEARCH_URL: &str = "/v1/payment_intents/search";
const SEARCH_DEFAULT_LIMIT: i64 = 10;
const SEARCH_MAX_LIMIT: i64 = 100;

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<StripeState>) {
    cfg.app_data(state)
        .route("/v1/payment_intents", web::post().to(create_payment_intent))
        // Before `{id}`, which would otherwise take "search" for an id.
        .route(SEARCH_URL, web::get().to(search_payment_intents))
        .route(
            "/v1/payment_intents/{id}",
            web::get().to(retrieve_payment_intent),
        )
        .route(
            "/v1/payment_intents/{id}/confirm",
            web::post().to(confirm_payment_intent),
        )
        .route(
            "/v1/payment_intents/{id}/capture",
            web::post().to(capture_payment_intent),
        )
        .route(
            "/v1/payment_intents/{id}/cancel",
            web::post().to(cancel_payment_intent),
        )
        .route("/v1/refunds", web::post().to(create_refund))
        .route(
            "/v1/webhook_endpoints",
            web::post().to(create_webhook_endpoint),
        )
        .route("/v1/payment_methods", web::post().to(create_payment_method))
        .route("/v1/refunds/{id}", web::get().to(retrieve_refund))
        // The 3-D Secure challenge is a page for the customer's browser: no API key.
        .route("/v1/three_ds/{id}", web::get().to(three_ds_page))
        .route(
            "/v1/three_ds/{id}/complete",
            web::post().to(three_ds_complete),
        )
        .configure(super::checkout_routes::configure)
        .configure(super::elements::configure);
}

/// Runs a mutating operation under Stripe's idempotency rules, sends its events and answers.
pub(super) async fn execute<F>(
    req: &HttpRequest,
    state: &StripeState,
    body: &[u8],
    operation: F,
) -> HttpResponse
where
    F: FnOnce(&mut Ledger, &FormParams, &Context<'_>) -> Result<Execution, StripeError>,
{
    let params = match FormParams::parse(body) {
        Ok(params) => params,
        Err(error) => return error.into_http(),
    };
    let key = match idempotency::key_from(req) {
        Ok(key) => key,
        Err(error) => return error.into_http(),
    };
    let endpoint = format!("{} {}", req.method(), req.path());
    let ticket = match idempotency::begin(&state.idempotency, key, endpoint, params.fingerprint()) {
        Begin::Proceed(ticket) => ticket,
        Begin::Respond(response) => return response,
    };
    let result = {
        let ctx = Context {
            base_url: &state.base_url,
            idempotency_key: ticket.key(),
            now: chrono::Utc::now().timestamp(),
        };
        operation(&mut state.ledger(), &params, &ctx)
    };
    match result {
        // Dropping the unsettled ticket frees the key: nothing ran, so a retry may.
        Err(error) => error.into_http(),
        Ok(execution) => {
            // Stored before any delay, so the outcome is already known to retries and to GETs
            // even if the client gives up waiting for this answer.
            ticket.store(&execution.response);
            state.notify(execution.notifications);
            if let Some(delay) = execution.delay {
                tokio::time::sleep(delay).await;
            }
            execution.response.into_response(false)
        }
    }
}

async fn create_payment_intent(
    _: Authenticated,
    req: HttpRequest,
    body: Bytes,
    state: web::Data<StripeState>,
) -> HttpResponse {
    let body = resolve_card_token(&state, body);
    execute(&req, &state, &body, |ledger, params, ctx| {
        ledger.create_payment_intent(params, ctx)
    })
    .await
}

async fn confirm_payment_intent(
    _: Authenticated,
    req: HttpRequest,
    id: web::Path<String>,
    body: Bytes,
    state: web::Data<StripeState>,
) -> HttpResponse {
    execute(&req, &state, &body, |ledger, params, ctx| {
        ledger.confirm_payment_intent(&id, params, ctx)
    })
    .await
}

async fn capture_payment_intent(
    _: Authenticated,
    req: HttpRequest,
    id: web::Path<String>,
    body: Bytes,
    state: web::Data<StripeState>,
) -> HttpResponse {
    execute(&req, &state, &body, |ledger, params, ctx| {
        ledger.capture_payment_intent(&id, params, ctx)
    })
    .await
}

async fn cancel_payment_intent(
    _: Authenticated,
    req: HttpRequest,
    id: web::Path<String>,
    body: Bytes,
    state: web::Data<StripeState>,
) -> HttpResponse {
    execute(&req, &state, &body, |ledger, params, ctx| {
        ledger.cancel_payment_intent(&id, params, ctx)
    })
    .await
}

async fn create_refund(
    _: Authenticated,
    req: HttpRequest,
    body: Bytes,
    state: web::Data<StripeState>,
) -> HttpResponse {
    execute(&req, &state, &body, |ledger, params, ctx| {
        ledger.create_refund(params, ctx)
    })
    .await
}

/// Query-string parameters of a GET, refusing any not in `allowed`.
fn query_params(req: &HttpRequest, allowed: &[&str]) -> Result<FormParams, StripeError> {
    let params = FormParams::parse(req.query_string().as_bytes())?;
    params.allow_only(allowed, false)?;
    Ok(params)
}

async fn retrieve_payment_intent(
    _: Authenticated,
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<StripeState>,
) -> Result<HttpResponse, StripeError> {
    query_params(&req, &[])?;
    let ledger = state.ledger();
    let intent = ledger.payment_intent(&id).ok_or_else(|| {
        StripeError::resource_missing(StatusCode::NOT_FOUND, "payment_intent", &id, "intent")
    })?;
    Ok(HttpResponse::Ok().json(intent))
}

async fn search_payment_intents(
    _: Authenticated,
    req: HttpRequest,
    state: web::Data<StripeState>,
) -> Result<HttpResponse, StripeError> {
    let params = query_params(&req, &["query", "limit"])?;
    let query = Query::parse(params.required_str("query")?)
        .map_err(|message| StripeError::invalid_param("query", message))?;
    let limit = params.i64("limit")?.unwrap_or(SEARCH_DEFAULT_LIMIT);
    if !(1..=SEARCH_MAX_LIMIT).contains(&limit) {
        return Err(StripeError::invalid_param(
            "limit",
            format!("limit must be between 1 and {SEARCH_MAX_LIMIT}."),
        ));
    }
    // In 1..=100, so the conversion is lossless.
    let (data, has_more) = state.ledger().search(&query, limit as usize);
    Ok(HttpResponse::Ok().json(SearchResult {
        object: "search_result".to_owned(),
        data,
        has_more,
        // Paging is not modelled: raise `limit` instead.
        next_page: None,
        url: SEARCH_URL.to_owned(),
    }))
}

async fn retrieve_refund(
    _: Authenticated,
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<StripeState>,
) -> Result<HttpResponse, StripeError> {
    query_params(&req, &[])?;
    let ledger = state.ledger();
    let refund = ledger
        .refund(&id)
        .ok_or_else(|| StripeError::resource_missing(StatusCode::NOT_FOUND, "refund", &id, "id"))?;
    Ok(HttpResponse::Ok().json(refund))
}

async fn three_ds_page(
    id: web::Path<String>,
    state: web::Data<StripeState>,
) -> Result<HttpResponse, StripeError> {
    let ledger = state.ledger();
    let intent = ledger.payment_intent(&id).ok_or_else(|| {
        StripeError::resource_missing(StatusCode::NOT_FOUND, "payment_intent", &id, "intent")
    })?;
    if intent.status != PaymentIntentStatus::RequiresAction {
        return Err(StripeError::unexpected_state(format!(
            "This PaymentIntent has no authentication in progress: its status is {}.",
            intent.status.as_str()
        )));
    }
    // Every interpolated value is sandbox-generated (ids, digits, validated currency letters),
    // so nothing here needs HTML escaping.
    let page = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>3D Secure test authentication</title></head>
<body>
<h1>3D Secure test authentication</h1>
<p>Payment {id}: {amount} {currency} (minor units).</p>
<form method="post" action="/v1/three_ds/{id}/complete">
<input type="hidden" name="result" value="approve"><button type="submit">Complete authentication</button>
</form>
<form method="post" action="/v1/three_ds/{id}/complete">
<input type="hidden" name="result" value="decline"><button type="submit">Fail authentication</button>
</form>
</body>
</html>
"#,
        id = intent.id,
        amount = intent.amount,
        currency = intent.currency.to_ascii_uppercase(),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page))
}

/// Ends the challenge. A browser is sent back to the caller's `return_url` the way Stripe does
/// it; without one, the intent is answered as JSON.
async fn three_ds_complete(
    id: web::Path<String>,
    body: Bytes,
    state: web::Data<StripeState>,
) -> Result<HttpResponse, StripeError> {
    let params = FormParams::parse(&body)?;
    params.allow_only(&["result"], false)?;
    let approve = match params.required_str("result")? {
        "approve" => true,
        "decline" => false,
        other => {
            return Err(StripeError::invalid_param(
                "result",
                format!("Invalid result: {other}. Use approve or decline."),
            ))
        }
    };
    let ctx = Context {
        base_url: &state.base_url,
        idempotency_key: None,
        now: chrono::Utc::now().timestamp(),
    };
    let (intent, return_url, notifications) =
        state.ledger().complete_three_ds(&id, approve, &ctx)?;
    state.notify(notifications);
    Ok(match return_url {
        Some(url) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            let redirect_status = if approve { "succeeded" } else { "failed" };
            HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!(
                        "{url}{separator}payment_intent={}&redirect_status={redirect_status}",
                        intent.id
                    ),
                ))
                .finish()
        }
        None => HttpResponse::Ok().json(intent),
    })
}

/// Registers the endpoint events are sent to (Stripe's `webhook_endpoints`, one at a time here).
async fn create_webhook_endpoint(
    _: Authenticated,
    state: web::Data<StripeState>,
    body: web::Bytes,
) -> Result<HttpResponse, StripeError> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| StripeError::invalid_param("url", "The body must be form-encoded."))?;
    let url = form
        .into_iter()
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .ok_or_else(|| StripeError::invalid_param("url", "An http(s) url is required."))?;
    state.set_webhook_endpoint(url.clone()).map_err(|e| {
        StripeError::api_error(
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string(),
        )
    })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "object": "webhook_endpoint",
        "url": url,
        "status": "enabled",
    })))
}

/// A payment method token from `POST /v1/payment_methods` behaves as the test payment method
/// its card number stands for.
fn resolve_card_token(state: &StripeState, body: Bytes) -> Bytes {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return body;
    };
    let tokens = state.card_tokens.lock().unwrap_or_else(|p| p.into_inner());
    if !pairs
        .iter()
        .any(|(k, v)| k == "payment_method" && tokens.contains_key(v))
    {
        return body;
    }
    let resolved: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| match tokens.get(&v) {
            Some(alias) if k == "payment_method" => (k, (*alias).to_owned()),
            _ => (k, v),
        })
        .collect();
    serde_urlencoded::to_string(resolved)
        .map(Bytes::from)
        .unwrap_or(body)
}

/// `POST /v1/payment_methods` with `type=card` and the card's details: a token for a test card.
async fn create_payment_method(
    _: PublishableOrSecret,
    state: web::Data<StripeState>,
    body: web::Bytes,
) -> Result<HttpResponse, StripeError> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| StripeError::invalid_param("type", "The body must be form-encoded."))?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("type") != Some("card") {
        return Err(StripeError::invalid_param(
            "type",
            "Only type=card is supported.",
        ));
    }
    let number = field("card[number]").unwrap_or_default();
    let Some((_, alias, brand)) = super::cards::TEST_CARD_NUMBERS
        .iter()
        .find(|(n, _, _)| *n == number)
    else {
        // Like Stripe's test mode: real-looking numbers are refused, and never echoed.
        return Err(StripeError::invalid_param(
            "card[number]",
            "Your card number is incorrect. Use a test card number.",
        ));
    };
    let exp_month = field("card[exp_month]").and_then(|m| m.parse::<u32>().ok());
    let exp_year = field("card[exp_year]").and_then(|y| y.parse::<i32>().ok());
    let (Some(exp_month), Some(exp_year)) = (exp_month, exp_year) else {
        return Err(StripeError::invalid_param(
            "card[exp_month]",
            "The expiry date is required.",
        ));
    };
    let id = format!("pm_1{}", uuid::Uuid::new_v4().simple());
    state
        .card_tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), alias);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "id": id,
        "object": "payment_method",
        "type": "card",
        "card": {
            "brand": brand,
            "last4": &number[number.len() - 4..],
            "exp_month": exp_month,
            "exp_year": exp_year,
        },
        "livemode": false,
    })))
}
