//! One service under test, whatever the service: a fresh database, the shared Redis, its own
//! mock broker, and tokens signed by a key whose JWKS the service trusts. Each service's
//! `tests/api/helpers.rs` wraps it with the fixtures and typed calls of its own API.

use crate::{ApiClient, TestInfra, TokenIssuer};
use auth::Role;
use platform::config::ServiceSettings;
use platform::service::Service;
use platform::CancellationToken;
use sqlx::PgPool;
use std::future::Future;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub struct ServiceHost {
    pub infra: TestInfra,
    pub tokens: TokenIssuer,
    /// The service's HTTP API.
    pub api: ApiClient,
    /// The service's schema in this test's database, for assertions on what it stored.
    pub pool: PgPool,
    pub port: u16,
    shutdown: CancellationToken,
    running: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A member with a token.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: Uuid,
    pub token: String,
}

impl ServiceHost {
    /// Builds the service with `build` from settings for this test (port 0, the test's
    /// database, broker and JWKS), starts it and waits until it answers.
    pub async fn start<B, Fut>(schema: &str, build: B) -> anyhow::Result<Self>
    where
        B: FnOnce(ServiceSettings, CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<Service>>,
    {
        let infra = TestInfra::start().await?;
        let tokens = TokenIssuer::start().await?;
        let shutdown = CancellationToken::new();
        let service = build(
            infra.service_settings(schema, tokens.jwks_url()),
            shutdown.clone(),
        )
        .await?;
        let port = service.port;
        let running = Some(tokio::spawn(service.run_until_stopped()));
        let pool = infra.pool(schema).await?;
        let api = ApiClient::new(format!("http://127.0.0.1:{port}"));
        Ok(Self {
            infra,
            tokens,
            api,
            pool,
            port,
            shutdown,
            running,
        })
    }

    /// Stops the service as a deployment would, keeping its database, broker and JWKS for
    /// [`Self::resume`]: what it committed and what waits in the broker are all the next process
    /// will have, as after a crash between two steps of a flow.
    pub async fn halt(&mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.await??;
        }
        Ok(())
    }

    /// Starts the service again, built by `build`, after [`Self::halt`].
    pub async fn resume<B, Fut>(&mut self, schema: &str, build: B) -> anyhow::Result<()>
    where
        B: FnOnce(ServiceSettings, CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<Service>>,
    {
        self.shutdown = CancellationToken::new();
        let service = build(
            self.infra.service_settings(schema, self.tokens.jwks_url()),
            self.shutdown.clone(),
        )
        .await?;
        self.port = service.port;
        self.api = ApiClient::new(format!("http://127.0.0.1:{}", self.port));
        self.running = Some(tokio::spawn(service.run_until_stopped()));
        Ok(())
    }

    /// A new member (role customer) with a token of their own.
    pub fn member(&self) -> Member {
        let id = Uuid::now_v7();
        Member {
            id,
            token: self.tokens.member(id),
        }
    }

    /// A token of a staff account with `role`.
    pub fn staff(&self, role: Role) -> String {
        self.tokens.user(Uuid::now_v7(), role)
    }

    /// A token of a new partner client carrying exactly `scopes`.
    pub fn partner(&self, scopes: &[&str]) -> String {
        self.tokens.partner(Uuid::now_v7(), scopes)
    }

    /// Stops the service as a deployment would (drain, finish the current events) and returns
    /// how its run ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.running.take() {
            Some(running) => running.await?,
            None => Ok(()),
        }
    }
}

impl Drop for ServiceHost {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
