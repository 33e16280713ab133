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

/// Builds the service: `build(..).await?.run_until_stopped()` runs it.
pub struct Application;

impl Application {
    pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Service> {
        let mut foundation = Foundation::connect(
            crate::SERVICE,
            settings.service.clone(),
            &MIGRATOR,
            crate::events::PUBLISHES,
        )
        .await?;
        let counters = crate::events::counted::ledger_counters(foundation.metrics.registry())?;
        foundation.observe_published(counters);
        let program = crate::core::program::cache();
        let balances = crate::core::balance::cache();
        foundation
            .consume(
                crate::events::CONSUMES,
                Arc::new(crate::events::PointEvents {
                    program: Arc::clone(&program),
                }),
            )
            .await?;
        let state = web::Data::new(AppState {
            pool: foundation.pool.clone(),
            idempotency: IdempotencyStore::new(
                foundation.pool.clone(),
                ResponseCache::new(
                    foundation.redis.clone(),
                    settings.service.redis_namespace("points"),
                ),
            ),
            limits: RateLimiter::new(
                foundation.redis.clone(),
                settings.service.redis_namespace("points"),
                settings.rate_limit,
            ),
            program: Arc::clone(&program),
            balances: Arc::clone(&balances),
        });
        let pool = foundation.pool.clone();
        let service =
            foundation.serve(routes::ApiDoc::openapi(), shutdown.clone(), move |cfg| {
                routes::configure(cfg, state.clone())
            })?;
        let every = std::time::Duration::from_secs(settings.jobs_interval_secs.max(1));
        Ok(service
            .with_worker(
                "program-changes",
                program.listen(pool.clone(), shutdown.clone()).boxed(),
            )
            .with_worker(
                "balance-changes",
                balances.listen(pool.clone(), shutdown.clone()).boxed(),
            )
            .with_worker(
                "point-jobs",
                crate::core::scheduler::run(pool, every, shutdown).boxed(),
            ))
    }

    /// Applies the schema's migrations and exits (the `migrate` subcommand).
    pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
        service_kit::migrate_only(&settings.service, &MIGRATOR).await
    }
}

service_kit::service_app!(
    Application,
    Settings,
    name = "point",
    about = "The points ledger: earning, holds and redemptions, tiers, expiry and balances."
);
