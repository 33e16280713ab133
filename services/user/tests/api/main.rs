//! The user service over real HTTP, against real Postgres, Redis and a Kafka-protocol broker.

mod businesses;
mod clients;
mod counter;
mod helpers;
mod notifications;
mod privacy;
mod registration;
mod sessions;
mod social;
mod staff;
mod tokens;
