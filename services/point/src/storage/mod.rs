//! The point service's tables.

pub mod accounts;
pub mod entries;
