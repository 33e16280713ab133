//! Kafka clients configured the same way in every service.

use anyhow::Context;
use futures::future::BoxFuture;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
pub use rdkafka::producer::FutureProducer as Producer;
use rdkafka::producer::FutureProducer;
use rdkafka::producer::Producer as _;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port,host:port`.
    pub brokers: String,
    /// Partitions for topics this service creates.
    pub partitions: i32,
    pub replication_factor: i32,
    /// Whether `ensure_topics` creates topics; see `ServiceSettings::kafka_create_topics`.
    pub create_topics: bool,
    /// This instance's stable name in its consumer groups (Kafka's static membership): a
    /// restarted instance takes its own place back at once instead of waiting for its dead
    /// predecessor to be evicted. `None` joins as a new member each time.
    pub group_instance_id: Option<String>,
}

impl KafkaSettings {
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            partitions: 3,
            replication_factor: 1,
            create_topics: true,
            group_instance_id: None,
        }
    }

    pub fn client_config(&self, client_id: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", client_id)
            // After a broker restart, reconnect within a second: librdkafka's default backs off
            // up to 10 s, which the crash test saw as events arriving 10 to 18 s late.
            .set("reconnect.backoff.max.ms", "1000")
            .set("log_level", "4");
        config
    }

    /// An idempotent producer: a retried send never writes a message twice, and order per
    /// partition survives retries.
    pub fn producer(&self, client_id: &str) -> anyhow::Result<FutureProducer> {
        self.client_config(client_id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .set("message.timeout.ms", "30000")
            .create()
            .context("creating the Kafka producer")
    }

    /// Creates the topics that do not exist yet.
    pub async fn ensure_topics(&self, topics: &[&str]) -> anyhow::Result<()> {
        if !self.create_topics {
            return Ok(());
        }
        let admin: AdminClient<DefaultClientContext> =
            self.client_config("topic-admin")
                .create()
                .context("creating the Kafka admin client")?;
        let new_topics: Vec<NewTopic> = topics
            .iter()
            .map(|t| {
                NewTopic::new(
                    t,
                    self.partitions,
                    TopicReplication::Fixed(self.replication_factor),
                )
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = admin
            .create_topics(&new_topics, &options)
            .await
            .context("creating topics")?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => anyhow::bail!("creating topic {topic}: {code}"),
            }
        }
        Ok(())
    }
}

/// Readiness: the cluster answers a metadata request.
pub struct KafkaReadiness(pub FutureProducer);

impl platform::health::ReadinessCheck for KafkaReadiness {
    fn name(&self) -> &'static str {
        "kafka"
    }
    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        let producer = self.0.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                producer
                    .client()
                    .fetch_metadata(None, Duration::from_secs(2))
                    .map(|_| ())
            })
            .await??;
            Ok(())
        })
    }
}

/// librdkafka's in-process mock cluster: a Kafka-protocol broker living in this process, for
/// local runs and tests. Events live in memory only. It has no CreateTopics API, so every
/// platform topic is created here; dead-letter topics are created on their first message.
pub fn mock_cluster(
) -> anyhow::Result<rdkafka::mocking::MockCluster<'static, rdkafka::producer::DefaultProducerContext>>
{
    let cluster =
        rdkafka::mocking::MockCluster::new(1).context("starting the Kafka mock cluster")?;
    for topic in crate::topics::ALL {
        cluster
            .create_topic(topic, 3, 1)
            .with_context(|| format!("creating topic {topic}"))?;
    }
    Ok(cluster)
}
