//! The transactional outbox. A service writes its events in the same transaction as the state
//! change they describe; the relay publishes them afterwards. A crash between the commit and the
//! publish loses nothing: the rows are still unpublished and the relay sends them when it runs.

use crate::envelope::OutgoingEvent;
use anyhow::Context;
use platform::metrics::EventMetrics;
use prost::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Writes `event` to the outbox inside the caller's transaction.
pub async fn enqueue(conn: &mut PgConnection, event: &OutgoingEvent) -> Result<(), sqlx::Error> {
    insert(conn, event, "").await
}

/// Writes `event` to the outbox to be published (again): a new row, or, when its id is already
/// there (a fact-derived id, see [`OutgoingEvent::of_fact`]), the existing row marked unpublished.
/// Consumers that applied it skip it by its id; one that never saw it applies it now.
pub async fn enqueue_again(
    conn: &mut PgConnection,
    event: &OutgoingEvent,
) -> Result<(), sqlx::Error> {
    insert(
        conn,
        event,
        "ON CONFLICT (event_id) DO UPDATE SET published_at = NULL",
    )
    .await
}

async fn insert(
    conn: &mut PgConnection,
    event: &OutgoingEvent,
    on_conflict: &str,
) -> Result<(), sqlx::Error> {
    let traceparent =
        (!event.envelope.traceparent.is_empty()).then_some(&event.envelope.traceparent);
    sqlx::query(&format!(
        "INSERT INTO outbox (event_id, topic, event_key, event_type, envelope, traceparent)
         VALUES ($1, $2, $3, $4, $5, $6) {on_conflict}"
    ))
    .bind(event.event_id)
    .bind(event.event_type)
    .bind(&event.subject_id)
    .bind(event.event_type)
    .bind(event.envelope.encode_to_vec())
    .bind(traceparent)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    event_id: uuid::Uuid,
    topic: String,
    event_key: String,
    event_type: String,
    envelope: Vec<u8>,
    traceparent: Option<String>,
}

/// Publishes outbox rows in order, one relay at a time per schema.
pub struct Relay {
    pool: PgPool,
    producer: FutureProducer,
    batch_size: i64,
    /// How long an idle relay waits for a notification before it looks anyway.
    idle_wait: Duration,
    metrics: Option<EventMetrics>,
    observers: Vec<PublishedObserver>,
}

/// Called with each event once Kafka has acknowledged it: a service counts what its events say
/// (points earned, charges by outcome) only once it is published, so a rolled-back write is
/// never counted. A relay that publishes a batch again after a failed commit calls it again.
pub type PublishedObserver = std::sync::Arc<dyn Fn(&crate::proto::Envelope) + Send + Sync>;

/// How often the relay measures the backlog for `outbox_pending_events` and its age.
const BACKLOG_SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// The advisory lock that makes one relay instance the publisher for a schema, so that two
/// replicas of a service never publish a member's events out of order: this class, and the
/// schema's name hashed. Each schema has its own, so services sharing a database (the fleet
/// runner's) never wait for each other.
const RELAY_LOCK_CLASS: i32 = 0x7465_7373; // "tess"

impl Relay {
    pub fn new(pool: PgPool, producer: FutureProducer) -> Self {
        Self {
            pool,
            producer,
            batch_size: 200,
            idle_wait: Duration::from_secs(1),
            metrics: None,
            observers: Vec::new(),
        }
    }

    /// Calls `observer` with every event published.
    pub fn with_observer(mut self, observer: PublishedObserver) -> Self {
        self.observers.push(observer);
        self
    }

    /// Counts published events and measures the backlog, in the service's metrics.
    pub fn with_metrics(mut self, metrics: EventMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Sets `outbox_pending_events` and `outbox_oldest_pending_age_seconds` (every instance
    /// reports the schema's whole backlog, whichever of them is publishing).
    async fn sample_backlog(&self, metrics: &EventMetrics) {
        let sampled: Result<(i64, f64), sqlx::Error> = sqlx::query_as(
            "SELECT count(*),
                    COALESCE(EXTRACT(EPOCH FROM now() - min(created_at))::float8, 0)
               FROM outbox WHERE published_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await;
        match sampled {
            Ok((pending, oldest_age)) => {
                metrics.outbox_pending.set(pending);
                metrics.outbox_oldest_age.set(oldest_age.max(0.0));
            }
            Err(e) => tracing::debug!(error = %e, "could not measure the outbox backlog"),
        }
    }

    /// How long an idle relay waits for a notification before it looks anyway (1 s unless set).
    pub fn with_idle_wait(mut self, idle_wait: Duration) -> Self {
        self.idle_wait = idle_wait;
        self
    }

    /// Publishes until shutdown. Between batches it sleeps until the schema's outbox trigger
    /// notifies it of new rows (`outbox_<schema>`), or for `idle_wait` at most, so an idle
    /// relay costs a query a second, not forty.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut wake_ups = self.listen().await;
        let mut failures = 0u32;
        let mut rounds = 0u64;
        let mut sampled_at: Option<std::time::Instant> = None;
        while !shutdown.is_cancelled() {
            if let Some(metrics) = &self.metrics {
                if sampled_at.is_none_or(|at| at.elapsed() >= BACKLOG_SAMPLE_EVERY) {
                    self.sample_backlog(metrics).await;
                    sampled_at = Some(std::time::Instant::now());
                }
            }
            let wait = match self.publish_batch().await {
                Ok(0) => {
                    failures = 0;
                    self.idle_wait
                }
                Ok(_) => {
                    failures = 0;
                    continue;
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = ?e, failures, "outbox relay could not publish; will retry");
                    Duration::from_millis(100 * 2u64.pow(failures.min(6)))
                }
            };
            rounds += 1;
            if rounds.is_multiple_of(10_000) {
                self.purge_published().await;
            }
            let notified = async {
                match wake_ups.as_mut() {
                    Some(listener) => {
                        if let Err(e) = listener.recv().await {
                            // It reconnects on the next call; until then the timeout polls.
                            tracing::debug!(error = %e, "outbox notifications interrupted");
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = notified, if failures == 0 => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        Ok(())
    }

    /// A listener on this schema's outbox channel; `None` (polling only) if it cannot listen.
    async fn listen(&self) -> Option<PgListener> {
        let listening = async {
            let schema: String = sqlx::query_scalar("SELECT current_schema()")
                .fetch_one(&self.pool)
                .await?;
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(&format!("outbox_{schema}")).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listening.await {
            Ok(listener) => Some(listener),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for outbox notifications; polling instead");
                None
            }
        }
    }

    /// Publishes up to one batch; returns how many events went out.
    pub async fn publish_batch(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await?;
        let (locked,): (bool,) =
            sqlx::query_as("SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema()))")
                .bind(RELAY_LOCK_CLASS)
                .fetch_one(&mut *tx)
                .await?;
        if !locked {
            return Ok(0);
        }
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, event_id, topic, event_key, event_type, envelope, traceparent
               FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Queue the whole batch, then wait for every acknowledgement: the idempotent producer
        // keeps them in order per partition.
        let mut deliveries = Vec::with_capacity(rows.len());
        for OutboxRow {
            event_id,
            topic,
            event_key: key,
            event_type,
            envelope,
            traceparent,
            ..
        } in &rows
        {
            let event_id = event_id.to_string();
            let mut headers = OwnedHeaders::new()
                .insert(Header {
                    key: "event_id",
                    value: Some(&event_id),
                })
                .insert(Header {
                    key: "event_type",
                    value: Some(event_type),
                });
            if let Some(tp) = traceparent {
                headers = headers.insert(Header {
                    key: "traceparent",
                    value: Some(tp),
                });
            }
            let record = FutureRecord::to(topic)
                .key(key)
                .payload(envelope)
                .headers(headers);
            let delivery = self
                .producer
                .send_result(record)
                .map_err(|(e, _)| anyhow::anyhow!(e))
                .context("queueing an event for Kafka")?;
            deliveries.push(delivery);
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(anyhow::anyhow!(e).context("Kafka refused an event")),
                Err(_) => anyhow::bail!("the Kafka producer was dropped"),
            }
        }
        if let Some(metrics) = &self.metrics {
            for row in &rows {
                metrics.published.with_label_values(&[&row.topic]).inc();
            }
        }
        if !self.observers.is_empty() {
            for row in &rows {
                // The relay wrote these bytes from an Envelope; one that does not decode is
                // published all the same, and simply not observed.
                if let Ok(envelope) = crate::proto::Envelope::decode(row.envelope.as_slice()) {
                    for observer in &self.observers {
                        observer(&envelope);
                    }
                }
            }
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        // If this commit fails after the sends, the events go out again: consumers deduplicate.
        tx.commit().await?;
        Ok(rows.len())
    }

    async fn purge_published(&self) {
        let result =
            sqlx::query("DELETE FROM outbox WHERE published_at < now() - interval '7 days'")
                .execute(&self.pool)
                .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not purge published outbox rows");
        }
    }
}
