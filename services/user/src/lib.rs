//! The user service: members, staff, partner clients, sessions and the keys every access token
//! is signed with.
//!
//! A request goes `routes` (parse, authorize, map the answer) -> `core` (the use case, its
//! transaction) -> `domain` (pure rules) and `storage` (SQL); `events` builds what is published.

pub mod configuration;
pub mod core;
pub mod domain;
pub mod events;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod storage;

pub use configuration::Settings;
pub use startup::Application;
