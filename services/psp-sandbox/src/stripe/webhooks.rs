//! Webhook delivery: Stripe events POSTed to the configured URL with a `Stripe-Signature` header.
//!
//! Deliveries run on spawned tasks so an API answer never waits for the receiver. Like Stripe,
//! a delivery that fails (connection error or non-2xx) is retried, here a few times within
//! seconds rather than over days, re-signed on every attempt with the same event id.
//!
//! The PaymentIntent metadata key `sandbox_webhook` changes delivery of that intent's events
//! (its refunds included): a comma-separated list of `delay_ms:<n>` (wait before sending) and
//! `duplicate` (send the same event twice).

use std::time::Duration;

use actix_web::web::Bytes;
use serde::Serialize;

use super::ids;
use super::signature::sign;
use super::types::{Event, EventData, Metadata, API_VERSION};

pub const DIRECTIVE_KEY: &str = "sandbox_webhook";

const MAX_DELAY_MS: u64 = 10 * 60 * 1000;
const MAX_ATTEMPTS: u32 = 3;
const FIRST_RETRY_AFTER: Duration = Duration::from_secs(1);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How the events of one PaymentIntent are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub delay: Duration,
    pub copies: u8,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            copies: 1,
        }
    }
}

impl Delivery {
    /// Reads the `sandbox_webhook` directive; the error explains what is accepted.
    pub fn from_metadata(metadata: &Metadata) -> Result<Self, String> {
        let mut delivery = Self::default();
        let Some(directive) = metadata.get(DIRECTIVE_KEY) else {
            return Ok(delivery);
        };
        for part in directive.split(',').map(str::trim) {
            if part == "duplicate" {
                delivery.copies = 2;
            } else if let Some(ms) = part.strip_prefix("delay_ms:") {
                let ms = ms
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| *ms <= MAX_DELAY_MS)
                    .ok_or_else(|| {
                        format!(
                            "delay_ms must be a whole number of milliseconds up to {MAX_DELAY_MS}."
                        )
                    })?;
                delivery.delay = Duration::from_millis(ms);
            } else {
                return Err(format!(
                    "Unknown {DIRECTIVE_KEY} directive '{part}': use a comma-separated list of \
                     'delay_ms:<n>' and 'duplicate'."
                ));
            }
        }
        Ok(delivery)
    }
}

/// An event waiting to be sent.
#[derive(Debug, Clone)]
pub struct Notification {
    pub event: Event,
    pub delivery: Delivery,
}

impl Notification {
    pub fn new(event_type: &str, object: &impl Serialize, delivery: Delivery) -> Self {
        Self {
            event: Event {
                id: ids::new("evt"),
                object: "event".to_owned(),
                event_type: event_type.to_owned(),
                created: chrono::Utc::now().timestamp(),
                data: EventData {
                    // Our own types always serialize; Null only guards against a future mistake.
                    object: serde_json::to_value(object).unwrap_or(serde_json::Value::Null),
                },
                livemode: false,
                api_version: API_VERSION.to_owned(),
            },
            delivery,
        }
    }
}

#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    url: String,
    secret: String,
}

impl WebhookSender {
    pub fn new(url: String, secret: String) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            // Deliveries are spawned on whichever server worker runs the request; pooled
            // connections would be tied to one worker's runtime, so don't keep any.
            .pool_max_idle_per_host(0)
            .build()?;
        Ok(Self {
            client,
            url,
            secret,
        })
    }

    /// Sends the notification in the background. Must be called from within a Tokio runtime
    /// (any request handler is).
    pub fn dispatch(&self, notification: Notification) {
        let body = match serde_json::to_vec(&notification.event) {
            Ok(body) => Bytes::from(body),
            Err(error) => {
                tracing::error!(%error, event_id = %notification.event.id, "cannot serialize webhook event");
                return;
            }
        };
        let sender = self.clone();
        let event = notification.event;
        let delivery = notification.delivery;
        tokio::spawn(async move {
            if !delivery.delay.is_zero() {
                tokio::time::sleep(delivery.delay).await;
            }
            for _ in 0..delivery.copies {
                sender.deliver(&event.id, &event.event_type, &body).await;
            }
        });
    }

    async fn deliver(&self, event_id: &str, event_type: &str, body: &Bytes) {
        let mut backoff = FIRST_RETRY_AFTER;
        for attempt in 1..=MAX_ATTEMPTS {
            let signature = sign(&self.secret, chrono::Utc::now().timestamp(), body);
            let result = self
                .client
                .post(&self.url)
                .header("content-type", "application/json; charset=utf-8")
                .header("stripe-signature", signature)
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(response) if response.status().is_success() => {
                    tracing::info!(event_id, event_type, attempt, "webhook delivered");
                    return;
                }
                Ok(response) => {
                    tracing::warn!(event_id, event_type, attempt, status = %response.status(), "webhook refused by receiver");
                }
                Err(error) => {
                    tracing::warn!(event_id, event_type, attempt, %error, "webhook delivery failed");
                }
            }
            if attempt < MAX_ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        tracing::error!(
            event_id,
            event_type,
            "webhook abandoned after {MAX_ATTEMPTS} attempts"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(directive: &str) -> Metadata {
        Metadata::from([(DIRECTIVE_KEY.to_owned(), directive.to_owned())])
    }

    #[test]
    fn reads_directives() {
        assert_eq!(
            Delivery::from_metadata(&Metadata::new()).unwrap(),
            Delivery::default()
        );
        assert_eq!(
            Delivery::from_metadata(&metadata("duplicate"))
                .unwrap()
                .copies,
            2
        );
        let both = Delivery::from_metadata(&metadata("delay_ms:250, duplicate")).unwrap();
        assert_eq!(both.delay, Duration::from_millis(250));
        assert_eq!(both.copies, 2);
        assert!(Delivery::from_metadata(&metadata("delay_ms:soon")).is_err());
        assert!(Delivery::from_metadata(&metadata("drop")).is_err());
    }
}
