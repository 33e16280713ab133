//! A Stripe stand-in speaking API v1's wire format: form-encoded requests, JSON answers,
//! `Authorization: Bearer <secret key>`, `Idempotency-Key`, and signed webhook events.
//!
//! Endpoints:
//! - `POST /v1/payment_intents`, `GET /v1/payment_intents/{id}`,
//!   `GET /v1/payment_intents/search?query=metadata['k']:'v'`,
//!   `POST /v1/payment_intents/{id}/confirm`, `.../capture`, `.../cancel`
//! - `POST /v1/refunds`, `GET /v1/refunds/{id}`
//! - `POST /v1/payment_methods` (`type=card`, `card[number]`, ...): tokenises a test card number;
//!   the publishable key may call it too
//! - `GET /elements/card?key=pk_...&origin=...`: card fields a merchant's page frames, so card
//!   details go from the customer's browser to the PSP and never touch the merchant
//! - `POST /v1/webhook_endpoints` (`url=...`): where events are sent from now on
//! - `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}`, `.../expire`, and the hosted
//!   payment page `GET /checkout/{id}` a session's `url` points to
//! - `GET /v1/three_ds/{id}` and `POST /v1/three_ds/{id}/complete` (`result=approve|decline`):
//!   the 3-D Secure challenge a `requires_action` intent redirects to.
//!
//! The test payment methods are listed in [`cards::TEST_PAYMENT_METHODS`].

pub mod cards;
pub mod signature;
pub mod types;

mod auth;
mod checkout;
mod checkout_routes;
mod elements;
mod error;
mod idempotency;
mod ids;
mod params;
mod payments;
mod routes;
mod search;
mod webhooks;

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

pub use signature::sign;

use crate::SandboxConfig;
use idempotency::IdempotencyStore;
use payments::Ledger;
use webhooks::{Notification, WebhookSender};

pub(crate) use error::StripeError;
pub(crate) use routes::configure;

/// Everything the Stripe handlers share.
pub(crate) struct StripeState {
    secret_key: String,
    publishable_key: String,
    /// `http://127.0.0.1:{port}`, for links back to the sandbox (the 3-D Secure page).
    base_url: String,
    ledger: Mutex<Ledger>,
    idempotency: Arc<Mutex<IdempotencyStore>>,
    /// Where events go: set at start, or later by `POST /v1/webhook_endpoints`.
    webhooks: RwLock<Option<WebhookSender>>,
    webhook_secret: String,
    /// Tokens made by `POST /v1/payment_methods`, and the test payment method each stands for.
    card_tokens: Mutex<std::collections::HashMap<String, &'static str>>,
    /// Set once the task that expires Checkout Sessions runs.
    expiry_sweeper_started: std::sync::atomic::AtomicBool,
}

impl StripeState {
    pub(crate) fn new(config: &SandboxConfig, base_url: String) -> anyhow::Result<Self> {
        let webhooks = match &config.webhook_url {
            Some(url) => Some(WebhookSender::new(
                url.clone(),
                config.stripe_webhook_secret.clone(),
            )?),
            None => None,
        };
        Ok(Self {
            secret_key: config.stripe_secret_key.clone(),
            publishable_key: config.stripe_publishable_key.clone(),
            base_url,
            ledger: Mutex::new(Ledger::default()),
            idempotency: Arc::new(Mutex::new(IdempotencyStore::default())),
            webhooks: RwLock::new(webhooks),
            webhook_secret: config.stripe_webhook_secret.clone(),
            card_tokens: Mutex::new(std::collections::HashMap::new()),
            expiry_sweeper_started: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panic mid-operation may leave one object half-updated; for a test double, serving on
        // beats refusing every later request.
        self.ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every succeeded PaymentIntent with when it succeeded (Unix seconds), for the sandbox's
    /// settlement file.
    pub(crate) fn succeeded_payment_intents(&self) -> Vec<(types::PaymentIntent, i64)> {
        self.ledger().succeeded_intents()
    }

    /// Sends events to `url` from now on (one endpoint, like a single-endpoint Stripe account).
    fn set_webhook_endpoint(&self, url: String) -> anyhow::Result<()> {
        let sender = WebhookSender::new(url, self.webhook_secret.clone())?;
        *self.webhooks.write().unwrap_or_else(|p| p.into_inner()) = Some(sender);
        Ok(())
    }

    fn notify(&self, notifications: Vec<Notification>) {
        let guard = self.webhooks.read().unwrap_or_else(|p| p.into_inner());
        let Some(webhooks) = guard.as_ref() else {
            return;
        };
        for notification in notifications {
            webhooks.dispatch(notification);
        }
    }
}
