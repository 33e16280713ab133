//! The admin service: the back office. It owns the business directory (businesses, their brands
//! and stores) and announces it to the fleet, and keeps a read model of each member's activity,
//! projected from the events other services publish, and serves it to staff.

pub mod configuration;
pub mod core;
pub mod domain;
pub mod events;
pub mod routes;
pub mod startup;
pub mod storage;

pub use configuration::Settings;
pub use startup::Application;
