//! Stripe's PaymentIntents API: form-encoded requests, Bearer secret key, `Idempotency-Key`.

use super::{AuthorizeOutcome, AuthorizeRequest, Connector, ConnectorError};
use crate::configuration::StripeSettings;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

pub struct StripeConnector {
    base_url: String,
    secret_key: SecretString,
    http: reqwest::Client,
}

impl StripeConnector {
    pub fn new(settings: &StripeSettings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self {
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            secret_key: settings.secret_key.clone(),
            http,
        })
    }
}

#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    status: String,
    last_payment_error: Option<StripeError>,
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
        let mut form = vec![
            ("amount", request.amount.amount_minor.to_string()),
            (
                "currency",
                request.amount.currency.code().to_ascii_lowercase(),
            ),
            ("payment_method", request.payment_method.to_owned()),
            ("confirm", "true".to_owned()),
            ("metadata[charge_id]", charge_id.clone()),
        ];
        if let Some(description) = request.description {
            form.push(("description", description.to_owned()));
        }
        let response = self
            .http
            .post(format!("{}/v1/payment_intents", self.base_url))
            .bearer_auth(self.secret_key.expose_secret())
            .header("Idempotency-Key", &charge_id)
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                ConnectorError::Unknown(if e.is_timeout() {
                    "timed out".into()
                } else {
                    e.to_string()
                })
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ConnectorError::Unknown(e.to_string()))?;
        match status {
            StatusCode::OK => {
                let intent: PaymentIntent = serde_json::from_slice(&body).map_err(|e| {
                    ConnectorError::Unknown(format!("unreadable PaymentIntent: {e}"))
                })?;
                Ok(match intent.status.as_str() {
                    "succeeded" => AuthorizeOutcome::Succeeded {
                        psp_reference: intent.id,
                    },
                    "requires_action" => AuthorizeOutcome::RequiresAction {
                        psp_reference: intent.id,
                    },
                    "requires_payment_method" => {
                        declined(Some(intent.id), intent.last_payment_error)
                    }
                    // processing, requires_confirmation, ...: not an outcome yet.
                    other => {
                        return Err(ConnectorError::Unknown(format!(
                            "PaymentIntent {} is {other}",
                            intent.id
                        )))
                    }
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
            s if s.is_server_error()
                || s == StatusCode::TOO_MANY_REQUESTS
                || s == StatusCode::CONFLICT =>
            {
                Err(ConnectorError::Unknown(format!("PSP answered {s}")))
            }
            s => Err(ConnectorError::Refused(format!("PSP answered {s}"))),
        }
    }
}
