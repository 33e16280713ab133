use crate::core::keys::{self, KeyRing};
use crate::core::limits::AuthLimits;
use crate::domain::PiiCipher;
use crate::routes::{self, AppState};
use crate::{core, Settings};
use actix_web::web;
use auth::JwtVerifier;
use futures::FutureExt;
use platform::service::Service;
use platform::CancellationToken;
use secrecy::ExposeSecret;
use service_kit::Foundation;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Builds the service: `build(..).await?.run_until_stopped()` runs it.
pub struct Application;

impl Application {
    pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Service> {
        let pii = Arc::new(PiiCipher::from_base64(settings.pii_key.expose_secret())?);
        let mut foundation = Foundation::connect(
            "user",
            settings.service.clone(),
            &MIGRATOR,
            crate::events::PUBLISHES,
        )
        .await?;
        let encrypted = core::profile::encrypt_legacy_contacts(&foundation.pool, &pii).await?;
        if encrypted > 0 {
            tracing::info!(
                rows = encrypted,
                "encrypted contact details stored before encryption at rest"
            );
        }
        if let Some(secret) = &settings.reconciler_client_secret {
            core::clients::provision_internal(
                &foundation.pool,
                &auth::internal::RECONCILER,
                secret.expose_secret(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("creating the reconciler's client: {e}"))?;
        }
        let deliveries = Arc::new(core::messages::Deliveries::from_settings(&settings)?);
        foundation
            .consume(
                crate::events::CONSUMES,
                Arc::new(crate::events::UserEvents {
                    notifier: core::notifications::Notifier {
                        pii: pii.clone(),
                        push_delivered: deliveries
                            .delivers(crate::domain::messages::MessageChannel::Push),
                    },
                }),
            )
            .await?;
        let keys = Arc::new(KeyRing::load_or_create(&foundation.pool).await?);
        let social = Arc::new(core::social::Providers::from_settings(&settings)?);
        for provider in social.configured() {
            tracing::info!(provider = provider.as_str(), "social sign-in configured");
        }
        // The user service verifies its own tokens with the keys it holds, not over HTTP.
        let verifier = web::Data::new(JwtVerifier::from_jwks(&keys.jwks()));
        foundation.verifier = verifier.clone();
        let state = web::Data::new(AppState {
            core: core::Context {
                pool: foundation.pool.clone(),
                keys: keys.clone(),
                settings: settings.clone(),
                pii,
                limits: AuthLimits::new(
                    foundation.redis.clone(),
                    settings.service.redis_namespace("users"),
                    settings.auth_requests_per_minute,
                    settings.lockout_after_failures,
                ),
                redis: foundation.redis.clone(),
                social,
            },
        });
        let pool = foundation.pool.clone();
        let service =
            foundation.serve(routes::ApiDoc::openapi(), shutdown.clone(), move |cfg| {
                routes::configure(cfg, state.clone())
            })?;
        let reload_every = Duration::from_secs(settings.key_reload_secs.max(1));
        let key_reloader =
            reload_keys(keys, verifier, pool.clone(), reload_every, shutdown.clone());
        let messages = core::messages::run(pool, deliveries, shutdown.clone());
        Ok(service
            .with_worker("signing-key-reload", key_reloader.boxed())
            .with_worker("message-delivery", messages.boxed()))
    }

    /// Applies the schema's migrations and exits (the `migrate` subcommand).
    pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
        service_kit::migrate_only(&settings.service, &MIGRATOR).await
    }

    /// Adds a signing key that takes over after `activate_after_secs` (the `rotate-keys`
    /// subcommand). Returns its key id.
    pub async fn rotate_keys(
        settings: &Settings,
        activate_after_secs: i64,
    ) -> anyhow::Result<String> {
        let pool = platform::db::connect(
            &settings.service.database_url,
            &settings.service.database_schema,
            2,
        )
        .await?;
        keys::rotate(&pool, activate_after_secs).await
    }
}

async fn reload_keys(
    keys: Arc<KeyRing>,
    verifier: web::Data<JwtVerifier>,
    pool: PgPool,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(every) => {}
        }
        match keys.reload(&pool).await {
            Ok(jwks) => verifier.install(&jwks),
            Err(e) => tracing::error!(error = ?e, "reloading signing keys"),
        }
    }
}

impl service_kit::ServiceApp for Application {
    const NAME: &'static str = "user";
    const ABOUT: &'static str =
        "Members, staff, partner clients, sessions and the token signing keys.";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    type Settings = Settings;

    fn load_settings() -> anyhow::Result<Settings> {
        Settings::load()
    }

    fn service_settings(settings: &Settings) -> &service_kit::ServiceSettings {
        &settings.service
    }

    async fn migrate(settings: Settings) -> anyhow::Result<()> {
        Application::migrate(&settings).await
    }

    async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Service> {
        Application::build(settings, shutdown).await
    }

    fn extra_commands() -> Vec<service_kit::clap::Command> {
        vec![service_kit::clap::Command::new("rotate-keys")
            .about("Publish a new signing key now; it starts signing after --activate-in seconds")
            .arg(
                service_kit::clap::Arg::new("activate-in")
                    .long("activate-in")
                    .value_name("SECONDS")
                    .value_parser(service_kit::clap::value_parser!(u32))
                    .default_value(DEFAULT_ACTIVATION_SECS)
                    .help("Longer than the JWKS cache lifetime (5 minutes), so every verifier knows the key before it signs"),
            )]
    }

    async fn run_extra(
        name: &str,
        args: &service_kit::clap::ArgMatches,
        settings: Settings,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(name == "rotate-keys", "unknown command {name}");
        let secs = i64::from(*args.get_one::<u32>("activate-in").expect("has a default"));
        let kid = Application::rotate_keys(&settings, secs).await?;
        println!("new signing key {kid}: published now, signs in {secs} s; the previous key stays published for a day after that");
        Ok(())
    }
}

/// Default delay before a rotated key signs, seconds: longer than the JWKS cache lifetime (5
/// minutes), so every verifier has fetched the new key before it sees a token signed with it.
const DEFAULT_ACTIVATION_SECS: &str = "600";
