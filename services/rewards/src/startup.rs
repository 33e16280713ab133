use crate::core::{
    self,
    campaigns::CampaignRuntime,
    clock::{SharedClock, SystemClock},
};
use crate::domain::campaigns::RewardPolicy;
use crate::routes::{self, AppState};
use crate::Settings;
use actix_web::web;
use anyhow::Context;
use futures::FutureExt;
use platform::service::Service;
use platform::CancellationToken;
use service_kit::Foundation;
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Builds the service: `build(..).await?.run_until_stopped()` runs it.
pub struct Application;

impl Application {
    pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Service> {
        Self::build_with_clock(settings, Arc::new(SystemClock), shutdown).await
    }

    /// The service with campaigns running on `clock` (tests move a manual clock).
    pub async fn build_with_clock(
        settings: Settings,
        clock: SharedClock,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Service> {
        let campaigns = Arc::new(CampaignRuntime {
            clock,
            reward: RewardPolicy {
                max_attempts: settings.campaign_reward_attempts.max(1),
                base_delay: chrono::Duration::seconds(settings.campaign_reward_retry_secs.max(1)),
            },
            window_notice: chrono::Duration::hours(settings.campaign_window_notice_hours.max(0)),
        });
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
                Arc::new(crate::events::RewardsEvents {
                    campaigns: campaigns.clone(),
                }),
            )
            .await?;
        let state = web::Data::new(AppState {
            pool: foundation.pool.clone(),
            redemption_wait: std::time::Duration::from_millis(settings.redemption_wait_ms),
            points: crate::core::standing::PointClient::new(&settings.point_url)?,
            campaigns: campaigns.clone(),
        });
        let pool = foundation.pool.clone();
        let mut service =
            foundation.serve(routes::ApiDoc::openapi(), shutdown.clone(), move |cfg| {
                routes::configure(cfg, state.clone())
            })?;
        service = service.with_worker(
            "campaign-timers",
            core::campaigns::run_timers(
                pool.clone(),
                campaigns.clone(),
                Duration::from_millis(settings.campaign_timer_interval_ms.max(10)),
                shutdown.clone(),
            )
            .boxed(),
        );
        if let Some(dir) = settings.settlement_dir.as_deref().filter(|d| !d.is_empty()) {
            let dir = std::path::PathBuf::from(dir);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the settlement directory {}", dir.display()))?;
            service = service.with_worker(
                "settlement-directory",
                core::settlements::watch_directory(
                    pool,
                    campaigns,
                    dir,
                    kernel::DEMO_BUSINESS_ID,
                    Duration::from_millis(settings.settlement_scan_interval_ms.max(10)),
                    shutdown,
                )
                .boxed(),
            );
        }
        Ok(service)
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
    about = "The reward catalog, redemptions and their codes, and goal campaigns."
);
