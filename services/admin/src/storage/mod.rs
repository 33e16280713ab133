//! The admin service's tables: the business directory it owns, and a read model projected from
//! events.

pub mod activity;
pub mod directory;
pub mod reconciliation;
pub mod rewards;
