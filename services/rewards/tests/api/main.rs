//! The rewards service's API over real HTTP, Postgres, Redis and a Kafka-protocol broker.

mod campaigns;
mod catalog;
mod helpers;
mod redemptions;
mod referrals;
