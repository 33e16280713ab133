//! The admin service's API over real HTTP, Postgres, Redis and a Kafka-protocol broker: the
//! business directory it owns and announces, and its read model, fed by publishing other
//! services' events to the broker.

mod directory;
mod helpers;
mod members;
mod rewards;
