//! The start-up every service shares, so that each service's `startup.rs` only says what is its
//! own: its migrations, the topics it publishes and consumes, its routes.

pub mod cli;

pub use clap;
pub use cli::{run, ServiceApp};
pub use platform::config::ServiceSettings;
pub use platform::service::Service;
pub use platform::CancellationToken;

use actix_web::web;
use anyhow::Context;
use auth::JwtVerifier;
use events::kafka::KafkaReadiness;
use events::kafka::Producer as FutureProducer;
use events::{Consumer, EventHandler, KafkaSettings, PublishedObserver, Relay};
use futures::FutureExt;
use platform::health::{self, HealthChecks};
use platform::http::HttpSetup;
use platform::metrics::Metrics;
use platform::redis::RedisPool;
use sqlx::migrate::{Migration, Migrator};
use sqlx::PgPool;
use std::borrow::Cow;
use std::net::TcpListener;
use std::sync::Arc;

/// The connections a service holds, made and checked at start.
pub struct Foundation {
    pub name: &'static str,
    pub settings: ServiceSettings,
    pub pool: PgPool,
    pub redis: RedisPool,
    pub kafka: KafkaSettings,
    pub producer: FutureProducer,
    pub verifier: web::Data<JwtVerifier>,
    /// The service's Prometheus registry, for its own series beside the HTTP ones.
    pub metrics: Metrics,
    consumers: Vec<Consumer>,
    observers: Vec<PublishedObserver>,
}

/// Migrates the service's schema: the tables every service shares (outbox, inbox, idempotency
/// keys) and the service's own, as one ordered list recorded in the schema's `_sqlx_migrations`.
pub async fn migrate(pool: &PgPool, service_migrations: &Migrator) -> anyhow::Result<()> {
    let mut migrations: Vec<Migration> = [
        &events::MIGRATIONS,
        &platform::idempotency::MIGRATIONS,
        service_migrations,
    ]
    .iter()
    .flat_map(|m| m.iter().cloned())
    .collect();
    migrations.sort_by_key(|m| m.version);
    let migrator = Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    };
    migrator.run(pool).await.context("running migrations")?;
    Ok(())
}

impl Foundation {
    /// Connects everything, migrates the schema and creates the topics the service publishes.
    pub async fn connect(
        name: &'static str,
        settings: ServiceSettings,
        migrator: &Migrator,
        publishes: &[&str],
    ) -> anyhow::Result<Self> {
        let pool = platform::db::connect(
            &settings.database_url,
            &settings.database_schema,
            settings.database_pool_size(),
        )
        .await?;
        migrate(&pool, migrator).await?;
        let redis = platform::redis::connect(&settings.redis_url)?;
        let kafka = KafkaSettings {
            create_topics: settings.kafka_create_topics,
            group_instance_id: settings.kafka_group_instance_id.clone(),
            ..KafkaSettings::new(settings.kafka_brokers.clone())
        };
        if !publishes.is_empty() {
            kafka
                .ensure_topics(publishes)
                .await
                .context("creating the topics this service publishes")?;
        }
        let producer = kafka.producer(name)?;
        let verifier = web::Data::new(JwtVerifier::from_url(settings.jwks_url.clone()));
        let metrics = Metrics::new(name)?;
        metrics.watch_pool(&pool)?;
        Ok(Self {
            name,
            settings,
            pool,
            redis,
            kafka,
            producer,
            verifier,
            metrics,
            consumers: Vec::new(),
            observers: Vec::new(),
        })
    }

    /// Consumes `topics` with `handler`, as the consumer group named after the service.
    pub async fn consume(
        &mut self,
        topics: &[&str],
        handler: Arc<dyn EventHandler>,
    ) -> anyhow::Result<()> {
        let consumer = Consumer::new(
            self.name,
            topics,
            self.kafka.clone(),
            self.pool.clone(),
            handler,
        )
        .with_dead_letter_producer(self.producer.clone())
        .with_metrics(self.metrics.events.clone());
        consumer
            .ensure_topics()
            .await
            .context("creating consumed and dead-letter topics")?;
        self.consumers.push(consumer);
        Ok(())
    }

    /// Calls `observer` with every event the service publishes, once Kafka has it (for
    /// counting what the events say in the service's metrics).
    pub fn observe_published(&mut self, observer: PublishedObserver) {
        self.observers.push(observer);
    }

    pub fn health_checks(&self) -> HealthChecks {
        HealthChecks::default()
            .with(health::Postgres(self.pool.clone()))
            .with(health::Redis(self.redis.clone()))
            .with(KafkaReadiness(self.producer.clone()))
            .with(JwtVerifier::readiness(self.verifier.clone().into_inner()))
    }

    /// Serves HTTP on the configured address and runs the outbox relay and the consumers beside it.
    pub fn serve<F>(
        self,
        openapi: utoipa::openapi::OpenApi,
        shutdown: CancellationToken,
        routes: F,
    ) -> anyhow::Result<Service>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let listener = TcpListener::bind((self.settings.host.as_str(), self.settings.port))
            .with_context(|| format!("binding {}:{}", self.settings.host, self.settings.port))?;
        let port = listener.local_addr()?.port();
        let health = self.health_checks().with_gauge(self.metrics.registry())?;
        let setup_events = self.metrics.events.clone();
        let setup = HttpSetup {
            health: health.clone(),
            metrics: self.metrics,
            openapi,
            workers: self.settings.http_workers,
        };
        let verifier = self.verifier.clone();
        let server = platform::http::serve(listener, setup, move |cfg| {
            cfg.app_data(verifier.clone());
            routes(cfg);
        })?;
        let relay = self.observers.into_iter().fold(
            Relay::new(self.pool.clone(), self.producer.clone()).with_metrics(setup_events),
            Relay::with_observer,
        );
        let revocations =
            follow_revocations(self.verifier.clone(), self.redis.clone(), shutdown.clone());
        let mut service = Service::new(self.name, port, server, shutdown.clone())
            .with_worker("outbox-relay", relay.run(shutdown.clone()).boxed())
            .with_worker(
                "dependency-watch",
                health.watch(DEPENDENCY_WATCH, shutdown.clone()).boxed(),
            )
            .with_worker("token-revocations", revocations.boxed());
        for consumer in self.consumers {
            service = service.with_worker("event-consumer", consumer.run(shutdown.clone()).boxed());
        }
        tracing::info!(service = self.name, port, "listening");
        Ok(service)
    }
}

/// How often `dependency_up` is refreshed between readiness probes.
const DEPENDENCY_WATCH: std::time::Duration = std::time::Duration::from_secs(15);

/// How often a service copies new token revocations from Redis: a logged-out or erased member's
/// access token stops working within this time.
const REVOCATION_SYNC: std::time::Duration = std::time::Duration::from_secs(1);

/// Keeps the verifier's copy of the revocations current. While Redis is unreachable the last copy
/// stays in force and the failure is logged once, not every second.
async fn follow_revocations(
    verifier: web::Data<JwtVerifier>,
    redis: RedisPool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut failing = false;
    loop {
        match verifier.sync_revocations(&redis).await {
            Ok(()) if failing => {
                tracing::info!("reading token revocations again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                tracing::warn!(error = %e, "cannot read token revocations from Redis; the last copy stays in force");
                failing = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(REVOCATION_SYNC) => {}
        }
    }
}

/// The `migrate` subcommand: apply the schema's migrations and return.
pub async fn migrate_only(settings: &ServiceSettings, migrator: &Migrator) -> anyhow::Result<()> {
    let pool = platform::db::connect(&settings.database_url, &settings.database_schema, 2).await?;
    migrate(&pool, migrator).await
}
