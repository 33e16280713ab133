//! End-to-end tests: the whole fleet on real Postgres, Redis and a Kafka-protocol broker,
//! driven over HTTP through the development edge the way a client would.

mod helpers;

mod admin_dashboard;
mod browser;
mod businesses;
mod campaigns;
mod charges;
mod configuration;
mod durable_broker;
mod flow;
mod gateway;
mod isolation;
mod observability;
mod partners;
mod privacy;
mod reconciliation;
mod revocation;
mod rewards;
mod settings;
mod social;
