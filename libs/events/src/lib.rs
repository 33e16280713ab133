//! Events between services: protobuf schemas in an envelope, written to a transactional outbox
//! and relayed to Kafka by an idempotent producer, consumed with an inbox that makes each effect
//! happen once, and dead-lettered when they cannot be processed.

pub mod consumer;
pub mod envelope;
pub mod inbox;
pub mod kafka;
pub mod outbox;
pub mod topics;

/// Generated from `proto/tessera/v1/*.proto`.
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/tessera.v1.rs"));
}

pub use consumer::{Consumer, EventHandler, HandlerError, ReceivedEvent};
pub use envelope::{fact_event_id, OutgoingEvent};
pub use kafka::KafkaSettings;
pub use outbox::{PublishedObserver, Relay};

/// The outbox and inbox tables, migrated into every service's schema with its own migrations.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A protobuf timestamp for `at`.
pub fn proto_timestamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}
