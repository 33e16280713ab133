//! The point service's tables.

pub mod accounts;
pub mod entries;
pub mod holds;
pub mod lots;
pub mod program;
