use crate::connectors::{
    Connector, Connectors, PaypalConnector, PspMetrics, RoutingRules, StripeConnector,
};
use crate::core::{self, Payments};
use crate::routes::{self, AppState};
use crate::Settings;
use actix_web::web;
use futures::FutureExt;
use platform::idempotency::{IdempotencyStore, ResponseCache};
use platform::rate_limit::RateLimiter;
use platform::service::Service;
use platform::CancellationToken;
use service_kit::Foundation;
use std::sync::Arc;
use utoipa::OpenApi;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How often the PSP job queue's depth is measured for the metrics.
const QUEUE_REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// Builds the service: `build(..).await?.run_until_stopped()` runs it.
pub struct Application;

impl Application {
    pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Service> {
        let mut foundation = Foundation::connect(
            "payment",
            settings.service.clone(),
            &MIGRATOR,
            crate::events::PUBLISHES,
        )
        .await?;
        let registry = foundation.metrics.registry().clone();
        let psp_metrics = PspMetrics::register(&registry)?;
        let connectors: Vec<Arc<dyn Connector>> = vec![
            psp_metrics.meter(Arc::new(StripeConnector::new(&settings.stripe)?)),
            psp_metrics.meter(Arc::new(PaypalConnector::new(&settings.paypal)?)),
        ];
        let connectors = Arc::new(Connectors::new(
            connectors,
            RoutingRules::parse(&settings.routing)?,
        )?);
        foundation.observe_published(crate::events::counted::charge_counters(&registry)?);
        foundation
            .consume(
                crate::events::CONSUMES,
                Arc::new(crate::events::consumes::PaymentEvents),
            )
            .await?;
        let payments = Payments::new(foundation.pool.clone(), connectors, settings.jobs.clone());
        let pool = foundation.pool.clone();
        let state = web::Data::new(AppState {
            payments: payments.clone(),
            idempotency: IdempotencyStore::new(
                foundation.pool.clone(),
                ResponseCache::new(
                    foundation.redis.clone(),
                    settings.service.redis_namespace("payments"),
                ),
            ),
            limits: RateLimiter::new(
                foundation.redis.clone(),
                settings.service.redis_namespace("payments"),
                settings.rate_limit,
            ),
        });
        let service =
            foundation.serve(routes::ApiDoc::openapi(), shutdown.clone(), move |cfg| {
                routes::configure(cfg, state.clone())
            })?;
        let queue =
            core::worker::report_queue(pool, registry, QUEUE_REPORT_EVERY, shutdown.clone());
        Ok(service
            .with_worker("psp-jobs", core::worker::run(payments, shutdown).boxed())
            .with_worker("job-queue-metrics", queue.boxed()))
    }

    /// Applies the schema's migrations and exits (the `migrate` subcommand).
    pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
        service_kit::migrate_only(&settings.service, &MIGRATOR).await
    }
}

service_kit::service_app!(
    Application,
    Settings,
    name = "payment",
    about = "Charges, refunds and withdrawals through payment service providers."
);
