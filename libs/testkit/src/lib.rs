//! Test infrastructure, real all the way down: each test gets a fresh Postgres database, the
//! shared Redis, and its own librdkafka mock cluster (a Kafka-protocol broker in process).
//!
//! Postgres and Redis come from `DATABASE_URL` / `REDIS_URL`, else the standard local ports,
//! else a private server started from the installed binaries under `target/`.

pub mod host;
pub mod messaging;
pub mod tokens;

pub use host::{Member, ServiceHost};
pub use messaging::{PushReceiver, ReceivedMail, ReceivedPush, SmtpServer};
pub use tokens::TokenIssuer;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use secrecy::SecretString;
use sqlx::{Connection, PgConnection};
use std::time::{Duration, Instant};

pub struct TestInfra {
    /// A database created for this test alone.
    pub database_url: SecretString,
    pub database_name: String,
    pub redis_url: SecretString,
    pub kafka: MockCluster<'static, DefaultProducerContext>,
}

impl TestInfra {
    pub async fn start() -> anyhow::Result<Self> {
        init_logging();
        let server_url = postgres_server().await?;
        let database_name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&server_url)
            .await
            .context("connecting to the test Postgres")?;
        sqlx::query(&format!("CREATE DATABASE {database_name}"))
            .execute(&mut conn)
            .await?;
        conn.close().await.ok();
        let database_url = replace_database(&server_url, &database_name);
        let redis_url = redis_server().await?;
        let kafka = events::kafka::mock_cluster()?;
        Ok(Self {
            database_url: database_url.into(),
            database_name,
            redis_url: redis_url.into(),
            kafka,
        })
    }

    pub fn brokers(&self) -> String {
        self.kafka.bootstrap_servers()
    }

    /// Kafka settings for this test's broker; topics already exist (see `events::kafka::mock_cluster`).
    pub fn kafka_settings(&self) -> events::KafkaSettings {
        events::KafkaSettings {
            create_topics: false,
            ..events::KafkaSettings::new(self.brokers())
        }
    }

    /// Settings for a service under test: port 0, this test's database and broker.
    pub fn service_settings(
        &self,
        schema: &str,
        jwks_url: &str,
    ) -> platform::config::ServiceSettings {
        platform::config::ServiceSettings {
            host: "127.0.0.1".into(),
            port: 0,
            database_url: self.database_url.clone(),
            database_schema: schema.into(),
            database_max_connections: 10,
            redis_url: self.redis_url.clone(),
            kafka_brokers: self.brokers(),
            kafka_create_topics: false,
            jwks_url: jwks_url.into(),
            http_workers: 1,
            kafka_group_instance_id: None,
            trusted_proxies: Default::default(),
        }
    }

    /// Publishes `payload` to `topic` as a producing service's relay does: in the envelope, keyed
    /// by the member.
    pub async fn publish(
        &self,
        topic: &'static str,
        member: uuid::Uuid,
        payload: &impl prost::Message,
    ) {
        let event = events::OutgoingEvent::new("test", topic, member, payload);
        self.publish_event(topic, member, event).await
    }

    /// [`Self::publish`] of an event that happened at `occurred_at` (events that arrive out of
    /// the order they happened in).
    pub async fn publish_at(
        &self,
        topic: &'static str,
        member: uuid::Uuid,
        payload: &impl prost::Message,
        occurred_at: chrono::DateTime<chrono::Utc>,
    ) {
        let mut event = events::OutgoingEvent::new("test", topic, member, payload);
        event.envelope.occurred_at = Some(events::proto_timestamp(occurred_at));
        self.publish_event(topic, member, event).await
    }

    async fn publish_event(
        &self,
        topic: &'static str,
        member: uuid::Uuid,
        event: events::OutgoingEvent,
    ) {
        use prost::Message as _;
        let producer = self
            .kafka_settings()
            .producer("test")
            .expect("a test producer");
        producer
            .send(
                rdkafka::producer::FutureRecord::to(topic)
                    .key(&member.to_string())
                    .payload(&event.envelope.encode_to_vec()),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("the mock broker takes the event");
    }

    /// The payloads of the first `expected` events on `topic` (and any that follow within half
    /// a second: duplicates show up), decoded from their envelopes.
    pub async fn published<M: prost::Message + Default>(
        &self,
        topic: &'static str,
        expected: usize,
    ) -> Vec<M> {
        let brokers = self.brokers();
        let messages = tokio::task::spawn_blocking(move || {
            read_topic(&brokers, topic, expected, Duration::from_secs(15))
        })
        .await
        .expect("the topic reader finishes")
        .expect("the topic can be read");
        messages
            .into_iter()
            .map(|m| {
                let envelope = <events::proto::Envelope as prost::Message>::decode(
                    m.payload.unwrap_or_default().as_slice(),
                )
                .expect("an event envelope");
                M::decode(envelope.payload.as_slice()).expect("the topic's payload type")
            })
            .collect()
    }

    /// A pool on this test's database with `search_path` set to `schema`.
    pub async fn pool(&self, schema: &str) -> anyhow::Result<sqlx::PgPool> {
        platform::db::connect(&self.database_url, schema, 5).await
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // postgres://user@host:port/dbname -> swap the last path segment.
    let prefix_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[prefix_end..].find('/') {
        Some(slash) => &base[..prefix_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

async fn postgres_server() -> anyhow::Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Ok(url);
    }
    if localinfra::answers("127.0.0.1:5432").await {
        return Ok("postgres://postgres@127.0.0.1:5432/postgres".into());
    }
    let handle = localinfra::PrivatePostgres::for_tests()
        .ensure_running()
        .await?;
    Ok(handle.url.clone())
}

/// The Redis tests use: `REDIS_URL`, else the standard local port, else a private server.
pub async fn redis_server() -> anyhow::Result<String> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Ok(url);
    }
    if localinfra::answers("127.0.0.1:6379").await {
        return Ok("redis://127.0.0.1:6379".into());
    }
    let handle = localinfra::PrivateRedis::for_tests()
        .ensure_running()
        .await?;
    Ok(handle.url.clone())
}

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// A message read back from a topic.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub partition: i32,
    pub offset: i64,
}

impl RawMessage {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Reads every message of `topic` from the start, until `expected` have arrived or `timeout`
/// passes, then keeps reading briefly to catch extra (duplicate) messages. No consumer group:
/// the test sees the topic as it is.
pub fn read_topic(
    brokers: &str,
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<RawMessage>> {
    use rdkafka::message::Headers;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("test-reader-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(5))?;
    let partitions = metadata
        .topics()
        .first()
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        assignment.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let mut messages = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut settle_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now > deadline || settle_until.is_some_and(|t| now > t) {
            break;
        }
        if let Some(result) = consumer.poll(Duration::from_millis(100)) {
            let m = result?;
            messages.push(RawMessage {
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                            .collect()
                    })
                    .unwrap_or_default(),
                partition: m.partition(),
                offset: m.offset(),
            });
        }
        if messages.len() >= expected && settle_until.is_none() {
            settle_until = Some(Instant::now() + Duration::from_millis(500));
        }
    }
    Ok(messages)
}

/// Polls `check` until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            anyhow::bail!("condition not met within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts an RFC 9457 answer: its status, media type and stable `type`; returns the body.
pub async fn assert_problem(
    response: reqwest::Response,
    status: u16,
    problem_type: &str,
) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/problem+json"),
        "{content_type}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        format!("urn:tessera:problem:{problem_type}"),
        "{body}"
    );
    body
}

/// The fields a validation problem names, in order.
pub fn field_errors(problem: &serde_json::Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A service's HTTP API as tests call it: JSON bodies, bearer tokens, idempotency keys.
#[derive(Clone)]
pub struct ApiClient {
    pub http: reqwest::Client,
    /// `http://127.0.0.1:{port}`
    pub base: String,
}

impl ApiClient {
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.into(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs `body` as JSON with `token`, and `key` as the `Idempotency-Key` when given.
    pub async fn post(
        &self,
        token: &str,
        path: &str,
        key: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let mut request = self.http.post(self.url(path)).bearer_auth(token).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.expect("the service answers")
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("the service answers")
    }

    /// Any request: `token` when given, `body` as JSON when given.
    pub async fn send(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("the service answers")
    }

    /// POSTs `body` as JSON without a token (registration, login, public endpoints).
    pub async fn post_public(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.send(reqwest::Method::POST, None, path, Some(body))
            .await
    }

    pub async fn delete(&self, token: &str, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::DELETE, Some(token), path, None)
            .await
    }
}

/// The values of the samples of metric `name` on a Prometheus `/metrics` page whose labels
/// include every pair of `labels` (none: every sample of the metric).
pub fn metric_samples(page: &str, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse().ok())
            .flatten()
        })
        .collect()
}
