//! The user service's tables.

pub mod clients;
pub mod codes;
pub mod keys;
pub mod messages;
pub mod sessions;
pub mod users;
