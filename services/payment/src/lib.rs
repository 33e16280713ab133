//! The payment service: charges through PSP connectors, idempotent from the client to the PSP,
//! every final state published as an event through the outbox.

pub mod configuration;
pub mod connectors;
pub mod core;
pub mod domain;
pub mod events;
pub mod routes;
pub mod startup;
pub mod storage;

pub use configuration::Settings;
pub use startup::Application;
