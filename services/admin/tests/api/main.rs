//! The admin service's API over real HTTP, Postgres, Redis and a Kafka-protocol broker: its read
//! model is fed by publishing other services' events to the broker.

mod helpers;
mod members;
