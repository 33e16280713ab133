//! Configuration shared by every service, read from the environment.
//!
//! Each service has one table of its settings ([`Setting`]) with their defaults; the same table
//! is used in production ([`Loader::from_env`]), by the fleet runner and by tests, so their
//! defaults cannot drift apart. Layering, lowest first:
//!
//! 1. the defaults: [`COMMON`] (every service), then the service's own table;
//! 2. the fleet-wide variables every service honours (`DATABASE_URL`, `REDIS_URL`,
//!    `KAFKA_BROKERS`, `KAFKA_CREATE_TOPICS`, `JWKS_URL`), when reading the environment;
//! 3. what the runner chose ([`Loader::service`], [`Loader::set`]): the fleet's private
//!    Postgres and broker, a test's database and port 0;
//! 4. `<SERVICE>__<KEY>` variables for one service (`POINT__PORT=4002`,
//!    `PAYMENT__STRIPE__SECRET_KEY=...`), when reading the environment.
//!
//! `docs/configuration.md` lists every setting; a test compares it with the tables.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// One setting of a service: its key (`jobs.max_attempts` is `<SERVICE>__JOBS__MAX_ATTEMPTS`)
/// and its default.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub key: &'static str,
    pub default: Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    Value(&'static str),
    /// No default: the service refuses to start without it.
    Required,
    /// No default: unset means the feature is off.
    Unset,
}

impl Setting {
    pub const fn new(key: &'static str, default: &'static str) -> Self {
        Self {
            key,
            default: Default::Value(default),
        }
    }

    pub const fn required(key: &'static str) -> Self {
        Self {
            key,
            default: Default::Required,
        }
    }

    pub const fn unset(key: &'static str) -> Self {
        Self {
            key,
            default: Default::Unset,
        }
    }
}

/// The settings of [`ServiceSettings`] that every service has, with their defaults. `port` and
/// `database_schema` are in each service's own table.
pub const COMMON: &[Setting] = &[
    Setting::new("host", "127.0.0.1"),
    Setting::new(
        "database_url",
        "postgres://postgres@127.0.0.1:5432/postgres",
    ),
    Setting::new("database_max_connections", "0"),
    Setting::new("redis_url", "redis://127.0.0.1:6379"),
    Setting::new("kafka_brokers", "127.0.0.1:9092"),
    Setting::new("kafka_create_topics", "true"),
    Setting::new("jwks_url", "http://127.0.0.1:3001/api/v1/auth/jwks.json"),
    Setting::new("http_workers", "0"),
    Setting::unset("kafka_group_instance_id"),
    Setting::unset("trusted_proxies"),
];

/// The variables every service honours without its prefix, and the keys they set.
pub const FLEET_WIDE: &[(&str, &str)] = &[
    ("DATABASE_URL", "database_url"),
    ("REDIS_URL", "redis_url"),
    ("KAFKA_BROKERS", "kafka_brokers"),
    ("KAFKA_CREATE_TOPICS", "kafka_create_topics"),
    ("JWKS_URL", "jwks_url"),
    ("KAFKA_GROUP_INSTANCE_ID", "kafka_group_instance_id"),
    ("TRUSTED_PROXIES", "trusted_proxies"),
];

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceSettings {
    pub host: String,
    pub port: u16,
    /// Connection string of the Postgres database; the service keeps its tables in `database_schema`.
    pub database_url: SecretString,
    pub database_schema: String,
    /// The Postgres pool's size; 0 sizes it to the machine ([`ServiceSettings::database_pool_size`]).
    pub database_max_connections: u32,
    pub redis_url: SecretString,
    /// Bootstrap servers of the Kafka-protocol cluster.
    pub kafka_brokers: String,
    /// Create missing topics at start (off where topics are managed outside the services, and
    /// for librdkafka's mock cluster, which has no CreateTopics API).
    pub kafka_create_topics: bool,
    /// Where the user service publishes its token signing keys.
    pub jwks_url: String,
    /// HTTP worker threads; 0 means one per core.
    pub http_workers: usize,
    /// This instance's stable name in its consumer groups (e.g. the pod name), so that a
    /// restart takes its place back at once; unset joins as a new member each time.
    pub kafka_group_instance_id: Option<String>,
    /// The proxies whose `X-Forwarded-For` is believed, as addresses and networks; unset, none.
    #[serde(default)]
    pub trusted_proxies: crate::client_ip::TrustedProxies,
}

/// A yes/no setting read as the services' loader reads it (`true` or `false`, in any case), for
/// the runners that read a variable themselves.
pub fn parse_flag(value: &str) -> Option<bool> {
    match value.to_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

impl ServiceSettings {
    /// The Postgres pool's size: as set, or four connections per core and at least ten (a
    /// request waits on the database far more than it computes, so a pool of one per core would
    /// leave the cores idle).
    pub fn database_pool_size(&self) -> u32 {
        match self.database_max_connections {
            0 => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
                (4 * cores).max(10)
            }
            set => set,
        }
    }

    /// A prefix for this deployment's Redis keys. Deployments are told apart by the database
    /// they use (host, port, database and schema, never the credentials): every instance of one
    /// deployment shares its keys, two deployments on one Redis (or two tests) never do.
    pub fn redis_namespace(&self, service: &str) -> String {
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

/// Builds a service's settings from its table, the runner's choices and the environment, in
/// the order of the module documentation whatever order the calls come in.
pub struct Loader {
    prefix: &'static str,
    defaults: Vec<(&'static str, &'static str)>,
    chosen: Vec<(String, String)>,
    from_env: bool,
}

impl Loader {
    /// `prefix` is the service's variable prefix (`POINT`), `table` its settings.
    pub fn new(prefix: &'static str, table: &[Setting]) -> Self {
        let defaults = COMMON
            .iter()
            .chain(table)
            .filter_map(|setting| match setting.default {
                Default::Value(value) => Some((setting.key, value)),
                Default::Required | Default::Unset => None,
            })
            .collect();
        Self {
            prefix,
            defaults,
            chosen: Vec::new(),
            from_env: false,
        }
    }

    /// Reads the fleet-wide variables and `<PREFIX>__*` from the environment (production and the
    /// fleet runner; tests leave it off so the developer's environment cannot change them).
    pub fn from_env(mut self) -> Self {
        self.from_env = true;
        self
    }

    /// The connections and address a runner chose (the fleet, a test).
    pub fn service(self, service: &ServiceSettings) -> Self {
        self.set("host", &service.host)
            .set("port", &service.port.to_string())
            .set("database_url", service.database_url.expose_secret())
            .set("database_schema", &service.database_schema)
            .set(
                "database_max_connections",
                &service.database_max_connections.to_string(),
            )
            .set("redis_url", service.redis_url.expose_secret())
            .set("kafka_brokers", &service.kafka_brokers)
            .set(
                "kafka_create_topics",
                &service.kafka_create_topics.to_string(),
            )
            .set("jwks_url", &service.jwks_url)
            .set("http_workers", &service.http_workers.to_string())
            .set_optional(
                "kafka_group_instance_id",
                service.kafka_group_instance_id.as_deref(),
            )
            .set("trusted_proxies", &service.trusted_proxies.to_string())
    }

    /// A setting the runner may have chosen.
    pub fn set_optional(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.set(key, value),
            None => self,
        }
    }

    /// One setting the runner chose: above the defaults, below `<PREFIX>__*`.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.chosen.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn load<T: DeserializeOwned>(self) -> anyhow::Result<T> {
        let prefix = self.prefix;
        let fleet_wide: Vec<(&str, String)> = if self.from_env {
            FLEET_WIDE
                .iter()
                .filter_map(|(variable, key)| Some((*key, std::env::var(variable).ok()?)))
                .collect()
        } else {
            Vec::new()
        };
        // Later defaults replace earlier ones for the same key.
        let layers = self
            .defaults
            .iter()
            .map(|(key, value)| (*key, *value))
            .chain(fleet_wide.iter().map(|(key, value)| (*key, value.as_str())))
            .chain(
                self.chosen
                    .iter()
                    .map(|(key, value)| (key.as_str(), value.as_str())),
            );
        let mut builder = config::Config::builder();
        for (key, value) in layers {
            builder = builder
                .set_default(key, typed(value))
                .with_context(|| format!("setting {key}"))?;
        }
        if self.from_env {
            builder = builder.add_source(
                config::Environment::with_prefix(prefix)
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            );
        }
        builder
            .build()
            .and_then(config::Config::try_deserialize)
            .with_context(|| format!("reading the {prefix}__* settings"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Settings {
        #[serde(flatten)]
        service: ServiceSettings,
        timeout_ms: u64,
        webhook_url: Option<String>,
    }

    const TABLE: &[Setting] = &[
        Setting::new("port", "3004"),
        Setting::new("database_schema", "admin"),
        Setting::new("timeout_ms", "10"),
        Setting::unset("webhook_url"),
    ];

    #[test]
    fn a_flag_reads_as_the_loader_reads_it() {
        for (i, value) in [
            "true", "false", "1", "0", "on", "off", "yes", "no", "TRUE", "maybe", "",
        ]
        .into_iter()
        .enumerate()
        {
            let prefix = format!("CFGTEST_FLAG{i}");
            std::env::set_var(format!("{prefix}__KAFKA_CREATE_TOPICS"), value);
            let prefix: &'static str = Box::leak(prefix.into_boxed_str());
            let loaded = Loader::new(prefix, TABLE)
                .from_env()
                .load::<Settings>()
                .ok()
                .map(|s| s.service.kafka_create_topics);
            assert_eq!(parse_flag(value), loaded, "{value:?}");
        }
    }

    #[test]
    fn the_pool_is_sized_to_the_cores_unless_set() {
        let mut settings: Settings = Loader::new("CFGTEST_POOL", TABLE).load().unwrap();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        assert_eq!(settings.service.database_max_connections, 0);
        assert_eq!(settings.service.database_pool_size(), (4 * cores).max(10));
        settings.service.database_max_connections = 3;
        assert_eq!(settings.service.database_pool_size(), 3);
    }

    #[test]
    fn the_table_alone_loads_into_a_flattened_struct() {
        let settings: Settings = Loader::new("CFGTEST_A", TABLE).load().unwrap();
        assert_eq!(settings.service.port, 3004);
        assert_eq!(settings.service.database_schema, "admin");
        assert_eq!(settings.service.http_workers, 0);
        assert!(settings.service.kafka_create_topics);
        assert_eq!(settings.timeout_ms, 10);
        assert_eq!(settings.webhook_url, None);
    }

    #[test]
    fn the_prefixed_environment_beats_what_the_runner_chose() {
        std::env::set_var("CFGTEST_B__TIMEOUT_MS", "2500");
        std::env::set_var("CFGTEST_B__PORT", "4004");
        std::env::set_var("CFGTEST_B__KAFKA_CREATE_TOPICS", "false");
        let settings: Settings = Loader::new("CFGTEST_B", TABLE)
            .set("port", "0")
            .from_env()
            .set("timeout_ms", "20")
            .load()
            .unwrap();
        assert_eq!(settings.service.port, 4004);
        assert!(!settings.service.kafka_create_topics);
        assert_eq!(settings.timeout_ms, 2500);
        // Without `from_env` the same variables change nothing.
        let settings: Settings = Loader::new("CFGTEST_B", TABLE)
            .set("timeout_ms", "20")
            .load()
            .unwrap();
        assert_eq!(settings.service.port, 3004);
        assert_eq!(settings.timeout_ms, 20);
    }

    #[test]
    fn a_malformed_value_names_the_service() {
        std::env::set_var("CFGTEST_C__TIMEOUT_MS", "soon");
        let error = Loader::new("CFGTEST_C", TABLE)
            .from_env()
            .load::<Settings>()
            .unwrap_err();
        assert!(format!("{error:#}").contains("CFGTEST_C__"), "{error:#}");
    }
}
