//! A local stand-in for the payment service providers, which cannot be reached from our machines.
//! Used by the fleet runner and by tests.
//!
//! Providers, each in its own module and under its own URL prefix:
//! - [`stripe`]: Stripe API v1 (`/v1/...`) and its signed webhooks.
//! - [`paypal`]: PayPal's REST API (`/v1/oauth2/token`, `/v2/checkout/orders`, ...) and its
//!   webhooks, verified through the API.
//!
//! The sandbox's own endpoints, which no provider has (controls for local runs and tests go
//! under `/sandbox/`):
//! - `GET /health`: `{"status": "ok"}` once the server answers.
//! - [`settlements`]: the card processor's nightly settlement file for the load-goal campaign.
//!   `POST /sandbox/settlements/bank-transfers` (JSON `member_id`, `amount_minor`, `currency`,
//!   optional `transacted_at`) records a delayed load and answers `201`
//!   `{"transaction_id": "bt_..."}`; `GET /sandbox/settlements/file?settled_on=YYYY-MM-DD`
//!   (optional `since`/`until`, RFC 3339, a `[since, until)` window on `transacted_at`) answers
//!   `text/csv` with
//!   `transaction_id,member_id,type,amount_minor,currency,transacted_at,settled_on`: one
//!   `instant` line per succeeded Stripe PaymentIntent with `metadata[kind]=load` (our
//!   `metadata[charge_id]` and `metadata[member_id]`) and one `bank_transfer` line per recorded
//!   transfer, ordered by `transacted_at` then `transaction_id`. Bad input answers `400` with
//!   the Stripe-shaped error body the sandbox uses everywhere.
//!
//! All state is in memory and lives as long as the server.

mod html;
pub mod paypal;
pub mod settlements;
pub mod stripe;

use std::fmt;
use std::net::TcpListener;
use std::time::Instant;

use actix_web::dev::{Server, ServerHandle, Service as _};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// How long a graceful stop waits for in-flight requests, such as a `pm_card_timeout` answer
/// that is held back for 30 seconds, before dropping them.
const SHUTDOWN_TIMEOUT_SECS: u64 = 5;

#[derive(Clone)]
pub struct SandboxConfig {
    /// The key clients must send as `Authorization: Bearer <key>`.
    pub stripe_secret_key: String,
    /// The key a merchant's web page may show: it loads the card fields and tokenises cards,
    /// nothing else.
    pub stripe_publishable_key: String,
    /// The signing secret of the webhook endpoint (`Stripe-Signature`).
    pub stripe_webhook_secret: String,
    /// Where Stripe events are POSTed; no events are sent when `None`.
    pub webhook_url: Option<String>,
    /// PayPal REST app credentials, exchanged for access tokens.
    pub paypal_client_id: String,
    pub paypal_client_secret: String,
    /// The id PayPal gives the registered webhook; receivers send it when verifying events.
    pub paypal_webhook_id: String,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            stripe_secret_key: "sk_test_sandbox".to_owned(),
            stripe_publishable_key: "pk_test_sandbox".to_owned(),
            stripe_webhook_secret: "whsec_sandbox".to_owned(),
            webhook_url: None,
            paypal_client_id: "sandbox-client".to_owned(),
            paypal_client_secret: "sandbox-secret".to_owned(),
            paypal_webhook_id: "WH-SANDBOX".to_owned(),
        }
    }
}

// Secrets stay out of logs.
impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("stripe_secret_key", &"<redacted>")
            .field("stripe_publishable_key", &self.stripe_publishable_key)
            .field("stripe_webhook_secret", &"<redacted>")
            .field("webhook_url", &self.webhook_url)
            .field("paypal_client_id", &self.paypal_client_id)
            .field("paypal_client_secret", &"<redacted>")
            .finish()
    }
}

pub struct Sandbox {
    port: u16,
    server: Server,
}

impl Sandbox {
    /// Builds the server on `listener` (bind port 0 in tests). Nothing is served until
    /// [`Sandbox::run_until_stopped`] is polled.
    pub fn build(listener: TcpListener, config: SandboxConfig) -> anyhow::Result<Sandbox> {
        let port = listener.local_addr()?.port();
        let stripe = web::Data::new(stripe::StripeState::new(&config, base_url(port))?);
        let paypal = web::Data::new(paypal::PaypalState::new(&config, base_url(port)));
        let settlements = web::Data::new(settlements::SettlementState::default());
        let server = HttpServer::new(move || {
            let stripe = stripe.clone();
            let paypal = paypal.clone();
            let settlements = settlements.clone();
            App::new()
                .wrap_fn(|req, srv| {
                    let method = req.method().clone();
                    let path = req.path().to_owned();
                    let started = Instant::now();
                    let response = srv.call(req);
                    async move {
                        let response = response.await?;
                        tracing::info!(
                            %method,
                            %path,
                            status = response.status().as_u16(),
                            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                            "psp-sandbox request"
                        );
                        Ok(response)
                    }
                })
                .route("/health", web::get().to(health))
                .configure(move |cfg| stripe::configure(cfg, stripe))
                .configure(move |cfg| paypal::configure(cfg, paypal))
                // Reads the Stripe account registered above.
                .configure(move |cfg| settlements::configure(cfg, settlements))
                .default_service(web::to(unknown_route))
        })
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen(listener)?
        .run();
        Ok(Sandbox { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> String {
        base_url(self.port)
    }

    /// Stops the server: `handle().stop(true).await` for a graceful stop.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn base_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Unknown paths and methods answer like Stripe's API does.
async fn unknown_route(req: HttpRequest) -> HttpResponse {
    stripe::StripeError::unrecognized_url(req.method().as_str(), req.path()).into_http()
}

/// Points the sandbox's Stripe and PayPal webhooks at the given endpoints, through the same
/// API calls a merchant makes at each provider (for the fleet runner and tests).
pub async fn register_webhooks(
    sandbox_url: &str,
    config: &SandboxConfig,
    stripe_endpoint: &str,
    paypal_endpoint: &str,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    http.post(format!("{sandbox_url}/v1/webhook_endpoints"))
        .bearer_auth(&config.stripe_secret_key)
        .form(&[("url", stripe_endpoint)])
        .send()
        .await?
        .error_for_status()?;
    let token: serde_json::Value = http
        .post(format!("{sandbox_url}/v1/oauth2/token"))
        .basic_auth(&config.paypal_client_id, Some(&config.paypal_client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    http.post(format!("{sandbox_url}/v1/notifications/webhooks"))
        .bearer_auth(token["access_token"].as_str().unwrap_or_default())
        .json(&serde_json::json!({ "url": paypal_endpoint, "event_types": [{ "name": "*" }] }))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
