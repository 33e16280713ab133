use crate::core::reconciler::Reconciler;
use crate::routes::{self, AppState};
use crate::Settings;
use actix_web::web;
use futures::FutureExt;
use platform::idempotency::{IdempotencyStore, ResponseCache};
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
        let redis_namespace = settings.service.redis_namespace("admin");
        let mut foundation = Foundation::connect(
            "admin",
            settings.service,
            &MIGRATOR,
            crate::events::PUBLISHES,
        )
        .await?;
        foundation
            .consume(
                crate::events::CONSUMES,
                Arc::new(crate::events::AdminEvents),
            )
            .await?;
        let reconciler = Arc::new(Reconciler::new(
            foundation.pool.clone(),
            settings.reconciler,
            foundation.metrics.registry(),
        )?);
        let state = web::Data::new(AppState {
            pool: foundation.pool.clone(),
            idempotency: IdempotencyStore::new(
                foundation.pool.clone(),
                ResponseCache::new(foundation.redis.clone(), redis_namespace),
            ),
            reconciler: reconciler.clone(),
        });
        let service =
            foundation.serve(routes::ApiDoc::openapi(), shutdown.clone(), move |cfg| {
                routes::configure(cfg, state.clone())
            })?;
        Ok(service.with_worker("reconciler", reconciler.run_on_schedule(shutdown).boxed()))
    }

    /// Applies the schema's migrations and exits (the `migrate` subcommand).
    pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
        service_kit::migrate_only(&settings.service, &MIGRATOR).await
    }
}

service_kit::service_app!(
    Application,
    Settings,
    name = "admin",
    about = "The back office: read models built from every service's events."
);
