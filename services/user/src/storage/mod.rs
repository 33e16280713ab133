//! The user service's tables. Every query is checked against the schema at compile time; every
//! function runs on the connection or transaction the caller holds.

pub mod clients;
pub mod codes;
pub mod identities;
pub mod keys;
pub mod messages;
pub mod notifications;
pub mod sessions;
pub mod staff;
pub mod users;
