//! The point service over real HTTP, against real Postgres and a Kafka-protocol broker.

mod bad_input;
mod balances;
mod campaign_rules;
mod earning;
mod events;
mod helpers;
mod holds;
mod invariants;
mod migration;
mod operations;
mod program;
mod rate_limits;
mod redemption_saga;
mod stamps;
mod time;
