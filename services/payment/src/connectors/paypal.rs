//! PayPal's REST API: OAuth 2.0 client credentials, JSON Orders v2 with capture, capture
//! refunds, `PayPal-Request-Id` for idempotency, webhooks verified through the API, and the
//! approval flow (the payer approves on PayPal's page, then we capture) for hosted checkout and
//! cards that need 3-D Secure.

use super::{
    AuthorizeOutcome, AuthorizeRequest, CheckoutRequest, CheckoutState, Connector, ConnectorError,
    Headers, HostedCheckout, PaymentState, PaymentUpdate, RefundOutcome, RefundRequest,
    WebhookError, WebhookEvent,
};
use crate::configuration::PaypalSettings;
use kernel::money::Money;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use uuid::Uuid;

/// How old a webhook's transmission time may be.
const TRANSMISSION_TOLERANCE_SECS: i64 = 300;
/// How long PayPal keeps an approval link usable.
const APPROVAL_WINDOW_HOURS: i64 = 3;

pub struct PaypalConnector {
    base_url: String,
    client_id: String,
    client_secret: SecretString,
    webhook_id: String,
    http: reqwest::Client,
    /// The current access token and when to fetch a new one.
    token: Mutex<Option<(SecretString, Instant)>>,
}

impl PaypalConnector {
    pub fn new(settings: &PaypalSettings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self {
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            webhook_id: settings.webhook_id.clone(),
            http,
            token: Mutex::new(None),
        })
    }

    async fn access_token(&self) -> Result<SecretString, ConnectorError> {
        let mut cached = self.token.lock().await;
        if let Some((token, renew_at)) = cached.as_ref() {
            if Instant::now() < *renew_at {
                return Ok(token.clone());
            }
        }
        let response = self
            .http
            .post(format!("{}/v1/oauth2/token", self.base_url))
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(ConnectorError::from_transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ConnectorError::from_status(status, "token"));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| ConnectorError::Unknown(format!("unreadable token answer: {e}")))?;
        let token: SecretString = body["access_token"]
            .as_str()
            .ok_or_else(|| ConnectorError::Refused("token answer without access_token".into()))?
            .into();
        *cached = Some((
            token.clone(),
            token_renewal(Instant::now(), body["expires_in"].as_u64()),
        ));
        Ok(token)
    }

    /// A JSON call with a bearer token and a `PayPal-Request-Id`; returns status and body.
    /// A JSON POST under a `PayPal-Request-Id`, which makes it idempotent at PayPal.
    async fn call(
        &self,
        path: &str,
        request_id: &str,
        body: &Value,
    ) -> Result<(StatusCode, Value), ConnectorError> {
        let request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("PayPal-Request-Id", request_id)
            .header("Prefer", "return=representation")
            .json(body);
        self.send(request).await
    }

    async fn get(&self, path: &str) -> Result<(StatusCode, Value), ConnectorError> {
        self.send(self.http.get(format!("{}{path}", self.base_url)))
            .await
    }

    /// Sends with a current access token; returns the status and the JSON body.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Value), ConnectorError> {
        let token = self.access_token().await?;
        let response = request
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(ConnectorError::from_transport)?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            // Revoked or expired early: fetch a new token next time.
            *self.token.lock().await = None;
        }
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}

/// Longest we keep a token, whatever PayPal says its lifetime is.
const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 60 * 60;

/// When to renew a token PayPal says lives `expires_in` seconds: a minute before it expires.
/// The lifetime is PayPal's number, so it is bounded before it is added to `now`.
fn token_renewal(now: Instant, expires_in: Option<u64>) -> Instant {
    let lifetime = expires_in
        .unwrap_or(300)
        .min(MAX_TOKEN_LIFETIME_SECS)
        .saturating_sub(60);
    now.checked_add(Duration::from_secs(lifetime))
        .unwrap_or(now)
}

/// Minor units as PayPal's decimal string: 1234 AUD is "12.34", 500 JPY is "500".
fn decimal(amount: &Money) -> String {
    let per_major = amount.currency.minor_per_major();
    let digits = per_major.to_string().len() - 1;
    if digits == 0 {
        return amount.amount_minor.to_string();
    }
    format!(
        "{}.{:0digits$}",
        amount.amount_minor / per_major,
        amount.amount_minor % per_major
    )
}

fn issue(body: &Value) -> (String, String) {
    let detail = &body["details"][0];
    (
        detail["issue"]
            .as_str()
            .unwrap_or("UNPROCESSABLE_ENTITY")
            .to_owned(),
        detail["description"]
            .as_str()
            .or(body["message"].as_str())
            .unwrap_or("The payment was refused.")
            .to_owned(),
    )
}

/// An order's outcome from its status and first capture.
fn outcome_of(order: &Value) -> Option<AuthorizeOutcome> {
    let capture = &order["purchase_units"][0]["payments"]["captures"][0];
    match order["status"].as_str()? {
        "COMPLETED" => match capture["status"].as_str() {
            Some("COMPLETED") | Some("PENDING") => Some(AuthorizeOutcome::Succeeded {
                psp_reference: capture["id"].as_str()?.to_owned(),
            }),
            _ => Some(AuthorizeOutcome::Declined {
                psp_reference: capture["id"].as_str().map(str::to_owned),
                code: "capture_declined".into(),
                message: "The payment was declined.".into(),
            }),
        },
        "PAYER_ACTION_REQUIRED" => Some(AuthorizeOutcome::RequiresAction {
            psp_reference: order["id"].as_str()?.to_owned(),
            redirect_url: order["links"]
                .as_array()
                .and_then(|links| links.iter().find(|l| l["rel"] == "payer-action"))
                .and_then(|l| l["href"].as_str())
                .map(str::to_owned),
        }),
        _ => None,
    }
}

#[async_trait::async_trait]
impl Connector for PaypalConnector {
    fn name(&self) -> &'static str {
        "paypal"
    }

    async fn authorize(
        &self,
        request: &AuthorizeRequest<'_>,
    ) -> Result<AuthorizeOutcome, ConnectorError> {
        let charge_id = request.charge_id.to_string();
        let mut unit = json!({
            "reference_id": charge_id,
            "custom_id": charge_id,
            "amount": {
                "currency_code": request.amount.currency.code(),
                "value": decimal(&request.amount),
            },
        });
        if let Some(description) = request.description {
            unit["description"] = json!(description.chars().take(127).collect::<String>());
        }
        let mut order = json!({
            "intent": "CAPTURE",
            "purchase_units": [unit],
            "payment_source": {"token": {"id": request.payment_method, "type": "PAYMENT_METHOD_TOKEN"}},
        });
        if let Some(return_url) = request.return_url {
            // Where the payer goes after approving, should the card need it (3-D Secure).
            order["application_context"] = json!({ "return_url": return_url });
        }
        // The request ids make both steps idempotent: resending returns the same order and
        // the same capture, never a second payment.
        let (status, created) = self.call("/v2/checkout/orders", &charge_id, &order).await?;
        match status {
            s if s.is_success() => {}
            StatusCode::UNPROCESSABLE_ENTITY => {
                let (code, message) = issue(&created);
                return Ok(AuthorizeOutcome::Declined {
                    psp_reference: None,
                    code: code.to_ascii_lowercase(),
                    message,
                });
            }
            s => return Err(ConnectorError::from_status(s, "create order")),
        }
        if created["status"] == "PAYER_ACTION_REQUIRED" {
            return outcome_of(&created)
                .ok_or_else(|| ConnectorError::Unknown("unreadable order".into()));
        }
        let order_id = created["id"]
            .as_str()
            .ok_or_else(|| ConnectorError::Unknown("order without an id".into()))?;
        self.capture(order_id, request.charge_id).await
    }

    /// The request id is per charge: an order is captured once however often this is sent,
    /// whether right after creating it or after the payer approved it.
    async fn capture(
        &self,
        order_id: &str,
        charge_id: Uuid,
    ) -> Result<AuthorizeOutcome, ConnectorError> {
        let (status, captured) = self
            .call(
                &format!("/v2/checkout/orders/{order_id}/capture"),
                &format!("{charge_id}-capture"),
                &json!({}),
            )
            .await?;
        match status {
            s if s.is_success() => outcome_of(&captured).ok_or_else(|| {
                ConnectorError::Unknown(format!("order {order_id} is {}", captured["status"]))
            }),
            StatusCode::UNPROCESSABLE_ENTITY => {
                let (issue_code, description) = issue(&captured);
                // The sandbox (like PayPal's processor response) says why in the description.
                let code = if issue_code == "INSTRUMENT_DECLINED" {
                    description.clone()
                } else {
                    issue_code.to_ascii_lowercase()
                };
                Ok(AuthorizeOutcome::Declined {
                    psp_reference: Some(order_id.to_owned()),
                    code,
                    message: captured["message"]
                        .as_str()
                        .unwrap_or("The payment was declined.")
                        .to_owned(),
                })
            }
            s => Err(ConnectorError::from_status(s, "capture")),
        }
    }

    fn hosted_checkout(&self) -> bool {
        true
    }

    /// PayPal's approval flow: an order the payer approves on PayPal's page, which we capture
    /// when `CHECKOUT.ORDER.APPROVED` arrives.
    async fn create_checkout(
        &self,
        request: &CheckoutRequest<'_>,
    ) -> Result<HostedCheckout, ConnectorError> {
        let charge_id = request.charge_id.to_string();
        let mut context = json!({
            "return_url": request.success_url,
            "user_action": "PAY_NOW",
            "shipping_preference": "NO_SHIPPING",
        });
        if let Some(cancel_url) = request.cancel_url {
            context["cancel_url"] = json!(cancel_url);
        }
        let order = json!({
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": charge_id,
                "custom_id": charge_id,
                "description": request.description.chars().take(127).collect::<String>(),
                "amount": {
                    "currency_code": request.amount.currency.code(),
                    "value": decimal(&request.amount),
                },
            }],
            "payment_source": {"paypal": {"experience_context": context}},
        });
        let (status, created) = self.call("/v2/checkout/orders", &charge_id, &order).await?;
        if !status.is_success() {
            return Err(ConnectorError::from_status(status, "create order"));
        }
        let approval = match outcome_of(&created) {
            Some(AuthorizeOutcome::RequiresAction {
                psp_reference,
                redirect_url: Some(url),
            }) => (psp_reference, url),
            _ => {
                return Err(ConnectorError::Unknown(format!(
                    "order is {} without an approval link",
                    created["status"]
                )))
            }
        };
        Ok(HostedCheckout {
            psp_reference: approval.0,
            url: approval.1,
            expires_at: chrono::Utc::now() + chrono::Duration::hours(APPROVAL_WINDOW_HOURS),
        })
    }

    /// Asked after the approval window: an order the payer never approved counts as expired
    /// (we will never capture it, so no money can move).
    async fn checkout_state(&self, psp_reference: &str) -> Result<CheckoutState, ConnectorError> {
        let (status, order) = self
            .get(&format!("/v2/checkout/orders/{psp_reference}"))
            .await?;
        if !status.is_success() {
            return Err(ConnectorError::from_status(status, "order lookup"));
        }
        Ok(match order["status"].as_str() {
            Some("APPROVED") => CheckoutState::Approved,
            Some("COMPLETED") => match outcome_of(&order) {
                Some(AuthorizeOutcome::Succeeded { psp_reference }) => {
                    CheckoutState::Paid { psp_reference }
                }
                _ => CheckoutState::Expired,
            },
            _ => CheckoutState::Expired,
        })
    }

    /// PayPal has no search by our id. It does not need one: an attempt that may have reached
    /// PayPal is resolved by sending it again under the same request ids, which returns what
    /// PayPal already did instead of doing it twice.
    async fn lookup(&self, _charge_id: Uuid) -> Result<Option<AuthorizeOutcome>, ConnectorError> {
        Ok(None)
    }

    async fn refund(&self, request: &RefundRequest<'_>) -> Result<RefundOutcome, ConnectorError> {
        let body = json!({
            "amount": {
                "currency_code": request.amount.currency.code(),
                "value": decimal(&request.amount),
            },
        });
        let (status, refund) = self
            .call(
                &format!("/v2/payments/captures/{}/refund", request.psp_reference),
                &request.refund_id.to_string(),
                &body,
            )
            .await?;
        match status {
            s if s.is_success() => match refund["status"].as_str() {
                Some("COMPLETED") | Some("PENDING") => Ok(RefundOutcome::Succeeded {
                    psp_reference: refund["id"].as_str().unwrap_or_default().to_owned(),
                }),
                _ => Ok(RefundOutcome::Failed {
                    reason: format!("refund is {}", refund["status"]),
                }),
            },
            StatusCode::UNPROCESSABLE_ENTITY => Ok(RefundOutcome::Failed {
                reason: issue(&refund).1,
            }),
            s => Err(ConnectorError::from_status(s, "refund")),
        }
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
    ) -> Result<WebhookEvent, WebhookError> {
        let header = |name: &str| {
            headers
                .get(name)
                .cloned()
                .ok_or_else(|| WebhookError::BadSignature(format!("the {name} header is missing")))
        };
        let transmission_id = header("paypal-transmission-id")?;
        let transmission_time = header("paypal-transmission-time")?;
        let signature = header("paypal-transmission-sig")?;
        let sent_at = chrono::DateTime::parse_from_rfc3339(&transmission_time)
            .map_err(|_| WebhookError::BadSignature("unreadable transmission time".into()))?;
        let within_tolerance = chrono::Utc::now()
            .timestamp()
            .checked_sub(sent_at.timestamp())
            .and_then(i64::checked_abs)
            .is_some_and(|age| age <= TRANSMISSION_TOLERANCE_SECS);
        if !within_tolerance {
            return Err(WebhookError::BadSignature(
                "the transmission time is outside the 5 minute tolerance".into(),
            ));
        }
        // Parsed only to hand it to PayPal's verification; nothing in it is acted on before.
        let event: Value = serde_json::from_slice(body)
            .map_err(|_| WebhookError::BadSignature("the body is not the signed JSON".into()))?;
        let verification = json!({
            "auth_algo": headers.get("paypal-auth-algo").cloned().unwrap_or_default(),
            "cert_url": headers.get("paypal-cert-url").cloned().unwrap_or_default(),
            "transmission_id": transmission_id,
            "transmission_sig": signature,
            "transmission_time": transmission_time,
            "webhook_id": self.webhook_id,
            "webhook_event": event,
        });
        let (status, answer) = self
            .call(
                "/v1/notifications/verify-webhook-signature",
                &Uuid::new_v4().to_string(),
                &verification,
            )
            .await
            .map_err(|e| WebhookError::Unverifiable(e.to_string()))?;
        if !status.is_success() {
            return Err(WebhookError::Unverifiable(format!(
                "verification answered {status}"
            )));
        }
        if answer["verification_status"] != "SUCCESS" {
            return Err(WebhookError::BadSignature(
                "PayPal did not verify the signature".into(),
            ));
        }
        read_event(&event)
    }
}

fn read_event(event: &Value) -> Result<WebhookEvent, WebhookError> {
    let id = event["id"]
        .as_str()
        .ok_or_else(|| WebhookError::Malformed("event without an id".into()))?;
    let event_type = event["event_type"].as_str().unwrap_or_default();
    let resource = &event["resource"];
    let state = match event_type {
        "PAYMENT.CAPTURE.COMPLETED" => Some(PaymentState::Succeeded),
        "CHECKOUT.ORDER.APPROVED" => Some(PaymentState::Approved),
        "PAYMENT.CAPTURE.DENIED" | "PAYMENT.CAPTURE.DECLINED" => Some(PaymentState::Declined {
            code: resource["status_details"]["reason"]
                .as_str()
                .unwrap_or("capture_denied")
                .to_owned(),
            message: "The payment was declined.".into(),
        }),
        _ => None,
    };
    // A capture carries our id itself; an order carries it in its purchase unit.
    let custom_id = resource["custom_id"]
        .as_str()
        .or(resource["purchase_units"][0]["custom_id"].as_str());
    let payment = state.map(|state| PaymentUpdate {
        charge_id: custom_id.and_then(|id| Uuid::parse_str(id).ok()),
        psp_reference: resource["id"].as_str().unwrap_or_default().to_owned(),
        state,
    });
    Ok(WebhookEvent {
        id: id.to_owned(),
        event_type: event_type.to_owned(),
        payment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::money::Currency;

    #[test]
    fn token_lifetimes_from_paypal_never_overflow() {
        let now = Instant::now();
        assert_eq!(
            token_renewal(now, Some(3_600)),
            now + Duration::from_secs(3_540)
        );
        assert_eq!(token_renewal(now, Some(10)), now);
        assert_eq!(token_renewal(now, None), now + Duration::from_secs(240));
        assert_eq!(
            token_renewal(now, Some(u64::MAX)),
            now + Duration::from_secs(MAX_TOKEN_LIFETIME_SECS - 60)
        );
    }

    #[test]
    fn amounts_are_decimal_strings_in_the_currencys_own_precision() {
        let money = |minor, code| Money {
            amount_minor: minor,
            currency: Currency::parse(code).unwrap(),
        };
        assert_eq!(decimal(&money(1234, "AUD")), "12.34");
        assert_eq!(decimal(&money(5, "USD")), "0.05");
        assert_eq!(decimal(&money(500, "JPY")), "500");
    }

    #[test]
    fn capture_events_name_our_charge() {
        let charge_id = Uuid::now_v7();
        let event = json!({"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED",
            "resource": {"id": "CAP1", "status": "COMPLETED", "custom_id": charge_id.to_string()}});
        let read = read_event(&event).unwrap();
        let payment = read.payment.unwrap();
        assert_eq!(payment.charge_id, Some(charge_id));
        assert_eq!(payment.psp_reference, "CAP1");
        assert_eq!(payment.state, PaymentState::Succeeded);
        let other = json!({"id": "WH-2", "event_type": "CHECKOUT.ORDER.COMPLETED", "resource": {}});
        assert_eq!(read_event(&other).unwrap().payment, None);
    }

    #[test]
    fn an_approved_order_names_our_charge_from_its_purchase_unit() {
        let charge_id = Uuid::now_v7();
        let event = json!({"id": "WH-3", "event_type": "CHECKOUT.ORDER.APPROVED",
            "resource": {"id": "ORD7", "status": "APPROVED",
                         "purchase_units": [{"custom_id": charge_id.to_string()}]}});
        let payment = read_event(&event).unwrap().payment.unwrap();
        assert_eq!(payment.charge_id, Some(charge_id));
        assert_eq!(payment.psp_reference, "ORD7");
        assert_eq!(payment.state, PaymentState::Approved);
    }
}
