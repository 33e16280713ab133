//! Configuration shared by every service, read from the environment.
//!
//! Layering, lowest first: defaults in code, the fleet-wide variables every service honours
//! (`DATABASE_URL`, `REDIS_URL`, `KAFKA_BROKERS`, `JWKS_URL`), then `<SERVICE>__<KEY>` variables
//! for one service (e.g. `POINT__PORT=4002`, `PAYMENT__STRIPE__SECRET_KEY=...`).

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceSettings {
    #[serde(default = "default_host")]
    pub host: String,
    pub port: u16,
    /// Connection string of the Postgres database; the service keeps its tables in `database_schema`.
    #[serde(default = "default_database_url")]
    pub database_url: SecretString,
    pub database_schema: String,
    #[serde(default = "default_max_connections")]
    pub database_max_connections: u32,
    #[serde(default = "default_redis_url")]
    pub redis_url: SecretString,
    /// Bootstrap servers of the Kafka-protocol cluster.
    #[serde(default = "default_kafka_brokers")]
    pub kafka_brokers: String,
    /// Create missing topics at start (off where topics are managed outside the services, and
    /// for librdkafka's mock cluster, which has no CreateTopics API).
    #[serde(default = "default_true")]
    pub kafka_create_topics: bool,
    /// Where the user service publishes its token signing keys.
    #[serde(default = "default_jwks_url")]
    pub jwks_url: String,
    /// HTTP worker threads; 0 means one per core.
    #[serde(default)]
    pub http_workers: usize,
}

impl ServiceSettings {
    /// A prefix for this deployment's Redis keys. Deployments are told apart by the database
    /// they use (host, port, database and schema, never the credentials): every instance of one
    /// deployment shares its keys, two deployments on one Redis (or two tests) never do.
    pub fn redis_namespace(&self, service: &str) -> String {
        use secrecy::ExposeSecret;
        use sha2::Digest;
        let url = self.database_url.expose_secret();
        let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let location = without_scheme
            .rsplit_once('@')
            .map_or(without_scheme, |(_, rest)| rest);
        let location = location.split('?').next().unwrap_or_default();
        let digest = sha2::Sha256::digest(format!("{location}/{}", self.database_schema));
        format!("{service}:{}", hex::encode(&digest[..6]))
    }
}

fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_database_url() -> SecretString {
    "postgres://postgres@127.0.0.1:5432/postgres".into()
}
fn default_max_connections() -> u32 {
    10
}
fn default_redis_url() -> SecretString {
    "redis://127.0.0.1:6379".into()
}
fn default_kafka_brokers() -> String {
    "127.0.0.1:9092".into()
}
fn default_true() -> bool {
    true
}
fn default_jwks_url() -> String {
    "http://127.0.0.1:3001/api/v1/auth/jwks.json".into()
}

/// Settings flattened into a service's own struct are deserialized without conversions, so a
/// number or boolean given as text must become a typed value first (as environment variables
/// with `try_parsing` do).
fn typed(value: &str) -> config::Value {
    if let Ok(number) = value.parse::<i64>() {
        number.into()
    } else if let Ok(flag) = value.parse::<bool>() {
        flag.into()
    } else {
        value.into()
    }
}

/// Loads a service's settings. `prefix` is the service's variable prefix (`POINT`), `defaults`
/// are `(key, value)` pairs such as `("port", "3002")` that the service supplies.
pub fn load<T: DeserializeOwned>(prefix: &str, defaults: &[(&str, &str)]) -> anyhow::Result<T> {
    let mut builder = config::Config::builder();
    for (key, value) in defaults {
        builder = builder.set_default(*key, typed(value))?;
    }
    for (variable, key) in [
        ("DATABASE_URL", "database_url"),
        ("REDIS_URL", "redis_url"),
        ("KAFKA_BROKERS", "kafka_brokers"),
        ("KAFKA_CREATE_TOPICS", "kafka_create_topics"),
        ("JWKS_URL", "jwks_url"),
    ] {
        builder =
            builder.set_override_option(key, std::env::var(variable).ok().map(|v| typed(&v)))?;
    }
    let settings = builder
        .add_source(
            config::Environment::with_prefix(prefix)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        )
        .build()?;
    Ok(settings.try_deserialize()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Settings {
        #[serde(flatten)]
        service: ServiceSettings,
        timeout_ms: u64,
    }

    #[test]
    fn defaults_and_overrides_load_into_a_flattened_struct() {
        std::env::set_var("CFGTEST__TIMEOUT_MS", "2500");
        std::env::set_var("CFGTEST__KAFKA_CREATE_TOPICS", "false");
        let settings: Settings = load(
            "CFGTEST",
            &[
                ("port", "3004"),
                ("database_schema", "admin"),
                ("timeout_ms", "10"),
            ],
        )
        .unwrap();
        assert_eq!(settings.service.port, 3004);
        assert_eq!(settings.service.database_schema, "admin");
        assert!(!settings.service.kafka_create_topics);
        assert_eq!(settings.timeout_ms, 2500);
    }
}
