use crate::routes::{self, AppState};
use crate::Settings;
use actix_web::web;
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
            "rewards",
            settings.service,
            &MIGRATOR,
            crate::events::PUBLISHES,
        )
        .await?;
        foundation
            .consume(
                crate::events::CONSUMES,
                Arc::new(crate::events::RewardsEvents),
            )
            .await?;
        let state = web::Data::new(AppState {
            pool: foundation.pool.clone(),
            redemption_wait: std::time::Duration::from_millis(settings.redemption_wait_ms),
            points: crate::core::standing::PointClient::new(&settings.point_url)?,
        });
        foundation.serve(routes::ApiDoc::openapi(), shutdown, move |cfg| {
            routes::configure(cfg, state.clone())
        })
    }

    /// Applies the schema's migrations and exits (the `migrate` subcommand).
    pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
        service_kit::migrate_only(&settings.service, &MIGRATOR).await
    }
}

service_kit::service_app!(
    Application,
    Settings,
    name = "rewards",
    about = "The reward catalog, redemptions and their codes."
);
