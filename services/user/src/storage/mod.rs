//! The user service's tables.

pub mod keys;
pub mod sessions;
pub mod users;
