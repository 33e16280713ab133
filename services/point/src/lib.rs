//! The point service: the points ledger, tiers and balances. Every point a member has is
//! explained by ledger entries; no retried request or redelivered event can add one twice.
//!
//! A request goes `routes` -> `core` -> `domain` and `storage`; consumed events go
//! `events::consumes` -> `core`; `core` publishes through `events::publishes`.

pub mod configuration;
pub mod core;
pub mod domain;
pub mod events;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod storage;

/// The service's name: its consumer group, and the consumer its inbox records events under.
pub const SERVICE: &str = "point";

pub use configuration::Settings;
pub use startup::Application;
