//! The rewards service's tables.

pub mod catalog;
pub mod redemptions;
