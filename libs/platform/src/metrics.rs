//! Prometheus metrics. Each service instance has its own registry (the fleet runner hosts all
//! five in one process, and their series must not mix).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::time::Instant;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// The outbox relay's and the consumers' series.
    pub events: EventMetrics,
}

/// What the event plumbing reports: how far publishing and consuming are behind, and what
/// happened to each event consumed.
#[derive(Clone)]
pub struct EventMetrics {
    /// `events_published_total{topic}`.
    pub published: IntCounterVec,
    /// `events_consumed_total{group, topic, outcome}`: outcome `applied`, `duplicate` (the inbox
    /// had it already) or `dead_lettered`.
    pub consumed: IntCounterVec,
    /// `consumer_lag_messages{group, topic, partition}`: messages on the partition not consumed yet.
    pub lag: IntGaugeVec,
    /// `outbox_pending_events`: written, not yet published.
    pub outbox_pending: IntGauge,
    /// `outbox_oldest_pending_age_seconds`: how long the oldest of those has waited (0 when none).
    pub outbox_oldest_age: Gauge,
}

impl EventMetrics {
    fn register(registry: &Registry) -> anyhow::Result<Self> {
        let events = Self {
            published: IntCounterVec::new(
                Opts::new("events_published_total", "Events published to Kafka, by topic"),
                &["topic"],
            )?,
            consumed: IntCounterVec::new(
                Opts::new(
                    "events_consumed_total",
                    "Events consumed, by consumer group, topic and outcome (applied, duplicate, dead_lettered)",
                ),
                &["group", "topic", "outcome"],
            )?,
            lag: IntGaugeVec::new(
                Opts::new(
                    "consumer_lag_messages",
                    "Messages on a partition the consumer group has not consumed yet",
                ),
                &["group", "topic", "partition"],
            )?,
            outbox_pending: IntGauge::new(
                "outbox_pending_events",
                "Events written to the outbox and not yet published",
            )?,
            outbox_oldest_age: Gauge::new(
                "outbox_oldest_pending_age_seconds",
                "Age of the oldest event not yet published, seconds (0 when none)",
            )?,
        };
        registry.register(Box::new(events.published.clone()))?;
        registry.register(Box::new(events.consumed.clone()))?;
        registry.register(Box::new(events.lag.clone()))?;
        registry.register(Box::new(events.outbox_pending.clone()))?;
        registry.register(Box::new(events.outbox_oldest_age.clone()))?;
        Ok(events)
    }
}

/// `db_pool_connections{state}` and `db_pool_max_connections`, read from the pool at each scrape.
struct PoolCollector {
    pool: sqlx::PgPool,
    connections: IntGaugeVec,
    max: IntGauge,
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        let mut descs = self.connections.desc();
        descs.extend(self.max.desc());
        descs
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let size = i64::from(self.pool.size());
        let idle = i64::try_from(self.pool.num_idle()).unwrap_or(i64::MAX);
        self.connections.with_label_values(&["idle"]).set(idle);
        self.connections
            .with_label_values(&["in_use"])
            .set((size - idle).max(0));
        self.max
            .set(i64::from(self.pool.options().get_max_connections()));
        let mut families = self.connections.collect();
        families.extend(self.max.collect());
        families
    }
}

impl Metrics {
    pub fn new(service: &str) -> anyhow::Result<Self> {
        let registry = Registry::new_custom(
            None,
            Some(
                [("service".to_owned(), service.to_owned())]
                    .into_iter()
                    .collect(),
            ),
        )?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route", "method"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        let events = EventMetrics::register(&registry)?;
        Ok(Self {
            registry,
            requests,
            latency,
            events,
        })
    }

    /// Reports the use of the service's Postgres pool.
    pub fn watch_pool(&self, pool: &sqlx::PgPool) -> anyhow::Result<()> {
        let collector = PoolCollector {
            pool: pool.clone(),
            connections: IntGaugeVec::new(
                Opts::new(
                    "db_pool_connections",
                    "Connections of the Postgres pool, by state (idle, in_use)",
                ),
                &["state"],
            )?,
            max: IntGauge::new(
                "db_pool_max_connections",
                "The most connections the Postgres pool opens",
            )?,
        };
        self.registry.register(Box::new(collector))?;
        Ok(())
    }

    /// For services' own series (events published, consumer lag, ...).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    /// The exposition text, as `/metrics` serves it.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Middleware recording every request. The route label is the matched pattern
/// (`/api/v1/points/{user_id}/balance`), never the raw path, so member ids stay out of metrics.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        metrics.observe(
            &route,
            &method,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(response)
}

pub fn configure(cfg: &mut web::ServiceConfig, metrics: Metrics) {
    cfg.app_data(web::Data::new(metrics))
        .route("/metrics", web::get().to(render));
}

async fn render(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}
