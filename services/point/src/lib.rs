//! The point service: the points ledger, tiers and balances. Every point a member has is
//! explained by ledger entries; no retried request or redelivered event can add one twice.

pub mod configuration;
pub mod domain;
pub mod events;
pub mod jobs;
pub mod ledger;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod storage;

pub use configuration::Settings;
pub use startup::Application;
