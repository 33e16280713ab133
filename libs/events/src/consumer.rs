//! The consuming side. Each message is applied in one database transaction together with an
//! inbox row for its event id, so a redelivered event finds its row and does nothing; the offset
//! is stored only after that transaction commits. A message that can never be processed goes to
//! `<topic>.dlq.<consumer>` with the reason, and the partition moves on.
//!
//! Under load the messages already fetched are applied as a batch: one transaction, the inbox
//! rows in one statement, the events handled one after another in their partition's order. If
//! any of them fails, the batch is rolled back and its events are applied one at a time, so a
//! poison event is dead-lettered alone and the dedup and retry rules are those of one event.

use crate::kafka::KafkaSettings;
use crate::proto::Envelope;
use crate::topics;
use anyhow::Context;
use futures::FutureExt;
use platform::metrics::EventMetrics;
use prost::Message as _;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{CommitMode, Consumer as _, ConsumerContext, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::{PgConnection, PgPool};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

/// An event as a handler sees it.
#[derive(Debug, Clone)]
pub struct ReceivedEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub subject_id: String,
    /// The business the event belongs to (events written before businesses: the demo one).
    pub business_id: Uuid,
    pub producer: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub payload: Vec<u8>,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The W3C trace context of the span that wrote the event (empty when not traced).
    pub traceparent: String,
}

impl ReceivedEvent {
    /// Decodes the payload; a payload that does not decode is poison.
    pub fn decode<T: prost::Message + Default>(&self) -> Result<T, HandlerError> {
        T::decode(self.payload.as_slice()).map_err(|e| {
            HandlerError::Permanent(anyhow::anyhow!(
                "undecodable {} payload: {e}",
                self.event_type
            ))
        })
    }

    fn from_message(message: &BorrowedMessage<'_>) -> anyhow::Result<Self> {
        let bytes = message.payload().context("the message has no value")?;
        let envelope = Envelope::decode(bytes).context("the value is not an event envelope")?;
        let event_id =
            Uuid::parse_str(&envelope.event_id).context("the envelope's event_id is not a UUID")?;
        let occurred_at = envelope
            .occurred_at
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
            .context("the envelope has no valid occurred_at")?;
        let business_id = kernel::business::business_or_demo(&envelope.business_id)
            .context("the envelope's business_id is not a UUID")?;
        Ok(Self {
            event_id,
            event_type: envelope.event_type,
            subject_id: envelope.subject_id,
            business_id,
            producer: envelope.producer,
            occurred_at,
            payload: envelope.payload,
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            traceparent: envelope.traceparent,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event can never be applied (bad payload, a rule it breaks): dead-letter it.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
    /// Something outside the event failed (database unreachable): try again.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
}

impl From<sqlx::Error> for HandlerError {
    fn from(e: sqlx::Error) -> Self {
        HandlerError::Transient(e.into())
    }
}

/// What a service does with the events it consumes. `conn` is inside the transaction that also
/// records the event in the inbox: do every write through it.
#[async_trait::async_trait]
pub trait EventHandler: Send + Sync + 'static {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError>;
}

/// How long a stopping consumer waits for its final offset commit.
const FINAL_COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Consumer {
    name: String,
    topics: Vec<String>,
    kafka: KafkaSettings,
    pool: PgPool,
    handler: Arc<dyn EventHandler>,
    /// Where dead letters go: the service's own producer when it has one.
    dead_letters: Option<FutureProducer>,
    metrics: Option<EventMetrics>,
}

/// How often librdkafka reports its statistics, from which the lag is read.
const STATISTICS_INTERVAL_MS: &str = "5000";

/// The consumer's librdkafka context: it turns the periodic statistics into
/// `consumer_lag_messages` per partition this instance holds.
struct LagReporter {
    group: String,
    metrics: Option<EventMetrics>,
}

impl ClientContext for LagReporter {
    fn stats(&self, statistics: rdkafka::Statistics) {
        let Some(metrics) = &self.metrics else { return };
        for (topic, state) in &statistics.topics {
            for (partition, partition_state) in &state.partitions {
                // -1 is librdkafka's internal unassigned partition.
                if *partition < 0 {
                    continue;
                }
                let labels = [self.group.as_str(), topic.as_str(), &partition.to_string()];
                if partition_state.consumer_lag < 0 {
                    // Unknown: the partition went to another instance in a rebalance (or has
                    // no offset yet). Its last figure must not linger here and keep an alert
                    // firing; the instance that holds it now reports it.
                    let _ = metrics.lag.remove_label_values(&labels);
                } else {
                    metrics
                        .lag
                        .with_label_values(&labels)
                        .set(partition_state.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for LagReporter {}

enum Processed {
    Done,
    Interrupted,
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long one transaction of events may take before it is abandoned and retried: a connection
/// whose server went away without a word must not stall the partition for good.
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);

async fn within_apply_timeout<T>(
    work: impl std::future::Future<Output = Result<T, HandlerError>>,
) -> Result<T, HandlerError> {
    tokio::time::timeout(APPLY_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(HandlerError::Transient(anyhow::anyhow!(
                "applying took longer than {} s and was abandoned",
                APPLY_TIMEOUT.as_secs()
            )))
        })
}

/// The most events applied in one transaction: enough that commits stop dominating, few enough
/// that the members' account locks are held for milliseconds.
const MAX_BATCH: usize = 64;

impl Consumer {
    /// `name` is the consumer group and the inbox's consumer column (the service name, usually).
    pub fn new(
        name: impl Into<String>,
        topics: &[&str],
        kafka: KafkaSettings,
        pool: PgPool,
        handler: Arc<dyn EventHandler>,
    ) -> Self {
        Self {
            name: name.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            kafka,
            pool,
            handler,
            dead_letters: None,
            metrics: None,
        }
    }

    /// Counts what happens to each event and reports the lag, in the service's metrics.
    pub fn with_metrics(mut self, metrics: EventMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count(&self, event_topic: &str, outcome: &str, n: u64) {
        if let Some(metrics) = &self.metrics {
            metrics
                .consumed
                .with_label_values(&[&self.name, event_topic, outcome])
                .inc_by(n);
        }
    }

    /// The span an event is applied in, continuing the trace of the span that wrote it.
    fn consume_span(&self, event: &ReceivedEvent) -> tracing::Span {
        let span = tracing::info_span!(
            "consume",
            otel.name = %format!("consume {}", event.topic),
            otel.kind = "consumer",
            consumer = %self.name,
            event_type = %event.event_type,
            event_id = %event.event_id
        );
        if !event.traceparent.is_empty() {
            platform::telemetry::set_parent(&span, &event.traceparent);
        }
        span
    }

    /// Writes dead letters with `producer` (the service's outbox producer) instead of a
    /// producer of its own: every producer keeps a polling thread awake, idle or not.
    pub fn with_dead_letter_producer(mut self, producer: FutureProducer) -> Self {
        self.dead_letters = Some(producer);
        self
    }

    /// Creates the consumed topics and their dead-letter topics.
    pub async fn ensure_topics(&self) -> anyhow::Result<()> {
        let mut all: Vec<String> = self.topics.clone();
        all.extend(
            self.topics
                .iter()
                .map(|t| topics::dead_letter(t, &self.name)),
        );
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        self.kafka.ensure_topics(&refs).await
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut config = self.kafka.client_config(&self.name);
        if let Some(instance) = &self.kafka.group_instance_id {
            config.set("group.instance.id", format!("{}-{instance}", self.name));
        }
        if self.metrics.is_some() {
            config.set("statistics.interval.ms", STATISTICS_INTERVAL_MS);
        }
        let reporter = LagReporter {
            group: self.name.clone(),
            metrics: self.metrics.clone(),
        };
        let consumer: StreamConsumer<LagReporter> = config
            .set("group.id", &self.name)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            // Offsets are stored by hand, after the effect commits.
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .set("enable.partition.eof", "false")
            // How long the broker may hold a fetch open when there is nothing new. A broker that
            // answers a long poll only when it times out (the default is 500 ms) would add that
            // to every event's latency; 100 ms bounds it and costs ten idle fetches a second.
            .set("fetch.wait.max.ms", "100")
            .create_with_context(reporter)
            .context("creating the Kafka consumer")?;
        let topic_refs: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topic_refs).context("subscribing")?;
        let dead_letters = match &self.dead_letters {
            Some(producer) => producer.clone(),
            None => self.kafka.producer(&format!("{}-dlq", self.name))?,
        };
        tracing::info!(consumer = %self.name, topics = ?self.topics, "consuming");

        loop {
            let message = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                message = consumer.recv() => message,
            };
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(consumer = %self.name, error = %e, "Kafka consumer error");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            // What has been fetched already joins it: at a trickle each event goes alone, at
            // once; under load many share a transaction.
            let mut batch = vec![message];
            while batch.len() < MAX_BATCH {
                match consumer.recv().now_or_never() {
                    Some(Ok(m)) => batch.push(m),
                    Some(Err(e)) => {
                        tracing::warn!(consumer = %self.name, error = %e, "Kafka consumer error");
                        break;
                    }
                    None => break,
                }
            }
            let done = self.process_batch(&batch, &dead_letters, &shutdown).await?;
            for message in &batch[..done] {
                consumer
                    .store_offset_from_message(message)
                    .context("storing the offset")?;
            }
            if done < batch.len() {
                break;
            }
        }
        // The final commit and the close block until the broker answers, which it may never do
        // (it is down, or going away with us). They run on a thread of their own, waited for a
        // bounded time: offsets not committed only mean redelivery, which the inbox absorbs.
        let name = self.name.clone();
        let (done, committed) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let result = consumer.commit_consumer_state(CommitMode::Sync);
            drop(consumer);
            let _ = done.send(result);
        });
        match tokio::time::timeout(FINAL_COMMIT_TIMEOUT, committed).await {
            Ok(Ok(Ok(())))
            | Ok(Ok(Err(rdkafka::error::KafkaError::ConsumerCommit(
                rdkafka::types::RDKafkaErrorCode::NoOffset,
            )))) => {}
            Ok(Ok(Err(e))) => {
                tracing::warn!(consumer = %name, error = %e, "final offset commit failed")
            }
            Ok(Err(_)) | Err(_) => {
                tracing::warn!(consumer = %name, "final offset commit did not finish; the events since the last commit will be redelivered")
            }
        }
        Ok(())
    }

    /// Applies the messages in order; returns how many are done (all, unless shutdown
    /// interrupted a retry).
    async fn process_batch(
        &self,
        batch: &[BorrowedMessage<'_>],
        dead_letters: &FutureProducer,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<usize> {
        if batch.len() > 1 {
            let events: Option<Vec<ReceivedEvent>> = batch
                .iter()
                .map(|m| ReceivedEvent::from_message(m).ok())
                .collect();
            if let Some(events) = events {
                match within_apply_timeout(self.apply_batch(&events)).await {
                    Ok(duplicates) => {
                        for event in &events {
                            let outcome = if duplicates.contains(&event.event_id) {
                                "duplicate"
                            } else {
                                "applied"
                            };
                            self.count(&event.topic, outcome, 1);
                        }
                        return Ok(batch.len());
                    }
                    Err(e) => {
                        tracing::debug!(consumer = %self.name, error = %e, size = batch.len(), "a batch failed; applying its events one at a time")
                    }
                }
            }
        }
        for (done, message) in batch.iter().enumerate() {
            if let Processed::Interrupted = self.process(message, dead_letters, shutdown).await? {
                return Ok(done);
            }
        }
        Ok(batch.len())
    }

    /// One transaction for the batch: its inbox rows in one statement, then each new event's
    /// effect. Any error rolls it all back. Returns the events the inbox already had.
    async fn apply_batch(&self, events: &[ReceivedEvent]) -> Result<HashSet<Uuid>, HandlerError> {
        let mut tx = self.pool.begin().await?;
        let mut new: HashSet<Uuid> = sqlx::query_scalar(
            "INSERT INTO inbox (consumer, event_id, topic, partition, kafka_offset)
             SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[])
             ON CONFLICT DO NOTHING
             RETURNING event_id",
        )
        .bind(&self.name)
        .bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.topic.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.partition).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.offset).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let mut duplicates = HashSet::new();
        for event in events {
            // `remove`: an event delivered twice within the batch is applied once.
            if !new.remove(&event.event_id) {
                tracing::debug!(event_id = %event.event_id, "duplicate delivery ignored");
                duplicates.insert(event.event_id);
                continue;
            }
            let span = self.consume_span(event);
            self.handler.handle(&mut tx, event).instrument(span).await?;
        }
        tx.commit().await?;
        Ok(duplicates)
    }

    async fn process(
        &self,
        message: &BorrowedMessage<'_>,
        dead_letters: &FutureProducer,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Processed> {
        let event = match ReceivedEvent::from_message(message) {
            Ok(event) => event,
            Err(e) => {
                self.dead_letter(message, dead_letters, &format!("{e:#}"))
                    .await?;
                return Ok(Processed::Done);
            }
        };
        let span = self.consume_span(&event);
        self.process_event(&event, message, dead_letters, shutdown)
            .instrument(span)
            .await
    }

    async fn process_event(
        &self,
        event: &ReceivedEvent,
        message: &BorrowedMessage<'_>,
        dead_letters: &FutureProducer,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Processed> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match within_apply_timeout(self.apply(event)).await {
                Ok(first_time) => {
                    let outcome = if first_time { "applied" } else { "duplicate" };
                    self.count(&event.topic, outcome, 1);
                    return Ok(Processed::Done);
                }
                Err(HandlerError::Permanent(e)) => {
                    tracing::warn!(error = %format!("{e:#}"), "dead-lettering an event that cannot be processed");
                    self.dead_letter(message, dead_letters, &format!("{e:#}"))
                        .await?;
                    return Ok(Processed::Done);
                }
                Err(HandlerError::Transient(e)) => {
                    // Holding the partition is right here: the next events would fail the same way.
                    tracing::warn!(error = %format!("{e:#}"), retry_in_ms = backoff.as_millis() as u64, "event processing failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(Processed::Interrupted),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// One transaction: the inbox row and the handler's effect commit together or not at all.
    /// Returns whether the event was new (false: the inbox had it, nothing was done).
    async fn apply(&self, event: &ReceivedEvent) -> Result<bool, HandlerError> {
        let mut tx = self.pool.begin().await?;
        let first_time = sqlx::query(
            "INSERT INTO inbox (consumer, event_id, topic, partition, kafka_offset)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&self.name)
        .bind(event.event_id)
        .bind(&event.topic)
        .bind(event.partition)
        .bind(event.offset)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !first_time {
            tracing::debug!("duplicate delivery ignored");
            return Ok(false);
        }
        self.handler.handle(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        producer: &FutureProducer,
        error: &str,
    ) -> anyhow::Result<()> {
        let topic = topics::dead_letter(message.topic(), &self.name);
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let mut headers = OwnedHeaders::new();
        if let Some(original) = message.headers() {
            for h in original.iter() {
                headers = headers.insert(Header {
                    key: h.key,
                    value: h.value,
                });
            }
        }
        let headers = headers
            .insert(Header {
                key: "dlq.error",
                value: Some(error),
            })
            .insert(Header {
                key: "dlq.topic",
                value: Some(message.topic()),
            })
            .insert(Header {
                key: "dlq.partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "dlq.offset",
                value: Some(&offset),
            })
            .insert(Header {
                key: "dlq.consumer",
                value: Some(&self.name),
            });
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        // The offset moves on only once the dead letter is safely stored.
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| anyhow::anyhow!(e))
            .with_context(|| format!("writing to dead-letter topic {topic}"))?;
        tracing::warn!(dead_letter_topic = %topic, "event dead-lettered");
        self.count(message.topic(), "dead_lettered", 1);
        Ok(())
    }
}
