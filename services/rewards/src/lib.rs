//! The rewards service: the catalog of rewards members spend points on (seed 003). Redemption
//! comes later; for now staff manage the catalog and everyone signed in can browse it.

pub mod configuration;
pub mod core;
pub mod domain;
pub mod events;
pub mod routes;
pub mod startup;
pub mod storage;

pub use configuration::Settings;
pub use startup::Application;
