//! The admin service's tables: a read model projected from events.

pub mod activity;
pub mod reconciliation;
