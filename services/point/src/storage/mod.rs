//! The point service's tables: every SQL statement of the service, checked at compile time.

pub mod accounts;
pub mod audit;
pub mod entries;
pub mod holds;
pub mod lots;
pub mod program;
pub mod rules;
pub mod spend;
pub mod stamps;
