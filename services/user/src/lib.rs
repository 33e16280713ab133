//! The user service: members, staff, partner clients, sessions and the keys every access token
//! is signed with.

pub mod abuse;
pub mod accounts;
pub mod configuration;
pub mod domain;
pub mod events;
pub mod messages;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod storage;

pub use configuration::Settings;
pub use startup::Application;
