//! `/health/live` says the process runs; `/health/ready` says its dependencies answer, so an
//! orchestrator only routes traffic to an instance that can serve it.

use actix_web::{web, HttpResponse};
use futures::future::{join_all, BoxFuture};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Something readiness depends on: Postgres, Redis, the Kafka cluster.
pub trait ReadinessCheck: Send + Sync {
    fn name(&self) -> &'static str;
    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>>;
}

#[derive(Clone, Default)]
pub struct HealthChecks(Vec<Arc<dyn ReadinessCheck>>);

impl HealthChecks {
    pub fn with(mut self, check: impl ReadinessCheck + 'static) -> Self {
        self.0.push(Arc::new(check));
        self
    }
}

pub struct Postgres(pub sqlx::PgPool);
impl ReadinessCheck for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            sqlx::query("SELECT 1").execute(&self.0).await?;
            Ok(())
        })
    }
}

pub struct Redis(pub crate::redis::RedisPool);
impl ReadinessCheck for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }
    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(crate::redis::ping(&self.0))
    }
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    checks: BTreeMap<&'static str, String>,
}

pub fn configure(cfg: &mut web::ServiceConfig, checks: HealthChecks) {
    cfg.app_data(web::Data::new(checks))
        .route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready));
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn ready(checks: web::Data<HealthChecks>) -> HttpResponse {
    let results = join_all(checks.0.iter().map(|check| async move {
        let outcome = tokio::time::timeout(Duration::from_secs(2), check.check()).await;
        let state = match outcome {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(e)) => format!("failing: {e}"),
            Err(_) => "failing: timed out".to_owned(),
        };
        (check.name(), state)
    }))
    .await;
    let healthy = results.iter().all(|(_, state)| state == "ok");
    let body = Readiness {
        status: if healthy { "ok" } else { "unavailable" },
        checks: results.into_iter().collect(),
    };
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
