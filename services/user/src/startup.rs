use crate::routes::{self, AppState};
use crate::Settings;
use actix_web::web;
use auth::{Jwks, JwtVerifier, SigningKey};
use platform::service::Service;
use platform::CancellationToken;
use service_kit::Foundation;
use std::sync::Arc;
use utoipa::OpenApi;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The keys this instance signs with and publishes.
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

impl KeyRing {
    pub fn new(keys: Vec<SigningKey>) -> anyhow::Result<Self> {
        anyhow::ensure!(!keys.is_empty(), "no signing key");
        Ok(Self { keys })
    }

    pub fn signer(&self) -> &SigningKey {
        &self.keys[0]
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().map(SigningKey::jwk).collect(),
        }
    }
}

/// Builds the service: `build(..).await?.run_until_stopped()` runs it.
pub struct Application;

impl Application {
    pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Service> {
        let mut foundation = Foundation::connect(
            "user",
            settings.service.clone(),
            &MIGRATOR,
            crate::events::PUBLISHES,
        )
        .await?;
        let keys = Arc::new(KeyRing::new(
            crate::storage::keys::load_or_create(&foundation.pool).await?,
        )?);
        // The user service verifies its own tokens with the keys it holds, not over HTTP.
        foundation.verifier = web::Data::new(JwtVerifier::from_jwks(&keys.jwks()));
        let state = web::Data::new(AppState {
            pool: foundation.pool.clone(),
            keys,
            settings,
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
