//! `/health/live` says the process runs; `/health/ready` says its dependencies answer, so an
//! orchestrator only routes traffic to an instance that can serve it.
//!
//! A dependency is either required (Postgres, Kafka: without it the service cannot do its work)
//! or optional (Redis: a cache and a rate-limit store whose loss the service rides out). Only a
//! required one failing makes the instance unready (503); an optional one failing leaves it
//! ready but `degraded`, so a Redis blip does not take every instance out of its load balancer.
//! Each evaluation also sets the `dependency_up` gauge, which a worker keeps fresh between probes.

use actix_web::{web, HttpResponse};
use futures::future::{join_all, BoxFuture};
use prometheus::{IntGaugeVec, Opts, Registry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Something readiness depends on: Postgres, Redis, the Kafka cluster.
pub trait ReadinessCheck: Send + Sync {
    fn name(&self) -> &'static str;
    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>>;
    /// Whether the service is unready without it (true), or only degraded (false).
    fn required(&self) -> bool {
        true
    }
}

#[derive(Clone, Default)]
pub struct HealthChecks {
    checks: Vec<Arc<dyn ReadinessCheck>>,
    /// `dependency_up{dependency}`, once registered with the service's metrics.
    gauge: Option<IntGaugeVec>,
}

impl HealthChecks {
    pub fn with(mut self, check: impl ReadinessCheck + 'static) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// Publishes each dependency's state as `dependency_up{dependency}` (1 or 0) in `registry`.
    pub fn with_gauge(mut self, registry: &Registry) -> anyhow::Result<Self> {
        let gauge = IntGaugeVec::new(
            Opts::new(
                "dependency_up",
                "Whether a dependency answered its last readiness check (1) or not (0)",
            ),
            &["dependency"],
        )?;
        registry.register(Box::new(gauge.clone()))?;
        self.gauge = Some(gauge);
        Ok(self)
    }

    /// Checks every dependency at once, each for at most two seconds.
    pub async fn evaluate(&self) -> Readiness {
        let results = join_all(self.checks.iter().map(|check| async move {
            let outcome = tokio::time::timeout(Duration::from_secs(2), check.check()).await;
            let failure = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("failing: {e}")),
                Err(_) => Some("failing: timed out".to_owned()),
            };
            (check.name(), check.required(), failure)
        }))
        .await;
        let mut status = Status::Ok;
        let mut checks = BTreeMap::new();
        for (name, required, failure) in results {
            if let Some(gauge) = &self.gauge {
                gauge
                    .with_label_values(&[name])
                    .set(i64::from(failure.is_none()));
            }
            let state = match failure {
                None => "ok".to_owned(),
                Some(failure) => {
                    status = status.max(if required {
                        Status::Unavailable
                    } else {
                        Status::Degraded
                    });
                    if required {
                        failure
                    } else {
                        format!("{failure} (optional: serving without it)")
                    }
                }
            };
            checks.insert(name, state);
        }
        Readiness { status, checks }
    }

    /// Evaluates the checks every `every` until `shutdown`, so `dependency_up` stays current
    /// between the orchestrator's probes.
    pub async fn watch(self, every: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            self.evaluate().await;
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}

/// How ready an instance is, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Serving, without an optional dependency.
    Degraded,
    /// A required dependency is down: take the instance out of the load balancer.
    Unavailable,
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    pub status: Status,
    pub checks: BTreeMap<&'static str, String>,
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

/// Redis holds caches, rate-limit counters and the idempotency mirror; every service keeps
/// answering without it (Postgres stays the record), so its loss degrades, never unreadies.
pub struct Redis(pub crate::redis::RedisPool);
impl ReadinessCheck for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }
    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(crate::redis::ping(&self.0))
    }
    fn required(&self) -> bool {
        false
    }
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
    let readiness = checks.evaluate().await;
    if readiness.status == Status::Unavailable {
        HttpResponse::ServiceUnavailable().json(readiness)
    } else {
        HttpResponse::Ok().json(readiness)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str, bool, bool);
    impl ReadinessCheck for Fixed {
        fn name(&self) -> &'static str {
            self.0
        }
        fn check(&self) -> BoxFuture<'_, anyhow::Result<()>> {
            let up = self.1;
            Box::pin(async move {
                anyhow::ensure!(up, "down");
                Ok(())
            })
        }
        fn required(&self) -> bool {
            self.2
        }
    }

    #[tokio::test]
    async fn an_optional_dependency_down_degrades_and_a_required_one_unreadies() {
        let registry = Registry::new();
        let checks = HealthChecks::default()
            .with(Fixed("postgres", true, true))
            .with(Fixed("redis", false, false))
            .with_gauge(&registry)
            .unwrap();
        let readiness = checks.evaluate().await;
        assert_eq!(readiness.status, Status::Degraded);
        assert!(readiness.checks["redis"].contains("optional"));
        let up = |name: &str| {
            registry.gather()[0]
                .get_metric()
                .iter()
                .find(|m| m.get_label()[0].value() == name)
                .map(|m| m.get_gauge().get_value())
        };
        assert_eq!(up("redis"), Some(0.0));
        assert_eq!(up("postgres"), Some(1.0));

        let down = HealthChecks::default()
            .with(Fixed("kafka", false, true))
            .with(Fixed("redis", false, false));
        assert_eq!(down.evaluate().await.status, Status::Unavailable);
    }
}
