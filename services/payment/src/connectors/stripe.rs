//! Stripe's PaymentIntents API: form-encoded requests, Bearer secret key, `Idempotency-Key`.

use super::{
    AuthorizeOutcome, AuthorizeRequest, CardDetails, CardToken, CheckoutRequest, CheckoutState,
    Connector, ConnectorError, Headers, HostedCheckout, PaymentState, PaymentUpdate, RefundOutcome,
    RefundRequest, WebhookError, WebhookEvent,
};
use crate::configuration::StripeSettings;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;
use uuid::Uuid;

pub struct StripeConnector {
    base_url: String,
    secret_key: SecretString,
    webhook_secret: SecretString,
    http: reqwest::Client,
}

/// How old a webhook's signature may be: older ones are refused as possible replays.
const SIGNATURE_TOLERANCE_SECS: i64 = 300;

impl StripeConnector {
    pub fn new(settings: &StripeSettings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self {
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            secret_key: settings.secret_key.clone(),
            webhook_secret: settings.webhook_secret.clone(),
            http,
        })
    }
}

impl StripeConnector {
    /// A form-encoded POST with the secret key (and an `Idempotency-Key` when given); returns
    /// the status and the raw body.
    async fn post_form(
        &self,
        path: &str,
        idempotency_key: Option<&str>,
        form: &[(&str, String)],
    ) -> Result<(StatusCode, Vec<u8>), ConnectorError> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(self.secret_key.expose_secret())
            .form(form);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ConnectorError::Unknown(e.to_string()))?;
        Ok((status, body.to_vec()))
    }
}

#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    status: String,
    last_payment_error: Option<StripeError>,
    #[serde(default)]
    next_action: Option<NextAction>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct NextAction {
    #[serde(default)]
    redirect_to_url: Option<RedirectToUrl>,
}

#[derive(Debug, Deserialize)]
struct RedirectToUrl {
    url: String,
}

/// A Checkout Session, as created and as carried by `checkout.session.*` events.
#[derive(Debug, Deserialize)]
struct CheckoutSession {
    id: String,
    #[serde(default)]
    url: Option<String>,
    expires_at: i64,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    payment_status: Option<String>,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct SearchResult {
    data: Vec<PaymentIntent>,
}

#[derive(Debug, Deserialize)]
struct Refund {
    id: String,
    status: String,
    #[serde(default)]
    failure_reason: Option<String>,
}

/// A PaymentIntent's status as an outcome; `None` while it has none yet.
fn outcome_of(intent: PaymentIntent) -> Option<AuthorizeOutcome> {
    match intent.status.as_str() {
        "succeeded" => Some(AuthorizeOutcome::Succeeded {
            psp_reference: intent.id,
        }),
        "requires_action" => Some(AuthorizeOutcome::RequiresAction {
            redirect_url: intent
                .next_action
                .and_then(|a| a.redirect_to_url)
                .map(|r| r.url),
            psp_reference: intent.id,
        }),
        "requires_payment_method" | "canceled" => {
            Some(declined(Some(intent.id), intent.last_payment_error))
        }
        _ => None,
    }
}

fn transport(e: reqwest::Error) -> ConnectorError {
    ConnectorError::from_transport(e)
}

#[derive(Debug, Deserialize)]
struct StripeError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    payment_intent: Option<Box<PaymentIntent>>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: StripeError,
}

fn declined(psp_reference: Option<String>, error: Option<StripeError>) -> AuthorizeOutcome {
    let (code, message) = match error {
        Some(e) => (
            e.decline_code
                .or(e.code)
                .unwrap_or_else(|| "card_declined".into()),
            e.message.unwrap_or_else(|| "The card was declined.".into()),
        ),
        None => ("card_declined".into(), "The card was declined.".into()),
    };
    AuthorizeOutcome::Declined {
        psp_reference,
        code,
        message,
    }
}

/// Checks a `Stripe-Signature` header (`t=<unix>,v1=<hex>[,v1=...]`) over the raw body: the
/// HMAC-SHA256 of `"{t}.{body}"` under the endpoint secret, with `t` within the tolerance of `now`.
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    use hmac::{Hmac, Mac};
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp
        .ok_or_else(|| WebhookError::BadSignature("the signature has no timestamp".into()))?;
    // The timestamp is the sender's: an extreme one must be refused, not overflow.
    let within_tolerance = now
        .checked_sub(timestamp)
        .and_then(i64::checked_abs)
        .is_some_and(|age| age <= SIGNATURE_TOLERANCE_SECS);
    if !within_tolerance {
        return Err(WebhookError::BadSignature(
            "the signature's timestamp is outside the 5 minute tolerance".into(),
        ));
    }
    let valid = signatures.iter().any(|signature| {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC-SHA256 takes keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(signature).is_ok()
    });
    if valid {
        Ok(())
    } else {
        Err(WebhookError::BadSignature("no signature matches".into()))
    }
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

fn read_event(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("not a Stripe event: {e}")))?;
    let state = |intent: &PaymentIntent| match event.event_type.as_str() {
        "payment_intent.succeeded" => Some(PaymentState::Succeeded),
        "payment_intent.requires_action" => Some(PaymentState::RequiresAction {
            redirect_url: intent
                .next_action
                .as_ref()
                .and_then(|a| a.redirect_to_url.as_ref())
                .map(|r| r.url.clone()),
        }),
        "payment_intent.payment_failed" => {
            let error = intent.last_payment_error.as_ref();
            Some(PaymentState::Declined {
                code: error
                    .and_then(|e| e.decline_code.clone().or(e.code.clone()))
                    .unwrap_or_else(|| "card_declined".into()),
                message: error
                    .and_then(|e| e.message.clone())
                    .unwrap_or_else(|| "The card was declined.".into()),
            })
        }
        "payment_intent.canceled" => Some(PaymentState::Canceled),
        _ => None,
    };
    let payment = if event.event_type.starts_with("checkout.session.") {
        let session: CheckoutSession = serde_json::from_value(event.data.object.clone())
            .map_err(|e| WebhookError::Malformed(format!("not a Checkout Session: {e}")))?;
        checkout_update(&event.event_type, session)
    } else if event.event_type.starts_with("payment_intent.") {
        let intent: PaymentIntent = serde_json::from_value(event.data.object.clone())
            .map_err(|e| WebhookError::Malformed(format!("not a PaymentIntent: {e}")))?;
        state(&intent).map(|state| PaymentUpdate {
            charge_id: intent
                .metadata
                .get("charge_id")
                .and_then(|id| Uuid::parse_str(id).ok()),
            psp_reference: intent.id.clone(),
            state,
        })
    } else {
        None
    };
    Ok(WebhookEvent {
        id: event.id,
        event_type: event.event_type,
        payment,
    })
}

/// A hosted checkout settles on the session's events alone. Its PaymentIntent carries none of
/// our metadata, so that a declined attempt on the page (the customer may try another card)
/// never reaches the charge; once paid, the charge's reference becomes the PaymentIntent,
/// which is what refunds name.
fn checkout_update(event_type: &str, session: CheckoutSession) -> Option<PaymentUpdate> {
    let charge_id = session
        .metadata
        .get("charge_id")
        .and_then(|id| Uuid::parse_str(id).ok());
    match event_type {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded"
            if session.payment_status.as_deref() == Some("paid") =>
        {
            Some(PaymentUpdate {
                charge_id,
                psp_reference: session.payment_intent?,
                state: PaymentState::Succeeded,
            })
        }
        "checkout.session.expired" => Some(PaymentUpdate {
            charge_id,
            psp_reference: session.id,
            state: PaymentState::Canceled,
        }),
        _ => None,
    }
}

/// `POST /v1/payment_intents`, confirmed at once. The metadata names our charge (how webhooks
/// and lookups find it), its member, and its kind (how the processor's settlement file tells
/// card loads from purchases).
fn payment_intent_form(request: &AuthorizeRequest<'_>) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("amount", request.amount.amount_minor.to_string()),
        (
            "currency",
            request.amount.currency.code().to_ascii_lowercase(),
        ),
        ("payment_method", request.payment_method.to_owned()),
        ("confirm", "true".to_owned()),
        ("metadata[charge_id]", request.charge_id.to_string()),
        ("metadata[member_id]", request.member_id.to_string()),
        ("metadata[kind]", request.kind.as_str().to_owned()),
    ];
    if let Some(description) = request.description {
        form.push(("description", description.to_owned()));
    }
    if let Some(return_url) = request.return_url {
        form.push(("return_url", return_url.to_owned()));
    }
    form
}

#[async_trait::async_trait]
impl Connector for StripeConnector {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn authorize(
        &self,
        request: &AuthorizeRequest<'_>,
    ) -> Result<AuthorizeOutcome, ConnectorError> {
        let charge_id = request.charge_id.to_string();
        let form = payment_intent_form(request);
        let (status, body) = self
            .post_form("/v1/payment_intents", Some(&charge_id), &form)
            .await?;
        match status {
            StatusCode::OK => {
                let intent: PaymentIntent = serde_json::from_slice(&body).map_err(|e| {
                    ConnectorError::Unknown(format!("unreadable PaymentIntent: {e}"))
                })?;
                let id = intent.id.clone();
                let status = intent.status.clone();
                // processing, requires_confirmation, ...: not an outcome yet.
                outcome_of(intent).ok_or_else(|| {
                    ConnectorError::Unknown(format!("PaymentIntent {id} is {status}"))
                })
            }
            // A card error: Stripe's answer for declines, with the intent inside the error.
            StatusCode::PAYMENT_REQUIRED => {
                let error = serde_json::from_slice::<ErrorBody>(&body)
                    .ok()
                    .map(|b| b.error);
                let reference = error
                    .as_ref()
                    .and_then(|e| e.payment_intent.as_ref())
                    .map(|pi| pi.id.clone());
                Ok(declined(reference, error))
            }
            StatusCode::BAD_REQUEST => {
                let error = serde_json::from_slice::<ErrorBody>(&body)
                    .ok()
                    .map(|b| b.error);
                let code = error
                    .as_ref()
                    .and_then(|e| e.code.clone())
                    .unwrap_or_default();
                if code == "resource_missing" {
                    // The payment method does not exist: the member's token is bad, a final no.
                    return Ok(AuthorizeOutcome::Declined {
                        psp_reference: None,
                        code: "invalid_payment_method".into(),
                        message: "The payment method is not valid.".into(),
                    });
                }
                Err(ConnectorError::Refused(format!("400 {code}")))
            }
            s => Err(ConnectorError::from_status(s, "create PaymentIntent")),
        }
    }

    async fn lookup(&self, charge_id: Uuid) -> Result<Option<AuthorizeOutcome>, ConnectorError> {
        let query = format!("metadata['charge_id']:'{charge_id}'");
        let response = self
            .http
            .get(format!("{}/v1/payment_intents/search", self.base_url))
            .bearer_auth(self.secret_key.expose_secret())
            .query(&[("query", query.as_str())])
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ConnectorError::from_status(status, "search"));
        }
        let found: SearchResult = response
            .json()
            .await
            .map_err(|e| ConnectorError::Unknown(format!("unreadable search result: {e}")))?;
        match found.data.into_iter().next() {
            None => Ok(None),
            Some(intent) => {
                let id = intent.id.clone();
                outcome_of(intent).map(Some).ok_or_else(|| {
                    ConnectorError::Unknown(format!("PaymentIntent {id} has no outcome yet"))
                })
            }
        }
    }

    async fn refund(&self, request: &RefundRequest<'_>) -> Result<RefundOutcome, ConnectorError> {
        let refund_id = request.refund_id.to_string();
        let form = [
            ("payment_intent", request.psp_reference.to_owned()),
            ("amount", request.amount.amount_minor.to_string()),
            ("metadata[refund_id]", refund_id.clone()),
        ];
        let (status, body) = self
            .post_form("/v1/refunds", Some(&refund_id), &form)
            .await?;
        if status.is_success() {
            let refund: Refund = serde_json::from_slice(&body)
                .map_err(|e| ConnectorError::Unknown(format!("unreadable Refund: {e}")))?;
            return match refund.status.as_str() {
                "succeeded" => Ok(RefundOutcome::Succeeded {
                    psp_reference: refund.id,
                }),
                "failed" | "canceled" => Ok(RefundOutcome::Failed {
                    reason: refund
                        .failure_reason
                        .unwrap_or_else(|| "refund failed".into()),
                }),
                other => Err(ConnectorError::Unknown(format!(
                    "refund {} is {other}",
                    refund.id
                ))),
            };
        }
        if let error @ ConnectorError::Unknown(_) = ConnectorError::from_status(status, "refund") {
            return Err(error);
        }
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .and_then(|b| b.error.message)
            .unwrap_or_else(|| format!("PSP answered {status}"));
        Ok(RefundOutcome::Failed { reason: message })
    }

    async fn tokenize_card(&self, card: &CardDetails) -> Result<CardToken, ConnectorError> {
        let form = [
            ("type", "card".to_owned()),
            ("card[number]", card.number.expose_secret().to_owned()),
            ("card[exp_month]", card.exp_month.to_string()),
            ("card[exp_year]", card.exp_year.to_string()),
            ("card[cvc]", card.cvc.expose_secret().to_owned()),
        ];
        let (status, body) = self.post_form("/v1/payment_methods", None, &form).await?;
        let body: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ConnectorError::Unknown(format!("unreadable PaymentMethod: {e}")))?;
        if status.is_success() {
            let card = &body["card"];
            return Ok(CardToken {
                payment_method: body["id"].as_str().unwrap_or_default().to_owned(),
                brand: card["brand"].as_str().unwrap_or("unknown").to_owned(),
                last4: card["last4"].as_str().unwrap_or_default().to_owned(),
            });
        }
        if let error @ ConnectorError::Unknown(_) =
            ConnectorError::from_status(status, "tokenisation")
        {
            return Err(error);
        }
        // Stripe's message about the card ("incorrect number") never repeats the number.
        Err(ConnectorError::Refused(
            body["error"]["message"]
                .as_str()
                .unwrap_or("the card was refused")
                .to_owned(),
        ))
    }

    fn hosted_checkout(&self) -> bool {
        true
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest<'_>,
    ) -> Result<HostedCheckout, ConnectorError> {
        let charge_id = request.charge_id.to_string();
        let mut form = vec![
            ("mode", "payment".to_owned()),
            ("success_url", request.success_url.to_owned()),
            ("client_reference_id", charge_id.clone()),
            ("metadata[charge_id]", charge_id.clone()),
            ("line_items[0][quantity]", "1".to_owned()),
            (
                "line_items[0][price_data][currency]",
                request.amount.currency.code().to_ascii_lowercase(),
            ),
            (
                "line_items[0][price_data][unit_amount]",
                request.amount.amount_minor.to_string(),
            ),
            (
                "line_items[0][price_data][product_data][name]",
                request.description.to_owned(),
            ),
        ];
        if let Some(cancel_url) = request.cancel_url {
            form.push(("cancel_url", cancel_url.to_owned()));
        }
        let (status, body) = self
            .post_form("/v1/checkout/sessions", Some(&charge_id), &form)
            .await?;
        if !status.is_success() {
            return Err(ConnectorError::from_status(
                status,
                "checkout session creation",
            ));
        }
        let session: CheckoutSession = serde_json::from_slice(&body)
            .map_err(|e| ConnectorError::Unknown(format!("unreadable Checkout Session: {e}")))?;
        let url = session
            .url
            .ok_or_else(|| ConnectorError::Unknown("the Checkout Session has no url".into()))?;
        let expires_at = chrono::DateTime::from_timestamp(session.expires_at, 0)
            .ok_or_else(|| ConnectorError::Unknown("the Checkout Session has no expiry".into()))?;
        Ok(HostedCheckout {
            psp_reference: session.id,
            url,
            expires_at,
        })
    }

    async fn checkout_state(&self, psp_reference: &str) -> Result<CheckoutState, ConnectorError> {
        let response = self
            .http
            .get(format!(
                "{}/v1/checkout/sessions/{psp_reference}",
                self.base_url
            ))
            .bearer_auth(self.secret_key.expose_secret())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ConnectorError::from_status(
                status,
                "checkout session lookup",
            ));
        }
        let session: CheckoutSession = response
            .json()
            .await
            .map_err(|e| ConnectorError::Unknown(format!("unreadable Checkout Session: {e}")))?;
        Ok(
            match (session.status.as_deref(), session.payment_status.as_deref()) {
                (Some("complete"), Some("paid")) => CheckoutState::Paid {
                    psp_reference: session.payment_intent.ok_or_else(|| {
                        ConnectorError::Unknown(
                            "a paid Checkout Session without its payment".into(),
                        )
                    })?,
                },
                (Some("expired"), _) => CheckoutState::Expired,
                _ => CheckoutState::Open,
            },
        )
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
    ) -> Result<WebhookEvent, WebhookError> {
        let header = headers.get("stripe-signature").ok_or_else(|| {
            WebhookError::BadSignature("the Stripe-Signature header is missing".into())
        })?;
        verify_signature(
            self.webhook_secret.expose_secret(),
            header,
            body,
            chrono::Utc::now().timestamp(),
        )?;
        read_event(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures_are_checked_over_the_raw_body_and_the_time() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        assert!(verify_signature("whsec_a", &sign("whsec_a", now, body), body, now).is_ok());
        // Rotating secrets: any matching v1 passes.
        let two = format!("{},v1=00ff", sign("whsec_a", now, body));
        assert!(verify_signature("whsec_a", &two, body, now + 299).is_ok());
        for (header, at) in [
            (sign("whsec_b", now, body), now),
            (sign("whsec_a", now, b"{\"id\":\"evt_2\"}"), now),
            (sign("whsec_a", now, body), now + 301),
            (sign("whsec_a", now, body), now - 301),
            ("v1=abc".to_owned(), now),
            (String::new(), now),
        ] {
            assert!(
                matches!(
                    verify_signature("whsec_a", &header, body, at),
                    Err(WebhookError::BadSignature(_))
                ),
                "{header} at {at}"
            );
        }
    }

    #[test]
    fn extreme_timestamps_are_refused_without_overflow() {
        let body = br#"{"id":"evt_1"}"#;
        for (t, now) in [
            (i64::MIN, 1_700_000_000),
            (i64::MAX, 1_700_000_000),
            (i64::MIN, i64::MAX),
            (1_700_000_000, i64::MIN),
        ] {
            assert!(
                matches!(
                    verify_signature("whsec_a", &sign("whsec_a", t, body), body, now),
                    Err(WebhookError::BadSignature(_))
                ),
                "t={t} at {now}"
            );
        }
    }

    #[test]
    fn payment_intents_carry_the_charge_its_member_and_its_kind() {
        let charge_id = Uuid::now_v7();
        let member_id = Uuid::now_v7();
        let request = AuthorizeRequest {
            charge_id,
            member_id,
            kind: crate::domain::ChargeKind::Load,
            amount: kernel::money::Money {
                amount_minor: 2500,
                currency: kernel::money::Currency::parse("AUD").unwrap(),
            },
            payment_method: "pm_card_visa",
            description: Some("Card load"),
            return_url: None,
        };
        let form = payment_intent_form(&request);
        let value = |name: &str| {
            form.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value("amount"), Some("2500"));
        assert_eq!(value("currency"), Some("aud"));
        assert_eq!(value("confirm"), Some("true"));
        assert_eq!(
            value("metadata[charge_id]"),
            Some(charge_id.to_string().as_str())
        );
        assert_eq!(
            value("metadata[member_id]"),
            Some(member_id.to_string().as_str())
        );
        assert_eq!(value("metadata[kind]"), Some("load"));
        assert_eq!(value("description"), Some("Card load"));
        assert_eq!(value("return_url"), None);

        let purchase = AuthorizeRequest {
            kind: crate::domain::ChargeKind::Purchase,
            ..request
        };
        assert_eq!(
            payment_intent_form(&purchase)
                .iter()
                .find(|(n, _)| *n == "metadata[kind]")
                .map(|(_, v)| v.as_str()),
            Some("purchase")
        );
    }

    #[test]
    fn payment_intent_events_name_our_charge_and_their_state() {
        let charge_id = Uuid::now_v7();
        let body = serde_json::json!({
            "id": "evt_1", "type": "payment_intent.payment_failed",
            "data": {"object": {"id": "pi_1", "status": "requires_payment_method",
                "metadata": {"charge_id": charge_id.to_string()},
                "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds", "message": "No funds."}}}
        });
        let event = read_event(body.to_string().as_bytes()).unwrap();
        assert_eq!(event.id, "evt_1");
        let payment = event.payment.unwrap();
        assert_eq!(payment.charge_id, Some(charge_id));
        assert_eq!(payment.psp_reference, "pi_1");
        assert_eq!(
            payment.state,
            PaymentState::Declined {
                code: "insufficient_funds".into(),
                message: "No funds.".into()
            }
        );
        let other =
            serde_json::json!({"id": "evt_2", "type": "charge.refunded", "data": {"object": {}}});
        assert_eq!(
            read_event(other.to_string().as_bytes()).unwrap().payment,
            None
        );
    }
}
