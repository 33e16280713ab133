//! A local stand-in for the payment service providers, which cannot be reached from our machines.
//! Used by the fleet runner and by tests.
//!
//! Providers, each in its own module and under its own URL prefix:
//! - [`stripe`]: Stripe API v1 (`/v1/...`) and its signed webhooks.
//! - PayPal: not implemented yet. It will live in a `paypal` module with its own routes and
//!   configuration, registered next to Stripe's in [`Sandbox::build`].
//!
//! All state is in memory and lives as long as the server.

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
    /// The signing secret of the webhook endpoint (`Stripe-Signature`).
    pub stripe_webhook_secret: String,
    /// Where Stripe events are POSTed; no events are sent when `None`.
    pub webhook_url: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            stripe_secret_key: "sk_test_sandbox".to_owned(),
            stripe_webhook_secret: "whsec_sandbox".to_owned(),
            webhook_url: None,
        }
    }
}

// Secrets stay out of logs.
impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("stripe_secret_key", &"<redacted>")
            .field("stripe_webhook_secret", &"<redacted>")
            .field("webhook_url", &self.webhook_url)
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
        let server = HttpServer::new(move || {
            let stripe = stripe.clone();
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
