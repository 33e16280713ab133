//! The rewards service: the catalog of rewards members spend points on (seed 003), and their
//! redemption: a saga with the point service (stock set aside here, points held there, a code
//! issued here, the points captured there), single-use codes taken at stores or by partners.

pub mod configuration;
pub mod core;
pub mod domain;
pub mod events;
pub mod routes;
pub mod startup;
pub mod storage;

pub use configuration::Settings;
pub use startup::Application;
