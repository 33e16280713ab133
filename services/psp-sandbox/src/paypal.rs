//! A PayPal stand-in speaking the REST API's wire format: OAuth 2.0 client credentials, JSON
//! Orders v2 with capture, capture refunds, `PayPal-Request-Id` idempotency, and webhooks that
//! the receiver verifies by asking `POST /v1/notifications/verify-webhook-signature`.
//!
//! Endpoints:
//! - `POST /v1/oauth2/token` (HTTP Basic `client_id:secret`, `grant_type=client_credentials`)
//! - `POST /v2/checkout/orders`, `GET /v2/checkout/orders/{id}`, `POST /v2/checkout/orders/{id}/capture`
//! - `GET /checkoutnow?token={order id}`: the page where the payer approves an order that needs
//!   it (a `payment_source.paypal` wallet checkout, or a card that needs 3-D Secure); approving
//!   sends `CHECKOUT.ORDER.APPROVED` and returns the payer to the order's `return_url`
//! - `POST /v2/payments/captures/{id}/refund`
//! - `POST /v1/notifications/webhooks` (`{"url": ...}`): where events are sent from now on
//! - `POST /v1/notifications/verify-webhook-signature`
//!
//! An order's `payment_source.token.id` is one of the sandbox's test payment methods
//! ([`crate::stripe::cards::TEST_PAYMENT_METHODS`]) and behaves the same way when captured.
//! Webhook signatures: real PayPal signs with a certificate; the sandbox signs
//! `transmission_id|transmission_time|webhook_id|sha256(event)` with HMAC-SHA256 under a key only
//! it knows, so receivers must verify through the API, as they should with PayPal.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::html::escape;
use crate::stripe::cards::{self, Behaviour};

pub struct PaypalState {
    client_id: String,
    client_secret: String,
    webhook_id: String,
    signing_key: String,
    base_url: String,
    inner: Mutex<Account>,
    webhook_url: RwLock<Option<String>>,
    http: reqwest::Client,
}

#[derive(Default)]
struct Account {
    tokens: HashSet<String>,
    orders: HashMap<String, Value>,
    /// capture id -> (order id, captured and refunded thousandths of the currency unit)
    captures: HashMap<String, Capture>,
    /// `PayPal-Request-Id` + endpoint -> the stored answer.
    requests: HashMap<String, (u16, Value)>,
    flaked: HashSet<String>,
    next_id: u64,
}

struct Capture {
    currency: String,
    captured: i64,
    refunded: i64,
    custom_id: String,
    order_id: String,
}

impl Account {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!(
            "{prefix}{:010}{:06X}",
            self.next_id,
            rand::random::<u32>() & 0xFF_FFFF
        )
    }
}

impl PaypalState {
    pub fn new(config: &crate::SandboxConfig, base_url: String) -> Self {
        Self {
            client_id: config.paypal_client_id.clone(),
            client_secret: config.paypal_client_secret.clone(),
            webhook_id: config.paypal_webhook_id.clone(),
            signing_key: format!("sandbox-signing-{}", uuid::Uuid::new_v4()),
            base_url,
            inner: Mutex::new(Account::default()),
            webhook_url: RwLock::new(None),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_max_idle_per_host(0)
                .build()
                .expect("a plain HTTP client builds"),
        }
    }

    fn account(&self) -> std::sync::MutexGuard<'_, Account> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sign(&self, transmission_id: &str, time: &str, event: &str) -> String {
        let digest = hex::encode(Sha256::digest(event.as_bytes()));
        let mut mac = Hmac::<Sha256>::new_from_slice(self.signing_key.as_bytes())
            .expect("HMAC-SHA256 takes keys of any length");
        mac.update(format!("{transmission_id}|{time}|{}|{digest}", self.webhook_id).as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// Sends an event to the registered endpoint in the background, retrying a few times.
    fn notify(&self, event_type: &str, resource: Value) {
        let Some(url) = self
            .webhook_url
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        else {
            return;
        };
        let event = json!({
            "id": format!("WH-{}", uuid::Uuid::new_v4().simple()),
            "event_version": "1.0",
            "create_time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "resource_type": resource_type(event_type),
            "event_type": event_type,
            "resource": resource,
        });
        let body = event.to_string();
        let transmission_id = uuid::Uuid::new_v4().to_string();
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let signature = self.sign(&transmission_id, &time, &body);
        let cert_url = format!("{}/v1/notifications/certs/sandbox", self.base_url);
        let http = self.http.clone();
        tokio::spawn(async move {
            for attempt in 0..3u32 {
                let sent = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("paypal-transmission-id", &transmission_id)
                    .header("paypal-transmission-time", &time)
                    .header("paypal-transmission-sig", &signature)
                    .header("paypal-cert-url", &cert_url)
                    .header("paypal-auth-algo", "SHA256withRSA")
                    .body(body.clone())
                    .send()
                    .await;
                if sent.is_ok_and(|r| r.status().is_success()) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
            tracing::error!(%url, "PayPal webhook abandoned after 3 attempts");
        });
    }
}

/// What an event's `resource` is, as PayPal names it.
fn resource_type(event_type: &str) -> &'static str {
    if event_type.starts_with("CHECKOUT.ORDER.") {
        "checkout-order"
    } else if event_type.contains(".REFUND") {
        "refund"
    } else {
        "capture"
    }
}

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<PaypalState>) {
    cfg.app_data(state)
        .route("/v1/oauth2/token", web::post().to(token))
        .route("/v2/checkout/orders", web::post().to(create_order))
        .route("/v2/checkout/orders/{id}", web::get().to(get_order))
        .route(
            "/v2/checkout/orders/{id}/capture",
            web::post().to(capture_order),
        )
        .route(
            "/v2/payments/captures/{id}/refund",
            web::post().to(refund_capture),
        )
        .route("/checkoutnow", web::get().to(approval_page))
        .route("/checkoutnow/{id}/approve", web::post().to(approve_order))
        .route("/v1/notifications/webhooks", web::post().to(create_webhook))
        .route(
            "/v1/notifications/verify-webhook-signature",
            web::post().to(verify_webhook_signature),
        );
}

fn error(status: u16, name: &str, message: &str, issue: Option<(&str, &str)>) -> (u16, Value) {
    let mut body = json!({
        "name": name,
        "message": message,
        "debug_id": format!("{:x}", rand::random::<u64>()),
    });
    if let Some((issue, description)) = issue {
        body["details"] = json!([{ "issue": issue, "description": description }]);
    }
    (status, body)
}

fn respond((status, body): (u16, Value)) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
    .json(body)
}

/// Whether the request carries an access token this sandbox issued.
fn authorized(req: &HttpRequest, state: &PaypalState) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| state.account().tokens.contains(token))
}

fn invalid_token() -> HttpResponse {
    respond((
        401,
        json!({"error": "invalid_token", "error_description": "Token signature verification failed"}),
    ))
}

/// `POST /v1/oauth2/token`: client credentials for an access token.
async fn token(req: HttpRequest, state: web::Data<PaypalState>, body: web::Bytes) -> HttpResponse {
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", state.client_id, state.client_secret));
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    if basic != Some(expected.as_str()) {
        return respond((
            401,
            json!({"error": "invalid_client", "error_description": "Client Authentication failed"}),
        ));
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !form
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials")
    {
        return respond((
            400,
            json!({"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}),
        ));
    }
    let access_token = format!("A21AA{}", uuid::Uuid::new_v4().simple());
    state.account().tokens.insert(access_token.clone());
    HttpResponse::Ok().json(json!({
        "scope": "https://uri.paypal.com/services/payments/payment",
        "access_token": access_token,
        "token_type": "Bearer",
        "app_id": "APP-SANDBOX",
        "expires_in": 32400,
        "nonce": uuid::Uuid::new_v4().to_string(),
    }))
}

/// Runs `operation` once per `PayPal-Request-Id` (per endpoint): a retry gets the first answer.
fn once(
    req: &HttpRequest,
    state: &PaypalState,
    operation: impl FnOnce(&mut Account) -> (u16, Value),
) -> (u16, Value) {
    let request_id = req
        .headers()
        .get("paypal-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|id| format!("{} {}", req.path(), id));
    let mut account = state.account();
    if let Some(id) = &request_id {
        if let Some(stored) = account.requests.get(id) {
            return stored.clone();
        }
    }
    let answer = operation(&mut account);
    // Server errors are not stored, so a retry runs again (as with PayPal's 5xx).
    if let (Some(id), true) = (request_id, answer.0 < 500) {
        account.requests.insert(id, answer.clone());
    }
    answer
}

fn behaviour_of(order: &Value) -> Option<Behaviour> {
    order["payment_source"]["token"]["id"]
        .as_str()
        .and_then(cards::behaviour)
}

/// Decimal amount strings ("12.34") in thousandths, so amounts compare exactly.
fn thousandths(value: &str) -> Option<i64> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if whole.is_empty() || fraction.len() > 3 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<3}").parse().ok()?;
    whole.checked_mul(1000)?.checked_add(fraction)
}

fn link(state: &PaypalState, rel: &str, path: &str) -> Value {
    json!({ "href": format!("{}{path}", state.base_url), "rel": rel, "method": "GET" })
}

#[derive(Deserialize)]
struct CreateOrder {
    intent: String,
    purchase_units: Vec<Value>,
    #[serde(default)]
    payment_source: Option<Value>,
    #[serde(default)]
    application_context: Option<Value>,
}

/// `POST /v2/checkout/orders`.
async fn create_order(
    req: HttpRequest,
    state: web::Data<PaypalState>,
    body: web::Bytes,
) -> HttpResponse {
    if !authorized(&req, &state) {
        return invalid_token();
    }
    let request: CreateOrder = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return respond(error(
                400,
                "INVALID_REQUEST",
                &e.to_string(),
                Some((
                    "MALFORMED_REQUEST_JSON",
                    "The request JSON is not well formed.",
                )),
            ))
        }
    };
    let behaviour = request
        .payment_source
        .as_ref()
        .and_then(|s| s["token"]["id"].as_str())
        .and_then(cards::behaviour);
    // The payer chooses how to pay on PayPal's page: approval first, then capture.
    let wallet = request
        .payment_source
        .as_ref()
        .is_some_and(|s| s.get("paypal").is_some());
    let answer = once(&req, &state, |account| {
        if request.intent != "CAPTURE" {
            return error(
                422,
                "UNPROCESSABLE_ENTITY",
                "Only CAPTURE is supported here.",
                Some(("INTENT_INVALID", "intent must be CAPTURE")),
            );
        }
        let Some(unit) = request.purchase_units.first() else {
            return error(
                400,
                "INVALID_REQUEST",
                "purchase_units is required.",
                Some(("MISSING_REQUIRED_PARAMETER", "purchase_units")),
            );
        };
        let amount_ok = unit["amount"]["currency_code"]
            .as_str()
            .is_some_and(|c| c.len() == 3)
            && unit["amount"]["value"]
                .as_str()
                .and_then(thousandths)
                .is_some_and(|v| v > 0);
        if !amount_ok {
            return error(
                422,
                "UNPROCESSABLE_ENTITY",
                "The amount is invalid.",
                Some(("INVALID_PARAMETER_VALUE", "purchase_units[0].amount")),
            );
        }
        match behaviour {
            None if wallet => {}
            None => {
                return error(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    "The payment source is not valid.",
                    Some((
                        "INVALID_PAYMENT_SOURCE",
                        "payment_source.token.id is unknown",
                    )),
                )
            }
            Some(Behaviour::ServerError) => {
                return error(
                    500,
                    "INTERNAL_SERVER_ERROR",
                    "An internal server error occurred.",
                    None,
                )
            }
            _ => {}
        }
        let id = account.id("ORD");
        let status = if wallet || behaviour == Some(Behaviour::RequireAction) {
            "PAYER_ACTION_REQUIRED"
        } else {
            "APPROVED"
        };
        let mut links = vec![link(&state, "self", &format!("/v2/checkout/orders/{id}"))];
        if status == "PAYER_ACTION_REQUIRED" {
            links.push(link(
                &state,
                "payer-action",
                &format!("/checkoutnow?token={id}"),
            ));
        }
        let order = json!({
            "id": id,
            "intent": "CAPTURE",
            "status": status,
            "purchase_units": [unit],
            "payment_source": request.payment_source,
            "application_context": request.application_context,
            "create_time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "links": links,
        });
        account.orders.insert(id, order.clone());
        (201, order)
    });
    respond(answer)
}

async fn get_order(
    req: HttpRequest,
    state: web::Data<PaypalState>,
    id: web::Path<String>,
) -> HttpResponse {
    if !authorized(&req, &state) {
        return invalid_token();
    }
    match state.account().orders.get(id.as_str()) {
        Some(order) => HttpResponse::Ok().json(order),
        None => respond(error(
            404,
            "RESOURCE_NOT_FOUND",
            "The specified resource does not exist.",
            Some((
                "INVALID_RESOURCE_ID",
                "Specified resource ID does not exist.",
            )),
        )),
    }
}

/// `POST /v2/checkout/orders/{id}/capture`: takes the money, or says why not.
async fn capture_order(
    req: HttpRequest,
    state: web::Data<PaypalState>,
    id: web::Path<String>,
) -> HttpResponse {
    if !authorized(&req, &state) {
        return invalid_token();
    }
    let request_id = req
        .headers()
        .get("paypal-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut delay = None;
    let mut notification = None;
    let answer = once(&req, &state, |account| {
        let Some(order) = account.orders.get(id.as_str()).cloned() else {
            return error(
                404,
                "RESOURCE_NOT_FOUND",
                "The specified resource does not exist.",
                Some((
                    "INVALID_RESOURCE_ID",
                    "Specified resource ID does not exist.",
                )),
            );
        };
        match order["status"].as_str() {
            Some("APPROVED") => {}
            Some("COMPLETED") => {
                return error(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    "The order was already captured.",
                    Some(("ORDER_ALREADY_CAPTURED", "Order already captured.")),
                )
            }
            _ => {
                return error(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    "The payer has not approved the order.",
                    Some((
                        "ORDER_NOT_APPROVED",
                        "Payer has not yet approved the Order for payment.",
                    )),
                )
            }
        }
        let unit = order["purchase_units"][0].clone();
        match behaviour_of(&order) {
            Some(Behaviour::ServerError) => {
                return error(
                    500,
                    "INTERNAL_SERVER_ERROR",
                    "An internal server error occurred.",
                    None,
                )
            }
            Some(Behaviour::Flaky) if account.flaked.insert(request_id.clone()) => {
                return error(503, "SERVICE_UNAVAILABLE", "Service Unavailable.", None)
            }
            Some(Behaviour::Decline(decline)) => {
                notification = Some((
                    "PAYMENT.CAPTURE.DENIED",
                    json!({
                        "id": account.id("CAP"), "status": "DECLINED", "amount": unit["amount"],
                        "custom_id": unit["custom_id"],
                        "supplementary_data": {"related_ids": {"order_id": order["id"]}},
                        "status_details": {"reason": decline.decline_code},
                    }),
                ));
                return error(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    decline.message,
                    Some(("INSTRUMENT_DECLINED", decline.decline_code)),
                );
            }
            Some(Behaviour::Timeout) => delay = Some(cards::TIMEOUT_DELAY),
            _ => {}
        }
        let capture_id = account.id("CAP");
        let capture = json!({
            "id": capture_id, "status": "COMPLETED", "amount": unit["amount"],
            "custom_id": unit["custom_id"], "final_capture": true,
            "supplementary_data": {"related_ids": {"order_id": order["id"]}},
            "create_time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        account.captures.insert(
            capture_id.clone(),
            Capture {
                currency: unit["amount"]["currency_code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                captured: unit["amount"]["value"]
                    .as_str()
                    .and_then(thousandths)
                    .unwrap_or_default(),
                refunded: 0,
                custom_id: unit["custom_id"].as_str().unwrap_or_default().to_owned(),
                order_id: id.to_string(),
            },
        );
        let mut completed = order.clone();
        completed["status"] = json!("COMPLETED");
        completed["purchase_units"][0]["payments"] = json!({ "captures": [capture.clone()] });
        account.orders.insert(id.to_string(), completed.clone());
        notification = Some(("PAYMENT.CAPTURE.COMPLETED", capture));
        (201, completed)
    });
    if let Some((event_type, resource)) = notification {
        state.notify(event_type, resource);
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    respond(answer)
}

/// The payer's approval page for an order in `PAYER_ACTION_REQUIRED`. No API token: the order
/// id in the link is what the payer was given.
async fn approval_page(
    query: web::Query<HashMap<String, String>>,
    state: web::Data<PaypalState>,
) -> HttpResponse {
    let Some(id) = query.get("token") else {
        return HttpResponse::BadRequest().body("token is required");
    };
    let account = state.account();
    let Some(order) = account.orders.get(id) else {
        return HttpResponse::NotFound().body("This order does not exist.");
    };
    if order["status"] != "PAYER_ACTION_REQUIRED" {
        return HttpResponse::BadRequest().body("This order no longer needs approval.");
    }
    let unit = &order["purchase_units"][0];
    let cancel = experience_url(order, "cancel_url")
        .map(|url| {
            let url = with_query(&url, &[("token", id)]);
            format!(
                r#"<p><a id="cancel" href="{}">Cancel and return to the merchant</a></p>"#,
                escape(&url)
            )
        })
        .unwrap_or_default();
    let page = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>PayPal sandbox: approve payment</title></head>
<body>
<h1>Approve your payment</h1>
<p>{description}</p>
<p id="amount">{value} {currency}</p>
<form method="post" action="/checkoutnow/{id}/approve"><button type="submit" id="approve">Pay now</button></form>
{cancel}
</body>
</html>
"#,
        id = escape(id),
        description = escape(unit["description"].as_str().unwrap_or("Payment")),
        value = escape(unit["amount"]["value"].as_str().unwrap_or_default()),
        currency = escape(unit["amount"]["currency_code"].as_str().unwrap_or_default()),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page)
}

/// The payer approves: the order becomes `APPROVED` (ready for the merchant to capture),
/// `CHECKOUT.ORDER.APPROVED` is sent, and the payer goes back to the order's `return_url`.
async fn approve_order(id: web::Path<String>, state: web::Data<PaypalState>) -> HttpResponse {
    let approved = {
        let mut account = state.account();
        let Some(order) = account.orders.get_mut(id.as_str()) else {
            return HttpResponse::NotFound().body("This order does not exist.");
        };
        if order["status"] != "PAYER_ACTION_REQUIRED" {
            return HttpResponse::BadRequest().body("This order no longer needs approval.");
        }
        order["status"] = json!("APPROVED");
        order["payer"] = json!({"payer_id": "SANDBOXPAYER", "email_address": "payer@example.com"});
        if let Some(links) = order["links"].as_array_mut() {
            links.retain(|l| l["rel"] != "payer-action");
        }
        order.clone()
    };
    state.notify("CHECKOUT.ORDER.APPROVED", approved.clone());
    match experience_url(&approved, "return_url") {
        Some(url) => HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                with_query(&url, &[("token", id.as_str()), ("PayerID", "SANDBOXPAYER")]),
            ))
            .finish(),
        None => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("Payment approved. You can close this page."),
    }
}

/// `return_url` or `cancel_url` of a wallet order's `experience_context` (or of the older
/// `application_context`), if it is an absolute http(s) URL (it ends up in a `Location` header).
fn experience_url(order: &Value, name: &str) -> Option<String> {
    let url = order["payment_source"]["paypal"]["experience_context"][name]
        .as_str()
        .or(order["application_context"][name].as_str())?;
    let absolute = url.starts_with("http://") || url.starts_with("https://");
    (absolute && url.chars().all(|c| c.is_ascii_graphic())).then(|| url.to_owned())
}

fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    format!("{url}{separator}{query}")
}

/// `POST /v2/payments/captures/{id}/refund`: all of the capture, or `amount` of it.
async fn refund_capture(
    req: HttpRequest,
    state: web::Data<PaypalState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    if !authorized(&req, &state) {
        return invalid_token();
    }
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return respond(error(
                    400,
                    "INVALID_REQUEST",
                    &e.to_string(),
                    Some((
                        "MALFORMED_REQUEST_JSON",
                        "The request JSON is not well formed.",
                    )),
                ))
            }
        }
    };
    let mut notification = None;
    let answer = once(&req, &state, |account| {
        let refund_id = account.id("REF");
        let Some(capture) = account.captures.get_mut(id.as_str()) else {
            return error(
                404,
                "RESOURCE_NOT_FOUND",
                "The specified resource does not exist.",
                Some((
                    "INVALID_RESOURCE_ID",
                    "Specified resource ID does not exist.",
                )),
            );
        };
        let left = capture.captured - capture.refunded;
        let amount = match request["amount"]["value"].as_str() {
            Some(value) => match thousandths(value) {
                Some(a) if a > 0 => a,
                _ => {
                    return error(
                        422,
                        "UNPROCESSABLE_ENTITY",
                        "The amount is invalid.",
                        Some(("INVALID_PARAMETER_VALUE", "amount.value")),
                    )
                }
            },
            None => left,
        };
        if request["amount"]["currency_code"]
            .as_str()
            .is_some_and(|c| c != capture.currency)
        {
            return error(
                422,
                "UNPROCESSABLE_ENTITY",
                "The currency does not match the capture.",
                Some(("REFUND_CURRENCY_MISMATCH", "currency_code")),
            );
        }
        if amount > left || left == 0 {
            return error(422, "UNPROCESSABLE_ENTITY", "The refund amount exceeds the capture amount.", Some(("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the capture amount that has not yet been refunded.")));
        }
        capture.refunded += amount;
        let value = format!("{}.{:03}", amount / 1000, amount % 1000);
        let refund = json!({
            "id": refund_id, "status": "COMPLETED",
            "amount": {"currency_code": capture.currency, "value": value.trim_end_matches('0').trim_end_matches('.')},
            "custom_id": capture.custom_id,
            "links": [link(&state, "up", &format!("/v2/payments/captures/{}", id.as_str()))],
        });
        notification = Some((
            "PAYMENT.CAPTURE.REFUNDED",
            json!({
                "id": id.as_str(), "status": if capture.refunded == capture.captured { "REFUNDED" } else { "PARTIALLY_REFUNDED" },
                "custom_id": capture.custom_id,
                "supplementary_data": {"related_ids": {"order_id": capture.order_id}},
            }),
        ));
        (201, refund)
    });
    if let Some((event_type, resource)) = notification {
        state.notify(event_type, resource);
    }
    respond(answer)
}

/// `POST /v1/notifications/webhooks`: events go to `url` from now on.
async fn create_webhook(
    req: HttpRequest,
    state: web::Data<PaypalState>,
    body: web::Bytes,
) -> HttpResponse {
    if !authorized(&req, &state) {
        return invalid_token();
    }
    let url = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["url"].as_str().map(str::to_owned))
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"));
    let Some(url) = url else {
        return respond(error(
            400,
            "INVALID_REQUEST",
            "An http(s) url is required.",
            Some(("INVALID_PARAMETER_VALUE", "url")),
        ));
    };
    *state.webhook_url.write().unwrap_or_else(|p| p.into_inner()) = Some(url.clone());
    HttpResponse::Created().json(json!({
        "id": state.webhook_id,
        "url": url,
        "event_types": [{"name": "*"}],
    }))
}

/// `POST /v1/notifications/verify-webhook-signature`.
async fn verify_webhook_signature(
    req: HttpRequest,
    state: web::Data<PaypalState>,
    body: web::Bytes,
) -> HttpResponse {
    if !authorized(&req, &state) {
        return invalid_token();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return respond(error(
            400,
            "INVALID_REQUEST",
            "The request JSON is not well formed.",
            None,
        ));
    };
    let field = |name: &str| request[name].as_str().unwrap_or_default().to_owned();
    let expected = state.sign(
        &field("transmission_id"),
        &field("transmission_time"),
        &request["webhook_event"].to_string(),
    );
    let verified = field("webhook_id") == state.webhook_id
        && field("auth_algo") == "SHA256withRSA"
        && field("transmission_sig") == expected;
    HttpResponse::Ok().json(json!({
        "verification_status": if verified { "SUCCESS" } else { "FAILURE" }
    }))
}

#[cfg(test)]
mod tests {
    use super::thousandths;

    #[test]
    fn decimal_amounts_compare_exactly() {
        assert_eq!(thousandths("12.34"), Some(12_340));
        assert_eq!(thousandths("5"), Some(5_000));
        assert_eq!(thousandths("0.005"), Some(5));
        assert_eq!(thousandths("1.2345"), None);
        assert_eq!(thousandths("-1"), None);
        assert_eq!(thousandths("1e3"), None);
    }
}
