//! The user service: members, staff, sessions and the keys every access token is signed with.

pub mod configuration;
pub mod domain;
pub mod events;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod storage;

pub use configuration::Settings;
pub use startup::Application;
